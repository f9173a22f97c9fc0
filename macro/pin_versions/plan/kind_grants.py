"""The grants of the issue 14 kinds (a nested state machine, an ECS task definition, a
Batch job definition): which statements a role needs (``TargetKind.statements``), whether
it already has them (iam_kinds.py), and what to tell a user whose role is outside the
template. ``Grants`` (grants.py) calls these only for a target of another kind, importing
this module then; everything else about a grant (one retained ``AWS::IAM::Policy`` per
(role, target), conditions, DependsOn) is the same as Lambda's."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..iam_kinds import KindCoverage

if TYPE_CHECKING:
    from ..inventory import Inventory
    from ..targets import TargetKind

KindUse = tuple["TargetKind", set[str]]  # a target's kind and the integration suffixes used


def kind_covered(
    inventory: Inventory, use: KindUse, role: str, target: str, sam_machine: str | None
) -> bool:
    """Does ``role`` (or the SAM state machine's ``Policies``) already allow what the Tasks
    of ``use`` need on ``target``?"""
    policies = (
        inventory.state_machines[sam_machine].properties.get("Policies")
        if sam_machine is not None
        else None
    )
    kind, suffixes = use
    checker = KindCoverage(inventory)
    return checker.role_allows(None if sam_machine else role, kind, target, suffixes, policies)


def kind_statements(inventory: Inventory, use: KindUse, target: str) -> list[dict[str, Any]]:
    """The statements of ``target``'s grant, one set per integration suffix, deduplicated."""
    kind, suffixes = use
    assert kind.statements is not None
    properties = inventory.resources[target].get("Properties")
    out: list[dict[str, Any]] = []
    for suffix in sorted(suffixes):
        for statement in kind.statements(
            target, properties if type(properties) is dict else {}, suffix
        ):
            if statement not in out:
                out.append(statement)
    return out


def statement_text(statement: dict[str, Any]) -> str:
    """A statement as one line of JSON, for a warning's message."""
    return json.dumps(statement)

"""The grants of the issue 14 kinds (a nested state machine, an ECS task definition, a
Batch job definition): which statements a role needs (``TargetKind.statements``), whether
it already has them (iam_kinds.py), and what to tell a user whose role is outside the
template. ``Grants`` (grants.py) mixes this in; everything else about a grant (one retained
``AWS::IAM::Policy`` per (role, target), conditions, DependsOn) is the same as Lambda's."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..iam import Coverage
from ..targets import TargetKind

if TYPE_CHECKING:
    from ..definition import Target
    from ..inventory import Inventory, Resource


class KindGrants:
    """Kind-aware parts of ``Grants``."""

    inventory: Inventory
    kinds_of: dict[str, tuple[TargetKind, set[str]]]

    def invokers(self, machine: Resource, target: Target, function: str) -> None:
        raise NotImplementedError

    def kind_uses(
        self, machine: Resource, target: Target, logical_id: str, kind: TargetKind
    ) -> None:
        """``invokers`` for a target of another kind, remembering its kind and the
        integration suffix (``.sync`` needs more than StartExecution)."""
        self.kinds_of.setdefault(logical_id, (kind, set()))[1].add(target.integration)
        self.invokers(machine, target, logical_id)

    def _condition_of(self, target: str) -> str | None:
        entry = (
            self.inventory.functions.get(target)
            or self.inventory.state_machines.get(target)
            or self.inventory.others.get(target)
        )
        return entry.condition if entry is not None else None

    def _covered(self, coverage: Coverage, role: str, target: str, sam_machine: str | None) -> bool:
        inventory = self.inventory
        policies = (
            inventory.state_machines[sam_machine].properties.get("Policies")
            if sam_machine is not None
            else None
        )
        if target in self.kinds_of:
            from ..iam_kinds import KindCoverage

            kind, suffixes = self.kinds_of[target]
            checker = KindCoverage(inventory)
            return checker.role_allows(
                None if sam_machine else role, kind, target, suffixes, policies
            )
        if sam_machine is not None:
            return coverage.sam_policies_cover(policies, target)
        return coverage.role_covers(role, target)

    def statements_of(self, target: str) -> list[dict[str, Any]]:
        """The statements of ``target``'s grant: Lambda's invoke, or its kind's."""
        if target not in self.kinds_of:
            from .grants import invoke_statement

            return [invoke_statement([(target, None)])]
        kind, suffixes = self.kinds_of[target]
        assert kind.statements is not None
        properties = self.inventory.resources[target].get("Properties")
        out: list[dict[str, Any]] = []
        for suffix in sorted(suffixes):
            for statement in kind.statements(
                target, properties if type(properties) is dict else {}, suffix
            ):
                if statement not in out:
                    out.append(statement)
        return out

    def user_text(self, targets: list[str]) -> str:
        """What a user must add to a role outside the template, for every kind."""
        from .grants import statement_for_user

        functions = [t for t in targets if t not in self.kinds_of]
        texts = [statement_for_user(functions)] if functions else []
        texts += [
            _json_text(st) for t in targets if t in self.kinds_of for st in self.statements_of(t)
        ]
        return "; ".join(texts)


def _json_text(statement: dict[str, Any]) -> str:
    return json.dumps(statement)

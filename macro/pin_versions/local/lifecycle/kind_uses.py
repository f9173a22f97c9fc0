"""Which targets of the kinds other than Lambda (issue 14) OLD's executions call, and which
state machine versions OLD's aliases route to (issue 15): read from the core's scan; judged
in ``kinds``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...definition import Target
from ...intrinsics import ref_target
from ...inventory import Inventory
from ...references import Leaf
from ...targets import RETAIN, kind_named
from .model import Side

MACHINE_VERSION = "AWS::StepFunctions::StateMachineVersion"
MACHINE_ALIAS = "AWS::StepFunctions::StateMachineAlias"
# Verdict kinds of this module (model.Verdict.kind): a state machine version, an ECS or
# Batch revision (Ref of the resource); "function" stays the unqualified target.
SM_VERSION = "machine-version"
REVISION = "revision"
SM_ALIAS = "machine-alias"


def kind_key(target: Target, inventory: Inventory) -> tuple[tuple[str, str], str] | str:
    """``((verdict kind, target), owner)`` for a Task target of a kind other than Lambda,
    or the sentence saying why it is not judged."""
    kind = kind_named(target.kind)
    resolution = target.resolution
    single = target.items[0] if len(target.items) == 1 else None
    ref = single.ref if type(single) is Leaf and single.kind == "resource" else None
    if resolution.kind == "version" and ref and inventory.types.get(ref) == MACHINE_VERSION:
        owner = ref_target(_properties(inventory, ref).get("StateMachineArn")) or ""
        return (SM_VERSION, ref), owner
    if resolution.kind == "mutable" and ref and inventory.types.get(ref) == MACHINE_ALIAS:
        # Issue 15 (MoveCallers): the Task starts the alias; judged as the alias (is it
        # kept or retained?) and its state machine; the versions it routes to each get
        # their own verdict (alias_uses).
        return (SM_ALIAS, ref), _alias_machine(inventory, ref)
    if resolution.kind == "function" and resolution.function:
        logical_id = resolution.function
        if kind.strategy == RETAIN and ref == logical_id:
            return (REVISION, logical_id), logical_id
        return ("function", logical_id), logical_id
    return resolution.reason or f"names no {kind.noun} of this template"


def _alias_machine(inventory: Inventory, alias: str) -> str:
    """The state machine an alias belongs to: the one whose versions it routes to."""
    properties = _properties(inventory, alias)
    values = [
        item.get("StateMachineVersionArn")
        for item in _as_list(properties.get("RoutingConfiguration") or [])
        if isinstance(item, dict)
    ]
    deployment = properties.get("DeploymentPreference")
    if isinstance(deployment, dict):
        values.append(deployment.get("StateMachineVersionArn"))
    for value in values:
        version = ref_target(value)
        if version is not None and inventory.types.get(version) == MACHINE_VERSION:
            machine = ref_target(_properties(inventory, version).get("StateMachineArn"))
            if machine:
                return machine
    return ""


def _properties(inventory: Inventory, logical_id: str) -> dict[str, Any]:
    properties = inventory.resources.get(logical_id, {}).get("Properties")
    return properties if isinstance(properties, dict) else {}


def alias_routes(side: Side) -> Iterator[tuple[str, str, str]]:
    """``(alias, version, state machine)`` for every version an in-template state machine
    alias routes to (``RoutingConfiguration``, or ``DeploymentPreference``'s target):
    during a gradual shift, and after a rollback, each takes new executions."""
    for alias in side.resources:
        if side.type_of(alias) != MACHINE_ALIAS or not side.exists(alias):
            continue
        properties = side.properties(alias)
        values = [
            r.get("StateMachineVersionArn") for r in _dicts(properties, "RoutingConfiguration")
        ]
        deployment = properties.get("DeploymentPreference")
        if isinstance(deployment, dict):
            values.append(deployment.get("StateMachineVersionArn"))
        for value in values:
            version = ref_target(value)
            if version is not None and side.type_of(version) == MACHINE_VERSION:
                owner = ref_target(side.properties(version).get("StateMachineArn")) or ""
                yield alias, version, owner


def _dicts(properties: dict[str, Any], key: str) -> list[dict[str, Any]]:
    return [item for item in _as_list(properties.get(key) or []) if isinstance(item, dict)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

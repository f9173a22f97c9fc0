"""Which Lambda targets executions started on OLD invoke: every Task of every state machine,
read through the core's definition scan, with the roles the execution runs as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...definition import analyse
from ...iam import role_of, role_of_items
from ...intrinsics import ref_target
from ...inventory import (
    Inventory,
)
from ...references import Leaf
from ...report import TransformError
from ...targets import LAMBDA
from .kind_uses import alias_routes, kind_key
from .model import _UNKNOWN, Side


@dataclass(frozen=True, slots=True)
class _Use:
    machine: str
    key: tuple[str, str]  # (kind, target)
    function: str
    roles: tuple[str | None, ...]  # in-template roles; None: outside the template or unknown
    target_kind: str = LAMBDA.name  # targets.py: what the Task calls


def _machine_roles(side: Side, inventory: Inventory, machine: str) -> tuple[str | None, ...]:
    """The roles a state machine's RoleArn names; each branch of an ``Fn::If`` that the
    parameters do not decide."""
    value = side.properties(machine).get("RoleArn")
    pending = [value]
    roles: list[str | None] = []
    while pending:
        node = pending.pop(0)
        branches = node.get("Fn::If") if type(node) is dict and len(node) == 1 else None
        if isinstance(branches, list) and len(branches) == 3:
            chosen = side.conditions.value(branches[0])
            pending.extend([branches[1]] if chosen else [branches[2]] if chosen is False else [])
            if chosen is None:
                pending.extend(branches[1:])
            continue
        if ref_target(node) == "AWS::NoValue":
            continue
        roles.append(role_of(node, inventory))
    return tuple(dict.fromkeys(roles)) or (None,)


def _version_owner(inventory: Inventory) -> dict[str, str]:
    return {v: f for f, versions in inventory.versions.items() for v in versions}


def _uses(side: Side, unseen: list[str] | None = None) -> list[_Use]:
    """Every Lambda target of the side's state machines, with the roles that invoke it.
    What cannot be judged is said in ``unseen``, one sentence each."""
    unseen = [] if unseen is None else unseen
    inventory = side.inventory
    if inventory is None:
        unseen.append("OLD cannot be read as CloudFormation; no verdict")
        return []
    owner = _version_owner(inventory)
    uses: list[_Use] = []
    for name, machine in inventory.state_machines.items():
        if not side.exists(name):
            continue
        try:
            view = analyse(machine, inventory)
        except TransformError:
            unseen.append(f"{name}: its definition cannot be read; no verdict for it")
            continue
        if view.form == "unwalkable":
            unseen.append(f"{name}: its definition is not walkable ASL; no verdict for it")
            continue
        if view.form in ("s3", "opaque"):
            unseen.append(f"{name}: its definition is not in the template; no verdict for it")
        machine_roles = _machine_roles(side, inventory, name)
        for target in view.targets:
            if target.kind != LAMBDA.name:
                uses += _kind_use(side, inventory, name, target, machine_roles, unseen)
                continue
            found = _target_key(
                target.items, target.resolution.kind, target.resolution.function, inventory
            )
            where = ".".join(str(p) for p in target.path[4:])
            if found is None:
                if target.resolution.kind in ("external", "mutable", "version"):
                    why = target.resolution.reason or "outside the template"
                    unseen.append(f"{name}: {where}: {why}; not judged")
                continue
            key, function = found
            if key[0] == "version":
                function = owner.get(key[1], function)
            if not function:
                unseen.append(
                    f"{name}: {where}: {key[1]} is a version of no function of this template; "
                    "not judged"
                )
                continue
            roles = machine_roles
            # The scan read the Task's Credentials with the target: that role invokes.
            credentials = target.credentials
            if credentials is not None:
                roles = (
                    None if credentials.dynamic else role_of_items(credentials.items, inventory),
                )
            uses.append(_Use(name, key, function, roles))
    return uses


def _kind_use(
    side: Side,
    inventory: Inventory,
    name: str,
    target: Any,
    machine_roles: tuple[str | None, ...],
    unseen: list[str],
) -> list[_Use]:
    """The use a Task makes of a target of another kind (lifecycle/kinds.py)."""
    found = kind_key(target, inventory)
    if isinstance(found, str):
        where = ".".join(str(p) for p in target.path[4:])
        unseen.append(f"{name}: {where}: {found}; not judged")
        return []
    key, owner = found
    roles = machine_roles
    if target.credentials is not None:
        credentials = target.credentials
        roles = (None if credentials.dynamic else role_of_items(credentials.items, inventory),)
    return [_Use(name, key, owner, roles, target.kind)]


def alias_uses(side: Side) -> list[_Use]:
    """Issue 15: every version an alias of OLD routes to takes new executions during a
    shift in progress and after a rollback; who starts them is not known here (no role)."""
    return [
        _Use(alias, ("machine-version", version), owner, (), "state-machine")
        for alias, version, owner in alias_routes(side)
    ]


def _target_key(
    items: list[Any], kind: str, function: str | None, inventory: Inventory
) -> tuple[tuple[str, str], str] | None:
    if kind in ("function", "mutable") and function:
        return ("function", function), function
    if kind == "mutable":
        # An alias of the template: it invokes whatever version the alias points to.
        for item in items:
            if isinstance(item, Leaf) and item.kind == "alias" and item.ref in inventory.aliases:
                owner = inventory.aliases[item.ref]
                return ("function", owner), owner
        return None
    if kind != "version":
        return None
    for item in items:
        if isinstance(item, Leaf) and item.kind in ("version", "version-number"):
            return ("version", item.ref), function or ""
    if function:
        text = "".join(i for i in items if isinstance(i, str))
        number = text.rpartition(":")[2]
        return ("numbered", f"{function}:{number}"), function
    return None


# --- grants ---------------------------------------------------------------------------------


def version_number(version: str) -> str:
    """The number an AWS::Lambda::Version gets when it is published: unknown until then, the
    same on both sides (it names one published version), matched only by a wildcard."""
    return f"{_UNKNOWN}V{version}"

"""Which Lambda targets executions started on OLD invoke: every Task of every state machine,
read through the core's definition scan, with the roles the execution runs as."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ...definition import BARE, CLOSE, OPEN, DefinitionView, analyse
from ...iam import role_of
from ...intrinsics import ref_target
from ...inventory import (
    IAM_ROLE,
    Inventory,
)
from ...pieces import Opaque, Piece, render, split_substitutions
from ...references import Leaf
from ...report import TransformError
from .model import _UNKNOWN, Side


@dataclass(frozen=True, slots=True)
class _Use:
    machine: str
    key: tuple[str, str]  # (kind, target)
    function: str
    roles: tuple[str | None, ...]  # in-template roles; None: outside the template or unknown


_TOKEN = re.compile("\ue010([0-9]+)\ue011")
_TOKEN_MARKS = ("\ue010", "\ue011", OPEN, CLOSE, BARE)
_STRING_OR_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\ue010[0-9]+\ue011', re.DOTALL)


class _Tree:
    """A definition as a JSON tree whose intrinsic holes are tokens, to read fields (such as
    ``Credentials``) that the pinning walk does not keep."""

    def __init__(self, view: DefinitionView, inventory: Inventory) -> None:
        self.inventory = inventory
        self.substitutions = view.substitutions
        self.holes: list[Piece] = []
        self.tree: Any = None
        if view.form not in ("object", "string") or not view.path:
            return  # an unwalkable definition (PV130) has no tree to read
        value = view.machine.properties.get(str(view.path[-1]))
        if view.form == "object":
            self.tree = value
        elif view.form == "string":
            self.tree = self._parse(value, view)

    def _parse(self, value: Any, view: DefinitionView) -> Any:
        try:
            pieces = split_substitutions(
                render(value, view.path, standalone=False), frozenset(view.substitutions or ())
            )
        except Opaque:
            return None
        parts: list[str] = []
        for piece in pieces:
            if piece.is_hole:
                parts.append(f"\ue010{len(self.holes)}\ue011")
                self.holes.append(piece)
            else:
                parts.append(piece.text)
        text = "".join(parts)
        # Characters the tokens use, in the user's own text: the tree could not be trusted.
        if any(mark in piece.text for piece in pieces for mark in _TOKEN_MARKS):
            return None
        # A hole outside a JSON string ("Seconds": ${Wait}) becomes a string of its own.
        quoted = _STRING_OR_TOKEN.sub(
            lambda m: m.group(0) if m.group(0).startswith('"') else f'"{m.group(0)}"', text
        )
        try:
            return json.loads(quoted)
        except (json.JSONDecodeError, RecursionError):
            return None

    def state(self, relative: tuple[str | int, ...]) -> dict[str, Any] | None:
        node = self.tree
        for key in relative:
            if isinstance(node, dict) and isinstance(key, str):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            else:
                return None
        return node if isinstance(node, dict) else None

    def role_named(self, value: Any) -> str | None:
        """The in-template role a RoleArn value names (a string of the tree, or an intrinsic
        of a Definition object)."""
        if not isinstance(value, str) or not _TOKEN.search(value):
            return role_of(value, self.inventory)
        match = _TOKEN.fullmatch(value)
        if match is None:
            return None
        piece = self.holes[int(match.group(1))]
        if piece.kind == "value":
            return role_of(piece.value, self.inventory)
        if piece.kind == "subref":
            variables = piece.container.variables
            if piece.name in variables:
                return role_of(variables[piece.name], self.inventory)
            logical_id, _, attribute = piece.name.partition(".")
            if attribute == "Arn" and self.inventory.types.get(logical_id) == IAM_ROLE:
                return logical_id
            return None
        if piece.kind == "subst" and self.substitutions is not None:
            return role_of(self.substitutions.get(piece.name), self.inventory)
        return None


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
        tree = _Tree(view, inventory)
        machine_roles = _machine_roles(side, inventory, name)
        for target in view.targets:
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
            state_path = target.path[:-1] if target.field == "Resource" else target.path[:-2]
            state = tree.state(state_path[len(view.path) :])
            credentials = state.get("Credentials") if state is not None else None
            if isinstance(credentials, dict):
                roles = (tree.role_named(credentials.get("RoleArn")),)
            uses.append(_Use(name, key, function, roles))
    return uses


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

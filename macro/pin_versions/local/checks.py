"""Checks of a template without transforming it: what cfn-lint rules and CI report.

- ``unpinned_targets``: Tasks that invoke a function of the template unqualified (the risk
  PinVersions removes), for templates that do not use the macro yet.
- ``processed_problems``: in a processed template, a version a state machine invokes that is
  not retained, or an execution role that cannot invoke every version of a pinned function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..definition import Credentials, DefinitionView, analyse
from ..iam import Coverage, role_of, role_of_items
from ..inventory import Context, Inventory, build_inventory
from ..options import Options
from ..pieces import Path
from ..plan.retarget import substitution_values
from ..references import Leaf
from ..report import TransformError


@dataclass(frozen=True, slots=True)
class Finding:
    path: Path  # a path that exists in the template
    message: str


def _inventory(template: Any) -> Inventory | None:
    if type(template) is not dict:
        return None
    try:
        return build_inventory(template, Context(), Options())
    except TransformError:
        return None  # other cfn-lint rules report a malformed template


def _views(inventory: Inventory) -> list[DefinitionView]:
    views = []
    for machine in inventory.state_machines.values():
        try:
            views.append(analyse(machine, inventory))
        except TransformError:
            continue  # an invalid definition is reported by Step Functions' own checks
    return views


def _existing(path: Path) -> Path:
    """A target inside a DefinitionString is reported at the DefinitionString."""
    for key in ("DefinitionString",):
        if key in path:
            return path[: path.index(key) + 1]
    return path


def _credentials_role(credentials: Credentials, inventory: Inventory) -> str | None:
    """The template role a Task's Credentials name (None: dynamic, conditional, external)."""
    if credentials.dynamic:
        return None
    role = role_of(credentials.value, inventory) if credentials.value is not None else None
    return role or role_of_items(credentials.items, inventory)


def unpinned_targets(template: Any) -> list[Finding]:
    inventory = _inventory(template)
    if inventory is None:
        return []
    findings: list[Finding] = []
    for view in _views(inventory):
        for target in view.targets:
            # Lambda only here: an ECS/Batch Task that names Ref of its definition is in
            # its pinned form (issue 14 kinds: helper tools14 generalises this check).
            if (
                target.kind == "lambda"
                and target.resolution.kind == "function"
                and target.resolution.function
            ):
                findings.append(
                    Finding(
                        _existing(target.path),
                        f"Task {'.'.join(str(p) for p in target.path[4:])} invokes "
                        f"{target.resolution.function} unqualified: an execution waiting through "
                        "a deploy runs code it was not written for; add PinVersions to the "
                        "template's Transform or invoke a version",
                    )
                )
        # A definition in S3: what its substitutions name, read as the planner reads them.
        for path, _, resolution in substitution_values(view, inventory):
            if resolution.kind == "function":
                findings.append(
                    Finding(
                        path,
                        f"substitution names {resolution.function} unqualified: the definition "
                        "invokes whatever code it has when the Task runs; add PinVersions to "
                        "the template's Transform",
                    )
                )
    return findings


def processed_problems(template: Any) -> list[Finding]:
    inventory = _inventory(template)
    if inventory is None:
        return []
    owner = {v: f for f, versions in inventory.versions.items() for v in versions}
    coverage = Coverage(inventory)
    findings: list[Finding] = []
    for view in _views(inventory):
        machine = view.machine
        key = "Role" if machine.sam else "RoleArn"
        machine_role = role_of(machine.properties.get(key), inventory)
        # (path, leaf, the role Step Functions invokes with: the Task's Credentials role
        # when it has one, else the state machine's; None when not known here)
        leaves: list[tuple[Path, Leaf, str | None]] = []
        for target in view.targets:
            role = machine_role
            if target.credentials is not None:
                role = _credentials_role(target.credentials, inventory)
            leaves += [(target.path, i, role) for i in target.items if isinstance(i, Leaf)]
        for path, items, _ in substitution_values(view, inventory):
            leaves += [(path, i, machine_role) for i in items if isinstance(i, Leaf)]
        pinned: set[tuple[str, str]] = set()
        reported: set[str] = set()
        for _, leaf, role in leaves:
            if leaf.kind != "version" or leaf.ref in reported:
                continue
            resource = inventory.resources.get(leaf.ref, {})
            if resource.get("DeletionPolicy") != "Retain":
                reported.add(leaf.ref)
                findings.append(
                    Finding(
                        ("Resources", leaf.ref),
                        f"version {leaf.ref} is invoked by {machine.logical_id} but has no "
                        "DeletionPolicy: Retain; the next deploy deletes it under running "
                        "executions",
                    )
                )
            if leaf.ref in owner and role is not None:
                pinned.add((role, owner[leaf.ref]))
        for role, function in sorted(pinned):
            if not coverage.role_covers(role, function):
                findings.append(
                    Finding(
                        ("Resources", role),
                        f"role {role} of {machine.logical_id} does not allow "
                        f"lambda:InvokeFunction on every version of {function} "
                        f"(${{{function}.Arn}}:*); executions started before a deploy fail",
                    )
                )
    return findings

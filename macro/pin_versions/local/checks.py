"""Checks of a template without transforming it: what cfn-lint rules and CI report.

- ``unpinned_targets``: Tasks that call something of the template a deploy can change under
  a running execution (the risk PinVersions removes), for templates that do not use the
  macro yet, for every target kind of the registry (targets.py): a function or a child state
  machine called unqualified; an ECS task definition or Batch job definition named by its
  family or name (the latest revision runs), or by its revision without what keeps that
  revision ACTIVE through a deploy.
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
from ..targets import LAMBDA, RETAIN, TargetKind, kind_named, kind_of_type


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


def _verb(kind: TargetKind) -> str:
    """``invokes``, ``starts``, ``runs``, ``submits``: the verb of the kind's grant action
    (``lambda:InvokeFunction``, ``states:StartExecution``, ``ecs:RunTask``,
    ``batch:SubmitJob``)."""
    action = kind.grant_action.partition(":")[2]
    word = next((i for i in range(1, len(action)) if action[i].isupper()), len(action))
    return action[:word].lower() + "s"


# What keeps a RETAIN kind's revision ACTIVE through a deploy (besides targets.py's
# retention_properties): a replacement deregisters it unless UpdateReplacePolicy: Retain,
# a removal unless DeletionPolicy: Retain (docs/lifecycle.md, "More than Lambda").
_KEEP_REVISION = (("UpdateReplacePolicy", "Retain"), ("DeletionPolicy", "Retain"))


def _missing_retention(kind: TargetKind, resource: dict[str, Any]) -> list[str]:
    properties = resource.get("Properties")
    properties = properties if isinstance(properties, dict) else {}
    missing = [f"{key}: {value}" for key, value in _KEEP_REVISION if resource.get(key) != value]
    for name, value in kind.retention_properties:
        if properties.get(name) != value:
            while isinstance(value, dict) and len(value) == 1:
                ((key, value),) = value.items()
                name = f"{name}.{key}"
            missing.append(f"{name}: {str(value).lower() if isinstance(value, bool) else value}")
    return missing


def _unpinned_message(
    kind: TargetKind, where: str, target: str, by_ref: bool, inventory: Inventory
) -> str | None:
    """Why a Task that calls ``target`` (a logical ID of ``kind``) can be changed under a
    running execution, or None when it cannot."""
    if kind.name == LAMBDA.name:
        return (
            f"Task {where} invokes {target} unqualified: an execution waiting through "
            "a deploy runs code it was not written for; add PinVersions to the "
            "template's Transform or invoke a version"
        )
    verb = _verb(kind)
    if kind.strategy != RETAIN:
        return (
            f"Task {where} {verb} {kind.noun} {target} unqualified: an execution waiting "
            f"through a deploy {verb} the {kind.noun}'s new definition; add PinVersions to "
            f"the template's Transform or start a {kind.pin.type.rsplit('::', 1)[-1]} of it"
        )
    if not by_ref:
        return (
            f"Task {where} {verb} {kind.noun} {target} by name: an execution waiting through "
            "a deploy gets whatever revision is the latest when the Task runs; add "
            "PinVersions to the template's Transform"
        )
    missing = _missing_retention(kind, inventory.resources.get(target, {}))
    if not missing:
        return None
    return (
        f"Task {where} {verb} the revision of {kind.noun} {target}, which a deploy can "
        f"deregister under running executions ({', '.join(missing)} missing); add "
        "PinVersions to the template's Transform or set them"
    )


def unpinned_targets(template: Any) -> list[Finding]:
    inventory = _inventory(template)
    if inventory is None:
        return []
    findings: list[Finding] = []
    for view in _views(inventory):
        for target in view.targets:
            resolution = target.resolution
            if resolution.kind != "function" or not resolution.function:
                continue
            single = target.items[0] if len(target.items) == 1 else None
            by_ref = isinstance(single, Leaf) and single.ref == resolution.function
            where = ".".join(str(p) for p in target.path[4:])
            message = _unpinned_message(
                kind_named(target.kind), where, resolution.function, by_ref, inventory
            )
            if message is not None:
                findings.append(Finding(_existing(target.path), message))
        # A definition in S3: what its substitutions name, read as the planner reads them.
        for path, _, resolution in substitution_values(view, inventory):
            if resolution.kind != "function" or not resolution.function:
                continue
            rtype = inventory.types.get(resolution.function, "")
            kind = kind_of_type(rtype) or LAMBDA
            what = (
                resolution.function
                if kind.name == LAMBDA.name
                else f"{kind.noun} {resolution.function}"
            )
            if kind.name == LAMBDA.name:
                why = "the definition invokes whatever code it has when the Task runs"
            else:
                why = f"a deploy can change what the definition {_verb(kind)} under an execution"
            findings.append(
                Finding(
                    path,
                    f"substitution names {what} unqualified: {why}; add PinVersions to the "
                    "template's Transform",
                )
            )
    return findings


def _kind_problems(view: DefinitionView, inventory: Inventory, reported: set[str]) -> list[Finding]:
    """E9102 for the other kinds (issue 14): a state machine version a Task starts must be
    retained on both policies (its fixed logical ID is replaced whenever the child's revision
    changes). A task or job definition run by its revision without what keeps it ACTIVE is
    W9101's finding, not this one's: one finding per problem."""
    findings: list[Finding] = []
    machine = view.machine.logical_id
    for target in view.targets:
        if target.kind == LAMBDA.name:
            continue
        kind = kind_named(target.kind)
        single = target.items[0] if len(target.items) == 1 else None
        ref = single.ref if isinstance(single, Leaf) and single.kind == "resource" else None
        if ref is None or ref in reported:
            continue
        resource = inventory.resources.get(ref, {})
        if resource.get("Type") == kind.pin.type and kind.strategy != RETAIN:
            missing = [
                f"{key}: {value}" for key, value in _KEEP_REVISION if resource.get(key) != value
            ]
            what = f"{kind.pin.type.rsplit('::', 1)[-1]} {ref}"
        else:  # a RETAIN kind's revision without retention is W9101's (no duplicate)
            continue
        if missing:
            reported.add(ref)
            findings.append(
                Finding(
                    ("Resources", ref),
                    f"{what} is called by {machine} but lacks "
                    f"{', '.join(missing)}; the next deploy deletes or deregisters it under "
                    "running executions",
                )
            )
    return findings


def processed_problems(template: Any) -> list[Finding]:
    inventory = _inventory(template)
    if inventory is None:
        return []
    owner = {v: f for f, versions in inventory.versions.items() for v in versions}
    coverage = Coverage(inventory, across_deploys=False)  # what the role allows now
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
        findings += _kind_problems(view, inventory, reported)
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

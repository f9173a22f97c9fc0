"""``pin-versions plan``: what a deploy from one processed template to the next does to
versions, grants and state machines, and the lifecycle verdicts, as plain text. Pure, in the
template's order, no colour, no timestamp (a golden file in the tests)."""

from __future__ import annotations

import re
from typing import Any

from ..dependencies import names_in
from ..iam import POLICY_NAME
from ..inventory import Context
from ..report import format_path
from ..targets import PUBLISH, kind_named, kind_of_type, kinds
from .explain import shift_text
from .lifecycle import Lifecycle, Side, Transition, Verdict, assess
from .lifecycle.kind_uses import MACHINE_ALIAS
from .processed import (
    _EVERY_VERSION,
    IAM_POLICY,
    Processed,
    _context,
    _function_named,
    _header,
    _names,
    _plural,
    _properties,
    _resources,
    _table,
    called,
)


def _versions(template: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Every resource that pins a target of a PUBLISH kind (an ``AWS::Lambda::Version``, an
    ``AWS::StepFunctions::StateMachineVersion``: targets.py ``pin``): logical ID ->
    (the target it publishes, DeletionPolicy)."""
    links = {k.pin.type: k.pin.link_property for k in kinds() if k.strategy == PUBLISH}
    return {
        logical_id: (
            _function_named(_properties(resource).get(links[resource["Type"]])),
            resource.get("DeletionPolicy"),
        )
        for logical_id, resource in _resources(template).items()
        if resource.get("Type") in links
    }


def _grants(template: dict[str, Any]) -> dict[str, list[Any]]:
    """Role -> the policies PinVersions added to it (inline, or resources of their own)."""
    grants: dict[str, list[Any]] = {}
    resources = _resources(template)
    for role, resource in resources.items():
        policies = _properties(resource).get("Policies")
        if resource.get("Type") != "AWS::IAM::Role" or not isinstance(policies, list):
            continue
        for policy in policies:
            inner = policy
            branches = policy.get("Fn::If") if isinstance(policy, dict) else None
            if isinstance(branches, list) and len(branches) == 3:
                inner = branches[1]
            name = inner.get("PolicyName") if isinstance(inner, dict) else None
            if isinstance(name, str) and name.startswith(POLICY_NAME):
                grants.setdefault(role, []).append(policy)
    for resource in resources.values():
        properties = _properties(resource)
        name = properties.get("PolicyName")
        # PinVersionsInvoke, or one per (role, function): PinVersionsInvoke<...>.
        if resource.get("Type") != IAM_POLICY or not (
            isinstance(name, str) and name.startswith(POLICY_NAME)
        ):
            continue
        for role in properties.get("Roles") or []:
            if isinstance(role, dict) and isinstance(role.get("Ref"), str):
                grants.setdefault(role["Ref"], []).append(resource)
    return grants


# A grant on every revision of an ECS family or Batch job definition name (target_kinds.py).
_EVERY_REVISION = re.compile(r":(?:task|job)-definition/([^:/$]+):\*")


def _granted(policies: list[Any], template: dict[str, Any] | None = None) -> list[str]:
    """The targets PinVersions grants in ``policies``: ``${F.Arn}:*`` (Lambda), and with
    ``template``, every target-kind resource a statement's ``Resource`` names (``Ref
    Child``, ``${Child.Name}``) or whose family or job definition name it grants."""
    found: set[str] = set()
    resources = _resources(template or {})
    names: dict[str, str] = {}
    for logical_id, resource in resources.items():
        kind = kind_of_type(str(resource.get("Type", "")))
        for name_property in kind.name_properties if kind is not None else ():
            value = _properties(resource).get(name_property)
            if isinstance(value, str):
                names[value] = logical_id
    stack: list[Any] = list(policies)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            statement_resource = node.get("Resource") if "Action" in node else None
            for name in names_in(statement_resource) if statement_resource else ():
                if kind_of_type(str(resources.get(name, {}).get("Type", ""))) is not None:
                    found.add(name)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            found.update(_EVERY_VERSION.findall(node))
            found.update(names[n] for n in _EVERY_REVISION.findall(node) if n in names)
    return sorted(found)


def _pins(processed: Processed) -> dict[str, dict[str, str]]:
    """State machine -> target path -> version."""
    if processed.pin is None:
        return {}
    report = processed.pin.report
    pins: dict[str, dict[str, str]] = {name: {} for name in report.state_machines}
    calls = called(report)  # a Task moved to an alias starts the alias
    for pin in report.pins:
        target = calls.get(format_path(pin.parts), pin.version)
        pins.setdefault(pin.state_machine, {})[pin.path] = target
    return pins


def _aliases(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state machine alias of a processed template: logical ID -> resource."""
    return {
        logical_id: resource
        for logical_id, resource in _resources(template).items()
        if resource.get("Type") == MACHINE_ALIAS
    }


def _plan_aliases(old: Processed, new: Processed) -> list[str]:
    """Issue 15: how each alias of NEW shifts, and each alias of OLD that leaves the
    template: retained (DeletionPolicy Retain: it stays, routing to the versions it routes
    to) or deleted (a caller still starting it fails)."""
    out: list[str] = []
    for entry in new.pin.report.aliases if new.pin is not None else []:
        out.append(
            f"  {entry.alias}: {entry.name} of {entry.state_machine} shifts to "
            f"{entry.version}: {shift_text(entry)}; until it completes (or after a "
            "rollback) the version it shifts from takes new executions too"
        )
    after = _aliases(new.template)
    for alias, resource in _aliases(old.template).items():
        if alias in after:
            continue
        if resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"):
            out.append(
                f"  {alias}: leaves the template, retained (DeletionPolicy Retain): it stays, "
                "routing to the versions it routes to now"
            )
        else:
            out.append(
                f"  {alias}: leaves the template and is deleted: an execution or caller "
                "still starting it fails"
            )
    return ["Aliases (issue 15)", *out, ""] if out else []


def _hashes(processed: Processed) -> dict[str, str]:
    if processed.pin is None:
        return {}
    return {v.version: v.hash for v in processed.pin.report.versions if v.hash}


def _plan_versions(old: Processed, new: Processed) -> tuple[list[str], dict[str, int]]:
    before, after = _versions(old.template), _versions(new.template)
    hashes = _hashes(new)
    transition = Transition(_side(old), _side(new))
    published = [
        [v, function, f"PinVersions, hash {hashes[v]}" if v in hashes else "declared in NEW"]
        for v, (function, _) in after.items()
        if v not in before
    ]
    retained: list[list[str]] = []
    deleted: list[list[str]] = []
    for version, (function, policy) in before.items():
        if version in after:
            continue
        fate = transition.fate(function)
        if policy == "Retain" and fate.outcome == "deleted":
            deleted.append(
                [
                    version,
                    function,
                    f"DeletionPolicy Retain, but {function} is {fate.how} and deleted, "
                    "and every version with it",
                ]
            )
        elif policy == "Retain":
            retained.append([version, function, "DeletionPolicy Retain: stays published"])
        else:
            deleted.append(
                [
                    version,
                    function,
                    f"DeletionPolicy {policy or 'Delete'}: CloudFormation deletes it; "
                    "executions still invoking it will fail",
                ]
            )
    kept: list[list[str]] = []
    for version, (function, _) in after.items():
        if version not in before:
            continue
        fate = transition.fate(version)
        if fate.how != "replaced":
            kept.append([version, function, "in both templates"])
            continue
        # A fixed logical ID replaced (a StateMachineVersion whose revision changed): a new
        # version is published and the old one retained or deleted.
        published.append([version, function, "replaces the one OLD published"])
        if fate.outcome == "retained":
            retained.append([version, function, "UpdateReplacePolicy Retain: the old one stays"])
        else:
            deleted.append(
                [
                    version,
                    function,
                    "replaced without UpdateReplacePolicy Retain: the old one is deleted; "
                    "executions still starting it will fail",
                ]
            )
    out: list[str] = []
    sections = [
        ("Publishes (new versions)", published),
        ("Retains (leave the template, stay for executions already running)", retained),
        ("Deletes", deleted),
        ("Keeps", kept),
    ]
    for title, rows in sections:
        if rows:
            out += [title, *_table(rows), ""]
        else:
            out += [f"{title}: none", ""]
    counts = {
        "published": len(published),
        "retained": len(retained),
        "deleted": len(deleted),
        "kept": len(kept),
    }
    return out[:-1], counts


def _retained_grants(old: dict[str, Any], new: dict[str, Any], role: str) -> list[str]:
    """PinVersions grant resources of ``role`` that leave the template with DeletionPolicy
    Retain: they stay attached to the role."""
    after = _resources(new)
    return [
        logical_id
        for logical_id, resource in _resources(old).items()
        if logical_id not in after
        and resource.get("DeletionPolicy") == "Retain"
        and resource in _grants(old).get(role, [])
    ]


def _plan_roles(old: Processed, new: Processed) -> tuple[list[str], int]:
    before, after = _grants(old.template), _grants(new.template)
    rows: list[list[str]] = []
    changed = 0
    for role in [*after, *(r for r in before if r not in after)]:
        was, now = before.get(role), after.get(role)
        if now is None:
            text = (
                "removes its PinVersions grant "
                f"(was every version of {_names(_granted(was or [], old.template))})"
            )
        elif was is None:
            text = (
                f"adds a PinVersions grant: every version of {_names(_granted(now, new.template))}"
            )
        elif was == now:
            rows.append(
                [role, f"unchanged: every version of {_names(_granted(now, new.template))}"]
            )
            continue
        else:
            text = (
                "changes its PinVersions grant: every version of "
                f"{_names(_granted(now, new.template))} (was {_names(_granted(was, old.template))})"
            )
        kept = _retained_grants(old.template, new.template, role)
        if kept:
            text += f"; {_names(kept)} leave{'s' if len(kept) == 1 else ''} the template, retained"
        changed += 1
        rows.append([role, text])
    if not rows:
        return ["Roles: no PinVersions grant in either template"], 0
    return ["Roles", *_table(rows)], changed


def _plan_machines(old: Processed, new: Processed) -> tuple[list[str], int]:
    before, after = _pins(old), _pins(new)
    out: list[str] = []
    unchanged: list[str] = []
    retargeted = 0
    for machine in [*after, *(m for m in before if m not in after)]:
        was, now = before.get(machine), after.get(machine)
        if was == now:
            unchanged.append(machine)
            continue
        retargeted += 1
        if was is None:
            pinned = _plural(len(now or {}), "target") + " pinned"
            old_type = str(_resources(old.template).get(machine, {}).get("Type", ""))
            if old_type in kind_named("state-machine").resource_types:
                why = "PinVersions did not run on OLD" if old.pin is None else "none pinned in OLD"
                out.append(f"  {machine}: existed before ({why}), {pinned} now")
            else:
                out.append(f"  {machine}: new state machine, {pinned}")
            continue
        if now is None:
            out.append(f"  {machine}: leaves the template (or PinVersions no longer sees it)")
            continue
        out.append(f"  {machine}")
        rows = []
        for path in [*now, *(p for p in was if p not in now)]:
            if was.get(path) != now.get(path):
                rows.append(
                    [path, was.get(path, "(not pinned)"), "->", now.get(path, "(not pinned)")]
                )
        out.extend(_table(rows, "    "))
    head = ["State machines whose pinned targets change" + ("" if out else ": none")]
    if unchanged:
        out.append(f"  unchanged: {_names(unchanged)}")
    return head + out, retargeted


def _side(processed: Processed) -> Side:
    context = Context(processed.region, processed.account, dict(processed.parameters))
    return Side(processed.template, context, pin=processed.pin is not None)


def plan_lifecycle(old: Processed, new: Processed) -> Lifecycle:
    """The verdicts of a deploy from OLD to NEW (see lifecycle.assess)."""
    return assess(_side(old), _side(new))


_STATUS_LABEL = {"safe": "safe", "broken": "BROKEN", "unprotected": "not protected"}


def _verdict_lines(verdict: Verdict) -> list[str]:
    label = _STATUS_LABEL[verdict.status]
    where = f"{verdict.function}; {', '.join(verdict.machines)}"
    subject = verdict.target if verdict.kind != "function" else f"{verdict.target} (unqualified)"
    head = f"  {label:<13}  {subject} ({where})"
    if verdict.problems:
        head += ": " + "; ".join(dict.fromkeys(p.reason for p in verdict.problems))
    out = [head]
    indent = " " * 17
    for problem in verdict.problems:
        out.append(f"{indent}{problem.detail}")
        out.append(f"{indent}fix: {problem.fix}")
    if not verdict.problems and verdict.notes:
        out.append(indent + "; ".join(verdict.notes))
    elif verdict.problems:
        out.extend(indent + note for note in verdict.notes if "not checked" in note)
    return out


def _plan_verdicts(lifecycle: Lifecycle) -> tuple[list[str], str]:
    out = ["Executions started before this deploy: what they may still invoke"]
    out += [f"  {note}" for note in lifecycle.notes]
    if not lifecycle.verdicts:
        out.append("  nothing: no state machine of OLD calls a target of OLD")
    for verdict in lifecycle.verdicts:
        out += _verdict_lines(verdict)
    counts = lifecycle.to_json()["summary"]
    summary = (
        f"{counts['safe']} safe, {counts['broken']} broken, {counts['unprotected']} not protected"
    )
    return out, summary


def render_plan(old: Processed, new: Processed, lifecycle: Lifecycle | None = None) -> str:
    out = [
        f"Plan: deploying {new.source} over {old.source}",
        f"  old: {old.source}",
        *_header(old, "    "),
        f"  new: {new.source}",
        *_header(new, "    "),
        _context(new),
        "",
    ]
    if old.pin is None and new.pin is None:
        out += ["PinVersions ran on neither template (--pin runs it anyway).", ""]
    versions, counts = _plan_versions(old, new)
    roles, roles_changed = _plan_roles(old, new)
    machines, retargeted = _plan_machines(old, new)
    verdicts, verdict_summary = _plan_verdicts(lifecycle or plan_lifecycle(old, new))
    out += [*versions, "", *roles, "", *machines, ""]
    out += _plan_aliases(old, new)
    out += [*verdicts, ""]
    warnings = new.pin.report.warnings if new.pin is not None else []
    if warnings:
        codes = sorted({w.code for w in warnings})
        out += [
            f"Warnings in the new template: {len(warnings)} ({_names(codes)}); "
            f"pin-versions explain {new.source} lists them",
            "",
        ]
    out.append(
        "Summary: "
        + ", ".join(
            [
                _plural(counts["published"], "version") + " published",
                f"{counts['retained']} retained",
                f"{counts['deleted']} deleted",
                f"{counts['kept']} kept",
                _plural(roles_changed, "role grant") + " changed",
                _plural(retargeted, "state machine") + " retargeted",
            ]
        )
    )
    out.append(f"Verdicts: {verdict_summary}")
    return "\n".join(out) + "\n"

"""Reports for people: ``pin-versions explain`` (one template) and ``pin-versions plan`` (a
deploy from one template to the next).

Pure: processed templates and reports in, plain text out. The order is the template's (then
names where the template gives none), there is no colour and no timestamp: the text is a
golden file in the tests and can be an artifact in CI.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..iam import POLICY_NAME
from ..inventory import Context
from ..report import Diagnostic, Report, format_path
from .lifecycle import Lifecycle, Side, Transition, Verdict, assess
from .packaging import Artifact
from .yaml_io import JsonPath, TemplateLoadError, load_with_lines

__all__ = [
    "LineMap",
    "PinStep",
    "Processed",
    "plan_lifecycle",
    "render_explain",
    "render_plan",
]

LAMBDA_VERSION = "AWS::Lambda::Version"
IAM_POLICY = "AWS::IAM::Policy"
_MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")

# The grant PinVersions writes: !Sub ${F.Arn}:* (see iam.version_resource).
_EVERY_VERSION = re.compile(r"\$\{([A-Za-z0-9]+)\.Arn\}:\*")


class LineMap:
    """Report path -> line in the file the user wrote. Parses the file again, on first use
    only: a big JSON template costs a second parse, and most commands never ask."""

    def __init__(self, text: str | None, filename: str) -> None:
        self._text = text
        self._filename = filename
        self._index: dict[str, tuple[int, int]] | None = None

    def _lines(self) -> dict[str, tuple[int, int]]:
        if self._index is None:
            lines: dict[JsonPath, int] = {}
            if self._text is not None:
                # Line numbers are a courtesy: the template did load once already.
                with contextlib.suppress(TemplateLoadError):
                    lines = load_with_lines(self._text, self._filename)[1]
            self._index = {format_path(p): (line, len(p)) for p, line in lines.items()}
        return self._index

    def line_of(self, path: str) -> int | None:
        """The line of the longest prefix of ``path`` the file has.

        A DefinitionString is one value: its Tasks get the line where it starts. A prefix
        shallower than a resource (``Resources`` alone) would point at the wrong thing, for
        example at a resource only the SAM transform created, so it gives no line.
        """
        best = self._match(path)
        # SAM turns a state machine's Definition object into a DefinitionString with the
        # same states: after SAM, the object in the file still has the deeper line.
        marker = ".Properties.DefinitionString"
        if marker in path:
            alias = self._match(path.replace(marker, ".Properties.Definition", 1))
            if alias is not None and (best is None or alias[1] > best[1]):
                best = alias
        return best[0] if best is not None else None

    def _match(self, path: str) -> tuple[int, int] | None:
        index = self._lines()
        ends = [i for i, char in enumerate(path) if char in ".["]
        for end in [len(path), *reversed(ends)]:
            hit = index.get(path[:end])
            if hit is not None:
                return hit if hit[1] >= 2 or end == len(path) else None
        return None

    def locate(self, source: str, path: str) -> str:
        """``file:line`` (or ``file``) for messages about ``path``."""
        line = self.line_of(path) if path else None
        return f"{source}:{line}" if line is not None else source


@dataclass(frozen=True, slots=True)
class PinStep:
    """PinVersions' part of the pipeline: the template it received, what it returned, and
    its report."""

    before: dict[str, Any]
    after: dict[str, Any]
    report: Report


@dataclass(slots=True)
class Processed:
    """One template file through the pipeline, as the command line ran it."""

    source: str  # the file name as the user gave it
    transforms: tuple[str, ...]  # in the order they ran
    template: dict[str, Any]  # the processed template: what CloudFormation would deploy
    pin: PinStep | None  # None when PinVersions did not run
    lines: LineMap
    region: str
    account: str
    pin_added: bool = False  # PinVersions ran because of --pin, not the Transform list
    packaged: dict[str, Artifact] = field(default_factory=dict)  # by template path
    input_format: Literal["json", "yaml"] = "yaml"
    parameters: dict[str, Any] = field(default_factory=dict)  # the values the macro got


# --- shared pieces --------------------------------------------------------------------------


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (
            indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _names(items: Iterable[str]) -> str:
    return ", ".join(items) or "none"


def _resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return {}
    return {k: v for k, v in resources.items() if isinstance(v, dict)}


def _properties(resource: dict[str, Any]) -> dict[str, Any]:
    properties = resource.get("Properties")
    return properties if isinstance(properties, dict) else {}


def _function_named(value: Any) -> str:
    """The function an AWS::Lambda::Version's FunctionName names, for display."""
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        target = value.get("Fn::GetAtt")
        if isinstance(target, list) and target and isinstance(target[0], str):
            return target[0]
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _header(processed: Processed, indent: str = "  ") -> list[str]:
    transforms = [
        f"{name} (added by --pin)"
        if processed.pin_added and name == processed.transforms[-1]
        else name
        for name in processed.transforms
    ]
    out = [f"{indent}transforms: {_names(transforms)}"]
    for path, artifact in processed.packaged.items():
        what = artifact.local or "(no code named)"
        why = "" if artifact.found else ", a placeholder: not found"
        out.append(f"{indent}packaged: {path}: {what} -> sha256 {artifact.sha256[:12]}{why}")
    return out


def _context(processed: Processed) -> str:
    return f"  region {processed.region}, account {processed.account} (no AWS call is made)"


def _where(processed: Processed, path: str) -> str:
    line = processed.lines.line_of(path)
    return f" (line {line})" if line is not None else ""


def _warning_lines(processed: Processed, warnings: list[Diagnostic]) -> list[str]:
    if not warnings:
        return ["Warnings: none"]
    out = ["Warnings"]
    for warning in warnings:
        out.append(
            f"  {warning.code}  {warning.path or '(template)'}{_where(processed, warning.path)}"
        )
        out.append(f"         {warning.message}")
    return out


# --- explain --------------------------------------------------------------------------------


def _role_changes(step: PinStep, role: str) -> list[str]:
    """The retained grants PinVersions added for ``role`` (docs/design.md, Day 2)."""
    changes: list[str] = []
    for grant in step.report.grants:
        if grant.role != role:
            continue
        condition = f", when {grant.condition}" if grant.condition else ""
        changes.append(
            f"retained grant {grant.logical_id} ({IAM_POLICY} {grant.policy_name}{condition}): "
            f"lambda:InvokeFunction on every version of {grant.function}"
        )
    return changes


def _explain_machines(processed: Processed, report: Report) -> list[str]:
    out: list[str] = []
    by_machine: dict[str, list[list[str]]] = {name: [] for name in report.state_machines}
    for pin in report.pins:
        line = processed.lines.line_of(f"Resources.{pin.state_machine}.Properties.{pin.path}")
        row = [pin.path, "" if line is None else str(line), pin.function, pin.version]
        by_machine.setdefault(pin.state_machine, []).append(row)
    if not by_machine:
        return ["State machines: none"]
    for name, rows in by_machine.items():
        out.append(f"State machine {name}{_where(processed, f'Resources.{name}')}")
        if rows:
            out.extend(_table([["target", "line", "function", "version"], *rows]))
        else:
            out.append("  nothing pinned")
        out.append("")
    return out[:-1]


def _explain_versions(processed: Processed, step: PinStep) -> list[str]:
    report = step.report
    if not report.versions:
        return ["Versions: none"]
    after = _resources(step.after)
    rows = [["version", "function", "status", "DeletionPolicy", "UpdateReplacePolicy"]]
    stamped: list[str] = []
    for entry in report.versions:
        if entry.created:
            status = f"new, hash {entry.hash}"
        elif entry.version.endswith(".Version"):
            status = "published by SAM (AutoPublishAlias)"
        else:
            status = f"declared in the template{_where(processed, f'Resources.{entry.version}')}"
        deletion, replace = _version_policies(after, entry.version, entry.function)
        rows.append([entry.version, entry.function, status, deletion, replace])
        description = _properties(after.get(entry.function, {})).get("Description")
        if entry.hash and isinstance(description, str) and f"[pin {entry.hash}]" in description:
            stamped.append(f"{entry.function} [pin {entry.hash}]")
    out = ["Versions", *_table(rows)]
    if stamped:
        out.append(f"  Description stamped: {_names(stamped)}")
    return out


def _version_policies(
    after: dict[str, dict[str, Any]], version: str, function: str
) -> tuple[str, str]:
    """DeletionPolicy and UpdateReplacePolicy the version will have once deployed. SAM's
    ``F.Version`` (PinVersions before SAM) does not exist yet: SAM gives it the function's
    DeletionPolicy and UpdateReplacePolicy; without a DeletionPolicy, VersionDeletionPolicy,
    else Retain (Delete with CapacityProviderConfig) (samtranslator ``_construct_version``)."""
    if version.endswith(".Version") and version not in after:
        resource = after.get(function, {})
        properties = _properties(resource)
        deletion = resource.get("DeletionPolicy") or properties.get("VersionDeletionPolicy")
        if deletion is None:
            deletion = "Delete" if "CapacityProviderConfig" in properties else "Retain"
        replace = resource.get("UpdateReplacePolicy")
    else:
        deletion = after.get(version, {}).get("DeletionPolicy")
        replace = after.get(version, {}).get("UpdateReplacePolicy")
    return (
        str(deletion or "none (deleted)"),
        str(replace or "none (deleted on replacement)"),
    )


def _explain_roles(processed: Processed, step: PinStep) -> list[str]:
    report = step.report
    if not report.roles:
        return ["Roles: none changed or checked"]
    out = ["Roles"]
    for entry in report.roles:
        out.append(f"  {entry.role}{_where(processed, f'Resources.{entry.role}')}")
        prefix = f"Resources.{entry.role}"
        problems = sorted(
            {w.code for w in report.warnings if w.path == prefix or w.path.startswith(prefix + ".")}
        )
        covered = [f for f in entry.functions if f not in entry.added]
        if problems:
            out.append(f"    not widened (see {_names(problems)} below): {_names(entry.functions)}")
        elif covered:
            out.append(f"    already allows every version of {_names(covered)}")
        if entry.added:
            for change in _role_changes(step, entry.role):
                out.append(f"    added {change}")
    return out


def render_explain(processed: Processed) -> str:
    out = [processed.source, *_header(processed), _context(processed), ""]
    step = processed.pin
    if step is None:
        out.append(
            "PinVersions did not run: it is not in the template's Transform list "
            "(--pin runs it anyway)."
        )
        return "\n".join(out) + "\n"
    report = step.report
    out += _explain_machines(processed, report)
    out += ["", *_explain_versions(processed, step)]
    out += ["", *_explain_roles(processed, step)]
    out += ["", *_warning_lines(processed, report.warnings)]
    summary = report.summary()
    out += [
        "",
        "Summary: "
        + ", ".join(
            [
                _plural(summary["stateMachines"], "state machine"),
                _plural(summary["pinned"], "target") + " pinned",
                _plural(summary["versionsCreated"], "new version"),
                _plural(summary["versionsReused"], "existing version"),
                _plural(summary["rolesWidened"], "role") + " widened",
                _plural(len(report.warnings), "warning"),
            ]
        ),
    ]
    return "\n".join(out) + "\n"


# --- plan -----------------------------------------------------------------------------------


def _versions(template: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Every AWS::Lambda::Version: logical ID -> (function, DeletionPolicy)."""
    return {
        logical_id: (
            _function_named(_properties(resource).get("FunctionName")),
            resource.get("DeletionPolicy"),
        )
        for logical_id, resource in _resources(template).items()
        if resource.get("Type") == LAMBDA_VERSION
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


def _granted(policies: list[Any]) -> list[str]:
    found: set[str] = set()
    stack: list[Any] = list(policies)
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            found.update(_EVERY_VERSION.findall(node))
    return sorted(found)


def _pins(processed: Processed) -> dict[str, dict[str, str]]:
    """State machine -> target path -> version."""
    if processed.pin is None:
        return {}
    report = processed.pin.report
    pins: dict[str, dict[str, str]] = {name: {} for name in report.state_machines}
    for pin in report.pins:
        pins.setdefault(pin.state_machine, {})[pin.path] = pin.version
    return pins


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
    kept = [[v, function, "in both templates"] for v, (function, _) in after.items() if v in before]
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
                f"(was every version of {_names(_granted(was or []))})"
            )
        elif was is None:
            text = f"adds a PinVersions grant: every version of {_names(_granted(now))}"
        elif was == now:
            rows.append([role, f"unchanged: every version of {_names(_granted(now))}"])
            continue
        else:
            text = (
                f"changes its PinVersions grant: every version of {_names(_granted(now))} "
                f"(was {_names(_granted(was))})"
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
            if _resources(old.template).get(machine, {}).get("Type") in _MACHINE_TYPES:
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
        out.append("  nothing: no state machine of OLD invokes a Lambda function of OLD")
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
    out += [*versions, "", *roles, "", *machines, "", *verdicts, ""]
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

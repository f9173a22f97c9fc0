"""Reports for people: ``pin-versions explain`` (one template) and ``pin-versions plan`` (a
deploy from one template to the next).

Pure: processed templates and reports in, plain text out. The order is the template's (then
names where the template gives none), there is no colour and no timestamp: the text is a
golden file in the tests and can be an artifact in CI. ``plan``'s text is in ``plan_text``;
the processed template and the shared pieces in ``processed``.
"""

from __future__ import annotations

import json
from typing import Any

from ..report import AliasEntry, Report, format_path
from ..targets import LAMBDA, RETAIN, kind_named, kind_of_type
from .processed import (
    IAM_POLICY,
    PinStep,
    Processed,
    _context,
    _header,
    _names,
    _plural,
    _properties,
    _resources,
    _table,
    _warning_lines,
    _where,
    called,
)


def _actions(policy: dict[str, Any]) -> list[str]:
    """The IAM actions a grant policy resource allows, in its order."""
    document = _properties(policy).get("PolicyDocument")
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    actions: list[str] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        action = statement.get("Action") if isinstance(statement, dict) else None
        for item in action if isinstance(action, list) else [action]:
            if isinstance(item, str) and item not in actions:
                actions.append(item)
    return actions


def _target_noun(step: PinStep, target: str) -> str:
    """``function``, ``state machine``, ... : what ``target`` is (targets.py's noun)."""
    resource = _resources(step.after).get(target) or _resources(step.before).get(target, {})
    kind = kind_of_type(str(resource.get("Type", "")))
    return (kind or LAMBDA).noun


def _role_changes(step: PinStep, role: str) -> list[str]:
    """The retained grants PinVersions added for ``role`` (docs/design.md, Day 2), with the
    actions each allows (the target kind's: targets.py)."""
    changes: list[str] = []
    after = _resources(step.after)
    for grant in step.report.grants:
        if grant.role != role:
            continue
        condition = f", when {grant.condition}" if grant.condition else ""
        noun = _target_noun(step, grant.function)
        actions = _actions(after.get(grant.logical_id, {})) or [LAMBDA.grant_action]
        scope = (
            f"every version of {grant.function}"
            if noun == LAMBDA.noun
            else f"{noun} {grant.function}"
        )
        changes.append(
            f"retained grant {grant.logical_id} ({IAM_POLICY} {grant.policy_name}{condition}): "
            f"{', '.join(actions)} on {scope}"
        )
    return changes


def _explain_machines(processed: Processed, report: Report) -> list[str]:
    out: list[str] = []
    by_machine: dict[str, list[list[str]]] = {name: [] for name in report.state_machines}
    calls = called(report)
    aliases = {entry.alias: entry for entry in report.aliases}
    for pin in report.pins:
        line = processed.lines.line_of(pin.parts)
        kind = kind_named(pin.kind)
        # A RETAIN kind (ECS, Batch) is pinned to its own revision: Ref of the resource.
        pinned = f"{pin.version} (its revision)" if kind.strategy == RETAIN else pin.version
        alias = aliases.get(calls.get(format_path(pin.parts), ""))
        if alias is not None:
            # MoveCallers: the Task starts the alias, which routes to the version.
            pinned = f"{alias.alias} (alias {alias.name}, shifts to {alias.version})"
        row = [pin.path, "" if line is None else str(line), f"{kind.noun} {pin.function}", pinned]
        by_machine.setdefault(pin.state_machine, []).append(row)
    if not by_machine:
        return ["State machines: none"]
    for name, rows in by_machine.items():
        out.append(f"State machine {name}{_where(processed, ('Resources', name))}")
        if rows:
            out.extend(_table([["target", "line", "calls", "pinned to"], *rows]))
        else:
            out.append("  nothing pinned")
        out.append("")
    return out[:-1]


# What each row of the Versions table is (its "kind" column), by the pinning resource's type.
_VERSION_KIND = {
    "AWS::Lambda::Version": "Lambda version",
    "AWS::StepFunctions::StateMachineVersion": "state machine version",
}


def _explain_versions(processed: Processed, step: PinStep) -> tuple[list[str], int, int]:
    """The Versions table, and how many of its versions are new and how many existing:
    Lambda versions, state machine versions (a child's pin, an alias's target) and the
    revisions of ECS task definitions and Batch job definitions kept alive."""
    report = step.report
    rows = [["version", "kind", "of", "status", "DeletionPolicy", "UpdateReplacePolicy"]]
    stamped: list[str] = []
    after = _resources(step.after)
    created = reused = 0
    for entry in report.versions:
        if entry.created:
            status = f"new, hash {entry.hash}"
            created += 1
        elif entry.version.endswith(".Version"):
            status = "published by SAM (AutoPublishAlias)"
            created += 1
        else:
            status = f"declared in the template{_where(processed, ('Resources', entry.version))}"
            reused += 1
        deletion, replace = _version_policies(processed, step, entry.version, entry.function)
        kind = _VERSION_KIND["AWS::Lambda::Version"]
        rows.append([entry.version, kind, entry.function, status, deletion, replace])
        description = _properties(after.get(entry.function, {})).get("Description")
        if entry.hash and isinstance(description, str) and f"[pin {entry.hash}]" in description:
            stamped.append(f"{entry.function} [pin {entry.hash}]")
    kind_rows = _kind_rows(processed, step, {entry.version for entry in report.versions})
    rows += kind_rows
    created += sum(row[3].startswith("new ") for row in kind_rows)
    reused += sum(not row[3].startswith("new ") for row in kind_rows)
    if len(rows) == 1:
        return ["Versions: none"], 0, 0
    out = ["Versions", *_table(rows)]
    if stamped:
        out.append(f"  Description stamped: {_names(stamped)}")
    return out, created, reused


def _kind_rows(processed: Processed, step: PinStep, listed: set[str]) -> list[list[str]]:
    """What pins the targets of the other kinds (issue 14): a child's state machine
    version (new, or the template's own), each ECS task definition or Batch job definition
    kept alive as its own revision (with the retention settings a deploy needs, targets.py
    ``retention_properties``), and (issue 15) the state machine version each alias shifts
    to."""
    before = _resources(step.before)
    owners: list[tuple[str, str, str]] = [
        (pin.version, pin.function, pin.kind) for pin in step.report.pins
    ]
    owners += [(a.version, a.state_machine, "state-machine") for a in step.report.aliases]
    rows: list[list[str]] = []
    for version, owner, kind_name in owners:
        kind = kind_named(kind_name)
        if kind.name == LAMBDA.name or version in listed:
            continue
        listed.add(version)
        resource = _final(processed, step, version)
        if kind.strategy == RETAIN:
            settings = [
                _setting(name, value)
                for name, value in kind.retention_properties
                if _properties(resource).get(name) == value
            ]
            status = "its own revision, kept ACTIVE" + (
                f" ({', '.join(settings)})" if settings else ""
            )
            what = f"{kind.noun} revision"
        else:
            short = kind.pin.type.rsplit("::", 1)[-1]
            what = _VERSION_KIND.get(kind.pin.type, short)
            if version in before:
                status = f"{short}, declared in the template" + _where(
                    processed, ("Resources", version)
                )
            else:
                status = f"new {short}"
        aliases = [a.alias for a in step.report.aliases if a.version == version]
        if aliases:
            status += f", {_names(aliases)} shifts to it"
        rows.append(
            [
                version,
                what,
                f"{kind.noun} {owner}",
                status,
                str(resource.get("DeletionPolicy") or "none (deleted)"),
                str(resource.get("UpdateReplacePolicy") or "none (deleted on replacement)"),
            ]
        )
    return rows


def _final(processed: Processed, step: PinStep, logical_id: str) -> dict[str, Any]:
    """A resource as CloudFormation gets it: from the processed template (after every
    transform: SAM after PinVersions may write the resource, or its policies, anew), else as
    PinVersions returned it."""
    final = _resources(processed.template).get(logical_id)
    return final if final is not None else _resources(step.after).get(logical_id, {})


def _setting(name: str, value: Any) -> str:
    """``ResourceRetentionPolicy.SkipDeregisterOnUpdate: true``: a property setting on one
    line (a one-key object is written as a dotted name)."""
    while isinstance(value, dict) and len(value) == 1:
        ((key, value),) = value.items()
        name = f"{name}.{key}"
    return f"{name}: {json.dumps(value, sort_keys=True)}"


def _version_policies(
    processed: Processed, step: PinStep, version: str, function: str
) -> tuple[str, str]:
    """DeletionPolicy and UpdateReplacePolicy the version will have once deployed: read
    from the processed template. SAM's ``F.Version`` (PinVersions before SAM) has another
    logical ID there: SAM gives it the function's DeletionPolicy and UpdateReplacePolicy;
    without a DeletionPolicy, VersionDeletionPolicy, else Retain (Delete with
    CapacityProviderConfig) (samtranslator ``_construct_version``)."""
    after = _resources(step.after)
    if version.endswith(".Version") and version not in after:
        resource = after.get(function, {})
        properties = _properties(resource)
        deletion = resource.get("DeletionPolicy") or properties.get("VersionDeletionPolicy")
        if deletion is None:
            deletion = "Delete" if "CapacityProviderConfig" in properties else "Retain"
        replace = resource.get("UpdateReplacePolicy")
    else:
        resource = _final(processed, step, version)
        deletion = resource.get("DeletionPolicy")
        replace = resource.get("UpdateReplacePolicy")
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
        out.append(f"  {entry.role}{_where(processed, ('Resources', entry.role))}")
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


def shift_text(entry: AliasEntry) -> str:
    """``CANARY 10% for 10 minutes, then all``: how an alias shifts to its new version
    (Step Functions' DeploymentPreference; CloudWatch alarms roll it back)."""
    if entry.type == "ALL_AT_ONCE":
        text = "ALL_AT_ONCE"
    elif entry.type == "CANARY":
        text = f"CANARY {entry.percentage}% for {entry.interval} minutes, then all"
    else:
        text = f"LINEAR {entry.percentage}% more every {entry.interval} minutes"
    if entry.alarms:
        text += f", rolled back on alarm {_names(_alarm(a) for a in entry.alarms)}"
    return text


def _alarm(value: Any) -> str:
    """An alarm name as written: text, ``Ref`` of a template alarm, else compact JSON."""
    if isinstance(value, dict) and isinstance(value.get("Ref"), str) and len(value) == 1:
        return str(value["Ref"])
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _explain_aliases(processed: Processed, report: Report) -> list[str]:
    """Issue 15: each alias, the version it shifts to and how; shown only when there is one."""
    out = ["Aliases"]
    for entry in report.aliases:
        version = f"{entry.version} ({'new' if entry.version_created else 'existing'})"
        out.append(
            f"  {entry.alias}{_where(processed, ('Resources', entry.alias))}: alias "
            f"{entry.name} of {entry.state_machine} ({entry.source}), shifts to {version}: "
            f"{shift_text(entry)}"
        )
        out.append(
            "    during a shift, and after a rollback, the previous version takes new "
            "executions too: its targets are kept alive (docs/lifecycle.md)"
        )
        if entry.callers:
            out.append(f"    callers moved to it: {_names(entry.callers)}")
        if entry.grants:
            out.append(f"    grants for its callers: {_names(entry.grants)}")
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
    versions, created, reused = _explain_versions(processed, step)
    out += ["", *versions]
    if report.aliases:
        out += ["", *_explain_aliases(processed, report)]
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
                _plural(created, "new version"),
                _plural(reused, "existing version"),
                _plural(summary["rolesWidened"], "role") + " widened",
                _plural(len(report.warnings), "warning"),
            ]
        ),
    ]
    return "\n".join(out) + "\n"


# --- plan -----------------------------------------------------------------------------------

"""The plan (pure): facts in, one decision per version, grant, retained function and
provisioned concurrency configuration out. When any check failed, what it could concern is
kept."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from .model import (
    DEFAULT_KEEP,
    DELETE,
    FUNCTION,
    GRANT,
    KEEP,
    MACHINE_VERSION,
    MACHINE_VERSION_QUOTA,
    MACHINE_VERSION_WARN_AT,
    PROVISIONED,
    Decision,
    Facts,
    FunctionFacts,
    RetainedFunction,
    Use,
    Version,
)
from .revisions import revision_decisions

# ---------------------------------------------------------------------------------------
# The plan (pure)
# ---------------------------------------------------------------------------------------


def plan(
    facts: Facts,
    *,
    keep: int = DEFAULT_KEEP,
    older_than_days: float | None = None,
    now: datetime | None = None,
    reclaim_functions: bool = False,
    reclaim_revisions: bool = False,
) -> list[Decision]:
    """Decide keep or delete for every version of every function in ``facts``, then for
    what PinVersions retained (grants, functions kept through a replacement, provisioned
    concurrency on versions that left the stack). Whole functions are deleted only with
    ``reclaim_functions``."""
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    if older_than_days is not None and older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    now = now or datetime.now(UTC)
    decisions: list[Decision] = []
    retained_rows = {
        name: _retained_function(facts, retained, reclaim_functions)
        for name, retained in facts.retained.items()
    }
    for name in sorted(facts.functions):
        function = facts.functions[name]
        failures = function.errors + facts.errors
        whole = retained_rows.get(name)
        if whole is not None:
            decisions.append(whole)
            if whole.decision == DELETE:
                continue  # its versions go with it
        if failures and not function.versions:
            decisions.append(Decision(name, "*", KEEP, _could_not_check(failures)))
            continue
        decisions.append(Decision(name, "$LATEST", KEEP, "$LATEST is never deleted"))
        published = sorted(
            (v for v in function.versions if v.number.isdigit()), key=lambda v: int(v.number)
        )
        newest = {v.number for v in published[max(0, len(published) - keep) :]} if keep else set()
        for version in published:
            decision, reason = _decide(
                name, version, facts.uses, failures, newest, keep, older_than_days, now
            )
            decisions.append(Decision(name, version.number, decision, reason))
    revisions = revision_decisions(facts.revisions, list(facts.errors), reclaim_revisions)
    return decisions + machine_versions(facts, keep) + reclaims(facts) + revisions


def machine_versions(facts: Facts, keep: int = DEFAULT_KEEP) -> list[Decision]:
    """Keep or delete for every published version of the stack's state machines (issue 14).

    A version is kept when anything may still start it: an alias routes to it (Step
    Functions refuses to delete it anyway, and during a gradual deployment both versions
    take new executions), a running or redrivable execution was started with it, a
    definition of the stack names its ARN (a parent pinned to it: the parent's running
    executions start it later), it is a resource of the stack now, or it is among the
    newest ``keep``. Any failed check keeps every version it could concern."""
    decisions: list[Decision] = []
    for name in sorted(facts.machines):
        machine = facts.machines[name]
        failures = machine.errors + facts.errors
        if failures and not machine.versions:
            decisions.append(Decision(name, "*", KEEP, _could_not_check(failures), MACHINE_VERSION))
            continue
        published = sorted(
            (v for v in machine.versions if v.number.isdigit()), key=lambda v: int(v.number)
        )
        newest = {v.number for v in published[max(0, len(published) - keep) :]} if keep else set()
        key = name.casefold()
        for version in published:
            reasons = [
                use.reason
                for use in facts.machine_uses
                if (use.function is None or use.function.casefold() == key)
                and (use.version is None or use.version == version.number)
            ]
            if version.number in newest:
                reasons.append(f"among the newest {keep}")
            if failures:
                decision = (KEEP, _could_not_check(failures))
            elif reasons:
                decision = (KEEP, _join_counted(reasons))
            else:
                decision = (DELETE, "unused: nothing starts it")
            decisions.append(
                Decision(
                    name, version.number, *decision, kind=MACHINE_VERSION, target=(version.arn,)
                )
            )
    return decisions


def quota_warnings(facts: Facts) -> list[str]:
    """PV160 for each state machine with MACHINE_VERSION_WARN_AT or more of Step
    Functions' MACHINE_VERSION_QUOTA versions: once full, a deploy that publishes one more
    (a changed pinned child) fails until unused versions are deleted."""
    warnings: list[str] = []
    for name in sorted(facts.machines):
        count = len(facts.machines[name].versions)
        if count >= MACHINE_VERSION_WARN_AT:
            warnings.append(
                f"PV160 state machine {name} has {count} of the {MACHINE_VERSION_QUOTA} "
                "versions Step Functions allows; a deploy that publishes one more fails once "
                "it is full: run prune with --apply (lower --keep if the newest are all kept)"
            )
    return warnings


def _decide(
    name: str,
    version: Version,
    uses: Sequence[Use],
    failures: Sequence[str],
    newest: set[str],
    keep: int,
    older_than_days: float | None,
    now: datetime,
) -> tuple[str, str]:
    if failures:
        return KEEP, _could_not_check(failures)
    key = name.casefold()  # over-matching only keeps more, so compare case-insensitively
    reasons = [
        use.reason
        for use in uses
        if (use.function is None or use.function.casefold() == key)
        and (use.version is None or use.version == version.number)
    ]
    if version.durable:
        reasons.append("durable function version (durable executions are not checked)")
    if version.number in newest:
        reasons.append(f"among the newest {keep}")
    if reasons:
        return KEEP, _join_counted(reasons)
    if older_than_days is not None:
        if version.last_modified is None:
            return KEEP, "LastModified unknown (--older-than)"
        if now - version.last_modified < timedelta(days=older_than_days):
            stamp = version.last_modified.strftime("%Y-%m-%d")
            return KEEP, f"modified {stamp}, less than {older_than_days:g} days ago"
    return DELETE, "unused: nothing names it"


def _uses_of(facts: Facts, function: str, version: str | None = None) -> list[str]:
    """Why ``function`` (at ``version``, or any version when None) may still be invoked:
    definitions, executions, aliases, event source mappings. Provisioned concurrency and
    being a resource of the stack are not invokers and are not counted here."""
    key = function.casefold()
    return [
        use.reason
        for use in facts.uses
        if (use.function is None or use.function.casefold() == key)
        and (version is None or use.version is None or use.version == version)
        and use.reason != "provisioned concurrency"
        and not use.reason.startswith("resource ")
    ]


def _retained_function(
    facts: Facts, retained: RetainedFunction, reclaim_functions: bool
) -> Decision:
    name = retained.name
    origin = (
        f"retained, no longer a resource of its stack (was {retained.logical_id} of stack "
        f"{retained.stack})"
    )
    failures = facts.errors + facts.functions.get(name, FunctionFacts(name)).errors
    if failures:
        return Decision(name, "function", KEEP, _could_not_check(failures), FUNCTION)
    uses = _uses_of(facts, name)
    if uses:
        return Decision(
            name, "function", KEEP, f"{origin}; in use: {_join_counted(uses)}", FUNCTION
        )
    if not reclaim_functions:
        return Decision(
            name,
            "function",
            KEEP,
            f"{origin}, no version in use; --reclaim-functions deletes it",
            FUNCTION,
        )
    return Decision(name, "function", DELETE, f"{origin}, no version in use", FUNCTION)


def reclaims(facts: Facts) -> list[Decision]:
    """Retained grants and provisioned concurrency prune may reclaim (issue 11).

    A grant (a PinVersionsInvoke* inline policy no resource of the stack declares) goes when
    none of the functions it allows has a version in use; provisioned concurrency on a
    version goes when that version is no resource of the stack now and nothing invokes it.
    Any failed check keeps all of them.
    """
    decisions: list[Decision] = []
    for grant in facts.grants:
        label = f"grant {grant.role}/{grant.policy}"
        functions = ", ".join(grant.functions) or "no function"
        failures = facts.errors + facts.grant_errors
        if failures:
            decision = (KEEP, _could_not_check(failures))
        elif "*" in grant.functions or not grant.functions:
            decision = (KEEP, "retained grant whose functions prune cannot tell")
        else:
            uses = [u for f in grant.functions for u in _uses_of(facts, f)]
            if uses:
                decision = (KEEP, f"retained grant; in use: {_join_counted(uses)}")
            else:
                decision = (DELETE, "retained grant; no version of its function is in use")
        decisions.append(
            Decision(functions, label, *decision, kind=GRANT, target=(grant.role, grant.policy))
        )
    for function, version in sorted(set(facts.provisioned)):
        label = f"provisioned concurrency on {version}"
        failures = facts.errors + facts.functions.get(function, FunctionFacts(function)).errors
        if failures:
            decision = (KEEP, _could_not_check(failures))
        elif (function, version) in facts.stack_versions:
            decision = (KEEP, "the version is a resource of the stack")
        elif not _stamped(facts, function, version):
            # Not evidently a version a PinVersions deploy published: set up by hand,
            # perhaps on purpose. Only the owner can tell; prune leaves it.
            decision = (KEEP, "the version has no PinVersions stamp in its Description")
        elif uses := _uses_of(facts, function, version):
            decision = (KEEP, _join_counted(uses))
        else:
            decision = (DELETE, "the version left the stack and nothing invokes it (paid)")
        decisions.append(Decision(function, label, *decision, kind=PROVISIONED, target=(version,)))
    return decisions


def _stamped(facts: Facts, function: str, version: str) -> bool:
    listed = facts.functions.get(function)
    return listed is not None and any(v.number == version and v.stamped for v in listed.versions)


def _could_not_check(failures: Sequence[str]) -> str:
    # The first failure on the row keeps the table readable; all are printed after it.
    unique = list(dict.fromkeys(failures))
    more = f" (and {len(unique) - 1} more)" if len(unique) > 1 else ""
    return f"could not check: {unique[0]}{more}"


def _join_counted(reasons: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    return "; ".join(r if n == 1 else f"{r} (x{n})" for r, n in counts.items())

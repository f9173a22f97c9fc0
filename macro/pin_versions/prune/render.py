"""prune's output: the decision table, the summary line and the permission message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from .aws import Outcome
from .model import (
    DELETE,
    DELETE_ACTIONS,
    DELETED,
    FAILED,
    FUNCTION,
    GRANT,
    KEEP,
    MACHINE_VERSION,
    PROVISIONED,
    READ_ACTIONS,
    REVISION,
    VERSION,
    Decision,
)

# ---------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------

_HEADERS = ("function", "version", "decision", "reason")


def table(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """The one plain-text table of the project (prune's and the command line's reports; the
    command line imports it from here because the prune job's bundle has no ``local/``):
    each column padded to its widest cell, two spaces between columns, ``indent`` before each
    line, no trailing spaces. ``rows`` is not empty and its rows have the same length."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        (
            indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _subject(decision: Decision) -> str:
    """The first column: a function's name, or a state machine's, said as such."""
    if decision.kind == MACHINE_VERSION:
        return f"{decision.function} (state machine)"
    return decision.function


def format_table(decisions: Sequence[Decision]) -> str:
    rows = [_HEADERS, *((_subject(d), d.version, d.decision, d.reason) for d in decisions)]
    return "\n".join(table(rows))


def count_decisions(
    decisions: Sequence[Decision], kinds: frozenset[str] = frozenset({VERSION})
) -> dict[str, int]:
    """How many rows of ``kinds`` got each decision ($LATEST rows are not counted)."""
    counts: dict[str, int] = {}
    for decision in decisions:
        if decision.version != "$LATEST" and decision.kind in kinds:
            counts[decision.decision] = counts.get(decision.decision, 0) + 1
    return counts


def _parts(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[k]} {k}" for k in (KEEP, DELETE, DELETED, FAILED) if k in counts)


def summary(decisions: Sequence[Decision], applied: bool) -> str:
    counts = count_decisions(decisions)
    functions = len({d.function for d in decisions if d.kind == VERSION})
    text = f"{sum(counts.values())} versions of {functions} functions: {_parts(counts) or 'none'}"
    machine_counts = count_decisions(decisions, frozenset({MACHINE_VERSION}))
    if machine_counts:
        machines = len({d.function for d in decisions if d.kind == MACHINE_VERSION})
        total = sum(machine_counts.values())
        text += (
            f"; {total} state machine version{'' if total == 1 else 's'} of {machines} state "
            f"machine{'' if machines == 1 else 's'}: {_parts(machine_counts)}"
        )
    revision_counts = count_decisions(decisions, frozenset({REVISION}))
    if revision_counts:
        total = sum(revision_counts.values())
        text += (
            f"; {total} task or job definition revision{'' if total == 1 else 's'} "
            f"retained: {_parts(revision_counts)}"
        )
    reclaimed = count_decisions(decisions, frozenset({GRANT, FUNCTION, PROVISIONED}))
    if reclaimed:
        text += (
            f"; {sum(reclaimed.values())} retained by PinVersions (grants, replaced functions, "
            f"provisioned concurrency): {_parts(reclaimed)}"
        )
    deleting = counts, reclaimed, machine_counts, revision_counts
    if not applied and any(c.get(DELETE) for c in deleting):
        text += " (dry run: nothing was deleted; add --apply to delete)"
    return text


def permission_message(denied: Sequence[str]) -> str:
    reads = ", ".join(READ_ACTIONS)
    return (
        f"pin-versions prune: access denied ({', '.join(denied)}); prune needs the IAM actions "
        f"{reads}, and with --apply also {', '.join(DELETE_ACTIONS)}"
    )


def report(outcome: Outcome, applied: bool, out: TextIO, err: TextIO) -> int:
    """Print the table (always), then problems; returns the exit code."""
    print(format_table(outcome.decisions), file=out)
    print(summary(outcome.decisions, applied), file=out)
    failed = [d for d in outcome.decisions if d.decision == FAILED]
    for warning in outcome.warnings:
        print(f"pin-versions prune: warning: {warning}", file=err)
    for error in outcome.errors:
        print(f"pin-versions prune: check failed, kept what it could concern: {error}", file=err)
    if failed:
        print(f"pin-versions prune: {len(failed)} deletions failed", file=err)
    if outcome.denied:
        print(permission_message(outcome.denied), file=err)
    return 1 if outcome.errors or failed or outcome.denied else 0

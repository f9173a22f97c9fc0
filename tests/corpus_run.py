"""Every template of both corpus roots (../shared/corpus and the in-repository tests/corpus/)
through the command line's pipeline (the code `pin-versions transform` runs: local
packaging, SAM offline, PinVersions), in every order that applies, with cfn-lint before and
after.

`make corpus` prints the table; tests/test_corpus.py asserts on the same rows.

    python tests/corpus_run.py [--jobs N] [FILE ...]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "macro")]

from pin_versions import Context, transform  # noqa: E402
from pin_versions.local.pipeline import (  # noqa: E402
    MacroFailure,
    Options,
    UsageError,
    _parameter_values,
    process,
)
from pin_versions.local.yaml_io import TemplateLoadError, dump_json, load  # noqa: E402
from support import corpus_path, corpus_templates, deployed_problems, lint_errors  # noqa: E402

SAM = "AWS::Serverless-2016-10-31"
PIN = "PinVersions"
# Why a Task was left alone, by warning code: the table's columns.
LEFT_ALONE = {
    "PV101": "external",
    "PV102": "dynamic",
    "PV103": "version",
    "PV104": "alias",
    "PV110": "skipped",
    "PV105": "s3",
    "PV108": "several",
    "PV111": "unpinnable",
    "PV143": "unseen",  # a non-STANDARD state machine named in an S3 definition's substitutions
}
# The kinds issue 14 adds (their names in macro/pin_versions/targets.py), by the service
# integration a Task calls one through: `arn:<partition>:states:::states:startExecution`,
# `...:ecs:runTask`, `...:batch:submitJob`, each with an optional `.sync`, `.sync:2` or
# `.waitForTaskToken` suffix (https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html,
# .../connect-ecs.html, .../connect-batch.html). The table's short column names.
KIND_INTEGRATIONS = {
    "state-machine": ("states:startExecution", "SM"),
    "ecs-task-definition": ("ecs:runTask", "ECS"),
    "batch-job-definition": ("batch:submitJob", "Batch"),
}
_INTEGRATION = re.compile(
    r":states:::(" + "|".join(api for api, _ in KIND_INTEGRATIONS.values()) + r")(?![A-Za-z])"
)
_KIND_OF_API = {api: kind for kind, (api, _) in KIND_INTEGRATIONS.items()}
STATE_MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")

# Codes that leave an in-template function unpinned: the processed template may then still
# invoke it unqualified, and says why.
UNPINNED_BY_CHOICE = {"PV108", "PV110", "PV111"}


@dataclass
class Row:
    file: str
    order: str  # "pin" (CloudFormation), "pin-first" / "sam-first" (SAM)
    status: str = "ok"  # ok, failed (macro failure), unsupported (cannot run locally), crash
    message: str = ""
    machines: int = 0
    targets: int = 0
    pinned: int = 0
    left: Counter[str] = field(default_factory=Counter)
    roles: int = 0
    lint_before: int = 0
    lint_after: int = 0
    new_lint: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    idempotent: bool | None = None  # PinVersions applied to its own output changes nothing
    # Per kind of KIND_INTEGRATIONS: the Tasks of the source template that call that
    # integration (counted in its definitions as written, companion DefinitionUri files
    # included), and the report's pins of that kind.
    tasks: Counter[str] = field(default_factory=Counter)
    pinned_kinds: Counter[str] = field(default_factory=Counter)


def kind_tasks(template: Any, folder: Path) -> Counter[str]:
    """How many Tasks of each kind of KIND_INTEGRATIONS the state machines of ``template``
    (as written, before any transform) have: the integration ARNs in each definition
    (``Definition``, ``DefinitionString``, a local ``DefinitionUri`` file read from
    ``folder``) and in its ``DefinitionSubstitutions`` (a Task's ``Resource`` may be a
    placeholder: SAM's output writes every intrinsic so). Independent of the macro: the
    number the report's pins are compared with."""
    found: Counter[str] = Counter()
    resources = template.get("Resources") if isinstance(template, dict) else None
    for resource in (resources or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") not in STATE_MACHINE_TYPES:
            continue
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        texts = [
            json.dumps(properties[key])
            for key in ("Definition", "DefinitionString", "DefinitionSubstitutions")
            if key in properties
        ]
        uri = properties.get("DefinitionUri")
        if isinstance(uri, str) and (folder / uri).is_file():
            texts.append((folder / uri).read_text(encoding="utf-8-sig"))
        for text in texts:
            found.update(_KIND_OF_API[m.group(1)] for m in _INTEGRATION.finditer(text))
    return found


def _orders(template: dict[str, Any]) -> list[tuple[str, list[str]]]:
    transforms = template.get("Transform")
    listed = [transforms] if isinstance(transforms, str) else list(transforms or [])
    others = [t for t in listed if t not in (SAM, PIN)]
    resources = template.get("Resources")
    sam = SAM in listed or (
        isinstance(resources, dict)
        and any(
            isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::Serverless::")
            for r in resources.values()
        )
    )
    if sam:
        return [("pin-first", [*others, PIN, SAM]), ("sam-first", [*others, SAM, PIN])]
    return [("pin", [*others, PIN])]


def _options() -> Options:
    return Options(
        parameters={},
        region="us-east-1",
        account="123456789012",
        pin=False,
        macro_name=PIN,
        quiet=True,
    )


def _run(path: Path, transforms: list[str], workdir: Path) -> Any:
    """The template with this Transform list, next to links to its folder's files (so that
    relative CodeUri/DefinitionUri paths resolve as they would in place)."""
    template = load(path.read_text(encoding="utf-8-sig"), str(path))
    template["Transform"] = transforms
    for entry in path.parent.iterdir():
        link = workdir / entry.name
        if not link.exists():
            link.symlink_to(entry)
    source = workdir / f"pv-corpus-{'-'.join(t.replace(':', '') for t in transforms)}.json"
    source.write_text(dump_json(template), encoding="utf-8")
    with contextlib.redirect_stderr(io.StringIO()):
        return process(str(source), _options(), lambda message: None)


def run_template(name: str, orders: list[tuple[str, list[str]]]) -> list[Row]:
    """Every order of one template, against one baseline: the template as the transforms
    other than PinVersions (SAM, if any) would deploy it."""
    path = corpus_path(name)
    rows = [Row(name, order) for order, _ in orders]
    try:
        tasks = kind_tasks(load(path.read_text(encoding="utf-8-sig"), name), path.parent)
    except TemplateLoadError:
        tasks = Counter()
    for row in rows:
        row.tasks = Counter(tasks)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            baseline = _run(path, [t for t in orders[0][1] if t != PIN], Path(scratch))
        except Exception as error:
            for row in rows:
                _failed(row, error)
            return rows
        before = lint_errors(baseline.template)
        for row, (_, transforms) in zip(rows, orders, strict=True):
            try:
                processed = _run(path, transforms, Path(scratch))
            except Exception as error:
                _failed(row, error)
                continue
            _measure(row, processed, transforms, before)
    return rows


def _failed(row: Row, error: Exception) -> None:
    if isinstance(error, (UsageError, TemplateLoadError)):  # what the CLI answers with exit 2
        row.status, row.message = "unsupported", str(error)
    elif isinstance(error, MacroFailure):
        row.status, row.message = "failed", " | ".join(error.lines)
    else:  # the bar is zero crashes: count and show them
        row.status, row.message = "crash", f"{type(error).__name__}: {error}"


def _measure(
    row: Row, processed: Any, transforms: list[str], before: list[tuple[str, str, str]]
) -> None:
    report = processed.pin.report if processed.pin is not None else None
    if report is not None:
        row.machines = len(report.state_machines)
        row.pinned = len(report.pins)
        row.pinned_kinds = Counter(pin.kind for pin in report.pins)
        row.left = Counter(LEFT_ALONE[w.code] for w in report.warnings if w.code in LEFT_ALONE)
        row.targets = row.pinned + sum(n for reason, n in row.left.items() if reason != "s3")
        row.roles = sum(1 for r in report.roles if r.added)
    if transforms[-1] == PIN:
        # The same request: the parameter values the command line used (the defaults).
        values = _parameter_values(processed.template, processed.source, _options())
        again = transform(processed.template, Context("us-east-1", "123456789012", values))
        row.idempotent = again.template == processed.template
    after = lint_errors(processed.template)
    row.lint_before, row.lint_after = len(before), len(after)
    had = Counter(rule for rule, _, _ in before)
    for rule, where, message in after:
        if had[rule] > 0:
            had[rule] -= 1
        else:
            row.new_lint.append(f"{rule} {where}: {message}")
    chosen = report is not None and any(w.code in UNPINNED_BY_CHOICE for w in report.warnings)
    row.problems = [
        p
        for p in deployed_problems(processed.template)
        if not (chosen and "invokes" in p and "unqualified" in p)
    ]
    if report is not None:
        row.problems += kept_alive_problems(processed.template, report.pins)


RETAIN = ("DeletionPolicy", "UpdateReplacePolicy")


def kept_alive_problems(template: dict[str, Any], pins: list[Any]) -> list[str]:
    """What the deployed template lacks for a pin of an issue 14 kind to outlive the next
    deploy (docs/design.md, the issue 14 contract): a nested state machine's version is an
    AWS::StepFunctions::StateMachineVersion of that machine at its current revision, kept on
    replacement and deletion; a task definition is kept on replacement and deletion (so the
    old revision is not deregistered); a job definition also skips deregistration on update
    (ResourceRetentionPolicy.SkipDeregisterOnUpdate). Independent of the macro's own code."""
    resources = template.get("Resources", {})
    problems: list[str] = []
    for pin in pins:
        if pin.kind == "lambda":
            continue
        kept = resources.get(pin.version)
        where = f"{pin.kind} {pin.function} (pinned by {pin.state_machine})"
        if not isinstance(kept, dict):
            problems.append(f"{where}: {pin.version} is not in the deployed template")
            continue
        problems += [
            f"{where}: {pin.version} has no {policy}: Retain"
            for policy in RETAIN
            if kept.get(policy) != "Retain"
        ]
        properties = kept.get("Properties", {})
        if pin.kind == "state-machine":
            expected = {
                "StateMachineArn": {"Ref": pin.function},
                "StateMachineRevisionId": {"Fn::GetAtt": [pin.function, "StateMachineRevisionId"]},
            }
            if kept.get("Type") != "AWS::StepFunctions::StateMachineVersion" or any(
                properties.get(key) != value for key, value in expected.items()
            ):
                problems.append(f"{where}: {pin.version} is not a version of it at its revision")
        elif pin.kind == "batch-job-definition":
            policy = properties.get("ResourceRetentionPolicy")
            if not (isinstance(policy, dict) and policy.get("SkipDeregisterOnUpdate") is True):
                problems.append(f"{where}: no ResourceRetentionPolicy.SkipDeregisterOnUpdate: true")
    return problems


def corpus_jobs() -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """Each corpus template with the orders its transforms run in."""
    jobs: list[tuple[str, list[tuple[str, list[str]]]]] = []
    for entry in corpus_templates():
        name = entry["file"]
        try:
            template = load(corpus_path(name).read_text(encoding="utf-8-sig"), name)
        except TemplateLoadError:
            jobs.append((name, [("pin", [PIN])]))  # reported as unsupported by run_template
            continue
        jobs.append((name, _orders(template)))
    return jobs


def _job(job: tuple[str, list[tuple[str, list[str]]]]) -> list[Row]:
    return run_template(*job)


def run_all(jobs: list[tuple[str, list[tuple[str, list[str]]]]], workers: int) -> list[Row]:
    if workers <= 1:
        return [row for job in jobs for row in _job(job)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [row for rows in pool.map(_job, jobs, chunksize=2) for row in rows]


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {key}" for key, n in sorted(counter.items()))


def _kind_cell(row: Row, kind: str) -> str:
    """``pinned/Tasks`` of one kind, empty when the template has no such Task."""
    if not row.tasks[kind] and not row.pinned_kinds[kind]:
        return ""
    return f"{row.pinned_kinds[kind]}/{row.tasks[kind]}"


def print_table(rows: list[Row], seconds: float) -> None:
    reasons = list(dict.fromkeys(LEFT_ALONE.values()))
    head = [
        "template",
        "order",
        "status",
        "SMs",
        "targets",
        "pinned",
        *reasons,
        *(short for _, short in KIND_INTEGRATIONS.values()),
        "roles",
        "lint before",
        "after",
        "new",
    ]
    table = [head]
    for row in rows:
        short = row.file if len(row.file) <= 58 else "…" + row.file[-57:]
        table.append(
            [
                short,
                row.order,
                row.status,
                str(row.machines),
                str(row.targets),
                str(row.pinned),
                *(str(row.left[r] or "") for r in reasons),
                *(_kind_cell(row, kind) for kind in KIND_INTEGRATIONS),
                str(row.roles),
                str(row.lint_before),
                str(row.lint_after),
                str(len(row.new_lint)),
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for line in table:
        print(
            "  ".join(
                cell.ljust(w) if i < 3 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    print()
    statuses = Counter(row.status for row in rows)
    templates = len({row.file for row in rows})
    total = Counter[str]()
    tasks = Counter[str]()
    pinned = Counter[str]()
    for row in rows:
        total.update(row.left)
        tasks.update(row.tasks)
        pinned.update(row.pinned_kinds)
    kinds = "; ".join(
        f"{short} {pinned[kind]} pinned of {tasks[kind]} Tasks"
        for kind, (_, short) in KIND_INTEGRATIONS.items()
    )
    print(
        f"{templates} templates, {len(rows)} runs ({_counts(statuses)}); "
        f"{sum(r.machines for r in rows)} state machines, {sum(r.targets for r in rows)} "
        f"targets, {sum(r.pinned for r in rows)} pinned ({pinned['lambda']} Lambda); "
        f"by kind, over all runs: {kinds}; left alone: "
        + ", ".join(f"{n} {reason}" for reason, n in total.most_common())
        + f"; {sum(r.roles for r in rows)} roles widened; "
        f"{sum(len(r.new_lint) for r in rows)} new cfn-lint errors; "
        f"{sum(len(r.problems) for r in rows)} deployed-behaviour problems; {seconds:.0f} s"
    )
    for row in rows:
        if row.status != "ok":
            print(f"{row.status}: {row.file} [{row.order}]: {row.message}")
        for problem in [*row.new_lint, *row.problems]:
            print(f"problem: {row.file} [{row.order}]: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("files", nargs="*", help="corpus files (default: all)")
    args = parser.parse_args(argv)
    jobs = corpus_jobs()
    if args.files:
        jobs = [job for job in jobs if job[0] in set(args.files)]
    started = time.perf_counter()
    rows = run_all(jobs, args.jobs)
    print_table(rows, time.perf_counter() - started)
    bad = [
        r for r in rows if r.status == "crash" or r.new_lint or r.problems or r.idempotent is False
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""The blue-green story, played twice on the embedded emulator: with and without PinVersions.

Day 1 deploys a workflow that waits, asks Hello for a verdict and succeeds on "Approved".
Execution A starts and waits. Day 2 deploys a Hello that says "ThumbsUp" (and a workflow
that expects it). Execution B starts. With PinVersions, A still runs day-1 Hello (version 1)
and succeeds; without it, A runs the new code and fails. That is SPEC section 1, reproduced
and fixed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import re
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from demo import cfn_yaml
from demo.emulator import (
    MOTO_VERSION,
    DeployError,
    Deployment,
    Emulator,
    EmulatorError,
    MacroHandler,
    emulator,
    without_transform,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "blue-green"
MACRO_SOURCE = ROOT / "macro"
MACRO = "PinVersions"
HANDLER = "pin_versions.handler"
STACK = "bluegreen"
FUNCTION = "Hello"
STATE_MACHINE = "Workflow"
DEFAULT_WAIT_SECONDS = 3
POLL_SECONDS = 0.05


class StoryError(RuntimeError):
    """The story could not be played (as opposed to: it was played and came out wrong)."""


@dataclass(frozen=True)
class ExecutionRecord:
    """One execution as its history tells it."""

    name: str
    started_on: str
    invoked: tuple[str, ...]
    lambda_output: str | None
    status: str
    error: str | None
    allowed_by: tuple[str | None, ...]  # per invoked ARN: the role policy allowing it

    @property
    def hello_verdict(self) -> str | None:
        try:
            said = json.loads(self.lambda_output or "")["verdict"]
        except (ValueError, KeyError, TypeError):
            return None
        return said if isinstance(said, str) else None


@dataclass
class Chapter:
    """One play of the story: the timeline, the executions, and what did not come out."""

    pinned: bool
    function_arn: str = ""
    steps: list[tuple[str, list[str]]] = field(default_factory=list)
    executions: dict[str, ExecutionRecord] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    macro_logs: list[str] = field(default_factory=list)

    def step(self, title: str, *details: str) -> None:
        self.steps.append((title, list(details)))


# --------------------------------------------------------------------------------------
# Reading the emulator
# --------------------------------------------------------------------------------------


def _history(emu: Emulator, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn}
    while True:
        page = emu.stepfunctions.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _wait_for(description: str, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise StoryError(f"timed out after {timeout:.0f} s waiting for {description}")
        time.sleep(POLL_SECONDS)


def _policy_document(document: Any) -> dict[str, Any]:
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    return document if isinstance(document, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _iam_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _role_documents(emu: Emulator, role_name: str) -> list[tuple[str, dict[str, Any]]]:
    documents: list[tuple[str, dict[str, Any]]] = []
    for name in emu.iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        policy = emu.iam.get_role_policy(RoleName=role_name, PolicyName=name)
        documents.append((name, _policy_document(policy["PolicyDocument"])))
    attached = emu.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    for entry in attached:
        arn = entry["PolicyArn"]
        default = emu.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        version = emu.iam.get_policy_version(PolicyArn=arn, VersionId=default)["PolicyVersion"]
        documents.append((entry["PolicyName"], _policy_document(version["Document"])))
    return documents


def role_policy_allowing(emu: Emulator, role_arn: str, action: str, resource: str) -> str | None:
    """The role policy with an Allow statement for `action` on `resource`, if any.

    A static reading of the role's policies (inline and attached), not IAM's evaluation:
    statements with Condition, NotAction or NotResource are not counted, and a matching
    Deny wins. moto does not evaluate IAM for Step Functions at all, so this is what stands
    in for "would AWS let this Task call this Lambda ARN?".
    """
    allowing: str | None = None
    for name, document in _role_documents(emu, role_arn.rsplit("/", 1)[-1]):
        for statement in _as_list(document.get("Statement", [])):
            if not isinstance(statement, dict):
                continue
            if {"Condition", "NotAction", "NotResource"} & set(statement):
                continue
            actions = _as_list(statement.get("Action", []))
            resources = _as_list(statement.get("Resource", []))
            if not any(_iam_match(str(a), action, ignore_case=True) for a in actions):
                continue
            if not any(_iam_match(str(r), resource) for r in resources):
                continue
            if statement.get("Effect") == "Deny":
                return None
            if statement.get("Effect") == "Allow" and allowing is None:
                allowing = name
    return allowing


def _record(emu: Emulator, name: str, execution_arn: str, started_on: str) -> ExecutionRecord:
    description = emu.stepfunctions.describe_execution(executionArn=execution_arn)
    role_arn = emu.stepfunctions.describe_state_machine(
        stateMachineArn=description["stateMachineArn"]
    )["roleArn"]
    invoked: list[str] = []
    output: str | None = None
    error: str | None = description.get("error")
    for event in _history(emu, execution_arn):
        if "lambdaFunctionScheduledEventDetails" in event:
            invoked.append(event["lambdaFunctionScheduledEventDetails"]["resource"])
        if "lambdaFunctionSucceededEventDetails" in event:
            output = event["lambdaFunctionSucceededEventDetails"].get("output")
        if "lambdaFunctionFailedEventDetails" in event:
            details = event["lambdaFunctionFailedEventDetails"]
            output = f"error {details.get('error')}: {details.get('cause')}"
        if "executionFailedEventDetails" in event:
            error = event["executionFailedEventDetails"].get("error") or error
    allowed = tuple(
        role_policy_allowing(emu, role_arn, "lambda:InvokeFunction", arn) for arn in invoked
    )
    return ExecutionRecord(
        name=name,
        started_on=started_on,
        invoked=tuple(invoked),
        lambda_output=output,
        status=description["status"],
        error=error,
        allowed_by=allowed,
    )


def _versions_line(emu: Emulator, function_name: str) -> str:
    found = emu.lambda_.list_versions_by_function(FunctionName=function_name)["Versions"]
    published = [str(v["Version"]) for v in found if v["Version"] != "$LATEST"]
    return f"{FUNCTION} versions published: {', '.join(published) or 'none'}"


def _macro_summary(source: Mapping[str, Any], deployment: Deployment) -> list[str]:
    """What the transforms did to the resources, in one or two lines."""
    if not deployment.transforms:
        return ["no Transform: CloudFormation deploys the template as written"]
    before = source.get("Resources") or {}
    after = deployment.template.get("Resources") or {}
    added = [f"{k} ({after[k]['Type']})" for k in after if k not in before]
    changed = [k for k in after if k in before and after[k] != before[k]]
    names = ", ".join(deployment.transforms)
    lines = [f"{names} added {', '.join(added) or 'nothing'}"]
    if changed:
        lines.append(f"{names} rewrote {', '.join(changed)}")
    return lines + _pins_and_grants(deployment.template)


def _pins_and_grants(template: Mapping[str, Any]) -> list[str]:
    """Which version each state machine now names, and what each role allows."""
    resources = template.get("Resources") or {}
    versions = [k for k, v in resources.items() if v.get("Type") == "AWS::Lambda::Version"]
    lines: list[str] = []
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        text = json.dumps(resource.get("Properties", {}))
        for version in versions:
            if "${" + version + "}" in text or f'"Ref": "{version}"' in text:
                lines.append(f"{name} Task pinned to {version}")
    # The macro's grants: one retained AWS::IAM::Policy per (role, function).
    for resource in resources.values():
        properties = resource.get("Properties", {})
        name = properties.get("PolicyName")
        if resource.get("Type") != "AWS::IAM::Policy" or not str(name).startswith(
            "PinVersionsInvoke"
        ):
            continue
        roles = [r["Ref"] for r in properties.get("Roles", []) if isinstance(r, dict)]
        for statement in properties["PolicyDocument"]["Statement"]:
            for entry in _as_list(statement.get("Resource", [])):
                if isinstance(entry, dict) and isinstance(entry.get("Fn::Sub"), str):
                    for role in roles:
                        lines.append(
                            f"{role} allows {statement['Action']} on {entry['Fn::Sub']} "
                            f"({name}, DeletionPolicy {resource.get('DeletionPolicy', 'Delete')})"
                        )
    return lines


def _retained(previous: Mapping[str, Any], deployment: Deployment) -> list[str]:
    now = deployment.template.get("Resources") or {}
    gone = {k: v for k, v in (previous.get("Resources") or {}).items() if k not in now}
    return [
        f"{k} left the template; DeletionPolicy Retain keeps what it published"
        for k, v in gone.items()
        if v.get("DeletionPolicy") == "Retain"
    ]


# --------------------------------------------------------------------------------------
# Playing it
# --------------------------------------------------------------------------------------


@contextmanager
def _stopping_executions(emu: Emulator, arns: list[str]) -> Iterator[None]:
    """Never leave an execution thread running once the emulator is gone."""
    try:
        yield
    finally:
        for arn in arns:
            status = emu.stepfunctions.describe_execution(executionArn=arn)["status"]
            if status == "RUNNING":
                emu.stepfunctions.stop_execution(executionArn=arn)


def _has_event(emu: Emulator, execution_arn: str, key: str) -> bool:
    return any(key in event or event["type"] == key for event in _history(emu, execution_arn))


def _finished(emu: Emulator, execution_arn: str) -> bool:
    status = emu.stepfunctions.describe_execution(executionArn=execution_arn)["status"]
    return bool(status != "RUNNING")


def play(pinned: bool, macro: MacroHandler | None, wait_seconds: int) -> Chapter:
    """Play the story once and check it came out as SPEC section 1 says."""
    chapter = Chapter(pinned=pinned)
    day1 = cfn_yaml.load(SAMPLES / "day1.yaml")
    day2 = cfn_yaml.load(SAMPLES / "day2.yaml")
    macros: dict[str, MacroHandler] = {}
    if pinned:
        if macro is None:
            raise StoryError(f"the {MACRO} chapter needs the macro handler")
        macros[MACRO] = macro
    else:
        day1, day2 = without_transform(day1, MACRO), without_transform(day2, MACRO)

    timeout = wait_seconds + 30
    with emulator(macros) as emu:
        started: list[str] = []
        with _stopping_executions(emu, started):
            first = emu.deploy(STACK, day1, {"WaitSeconds": str(wait_seconds)})
            chapter.macro_logs.extend(first.macro_logs)
            function_name = emu.physical_id(STACK, FUNCTION)
            configuration = emu.lambda_.get_function(FunctionName=function_name)["Configuration"]
            chapter.function_arn = configuration["FunctionArn"]
            machine = emu.physical_id(STACK, STATE_MACHINE)
            chapter.step(
                f"deploy day 1   {first.status}",
                *_macro_summary(day1, first),
                _versions_line(emu, function_name),
            )

            a = emu.stepfunctions.start_execution(stateMachineArn=machine, name="A")
            started.append(a["executionArn"])
            _wait_for(
                "execution A to reach its Wait state",
                lambda: _has_event(emu, a["executionArn"], "WaitStateEntered"),
                timeout,
            )
            chapter.step("start A", f"A waits {wait_seconds} s in state Wait (day-1 definition)")

            second = emu.deploy(STACK, day2)
            chapter.macro_logs.extend(second.macro_logs)
            # The story only means something if A's Task runs after the day-2 deploy.
            called = _has_event(emu, a["executionArn"], "lambdaFunctionScheduledEventDetails")
            if called:
                chapter.problems.append(
                    "inconclusive: A called Hello before the day-2 deploy finished; "
                    "run again with a larger --wait-seconds"
                )
            chapter.step(
                f"deploy day 2   {second.status}",
                *_macro_summary(day2, second),
                *_retained(first.template, second),
                _versions_line(emu, function_name),
                "A has already called Hello" if called else "A is still waiting",
            )

            b = emu.stepfunctions.start_execution(stateMachineArn=machine, name="B")
            started.append(b["executionArn"])
            chapter.step("start B", "B starts on the day-2 definition")

            for name, arn in (("A", a["executionArn"]), ("B", b["executionArn"])):
                _wait_for(f"execution {name} to finish", partial(_finished, emu, arn), timeout)
            chapter.step("wait for A and B", "both have finished")
            chapter.executions["A"] = _record(emu, "A", a["executionArn"], "day 1")
            chapter.executions["B"] = _record(emu, "B", b["executionArn"], "day 2")
    chapter.problems.extend(_check(chapter))
    return chapter


def _expect(
    chapter: Chapter, name: str, arn: str, said: str, status: str, error: str | None = None
) -> list[str]:
    record = chapter.executions[name]
    problems = []
    if record.invoked != (arn,):
        problems.append(f"{name} invoked {', '.join(record.invoked) or 'nothing'}, expected {arn}")
    if record.hello_verdict != said:
        problems.append(f"{name} heard {record.hello_verdict!r} from Hello, expected {said!r}")
    if record.status != status or record.error != error:
        got = record.status + (f" ({record.error})" if record.error else "")
        wanted = status + (f" ({error})" if error else "")
        problems.append(f"{name} ended {got}, expected {wanted}")
    for invoked, policy in zip(record.invoked, record.allowed_by, strict=True):
        if policy is None:
            problems.append(f"{name}: the workflow role does not allow invoking {invoked}")
    return problems


def _check(chapter: Chapter) -> list[str]:
    fn = chapter.function_arn
    if chapter.pinned:
        return _expect(chapter, "A", f"{fn}:1", "Approved", "SUCCEEDED") + _expect(
            chapter, "B", f"{fn}:2", "ThumbsUp", "SUCCEEDED"
        )
    # Without the macro the story must fail the way SPEC section 1 says it does.
    return _expect(chapter, "A", fn, "ThumbsUp", "FAILED", "UnexpectedVerdict") + _expect(
        chapter, "B", fn, "ThumbsUp", "SUCCEEDED"
    )


# --------------------------------------------------------------------------------------
# Telling it
# --------------------------------------------------------------------------------------


def _describe_invoke(chapter: Chapter, arn: str) -> str:
    if arn == chapter.function_arn:
        return "unqualified: whatever code Hello has now"
    qualifier = arn.rsplit(":", 1)[-1]
    return f"version {qualifier}" if qualifier.isdigit() else f"qualifier {qualifier}"


def render_chapter(chapter: Chapter, *, macro_logs: bool = False) -> list[str]:
    title = (
        f"With {MACRO}"
        if chapter.pinned
        else f"Without {MACRO} (struck from the Transform list): the problem"
    )
    lines = [f"== {title} ".ljust(88, "="), "", "  timeline"]
    for number, (heading, details) in enumerate(chapter.steps, start=1):
        lines.append(f"    {number}. {heading}")
        lines.extend(f"         {detail}" for detail in details)
    lines += ["", "  executions, as their histories tell it"]
    for record in chapter.executions.values():
        lines.append(f"    {record.name}  started on {record.started_on}")
        for arn, policy in zip(record.invoked, record.allowed_by, strict=True):
            lines.append(f"       invoked  {arn}")
            lines.append(f"                ({_describe_invoke(chapter, arn)})")
            allowed = f"allowed by role policy {policy}" if policy else "NOT allowed by the role"
            lines.append(f"       IAM      {allowed}")
        lines.append(f"       Hello    {record.lambda_output}")
        ending = record.status + (f" ({record.error})" if record.error else "")
        lines.append(f"       status   {ending}")
    if macro_logs and chapter.macro_logs:
        lines += ["", "  macro log lines (its CloudWatch stream in AWS)"]
        lines.extend(f"    {line}" for line in chapter.macro_logs)
    lines.append("")
    return lines


def verdict(chapters: Sequence[Chapter]) -> tuple[bool, str]:
    problems = [
        f"{'with' if c.pinned else 'without'} {MACRO}: {p}" for c in chapters for p in c.problems
    ]
    if problems:
        return False, "VERDICT: FAIL - " + "; ".join(problems)
    return True, (
        f"VERDICT: PASS - with {MACRO}, A ran day-1 Hello (version 1) and succeeded while B "
        "ran version 2; without it, A ran day-2 code and failed (UnexpectedVerdict)"
    )


def load_macro() -> MacroHandler:
    """The real handler: installed (`pip install -e .`), else straight from this checkout."""
    try:
        module = importlib.import_module(HANDLER)
    except ModuleNotFoundError as error:
        if error.name != "pin_versions" or not MACRO_SOURCE.is_dir():
            raise StoryError(f"cannot import {HANDLER}: {error}") from error
        sys.path.insert(0, str(MACRO_SOURCE))
        module = importlib.import_module(HANDLER)
    handler: MacroHandler = module.lambda_handler
    return handler


def run(
    macro: MacroHandler | None = None, wait_seconds: int = DEFAULT_WAIT_SECONDS
) -> list[Chapter]:
    """Both chapters: with the macro, then without it."""
    handler = macro if macro is not None else load_macro()
    return [play(True, handler, wait_seconds), play(False, None, wait_seconds)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument(
        "--wait-seconds",
        type=int,
        default=DEFAULT_WAIT_SECONDS,
        help="how long execution A waits before it asks Hello (default %(default)s)",
    )
    parser.add_argument(
        "--macro-logs", action="store_true", help="also print the log lines the macro wrote"
    )
    args = parser.parse_args(argv)
    # The interpreter logs every failed execution as a warning; the timeline says it better.
    logging.getLogger("moto").addHandler(logging.NullHandler())
    logging.getLogger("moto").propagate = False

    print(f"{MACRO} blue-green demo: samples/blue-green/day1.yaml, then day2.yaml")
    print(f"on moto {MOTO_VERSION} in this process: no AWS account, no network, no docker")
    print()
    try:
        chapters = run(wait_seconds=args.wait_seconds)
    except StoryError as error:
        print(f"VERDICT: ERROR - {error}")
        return 2
    except (DeployError, EmulatorError) as error:
        print(f"VERDICT: FAIL - {error}")
        return 1
    for chapter in chapters:
        print("\n".join(render_chapter(chapter, macro_logs=args.macro_logs)))
    passed, line = verdict(chapters)
    print(line)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

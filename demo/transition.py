"""Day-1/day-2 transitions on the embedded emulator: what a deploy does to running executions.

`play(day1, day2, ...)` deploys the day-1 template, starts execution A (it waits in its first
state, a `Wait` whose `SecondsPath` is `$.wait`, until the harness says the day-2 deploy has
landed: see WaitClock), deploys day 2 as a stack update, starts execution B (`wait` 0),
waits for both and reads from each execution's history which target each Task called (a
Lambda ARN; a state machine, ECS task definition or Batch job definition ARN for
startExecution, runTask and submitJob Tasks), what it returned or the error it met, and how
the execution ended. tests/test_transition.py
plays every scenario in tests/transition/ and asserts what AWS would do.

The emulator is strict where it matters here (docs/demo.md): IAM judges every Task invoke,
CloudFormation's delete, retain and replace rules apply, deleting a function deletes its
versions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from demo.emulator import Deployment, Emulator, MacroHandler, Patcher, emulator

STACK = "transition"
MACHINE = "Workflow"  # the logical ID of the state machine every scenario runs
POLL_SECONDS = 0.02
A_WAIT_SECONDS = 300  # what A's Wait state asks for; the harness ends it after day 2


class TransitionError(RuntimeError):
    """The transition could not be played meaningfully (as opposed to: it came out wrong)."""


@dataclass(frozen=True)
class Invocation:
    """One Lambda invoke of a Task, as the execution history tells it."""

    state: str
    resource: str  # the Lambda ARN invoked (qualified or not)
    output: Any  # the function's result, parsed, when it succeeded
    error: str | None  # Step Functions' error name when the invoke failed
    cause: str | None

    def describe(self) -> str:
        if self.error is not None:
            return f"{self.state}: {self.resource} -> {self.error}: {self.cause}"
        return f"{self.state}: {self.resource} -> {json.dumps(self.output)}"


@dataclass(frozen=True)
class Run:
    """One execution, start to end."""

    name: str
    status: str
    error: str | None
    cause: str | None
    invocations: tuple[Invocation, ...]

    @property
    def invoked(self) -> tuple[str, ...]:
        return tuple(invocation.resource for invocation in self.invocations)

    @property
    def answers(self) -> tuple[Any, ...]:
        """What each successful invoke returned under the key `answer` (else the output)."""
        return tuple(
            invocation.output.get("answer")
            if isinstance(invocation.output, dict)
            else invocation.output
            for invocation in self.invocations
            if invocation.error is None
        )

    def describe(self) -> str:
        # The cause is shown once: with the invoke that met it, else with the ending.
        shown = any(invocation.cause == self.cause for invocation in self.invocations)
        detail = f": {self.cause}" if self.cause and not shown else ""
        ending = self.status + (f" ({self.error}{detail})" if self.error else "")
        calls = "; ".join(invocation.describe() for invocation in self.invocations)
        return f"execution {self.name} {ending}; invokes: {calls or 'none'}"


@dataclass(frozen=True)
class Transition:
    """A played day-1/day-2 transition."""

    day1: Deployment
    day2: Deployment
    a: Run  # started on day 1, its Tasks ran after the day-2 deploy
    b: Run  # started after the day-2 deploy
    functions_day1: Mapping[str, str]  # logical ID -> unqualified function ARN after day 1
    functions_day2: Mapping[str, str]  # the same after day 2

    def describe(self) -> str:
        return f"{self.a.describe()}\n{self.b.describe()}"


def _history(emu: Emulator, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn}
    while True:
        page = emu.stepfunctions.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _parsed(text: str | None) -> Any:
    try:
        return json.loads(text or "null")
    except ValueError:
        return text


def read_run(emu: Emulator, name: str, execution_arn: str) -> Run:
    """Each Task's call of its target, from history: Lambda invokes (function-ARN Tasks
    and lambda:invoke), states:startExecution, ecs:runTask and batch:submitJob.

    An invoke's end event is tied to its scheduling through `previousEventId` (events of
    Parallel branches and Map iterations interleave), and the scheduling to the state
    entered just before it.
    """
    description = emu.stepfunctions.describe_execution(executionArn=execution_arn)
    events = _history(emu, execution_arn)
    by_id = {event["id"]: event for event in events}

    def scheduling(event: dict[str, Any]) -> tuple[str, str] | None:
        seen: set[int] = set()
        while event["id"] not in seen:
            seen.add(event["id"])
            if "lambdaFunctionScheduledEventDetails" in event:
                resource = str(event["lambdaFunctionScheduledEventDetails"]["resource"])
            elif "taskScheduledEventDetails" in event:
                details = event["taskScheduledEventDetails"]
                field = TARGET_FIELDS.get(str(details.get("resourceType")))
                if field is None:
                    return None
                parameters = json.loads(details.get("parameters") or "{}")
                resource = str(parameters.get(field))
            else:
                previous = by_id.get(event.get("previousEventId", 0))
                if previous is None:
                    return None
                event = previous
                continue
            entered = by_id.get(event.get("previousEventId", 0), {})
            state = entered.get("stateEnteredEventDetails", {}).get("name", "")
            return str(state), resource
        return None

    invocations: list[Invocation] = []
    for event in events:
        ended = (
            event.get("lambdaFunctionSucceededEventDetails")
            or event.get("lambdaFunctionFailedEventDetails")
            or event.get("taskSucceededEventDetails")
            or event.get("taskFailedEventDetails")
        )
        found = scheduling(event) if ended is not None else None
        if ended is None or found is None:
            continue
        state, resource = found
        if "error" in ended:
            invocations.append(
                Invocation(state, resource, None, ended.get("error"), ended.get("cause"))
            )
            continue
        invocations.append(Invocation(state, resource, task_result(ended), None, None))
    error = description.get("error")
    cause = description.get("cause")
    return Run(name, description["status"], error, cause, tuple(invocations))


# The Task parameter that names what a service Task runs, by Step Functions resource type.
TARGET_FIELDS = {
    "lambda": "FunctionName",
    "states": "StateMachineArn",
    "ecs": "TaskDefinition",
    "batch": "JobDefinition",
}


def task_result(ended: Mapping[str, Any]) -> Any:
    """What a Task's target answered, from its success event's output: a Lambda's result
    (`Payload` of lambda:invoke); a nested execution's `Output` (`.sync` gives it as JSON
    text, `.sync:2` as JSON); for an ECS task (`.sync`: the stopped task described) or a
    Batch job (`.sync`: the job described), `{"answer": <the container's image>}`: the
    image is what tells one revision from another."""
    output = _parsed(ended.get("output"))
    if not isinstance(output, dict):
        return output
    if "Payload" in output:  # lambda:invoke
        return output["Payload"]
    if "Output" in output:  # states:startExecution.sync(:2)
        return _parsed(output["Output"]) if isinstance(output["Output"], str) else output["Output"]
    containers = output.get("Containers")
    if isinstance(containers, list) and containers and isinstance(containers[0], dict):
        return {"answer": containers[0].get("Image")}  # ecs:runTask.sync
    container = output.get("Container")
    if isinstance(container, dict) and "Image" in container:
        return {"answer": container["Image"]}  # batch:submitJob.sync
    return output


def _wait_for(description: str, condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TransitionError(f"timed out after {timeout:.0f} s waiting for {description}")
        time.sleep(POLL_SECONDS)


def _status(emu: Emulator, execution_arn: str) -> str:
    found: str = emu.stepfunctions.describe_execution(executionArn=execution_arn)["status"]
    return found


def _function_arns(emu: Emulator, stack: str) -> dict[str, str]:
    """Logical ID -> the unqualified ARN of each target a Task can pin: a function, a state
    machine, and an ECS task definition family or Batch job definition name (its revision
    ARN without `:<revision>`), so that `version_of` reads a version or revision of any."""
    resources = emu.cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    found: dict[str, str] = {}
    for resource in resources:
        kind = resource["ResourceType"]
        physical = resource["PhysicalResourceId"]
        if kind == "AWS::Lambda::Function":
            configuration = emu.lambda_.get_function(FunctionName=physical)["Configuration"]
            found[resource["LogicalResourceId"]] = configuration["FunctionArn"]
        elif kind == "AWS::StepFunctions::StateMachine":
            found[resource["LogicalResourceId"]] = physical
        elif kind in ("AWS::ECS::TaskDefinition", "AWS::Batch::JobDefinition"):
            found[resource["LogicalResourceId"]] = physical.rsplit(":", 1)[0]
    return found


class WaitClock:
    """Time for Wait states, moved by the harness: a waiting execution leaves its Wait state
    when `advance()` is called (or its own seconds have really passed, whichever is first).

    Step Functions' Wait state sleeps for real time; a day-2 deploy takes minutes in AWS and
    milliseconds here, so "A waits until the day-2 deploy has landed" is said directly
    instead of guessed with a sleep.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    def advance(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._condition:
            start = self._generation
            self._condition.wait_for(lambda: self._generation != start, timeout=seconds)

    @contextmanager
    def installed(self) -> Iterator[WaitClock]:
        """Route every Wait state of moto's interpreter through this clock, and poll
        `.sync` Tasks (nested executions, ECS tasks, Batch jobs) every POLL_SECONDS instead
        of moto's half second (how often Step Functions looks is not the promise under
        test); then undo."""
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_callback,
        )
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
            wait_function,
        )

        clock = self

        def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
            clock.sleep(wait_seconds)

        patcher = Patcher()
        patcher.set(wait_function.WaitFunction, "_wait_interval", wait_interval)
        patcher.set(
            state_task_service_callback, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", POLL_SECONDS
        )
        try:
            yield self
        finally:
            self.advance()  # nothing stays asleep on a clock that is going away
            patcher.undo()


def play(
    day1: Mapping[str, Any],
    day2: Mapping[str, Any],
    *,
    macros: Mapping[str, MacroHandler],
    parameters1: Mapping[str, str] | None = None,
    parameters2: Mapping[str, str] | None = None,
    machine: str = MACHINE,
    timeout: float = 30,
) -> Transition:
    """Play one transition on a fresh emulator.

    Execution A gets input `{"wait": 300}`; the harness's WaitClock ends that wait right
    after the day-2 deploy has landed (TransitionError if A invoked anything before). B gets
    `{"wait": 0}`. Raises DeployError when a deploy fails, as CloudFormation would.
    """
    clock = WaitClock()
    with emulator(macros) as emu, clock.installed():
        started: list[str] = []
        try:
            first = emu.deploy(STACK, day1, parameters1)
            functions_day1 = _function_arns(emu, STACK)
            a_arn = emu.stepfunctions.start_execution(
                stateMachineArn=emu.physical_id(STACK, machine),
                name="A",
                input=json.dumps({"wait": A_WAIT_SECONDS}),
            )["executionArn"]
            started.append(a_arn)
            _wait_for(
                "execution A to reach its Wait state",
                lambda: any(e["type"] == "WaitStateEntered" for e in _history(emu, a_arn)),
                timeout,
            )
            second = emu.deploy(STACK, day2, parameters2)
            scheduled = ("LambdaFunctionScheduled", "TaskScheduled")
            early = [e for e in _history(emu, a_arn) if e["type"] in scheduled]
            if early or _status(emu, a_arn) != "RUNNING":
                raise TransitionError(
                    "execution A left its Wait state before the day-2 deploy finished"
                )
            clock.advance()  # A's wait is over: its Tasks run on whatever day 2 left
            functions_day2 = _function_arns(emu, STACK)
            b_arn = emu.stepfunctions.start_execution(
                stateMachineArn=emu.physical_id(STACK, machine),
                name="B",
                input=json.dumps({"wait": 0}),
            )["executionArn"]
            started.append(b_arn)
            for name, arn in (("A", a_arn), ("B", b_arn)):
                _wait_for(
                    f"execution {name} to finish",
                    lambda arn=arn: _status(emu, arn) != "RUNNING",
                    timeout,
                )
            return Transition(
                day1=first,
                day2=second,
                a=read_run(emu, "A", a_arn),
                b=read_run(emu, "B", b_arn),
                functions_day1=functions_day1,
                functions_day2=functions_day2,
            )
        finally:
            # Never leave an execution thread running once the emulator is gone.
            clock.advance()
            for arn in started:
                if _status(emu, arn) == "RUNNING":
                    emu.stepfunctions.stop_execution(executionArn=arn)


def version_of(arn: str, function_arn: str) -> str | None:
    """The version number `arn` names of `function_arn`, or None if it names no version of it
    (unqualified, an alias, or another function)."""
    prefix = function_arn + ":"
    if not arn.startswith(prefix):
        return None
    qualifier = arn[len(prefix) :]
    return qualifier if qualifier.isdigit() else None


def expectation_problems(
    run: Run,
    *,
    function_arns: Sequence[str],
    answers: Sequence[Any],
    status: str = "SUCCEEDED",
    error: str | None = None,
    pinned: bool = True,
) -> list[str]:
    """What differs between `run` and what AWS would do, each said with the evidence.

    pinned: every invoke must name a published version of one of `function_arns`
    (PinVersions' promise); else one of `function_arns` itself (the unpinned control).
    answers: what the successful invokes returned, in any order (Parallel and Map branches
    run concurrently).
    """
    problems: list[str] = []
    expected = " or ".join(function_arns)
    for invocation in run.invocations:
        if pinned and not any(version_of(invocation.resource, arn) for arn in function_arns):
            problems.append(
                f"{run.name} invoked {invocation.resource}, expected a version of {expected}"
            )
        if not pinned and invocation.resource not in function_arns:
            problems.append(f"{run.name} invoked {invocation.resource}, expected {expected}")
    if not run.invocations:
        problems.append(f"{run.name} invoked nothing, expected {expected}")
    if sorted(map(json.dumps, answers)) != sorted(map(json.dumps, run.answers)):
        problems.append(f"{run.name} got answers {list(run.answers)}, expected {list(answers)}")
    if (run.status, run.error) != (status, error):
        problems.append(
            f"{run.name} ended {run.status}"
            + (f" ({run.error})" if run.error else "")
            + f", expected {status}"
            + (f" ({error})" if error else "")
        )
    return problems

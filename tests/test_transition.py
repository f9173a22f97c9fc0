"""Day-1/day-2 transitions on the strict emulator (issue 11): what AWS does to running executions.

Each scenario in tests/transition/<name>/ is a day-1 and a day-2 template. Execution A starts
on day 1 and waits until the day-2 deploy has landed; execution B starts after it. The
expectations are what AWS does with a correct PinVersions: A finishes on the code it started
with, B runs the new code, both succeed. The one exception, function-removed, is asserted as
AWS behaves (nothing in one template can keep a deleted function's versions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from demo import cfn_yaml, story
from demo.emulator import (
    MacroHandler,
    run_transforms,
    template_parameter_values,
    without_transform,
)
from demo.transition import (
    Invocation,
    Run,
    Transition,
    TransitionError,
    expectation_problems,
    play,
    version_of,
)
from support import lint_errors, new_lint_errors

SCENARIOS = Path(__file__).resolve().parent / "transition"
MACRO = "PinVersions"


@dataclass(frozen=True)
class Expected:
    """What one execution must do: which function it invokes (logical ID, on the day its
    ARN is read), what the function answers, how the execution ends."""

    functions: str | tuple[str, ...]
    answers: tuple[Any, ...]
    status: str = "SUCCEEDED"
    error: str | None = None
    pinned: bool = True  # invokes a published version (else the unqualified ARN)


@dataclass(frozen=True)
class Scenario:
    name: str
    a: Expected  # judged against the day-1 function ARNs
    b: Expected  # judged against the day-2 function ARNs
    parameters1: Mapping[str, str] = field(default_factory=dict)
    parameters2: Mapping[str, str] = field(default_factory=dict)
    machine: str | None = None  # what A and B start (logical ID), if not the state machine


def ordinary(name: str, day1: str = "hello 1", day2: str = "hello 2", **more: Any) -> Scenario:
    """A on day-1 Hello, B on day-2 Hello, both pinned and successful."""
    return Scenario(name, Expected("Hello", (day1,)), Expected("Hello", (day2,)), **more)


IMAGE = "public.ecr.aws/docker/library/hello-world"  # the ECS and Batch scenarios' image
ANSWER = {"parameters1": {"Answer": "hello 1"}, "parameters2": {"Answer": "hello 2"}}

SCENARIO_LIST = [
    # 1 the seed: new code for the same function (samples/blue-green).
    ordinary("code-change"),
    # 2 only Environment changes: a new version all the same.
    ordinary("config-change"),
    # 3 day 2 points the Task at Goodbye; Hello stays. A's grant on Hello's versions must stay.
    Scenario("task-moved", Expected("Hello", ("hello 1",)), Expected("Goodbye", ("goodbye 2",))),
    # 4 FunctionName added: CloudFormation replaces Hello (a new function, the old one and all
    # its versions deleted) unless the function has UpdateReplacePolicy Retain.
    ordinary("function-renamed", day2="hello 1"),
    # 5 Hello leaves the template after its Task moved: deleting a function deletes all its
    # versions whatever their DeletionPolicy, so A's pinned version is gone. Nothing the
    # macro writes into one template can prevent it (it does not add DeletionPolicy to
    # functions); `pin-versions plan day1 day2` reports the version broken ("deleted with its
    # function"). A's grant stays (retained policy), so Lambda answers "Function not found".
    Scenario(
        "function-removed",
        Expected("Hello", (), "FAILED", "Lambda.ResourceNotFoundException"),
        Expected("Goodbye", ("goodbye 2",)),
    ),
    # 6 a hand-written AWS::Lambda::Version with a fixed logical ID: B must still get new code.
    ordinary("fixed-id-version"),
    # 7 code from a parameter, version with a fixed ID (CDK currentVersion + CfnParameter).
    ordinary("parameter-code-version", **ANSWER),
    # 8 the Task already names an in-template version (CDK fn.currentVersion), no Retain.
    ordinary("user-pinned-version"),
    # 9 Task Credentials: Step Functions invokes as TaskRole.
    ordinary("task-credentials"),
    # 10 RoleArn !If [UseOwnRole, MachineRole, ExternalRole]; the default picks MachineRole.
    ordinary("conditional-role"),
    # 11 PinVersions struck from the Transform list on day 2: B runs the unqualified ARN.
    Scenario(
        "transform-removed",
        Expected("Hello", ("hello 1",)),
        Expected("Hello", ("hello 2",), pinned=False),
    ),
    # 12-14 SAM, before, after and switched between the days.
    ordinary("sam-first"),
    ordinary("sam-last"),
    ordinary("sam-order-switched"),
    # 15 SAM AutoPublishAlias; only a parameter used in Environment changes.
    ordinary("sam-autopublish-parameter", **ANSWER),
    # 16 Hello runs with the state machine's own role (the macro's separate-policy case).
    ordinary("machine-role-function"),
    # 17 Tasks inside Parallel and Map: every one pinned, every one granted.
    Scenario(
        "parallel-map",
        Expected(("Hello", "Goodbye"), ("hello 1", "goodbye 1", "goodbye 1")),
        Expected(("Hello", "Goodbye"), ("hello 2", "goodbye 2", "goodbye 2")),
    ),
    # 18 A second state machine shares Hello; day 2 removes it with its role.
    ordinary("shared-function"),
    # 19-21 issue 14: the other targets. A nested child state machine whose definition
    # changes (startExecution.sync:2); an ECS task definition replaced by a new image
    # (runTask.sync); a Batch job definition updated to a new image (submitJob.sync).
    Scenario(
        "nested-child-changed",
        Expected("Child", ("child 1",)),
        Expected("Child", ("child 2",)),
    ),
    # 22 The child renamed on day 2: a replacement, which deletes every version of the old
    # child unless it is retained (docs/design.md, "After the issue 14/15 merges").
    Scenario(
        "nested-child-renamed",
        Expected("Child", ("child 1",)),
        Expected("Child", ("child 2",)),
    ),
    Scenario(
        "ecs-task-definition-replaced",
        Expected("Hello", (f"{IMAGE}:1",)),
        Expected("Hello", (f"{IMAGE}:2",)),
    ),
    Scenario(
        "batch-job-definition-updated",
        Expected("Hello", (f"{IMAGE}:1",)),
        Expected("Hello", (f"{IMAGE}:2",)),
    ),
    # 22 issue 15: A and B start through a state machine alias that day 2 shifts (CANARY) to
    # the day-2 version; A finishes on the day-1 definition and code.
    ordinary("alias-shift", machine="WorkflowAliaslive"),
]


def load(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = SCENARIOS / name
    return cfn_yaml.load(folder / "day1.yaml"), cfn_yaml.load(folder / "day2.yaml")


@pytest.fixture(scope="module")
def macro() -> MacroHandler:
    return story.load_macro()


def judge(transition: Transition, scenario: Scenario) -> list[str]:
    problems: list[str] = []
    for run, expected, functions, day in (
        (transition.a, scenario.a, transition.functions_day1, 1),
        (transition.b, scenario.b, transition.functions_day2, 2),
    ):
        names = (expected.functions,) if isinstance(expected.functions, str) else expected.functions
        missing = [name for name in names if name not in functions]
        if missing:
            problems.append(f"no function {', '.join(missing)} in the stack after day {day}")
            continue
        problems.extend(
            expectation_problems(
                run,
                function_arns=[functions[name] for name in names],
                answers=expected.answers,
                status=expected.status,
                error=expected.error,
                pinned=expected.pinned,
            )
        )
    return problems


def test_every_scenario_folder_is_played() -> None:
    folders = sorted(path.name for path in SCENARIOS.iterdir() if path.is_dir())
    assert folders == sorted(scenario.name for scenario in SCENARIO_LIST)


@pytest.mark.parametrize("scenario", SCENARIO_LIST, ids=lambda s: s.name)
def test_transition(scenario: Scenario, macro: MacroHandler) -> None:
    day1, day2 = load(scenario.name)
    transition = play(
        day1,
        day2,
        macros={MACRO: macro},
        parameters1=scenario.parameters1,
        parameters2=scenario.parameters2,
        **({"machine": scenario.machine} if scenario.machine else {}),
    )
    problems = judge(transition, scenario)
    assert problems == [], (
        f"scenario {scenario.name}:\n  " + "\n  ".join(problems) + "\n" + transition.describe()
    )


REFERENCED = [s for s in SCENARIO_LIST if (SCENARIOS / s.name / "reference-day1.yaml").exists()]


@pytest.mark.parametrize("scenario", REFERENCED, ids=lambda s: s.name)
def test_a_reference_design_keeps_the_promise(scenario: Scenario) -> None:
    """The same scenario, deployed as plain CloudFormation written by hand in the shape a
    correct PinVersions produces (retained versions, one retained AWS::IAM::Policy per role
    and function, UpdateReplacePolicy Retain on functions, versions that follow the code).
    It passes on the same emulator and expectations: where test_transition fails for that
    scenario, the macro's output is at fault, not the harness."""
    folder = SCENARIOS / scenario.name
    day2 = folder / "reference-day2.yaml"
    transition = play(
        cfn_yaml.load(folder / "reference-day1.yaml"),
        cfn_yaml.load(day2 if day2.exists() else folder / "day2.yaml"),
        macros={},
        parameters1=scenario.parameters1,
        parameters2=scenario.parameters2,
    )
    problems = judge(transition, scenario)
    assert problems == [], (
        f"reference {scenario.name}:\n  " + "\n  ".join(problems) + "\n" + transition.describe()
    )


def test_without_pin_versions_a_code_change_breaks_the_running_execution() -> None:
    """The control: the seed without the macro. A meets day-2 code and fails."""
    day1, day2 = (without_transform(day, MACRO) for day in load("code-change"))
    transition = play(day1, day2, macros={})
    control = Scenario(
        "code-change without PinVersions",
        Expected("Hello", ("hello 2",), "FAILED", "UnexpectedAnswer", pinned=False),
        Expected("Hello", ("hello 2",), pinned=False),
    )
    problems = judge(transition, control)
    assert problems == [], "\n".join(problems) + "\n" + transition.describe()


KIND_CONTROLS = [
    # The Task names the unqualified child ARN: A runs the child's day-2 definition.
    pytest.param(
        "nested-child-changed",
        False,
        Expected("Child", ("child 2",), "FAILED", "UnexpectedAnswer", pinned=False),
        Expected("Child", ("child 2",), pinned=False),
        id="nested-child-changed",
    ),
    # The Task names revision 1. The role's own grant (`!Ref Hello`) now names revision 2,
    # so IAM denies A before ECS or Batch looks at the revision ...
    pytest.param(
        "ecs-task-definition-replaced",
        False,
        Expected("Hello", (), "FAILED", "ECS.AccessDeniedException"),
        Expected("Hello", (f"{IMAGE}:2",)),
        id="ecs-task-definition-replaced",
    ),
    pytest.param(
        "batch-job-definition-updated",
        False,
        Expected("Hello", (), "FAILED", "Batch.AWSBatchException"),
        Expected("Hello", (f"{IMAGE}:2",)),
        id="batch-job-definition-updated",
    ),
    # ... and with a grant on every resource, the revision the deploy made INACTIVE fails.
    pytest.param(
        "ecs-task-definition-replaced",
        True,
        Expected("Hello", (), "FAILED", "ECS.InvalidParameterException"),
        Expected("Hello", (f"{IMAGE}:2",)),
        id="ecs-task-definition-replaced-granted",
    ),
    pytest.param(
        "batch-job-definition-updated",
        True,
        Expected("Hello", (), "FAILED", "Batch.ClientException"),
        Expected("Hello", (f"{IMAGE}:2",)),
        id="batch-job-definition-updated-granted",
    ),
]

INACTIVE = {
    "ECS.InvalidParameterException": "TaskDefinition is inactive",
    "Batch.ClientException": "is not in ACTIVE status",
    "ECS.AccessDeniedException": "is not authorized to perform: ecs:RunTask",
    "Batch.AWSBatchException": "is not authorized to perform: batch:SubmitJob",
}


def _granting_everything(template: dict[str, Any]) -> dict[str, Any]:
    """The template with the workflow role's own statements on every resource."""
    role = template["Resources"]["WorkflowRole"]["Properties"]
    for statement in role["Policies"][0]["PolicyDocument"]["Statement"]:
        statement["Resource"] = "*"
    return template


@pytest.mark.parametrize(("name", "granted", "a", "b"), KIND_CONTROLS)
def test_without_pin_versions_the_other_kinds_break_the_running_execution(
    name: str, granted: bool, a: Expected, b: Expected
) -> None:
    """The issue 14 controls: each scenario without the macro breaks A as AWS would (a
    nested execution meets the child's day-2 definition; an ECS or Batch Task names
    revision 1, which the role no longer may run, and which the deploy made INACTIVE)."""
    day1, day2 = (without_transform(day, MACRO) for day in load(name))
    if granted:
        day1, day2 = _granting_everything(day1), _granting_everything(day2)
    transition = play(day1, day2, macros={})
    problems = judge(transition, Scenario(f"{name} without PinVersions", a, b))
    assert problems == [], "\n".join(problems) + "\n" + transition.describe()
    if a.error in INACTIVE:
        assert INACTIVE[a.error] in (transition.a.invocations[0].cause or "")


def test_the_harness_refuses_a_transition_where_a_never_waited() -> None:
    day1, day2 = (without_transform(day, MACRO) for day in load("code-change"))
    properties = day1["Resources"]["Workflow"]["Properties"]
    text = properties["DefinitionString"]["Fn::Sub"]
    properties["DefinitionString"]["Fn::Sub"] = text.replace(
        '"StartAt": "Wait"', '"StartAt": "Greet"'
    )
    with pytest.raises(TransitionError, match="execution A to reach its Wait state"):
        play(day1, day2, macros={}, timeout=1)


def run(*invocations: Invocation, status: str = "SUCCEEDED", error: str | None = None) -> Run:
    return Run("A", status, error, None, invocations)


ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"


def test_expectations_say_what_differs_with_the_evidence() -> None:
    ok = Invocation("Greet", f"{ARN}:1", {"answer": "hello 1"}, None, None)
    assert expectation_problems(run(ok), function_arns=[ARN], answers=["hello 1"]) == []
    unqualified = Invocation("Greet", ARN, {"answer": "hello 2"}, None, None)
    assert expectation_problems(
        run(unqualified, status="FAILED", error="UnexpectedAnswer"),
        function_arns=[ARN],
        answers=["hello 1"],
    ) == [
        f"A invoked {ARN}, expected a version of {ARN}",
        "A got answers ['hello 2'], expected ['hello 1']",
        "A ended FAILED (UnexpectedAnswer), expected SUCCEEDED",
    ]
    assert expectation_problems(run(), function_arns=[ARN], answers=[]) == [
        f"A invoked nothing, expected {ARN}"
    ]
    # An alias or another function's version is not a version of this function.
    assert version_of(f"{ARN}:live", ARN) is None
    assert version_of(f"{ARN}x:1", ARN) is None
    assert version_of(f"{ARN}:12", ARN) == "12"


def test_lambda_invoke_integration_tasks_are_read_too() -> None:
    """arn:aws:states:::lambda:invoke: the ARN is the FunctionName parameter, the answer the
    Payload."""
    day1, day2 = (without_transform(day, MACRO) for day in load("code-change"))
    for day in (day1, day2):
        properties = day["Resources"]["Workflow"]["Properties"]
        text = properties["DefinitionString"]["Fn::Sub"]
        properties["DefinitionString"]["Fn::Sub"] = text.replace(
            '"Resource": "${Hello.Arn}",',
            '"Resource": "arn:aws:states:::lambda:invoke", '
            '"Parameters": {"FunctionName": "${Hello.Arn}", "Payload": {}}, '
            '"OutputPath": "$.Payload",',
        )
    transition = play(day1, day2, macros={})
    arn = transition.functions_day1["Hello"]
    assert transition.a.invoked == (arn,)
    assert transition.a.answers == ("hello 2",)
    assert (transition.a.status, transition.a.error) == ("FAILED", "UnexpectedAnswer")
    assert (transition.b.answers, transition.b.status) == (("hello 2",), "SUCCEEDED")


@pytest.mark.parametrize(
    ("name", "resource", "policy", "error"),
    [
        # Replacing a function deletes it, and with it every version.
        ("function-renamed", "Hello", "UpdateReplacePolicy", "Lambda.ResourceNotFoundException"),
        # Replacing a version deletes the old one.
        (
            "fixed-id-version",
            "HelloVersion",
            "UpdateReplacePolicy",
            "Lambda.ResourceNotFoundException",
        ),
        # A grant removed from the template is removed from the role.
        ("task-moved", "PinVersionsInvokeHello", "DeletionPolicy", "Lambda.AWSLambdaException"),
        # Replacing a state machine version deletes the old one.
        (
            "nested-child-changed",
            "ChildVersion",
            "UpdateReplacePolicy",
            "StepFunctions.StateMachineDoesNotExistException",
        ),
        # Replacing a task definition deregisters the old revision.
        (
            "ecs-task-definition-replaced",
            "Hello",
            "UpdateReplacePolicy",
            "ECS.InvalidParameterException",
        ),
    ],
)
def test_without_retain_the_reference_breaks_as_aws_would(
    name: str, resource: str, policy: str, error: str
) -> None:
    folder = SCENARIOS / name
    day1 = cfn_yaml.load(folder / "reference-day1.yaml")
    day2 = cfn_yaml.load(folder / "reference-day2.yaml")
    for day in (day1, day2):
        if resource in day["Resources"]:
            del day["Resources"][resource][policy]
    transition = play(day1, day2, macros={})
    assert (transition.a.status, transition.a.error) == ("FAILED", error), transition.describe()
    assert transition.b.status == "SUCCEEDED", transition.describe()


def test_without_skip_deregister_the_batch_reference_breaks_as_aws_would() -> None:
    """An update of a job definition deregisters the previous revision unless
    ResourceRetentionPolicy.SkipDeregisterOnUpdate (the property PinVersions sets)."""
    folder = SCENARIOS / "batch-job-definition-updated"
    days = [cfn_yaml.load(folder / f"reference-day{n}.yaml") for n in (1, 2)]
    for day in days:
        del day["Resources"]["Hello"]["Properties"]["ResourceRetentionPolicy"]
    transition = play(days[0], days[1], macros={})
    assert (transition.a.status, transition.a.error) == ("FAILED", "Batch.ClientException")
    assert "is not in ACTIVE status" in (transition.a.cause or ""), transition.describe()
    assert transition.b.status == "SUCCEEDED", transition.describe()


DAYS = [
    pytest.param(scenario, path, id=f"{scenario.name}/{path.stem}")
    for scenario in SCENARIO_LIST
    for path in sorted((SCENARIOS / scenario.name).glob("*.yaml"))
]


@pytest.mark.parametrize(("scenario", "path"), DAYS)
def test_every_template_lints_clean(scenario: Scenario, path: Path, macro: MacroHandler) -> None:
    """cfn-lint finds no error in a scenario's template, nor a new one in what the
    transforms make of it."""
    template = cfn_yaml.load(path)
    given = scenario.parameters2 if path.stem.endswith("2") else scenario.parameters1
    processed, _ = run_transforms(
        template,
        macros={MACRO: macro},
        parameter_values=template_parameter_values(template, given),
    )
    assert lint_errors(template) == []
    assert new_lint_errors(template, processed) == []

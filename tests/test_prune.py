"""pin-versions prune: the pure planner, then the whole command against moto (in-process).

Moto gaps patched here, each only at the one call moto lacks or gets wrong:
- DescribeStateMachineForExecution returns the state machine's *current* definition; real
  Step Functions returns the one the execution started with. Patched to snapshot it.
- ListStateMachineVersions is not implemented. Patched in, paged like the real one.
- ListVersionsByFunction ignores MaxItems/Marker. Patched to page, so pagination is tested.
- ListProvisionedConcurrencyConfigs is not implemented. Answered by a before-send hook.
- CloudFormation ignores StateMachineType; the EXPRESS test sets the type on moto's model.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.retries.bucket import TokenBucket
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.awslambda.responses import LambdaResponse
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.botocore_stubber import MockRawResponse
from moto.core.responses import ActionResult
from moto.stepfunctions.models import StateMachine, stepfunctions_backends
from moto.stepfunctions.responses import StepFunctionResponse

from pin_versions import prune
from pin_versions.prune import (
    DELETE,
    KEEP,
    REQUIRED_ACTIONS,
    Decision,
    Facts,
    FunctionFacts,
    Use,
    Version,
    plan,
    uses_of_definition,
    versions_named,
)
from pin_versions.prune import aws as prune_aws
from pin_versions.prune import model as prune_model

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 6, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------------------
# The planner, without AWS
# ---------------------------------------------------------------------------------------


def facts_for(
    *numbers: int,
    uses: tuple[Use, ...] = (),
    errors: tuple[str, ...] = (),
    function_errors: tuple[str, ...] = (),
    age: timedelta = timedelta(days=30),
    name: str = "hello",
) -> Facts:
    versions = [Version("$LATEST", NOW)] + [Version(str(n), NOW - age) for n in numbers]
    return Facts(
        {name: FunctionFacts(name, versions, list(function_errors))}, list(uses), list(errors)
    )


def rows(decisions: list[Decision], function: str = "hello") -> dict[str, tuple[str, str]]:
    return {d.version: (d.decision, d.reason) for d in decisions if d.function == function}


def test_unused_versions_are_deleted_and_the_newest_kept() -> None:
    got = rows(plan(facts_for(1, 2, 3, 4, 5, 6), keep=3, now=NOW))
    assert got == {
        "$LATEST": (KEEP, "$LATEST is never deleted"),
        "1": (DELETE, "unused: nothing names it"),
        "2": (DELETE, "unused: nothing names it"),
        "3": (DELETE, "unused: nothing names it"),
        "4": (KEEP, "among the newest 3"),
        "5": (KEEP, "among the newest 3"),
        "6": (KEEP, "among the newest 3"),
    }


def test_newest_is_by_version_number_not_text() -> None:
    got = rows(plan(facts_for(2, 9, 10, 11), keep=2, now=NOW))
    assert got["10"][0] == got["11"][0] == KEEP
    assert got["2"][0] == got["9"][0] == DELETE


@pytest.mark.parametrize(
    "reason",
    [
        "current definition of orders",
        "running execution of orders",
        "redrivable FAILED execution of orders",
        "state machine version orders:3 (alias prod)",
        "alias live",
        "alias live (weight 0.1)",
        "provisioned concurrency",
        "event source mapping 1234",
        "resource HelloVersion0a1b2c3d4e of stack app",
    ],
)
def test_each_use_keeps_the_version_it_names(reason: str) -> None:
    got = rows(plan(facts_for(1, 2, 3, uses=(Use("hello", "2", reason),)), keep=0, now=NOW))
    assert got["2"] == (KEEP, reason)
    assert got["1"][0] == got["3"][0] == DELETE


def test_reasons_are_all_listed_and_repeats_counted() -> None:
    uses = (
        Use("hello", "1", "running execution of orders"),
        Use("hello", "1", "running execution of orders"),
        Use("hello", "1", "alias live"),
    )
    got = rows(plan(facts_for(1, uses=uses), keep=1, now=NOW))
    assert got["1"] == (KEEP, "running execution of orders (x2); alias live; among the newest 1")


def test_function_names_match_case_insensitively_and_other_functions_do_not() -> None:
    facts = facts_for(1, 2, uses=(Use("HELLO", "1", "alias live"), Use("world", "2", "alias x")))
    got = rows(plan(facts, keep=0, now=NOW))
    assert got["1"] == (KEEP, "alias live")
    assert got["2"][0] == DELETE


def test_wildcard_uses_keep_every_version_they_could_mean() -> None:
    any_function = Use(None, None, "orders picks a function at run time")
    any_version = Use("hello", None, "orders picks the version at run time")
    assert {d for d, _ in rows(plan(facts_for(1, 2, uses=(any_function,)), keep=0)).values()} == {
        KEEP
    }
    got = rows(plan(facts_for(1, 2, uses=(any_version,)), keep=0))
    assert got["1"] == got["2"] == (KEEP, "orders picks the version at run time")
    other = rows(plan(facts_for(1, name="world", uses=(any_version,)), keep=0), "world")
    assert other["1"][0] == DELETE


def test_latest_is_never_deleted_even_with_keep_zero() -> None:
    got = rows(plan(facts_for(1), keep=0, now=NOW))
    assert got["$LATEST"] == (KEEP, "$LATEST is never deleted")
    assert got["1"][0] == DELETE


def test_older_than_only_allows_deleting_old_versions() -> None:
    young = rows(plan(facts_for(1, age=timedelta(days=5)), keep=0, older_than_days=7, now=NOW))
    assert young["1"] == (KEEP, "modified 2025-05-27, less than 7 days ago")
    old = rows(plan(facts_for(1, age=timedelta(days=8)), keep=0, older_than_days=7, now=NOW))
    assert old["1"][0] == DELETE
    unknown = Facts({"hello": FunctionFacts("hello", [Version("1", None)])})
    assert rows(plan(unknown, keep=0, older_than_days=7, now=NOW))["1"][0] == KEEP


def test_a_failed_check_keeps_every_version_it_could_concern() -> None:
    everywhere = rows(plan(facts_for(1, 2, errors=("ListExecutions: Boom",)), keep=0))
    assert everywhere["1"] == (KEEP, "could not check: ListExecutions: Boom")
    one = Facts(
        {
            "hello": FunctionFacts("hello", [Version("1", NOW)], ["ListAliases: denied"]),
            "world": FunctionFacts("world", [Version("1", NOW)]),
        }
    )
    decisions = plan(one, keep=0, now=NOW)
    assert rows(decisions)["1"] == (KEEP, "could not check: ListAliases: denied")
    assert rows(decisions, "world")["1"][0] == DELETE


def test_a_function_whose_versions_cannot_be_listed_gets_one_row() -> None:
    facts = Facts({"hello": FunctionFacts("hello", [], ["ListVersionsByFunction: denied"])})
    assert plan(facts, now=NOW) == [
        Decision("hello", "*", KEEP, "could not check: ListVersionsByFunction: denied")
    ]


def test_durable_function_versions_are_kept() -> None:
    facts = Facts({"hello": FunctionFacts("hello", [Version("1", NOW, durable=True)])})
    assert rows(plan(facts, keep=0, now=NOW))["1"][0] == KEEP


def test_plan_rejects_negative_settings() -> None:
    with pytest.raises(ValueError):
        plan(Facts(), keep=-1)
    with pytest.raises(ValueError):
        plan(Facts(), older_than_days=-1)


@settings(max_examples=60, deadline=None)
@given(
    numbers=st.sets(st.integers(1, 40), max_size=12),
    named=st.sets(st.integers(1, 40), max_size=6),
    keep=st.integers(0, 5),
    failing=st.booleans(),
)
def test_plan_never_deletes_what_is_named_newest_latest_or_unchecked(
    numbers: set[int], named: set[int], keep: int, failing: bool
) -> None:
    uses = tuple(Use("hello", str(n), "alias a") for n in named)
    errors = ("boom",) if failing else ()
    decisions = plan(facts_for(*sorted(numbers), uses=uses, errors=errors), keep=keep, now=NOW)
    deleted = {int(d.version) for d in decisions if d.decision == DELETE}
    newest = set(sorted(numbers, reverse=True)[:keep])
    assert not deleted & named
    assert not deleted & newest
    assert all(d.version != "$LATEST" for d in decisions if d.decision == DELETE)
    assert deleted == (set() if failing else numbers - named - newest)


# ---------------------------------------------------------------------------------------
# Which versions a definition names
# ---------------------------------------------------------------------------------------

ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "End": True, **fields}


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def named(definition: dict[str, Any]) -> set[tuple[str | None, str | None]]:
    return {(f, v) for f, v, _ in versions_named(json.dumps(definition))}


def test_resource_arns_name_their_version_only_when_numeric() -> None:
    assert named(machine(A=task(f"{ARN}:hello:7"))) == {("hello", "7")}
    assert named(machine(A=task(f"{ARN}:hello"))) == set()
    assert named(machine(A=task(f"{ARN}:hello:live"))) == set()
    assert named(machine(A=task(f"{ARN}:hello:$LATEST"))) == set()


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "arn:aws:states:::aws-sdk:lambda:invoke",
        "arn:aws-cn:states:::lambda:invoke",
    ],
)
@pytest.mark.parametrize(
    ("function", "qualifier", "expected"),
    [
        ("hello:7", None, {("hello", "7")}),
        (f"{ACCOUNT}:function:hello:8", None, {("hello", "8")}),
        (f"{ARN}:hello:9", None, {("hello", "9")}),
        ("hello", "10", {("hello", "10")}),
        (f"{ARN}:hello", "live", set()),
        ("hello", None, set()),
    ],
)
def test_function_name_parameters_name_versions(
    resource: str, function: str, qualifier: str | None, expected: set[Any]
) -> None:
    params: dict[str, Any] = {"FunctionName": function, "Payload.$": "$"}
    if qualifier:
        params["Qualifier"] = qualifier
    assert named(machine(A=task(resource, Parameters=params))) == expected
    jsonata = task(resource, Arguments={**params, "Payload": "{% $states.input %}"})
    jsonata.pop("Parameters", None)
    assert named(machine(A=jsonata)) == expected


def test_dynamic_targets_are_wildcards() -> None:
    invoke = "arn:aws:states:::lambda:invoke"
    assert named(machine(A=task(invoke, Parameters={"FunctionName.$": "$.fn"}))) == {(None, None)}
    assert named(machine(A=task(invoke, Arguments={"FunctionName": "{% $fn %}"}))) == {(None, None)}
    assert named(machine(A=task(invoke, Arguments="{% $states.input.call %}"))) == {(None, None)}
    assert named(
        machine(A=task(invoke, Parameters={"FunctionName": "hello", "Qualifier.$": "$.v"}))
    ) == {("hello", None)}


def test_every_nested_state_is_walked() -> None:
    deep = machine(
        Fan={
            "Type": "Parallel",
            "End": True,
            "Branches": [
                machine(A=task(f"{ARN}:a:1")),
                machine(
                    Each={
                        "Type": "Map",
                        "End": True,
                        "ItemProcessor": machine(B=task(f"{ARN}:b:2")),
                    }
                ),
            ],
        },
    )
    old_map = machine(M={"Type": "Map", "End": True, "Iterator": machine(C=task(f"{ARN}:c:3"))})
    assert named(deep) == {("a", "1"), ("b", "2")}
    assert named(old_map) == {("c", "3")}
    where = {w for _, _, w in versions_named(json.dumps(deep))}
    assert "States.Fan.Branches[1].States.Each.ItemProcessor.States.B.Resource" in where


def test_jsonata_is_what_the_macro_calls_jsonata() -> None:
    """prune reads definitions through the core's ASL walk and JSONata test: a value is a
    JSONata expression only when the whole string is ``{% ... %}`` (Step Functions: JSONata
    expressions are enclosed in ``{% %}``); anything else is a literal, as the macro reads it."""
    invoke = "arn:aws:states:::lambda:invoke"
    literal = task(invoke, Arguments={"FunctionName": "{% not closed", "Payload": "{% $x %}"})
    assert named(machine(A=literal)) == set()  # a literal that names no function
    closed = task(invoke, Arguments={"FunctionName": "  {% $fn %}  "})
    assert named(machine(A=closed)) == {(None, None)}


def test_a_definition_the_core_cannot_walk_is_a_failed_check() -> None:
    """A Parallel branch without States: the macro refuses to walk it, and prune keeps what
    the definition could concern (its text still counts) instead of skipping it."""
    broken = machine(
        Fan={"Type": "Parallel", "End": True, "Branches": [{"StartAt": "X", "States": []}]}
    )
    text = json.dumps({**broken, "Comment": f"{ARN}:hello:3"})
    uses, errors = uses_of_definition(text, "current definition of o")
    assert uses == [Use("hello", "3", "current definition of o")]
    assert errors == [
        "current definition of o: definition cannot be walked at "
        "States.Fan.Branches[0]: States is not an object"
    ]


def test_any_string_naming_a_version_counts() -> None:
    passed = machine(P={"Type": "Pass", "Result": {"target": f"{ARN}:world:4"}, "End": True})
    assert named(passed) == {("world", "4")}


def test_a_definition_that_is_not_json_is_a_failed_check() -> None:
    with pytest.raises(ValueError):
        versions_named("{not json")
    uses, errors = uses_of_definition(f'{{"x": "{ARN}:hello:3" oops', "current definition of o")
    assert uses == [Use("hello", "3", "current definition of o")]
    assert errors and errors[0].startswith("current definition of o: definition is not valid")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00.000+0000", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2026-11-26T04:11:22.385564000Z", datetime(2026, 11, 26, 4, 11, 22, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_time(text: str | None, expected: datetime | None) -> None:
    assert prune.parse_time(text) == expected


def test_table_columns_line_up() -> None:
    table = prune.format_table(
        [Decision("hello", "$LATEST", KEEP, "x"), Decision("a-long-name", "12", DELETE, "y z")]
    )
    lines = table.splitlines()
    assert lines[0].split() == ["function", "version", "decision", "reason"]
    assert len({line.index(line.split()[2]) for line in lines}) == 1
    assert lines[2].endswith("delete    y z")


# ---------------------------------------------------------------------------------------
# Against moto
# ---------------------------------------------------------------------------------------


def _page(items: list[Any], size: object, token: object, key: str, token_key: str) -> Any:
    start = int(str(token)) if token else 0
    size = int(str(size)) if size else len(items) or 1
    result: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        result[token_key] = str(start + size)
    return result


def _patch_moto_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    start = StateMachine.start_execution

    def start_execution(self: StateMachine, *args: Any, **kwargs: Any) -> Any:
        execution = start(self, *args, **kwargs)
        if not hasattr(execution, "started_definition"):
            execution.started_definition = self.definition
        return execution

    def describe_state_machine_for_execution(self: StepFunctionResponse) -> ActionResult:
        arn = self._get_param("executionArn")
        owner = self.stepfunction_backend.describe_state_machine_for_execution(arn)
        execution = next(e for e in owner.executions if e.execution_arn == arn)
        return ActionResult(
            {
                "stateMachineArn": owner.arn,
                "name": owner.name,
                "definition": execution.started_definition,
                "roleArn": owner.roleArn,
                "updateDate": owner.update_date,
            }
        )

    def list_state_machine_versions(self: StepFunctionResponse) -> ActionResult:
        owner = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        items = [
            {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
            for v in sorted(owner.versions.values(), key=lambda v: -v.version)
        ]
        return ActionResult(
            _page(
                items,
                self._get_param("maxResults"),
                self._get_param("nextToken"),
                "stateMachineVersions",
                "nextToken",
            )
        )

    def list_versions_by_function(self: LambdaResponse) -> str:
        name = self.path.split("/")[-2]
        items = [fn.get_configuration() for fn in self.backend.list_versions_by_function(name)]
        query = self.querystring
        page = _page(
            items,
            query.get("MaxItems", [None])[0],
            query.get("Marker", [None])[0],
            "Versions",
            "NextMarker",
        )
        return json.dumps(page)

    def detect_stack_resource_drift(self: CloudFormationResponse) -> ActionResult:
        # Not implemented by moto (it raises even when a test hook answers): in sync.
        return ActionResult(
            {
                "StackResourceDrift": {
                    "StackId": self._get_param("StackName"),
                    "LogicalResourceId": self._get_param("LogicalResourceId"),
                    "ResourceType": "AWS::StepFunctions::StateMachine",
                    "StackResourceDriftStatus": "IN_SYNC",
                    "Timestamp": datetime.now(UTC),
                }
            }
        )

    monkeypatch.setattr(
        CloudFormationResponse,
        "detect_stack_resource_drift",
        detect_stack_resource_drift,
        raising=False,
    )
    monkeypatch.setattr(StateMachine, "start_execution", start_execution)
    monkeypatch.setattr(
        StepFunctionResponse,
        "describe_state_machine_for_execution",
        describe_state_machine_for_execution,
    )
    monkeypatch.setattr(
        StepFunctionResponse,
        "list_state_machine_versions",
        list_state_machine_versions,
        raising=False,
    )
    monkeypatch.setattr(LambdaResponse, "list_versions_by_function", list_versions_by_function)


Responder = Callable[[Any], AWSResponse | None]


class Hooks:
    """Counts every request prune sends and answers chosen ones (errors, moto gaps).

    It runs first among before-send handlers, so its answer wins; moto still sees the
    request, which is why these hooks only ever answer reads.
    """

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.answers: dict[str, Responder] = {}
        self.clients: list[prune.Clients] = []

    def install(self, clients: prune.Clients) -> prune.Clients:
        for client in (
            clients.cloudformation,
            clients.stepfunctions,
            clients.lambda_,
            clients.iam,
            clients.tagging,
        ):
            client.meta.events.register_first("before-send", self._before_send)
        self.clients.append(clients)
        return clients

    def _before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        self.calls[operation] += 1
        answer = self.answers.get(operation)
        return answer(request) if answer else None


def respond(status: int, body: str, headers: dict[str, str] | None = None) -> Responder:
    return lambda request: AWSResponse(request.url, status, headers or {}, MockRawResponse(body))


def error(status: int, code: str, *, xml: bool = False, times: int | None = None) -> Responder:
    """An AWS error answer, ``times`` times (then the request goes through to moto)."""
    left = [times]

    def answer(request: Any) -> AWSResponse | None:
        if left[0] is not None:
            if left[0] == 0:
                return None
            left[0] -= 1
        if xml:
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>injected by the test</Message></Error></ErrorResponse>"
            )
            return respond(status, body, {"Content-Type": "text/xml"})(request)
        body = json.dumps({"__type": code, "message": "injected by the test"})
        return respond(status, body, {"x-amzn-errortype": code})(request)

    return answer


def provisioned_concurrency(request: Any) -> AWSResponse:
    configs = []
    if "/functions/hello/" in request.url:
        configs = [{"FunctionArn": f"{ARN}:hello:6", "Status": "READY"}]
    body = json.dumps({"ProvisionedConcurrencyConfigs": configs})
    return respond(200, body, {"Content-Type": "application/json"})(request)


def drift(status: str = "IN_SYNC", *paths: str) -> Responder:
    """A DetectStackResourceDrift answer (moto has none): ``status``, with a property
    difference at each of ``paths``."""
    differences = "".join(
        f"<member><PropertyPath>{path}</PropertyPath><ExpectedValue>a</ExpectedValue>"
        f"<ActualValue>b</ActualValue><DifferenceType>NOT_EQUAL</DifferenceType></member>"
        for path in paths
    )
    body = (
        '<DetectStackResourceDriftResponse xmlns="http://cloudformation.amazonaws.com/doc/'
        '2010-05-15/"><DetectStackResourceDriftResult><StackResourceDrift>'
        "<StackId>app</StackId><LogicalResourceId>Orders</LogicalResourceId>"
        "<ResourceType>AWS::StepFunctions::StateMachine</ResourceType>"
        f"<StackResourceDriftStatus>{status}</StackResourceDriftStatus>"
        "<Timestamp>2025-06-01T00:00:00Z</Timestamp>"
        f"<PropertyDifferences>{differences}</PropertyDifferences>"
        "</StackResourceDrift></DetectStackResourceDriftResult>"
        "</DetectStackResourceDriftResponse>"
    )
    return respond(200, body, {"Content-Type": "text/xml"})


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hooks]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    _patch_moto_gaps(monkeypatch)
    installed = Hooks()
    installed.answers["ListProvisionedConcurrencyConfigs"] = provisioned_concurrency
    # The stacks here were created a moment ago; the settle window has its own test.
    monkeypatch.setattr(prune_model, "SETTLE_WINDOW", timedelta(0))
    make = prune_aws.make_clients
    monkeypatch.setattr(prune_aws, "make_clients", lambda region: installed.install(make(region)))
    with mock_aws():
        yield installed


def definition(version: int | str, function: str = "hello") -> str:
    return json.dumps(machine(A=task(f"{ARN}:{function}:{version}")))


def invoke_definition(function: str) -> str:
    params = {"FunctionName": function, "Payload.$": "$"}
    return json.dumps(machine(A=task("arn:aws:states:::lambda:invoke", Parameters=params)))


def function_resource(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": name,
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Role": f"arn:aws:iam::{ACCOUNT}:role/app",
            "Code": {"ZipFile": "def handler(event, context): return event"},
        },
    }


def state_machine_resource(name: str, body: str) -> dict[str, Any]:
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": name,
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/app",
            "DefinitionString": body,
        },
    }


SM = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine"


class Scenario:
    """Stack ``app``: functions hello and world, state machine orders, and a nested stack
    with function nested and state machine audit. hello has 14 versions, each of 1-9 kept
    for one reason, 10 and 11 unused, 12-14 the newest three."""

    def __init__(self) -> None:
        self.iam = boto3.client("iam", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.cfn = boto3.client("cloudformation", region_name=REGION)
        self.lam = boto3.client("lambda", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.iam.create_role(RoleName="app", AssumeRolePolicyDocument="{}")
        self.s3.create_bucket(Bucket="templates")
        child = {
            "Resources": {
                "Nested": function_resource("nested"),
                "Audit": state_machine_resource("audit", invoke_definition("hello:8")),
            }
        }
        self.s3.put_object(Bucket="templates", Key="child.json", Body=json.dumps(child))
        root = {
            "Resources": {
                "Hello": function_resource("hello"),
                "World": function_resource("world"),
                "Orders": state_machine_resource("orders", definition(1)),
                "Child": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": "https://templates.s3.amazonaws.com/child.json"},
                },
            }
        }
        self.cfn.create_stack(StackName="app", TemplateBody=json.dumps(root))
        self.publish("hello", 14)
        self.publish("world", 3)
        self.publish("nested", 2)
        self.orders = f"{SM}:orders"
        # 9: an execution that was stopped, so it can still be redriven.
        self.set_definition(9)
        aborted = self.start()
        self.sfn.stop_execution(executionArn=aborted)
        # 2: an execution still running on the definition it started with.
        self.set_definition(2)
        self.start()
        # 3: a published state machine version that alias prod routes to.
        version = self.sfn.update_state_machine(
            stateMachineArn=self.orders, definition=definition(3), publish=True
        )["stateMachineVersionArn"]
        self.sfn.create_state_machine_alias(
            name="prod",
            routingConfiguration=[{"stateMachineVersionArn": version, "weight": 100}],
        )
        # 1: the current definition.
        self.set_definition(1)
        # 4 and 5: alias live, with weighted routing to 5.
        self.lam.create_alias(
            FunctionName="hello",
            Name="live",
            FunctionVersion="4",
            RoutingConfig={"AdditionalVersionWeights": {"5": 0.25}},
        )
        # 6: provisioned concurrency (answered by the provisioned_concurrency hook).
        # 7: an event source mapping.
        queue = self.sqs.create_queue(QueueName="work")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        self.mapping = self.lam.create_event_source_mapping(
            EventSourceArn=queue_arn["Attributes"]["QueueArn"], FunctionName="hello:7"
        )["UUID"]
        # 8: named by state machine audit, in the nested stack.

    def publish(self, function: str, count: int) -> None:
        for number in range(count):
            self.lam.update_function_configuration(
                FunctionName=function, Description=f"build {number}"
            )
            self.lam.publish_version(FunctionName=function)

    def set_definition(self, version: int | str, function: str = "hello") -> None:
        self.sfn.update_state_machine(
            stateMachineArn=self.orders, definition=definition(version, function)
        )

    def start(self) -> str:
        return str(self.sfn.start_execution(stateMachineArn=self.orders)["executionArn"])

    def versions(self, function: str = "hello") -> list[str]:
        listed = self.lam.list_versions_by_function(FunctionName=function)["Versions"]
        return [v["Version"] for v in listed]


@pytest.fixture
def scenario(hooks: Hooks) -> Scenario:
    return Scenario()


def expected_hello(mapping: str) -> dict[str, tuple[str, str]]:
    newest = (KEEP, "among the newest 3")
    unused = (DELETE, "unused: nothing names it")
    return {
        "$LATEST": (KEEP, "$LATEST is never deleted"),
        "1": (KEEP, "current definition of orders"),
        "2": (KEEP, "running execution of orders"),
        "3": (KEEP, "state machine version orders:1 (alias prod)"),
        "4": (KEEP, "alias live"),
        "5": (KEEP, "alias live (weight 0.25)"),
        "6": (KEEP, "provisioned concurrency"),
        "7": (KEEP, f"event source mapping {mapping}"),
        "8": (KEEP, "current definition of audit"),
        "9": (KEEP, "redrivable ABORTED execution of orders"),
        "10": unused,
        "11": unused,
        "12": newest,
        "13": newest,
        "14": newest,
        # Set by hand on a version no PinVersions deploy published: never released.
        "provisioned concurrency on 6": (
            KEEP,
            "the version has no PinVersions stamp in its Description",
        ),
    }


def cli(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, dict[str, dict[str, tuple[str, str]]], str, str]:
    """Run ``pin-versions prune``; returns exit code, table rows by function, stdout, stderr."""
    code = prune.main(["--stack", "app", "--region", REGION, *argv])
    out, err = capsys.readouterr()
    table: dict[str, dict[str, tuple[str, str]]] = {}
    lines = out.splitlines()
    if lines and lines[0].startswith("function"):
        for line in lines[1:]:
            cells = re.split(r"\s{2,}", line, maxsplit=3)
            if len(cells) < 3 or cells[2] not in {"keep", "delete", "deleted", "failed"}:
                break
            table.setdefault(cells[0], {})[cells[1]] = (
                cells[2],
                cells[3] if len(cells) > 3 else "",
            )
    return code, table, out, err


def test_dry_run_keeps_each_use_and_deletes_nothing(
    scenario: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    code, table, out, err = cli(capsys)
    assert code == 0, err
    assert table["hello"] == expected_hello(scenario.mapping)
    assert table["world"] == {
        "$LATEST": (KEEP, "$LATEST is never deleted"),
        **{str(n): (KEEP, "among the newest 3") for n in (1, 2, 3)},
    }
    # Found through the nested stack; fewer versions than --keep are all kept.
    assert table["nested"] == {
        "$LATEST": (KEEP, "$LATEST is never deleted"),
        **{str(n): (KEEP, "among the newest 3") for n in (1, 2)},
    }
    assert "dry run: nothing was deleted" in out
    assert len(scenario.versions()) == 15


def test_apply_deletes_exactly_the_unused_versions(
    scenario: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    code, table, out, err = cli(capsys, "--apply")
    assert code == 0, err
    expected = expected_hello(scenario.mapping)
    expected["10"] = expected["11"] = ("deleted", "unused: nothing names it")
    assert table["hello"] == expected
    assert scenario.versions() == ["$LATEST"] + [str(n) for n in range(1, 10)] + ["12", "13", "14"]
    assert scenario.versions("world") == ["$LATEST", "1", "2", "3"]
    assert "dry run" not in out


def test_keep_and_older_than_limit_what_apply_deletes(
    scenario: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    code, table, _, err = cli(capsys, "--apply", "--older-than", "1")
    assert code == 0, err
    assert table["hello"]["10"][0] == KEEP
    assert table["hello"]["10"][1].endswith("less than 1 days ago")
    assert len(scenario.versions()) == 15
    code, table, _, err = cli(capsys, "--apply", "--keep", "1")
    assert code == 0, err
    assert {v for v, (d, _) in table["world"].items() if d == "deleted"} == {"1", "2"}
    assert {v for v, (d, _) in table["hello"].items() if d == "deleted"} == {"10", "11", "12", "13"}


def test_pagination_of_versions_and_executions(
    scenario: Scenario, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five more running executions, on definitions naming 10 and 11, and more state
    # machine versions: with two items a page, all of them are on later pages.
    for version in (10, 10, 10, 11, 11):
        scenario.set_definition(version)
        scenario.start()
    for version in (12, 13):
        scenario.sfn.update_state_machine(
            stateMachineArn=scenario.orders, definition=definition(version), publish=True
        )
    scenario.set_definition(1)
    monkeypatch.setattr(prune_model, "PAGE_SIZE", 2)
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="app")
    got = rows(outcome.decisions)
    assert got["10"] == (KEEP, "running execution of orders (x3)")
    assert got["11"] == (KEEP, "running execution of orders (x2)")
    assert got["12"] == (KEEP, "state machine version orders:2; among the newest 3")
    assert set(got) == set(expected_hello(scenario.mapping))
    # hello's 15 versions (with $LATEST) take 8 pages; orders' 7 executions (6 running,
    # 1 aborted; one pass over every status) take 4, audit's none 1.
    assert hooks.calls["ListVersionsByFunction"] >= 8 + 2 + 2
    assert hooks.calls["ListExecutions"] >= 4 + 1
    assert hooks.calls["ListStateMachineVersions"] >= 2
    assert outcome.errors == [] and outcome.denied == []


def test_denied_state_machine_read_keeps_everything(
    scenario: Scenario, hooks: Hooks, capsys: pytest.CaptureFixture[str]
) -> None:
    hooks.answers["ListExecutions"] = error(400, "AccessDeniedException")
    code, table, _, err = cli(capsys, "--apply")
    assert code == 1
    for function in ("hello", "world", "nested"):
        published = [r for v, r in table[function].items() if v != "$LATEST"]
        assert published
        for decision, reason in published:
            assert decision == KEEP
            assert reason == (
                "could not check: state machine orders: ListExecutions: "
                "AccessDeniedException: injected by the test (and 1 more)"
            )
    assert "state machine audit: ListExecutions: AccessDeniedException" in err
    assert len(scenario.versions()) == 15
    denial = [line for line in err.splitlines() if "access denied" in line]
    assert len(denial) == 1
    assert "access denied (states:ListExecutions)" in denial[0]
    assert all(action in denial[0] for action in REQUIRED_ACTIONS)


def test_denied_function_read_keeps_only_that_function(
    scenario: Scenario, hooks: Hooks, capsys: pytest.CaptureFixture[str]
) -> None:
    deny = error(403, "AccessDeniedException")
    hooks.answers["ListAliases"] = lambda r: deny(r) if "/functions/world/" in r.url else None
    code, table, _, err = cli(capsys, "--apply", "--keep", "0")
    assert code == 1
    assert {r for v, r in table["world"].items() if v != "$LATEST"} == {
        (KEEP, "could not check: ListAliases: AccessDeniedException: injected by the test")
    }
    assert scenario.versions("world") == ["$LATEST", "1", "2", "3"]
    deleted = {v for v, (d, _) in table["hello"].items() if d == "deleted"}
    assert deleted == {"10", "11", "12", "13", "14"}
    assert "lambda:ListAliases" in err


def test_denied_stack_read_is_one_clear_error(
    hooks: Hooks, capsys: pytest.CaptureFixture[str]
) -> None:
    hooks.answers["DescribeStacks"] = error(403, "AccessDenied", xml=True)
    code, table, out, err = cli(capsys)
    assert code == 1
    assert out == "" and table == {}
    assert "cannot read stack app: DescribeStacks: AccessDenied" in err
    assert "access denied (cloudformation:DescribeStacks)" in err
    assert "lambda:DeleteFunction" in err


def test_missing_stack(hooks: Hooks, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _, err = cli(capsys)
    assert code == 1
    assert "stack app does not exist" in err


def test_failed_deletion_still_prints_the_table(
    scenario: Scenario, hooks: Hooks, capsys: pytest.CaptureFixture[str]
) -> None:
    make = prune_aws.make_clients

    def clients_refusing_version_10(region: str | None) -> prune.Clients:
        clients = make(region)
        real = clients.lambda_.delete_function

        def delete_function(**kwargs: Any) -> Any:
            if kwargs.get("Qualifier") == "10":
                body = {"Error": {"Code": "ResourceConflictException", "Message": "busy"}}
                raise ClientError(body, "DeleteFunction")
            return real(**kwargs)

        clients.lambda_.delete_function = delete_function
        return clients

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prune_aws, "make_clients", clients_refusing_version_10)
        code, table, out, err = cli(capsys, "--apply")
    assert code == 1
    assert out.startswith("function")
    assert table["hello"]["10"] == ("failed", "DeleteFunction: ResourceConflictException: busy")
    assert table["hello"]["11"] == ("deleted", "unused: nothing names it")
    assert "10" in scenario.versions() and "11" not in scenario.versions()
    assert "1 deletions failed" in err


def test_throttling_is_retried(
    scenario: Scenario,
    hooks: Hooks,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # After a throttle the adaptive client slows every later call down (its token bucket);
    # right for AWS, only slow here. The retries themselves still back off for real.
    monkeypatch.setattr(TokenBucket, "_sleep_amount", lambda self, amount: 0)
    hooks.answers["ListVersionsByFunction"] = error(429, "TooManyRequestsException", times=1)
    hooks.answers["DescribeStateMachine"] = error(400, "ThrottlingException", times=1)
    hooks.answers["ListStackResources"] = error(400, "Throttling", xml=True, times=1)
    started = time.monotonic()
    code, table, _, err = cli(capsys)
    assert code == 0, err
    assert table["hello"] == expected_hello(scenario.mapping)
    assert time.monotonic() - started < 20
    baseline = Counter(hooks.calls)
    hooks.answers.clear()
    hooks.answers["ListProvisionedConcurrencyConfigs"] = provisioned_concurrency
    hooks.calls.clear()
    assert cli(capsys)[0] == 0
    # Exactly one extra request for each throttled one.
    assert baseline - hooks.calls == Counter(
        {"ListVersionsByFunction": 1, "DescribeStateMachine": 1, "ListStackResources": 1}
    )


def test_express_state_machines_block_deletion_right_after_a_change(
    scenario: Scenario, hooks: Hooks
) -> None:
    orders = next(
        m for m in stepfunctions_backends[ACCOUNT][REGION].state_machines if m.name == "orders"
    )
    orders.type = "EXPRESS"
    now = datetime.now(UTC)
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="app", now=now)
    assert all(d.decision == KEEP for d in outcome.decisions)
    assert rows(outcome.decisions)["10"][1].startswith(
        "could not check: express state machine orders: its executions cannot be listed"
    )
    # Long after the change, no express execution can still be running an old definition;
    # the versions only executions named are then free to go.
    later = prune.prune(prune_aws.make_clients(REGION), stack="app", now=now + timedelta(hours=1))
    got = rows(later.decisions)
    assert got["2"][0] == got["9"][0] == got["10"][0] == DELETE
    assert got["1"] == (KEEP, "current definition of orders")


def test_a_run_time_function_choice_keeps_every_version(scenario: Scenario) -> None:
    scenario.sfn.update_state_machine(
        stateMachineArn=scenario.orders,
        definition=json.dumps(
            machine(
                A=task(
                    "arn:aws:states:::lambda:invoke",
                    Parameters={"FunctionName.$": "$.target", "Payload.$": "$"},
                )
            )
        ),
    )
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="app", keep=0, delete=True)
    assert [d for d in outcome.decisions if d.decision != KEEP] == []
    assert (
        "picks a function at run time (States.A.Parameters.FunctionName)"
        in (rows(outcome.decisions)["10"][1])
    )
    assert len(scenario.versions()) == 15


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--stack", "app", "--keep", "-1"], ["--stack", "app", "--older-than", "x"], []):
        with pytest.raises(SystemExit) as exited:
            prune.main(argv)
        assert exited.value.code == 2
    args = argparse.Namespace(stack="app", region=REGION, keep=-1, older_than=None, apply=False)
    assert prune.run(args) == 2
    assert "must be 0 or more" in capsys.readouterr().err


def test_scheduled_job_handler(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STACK_NAME", "app")
    monkeypatch.setenv("KEEP", "3")
    monkeypatch.setenv("OLDER_THAN_DAYS", "")
    monkeypatch.setenv("APPLY", "false")
    result = prune.lambda_handler({}, None)
    assert result["counts"] == {KEEP: 17, DELETE: 2}
    assert len(scenario.versions()) == 15
    monkeypatch.setenv("APPLY", "true")
    assert prune.lambda_handler({}, None)["counts"] == {KEEP: 17, "deleted": 2}
    assert "10" not in scenario.versions()
    assert "function" in capsys.readouterr().out  # the table went to the log
    monkeypatch.setenv("STACK_NAME", "gone")
    with pytest.raises(prune.PruneError):
        prune.lambda_handler({}, None)


# ---------------------------------------------------------------------------------------
# The scheduled job's template, and the docs
# ---------------------------------------------------------------------------------------

TEMPLATE = ROOT / "deploy" / "prune-schedule.yaml"


def _policies(template: Any) -> dict[str, Any]:
    """The role's policies by name; a policy behind ``Fn::If`` counts with its condition."""
    found: dict[str, Any] = {}
    role = template["Resources"]["PruneRole"]["Properties"]
    for policy in role["Policies"]:
        if "Fn::If" in policy:
            condition, policy, otherwise = policy["Fn::If"]
            assert otherwise == {"Ref": "AWS::NoValue"}
            policy = {**policy, "Condition": condition}
        found[policy["PolicyName"]] = policy
    return found


def _actions(policy: Any) -> set[str]:
    actions: set[str] = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def test_schedule_role_grants_exactly_what_prune_needs() -> None:
    from cfnlint.decode import cfn_yaml

    template = cfn_yaml.load(str(TEMPLATE))
    policies = _policies(template)
    assert set(policies) == {"PruneRead", "PruneDelete", "PruneDeleteFunctions", "PruneLogs"}
    assert _actions(policies["PruneRead"]) == set(prune.READ_ACTIONS)
    assert _actions(policies["PruneDelete"]) == set(prune.DELETE_ACTIONS)
    assert policies["PruneDelete"]["Condition"] == "Deletes"
    assert _actions(policies["PruneRead"]) | _actions(policies["PruneDelete"]) == REQUIRED_ACTIONS
    # Versions only: the qualified ARN pattern function:*:* (a whole function's ARN has no
    # qualifier), on functions whose stack-name tag is exactly the stack or a listed nested
    # stack (no StackName-* pattern, which also matched sibling stacks such as app-staging).
    by_sid = {
        statement["Sid"]: statement
        for policy in policies.values()
        for statement in policy["PolicyDocument"]["Statement"]
    }
    versions = by_sid["DeleteVersionsOfTheStacksFunctions"]
    assert versions["Resource"]["Fn::Sub"].endswith(":function:*:*")
    exact = {
        "aws:ResourceTag/aws:cloudformation:stack-name": {
            "Fn::Split": [
                ",",
                {
                    "Fn::Join": [
                        ",",
                        [{"Ref": "StackName"}, {"Fn::Join": [",", {"Ref": "NestedStackNames"}]}],
                    ]
                },
            ]
        }
    }
    assert versions["Condition"] == {"StringEquals": exact}
    # Whole functions only when asked (ReclaimFunctions), with the same exact condition.
    assert policies["PruneDeleteFunctions"]["Condition"] == "DeletesFunctions"
    assert _actions(policies["PruneDeleteFunctions"]) == {"lambda:DeleteFunction"}
    whole = by_sid["DeleteFunctionsKeptThroughAReplacement"]
    assert whole["Resource"]["Fn::Sub"].endswith(":function:*")
    assert whole["Condition"] == {"StringEquals": exact}
    assert template["Conditions"]["DeletesFunctions"] == {
        "Fn::And": [{"Condition": "Deletes"}, {"Fn::Equals": [{"Ref": "ReclaimFunctions"}, "true"]}]
    }
    assert "*" not in json.dumps(versions["Condition"]) + json.dumps(whole["Condition"])
    logs = policies["PruneLogs"]["PolicyDocument"]["Statement"]
    assert _actions(policies["PruneLogs"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert [s["Resource"] for s in logs] == [{"Fn::GetAtt": ["PruneLogGroup", "Arn"]}]
    # Only the actions that support no resource restriction are on "*".
    for policy in policies.values():
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Resource"] == "*":
                actions = statement["Action"]
                assert set(actions if isinstance(actions, list) else [actions]) <= {
                    "lambda:ListEventSourceMappings",
                    "tag:GetResources",
                    "ecs:ListTaskDefinitions",
                    "batch:DescribeJobDefinitions",
                    "ecs:DeregisterTaskDefinition",
                }
    function = template["Resources"]["PruneFunction"]["Properties"]
    handler_module, handler = function["Handler"].rsplit(".", 1)
    assert handler_module == "pin_versions.prune" and callable(getattr(prune, handler))
    assert function["Runtime"] == "python3.13" and function["Architectures"] == ["arm64"]
    parameters = template["Parameters"]
    assert parameters["Apply"]["Default"] == "false"
    assert {"StackName", "Keep", "OlderThanDays", "Apply"} <= set(parameters)
    assert set(function["Environment"]["Variables"]) == {
        "STACK_NAME",
        "KEEP",
        "OLDER_THAN_DAYS",
        "APPLY",
        "RECLAIM_FUNCTIONS",
        "RECLAIM_REVISIONS",
    }


def test_schedule_template_passes_cfn_lint() -> None:
    from cfnlint.api import lint_all

    problems = [m for m in lint_all(TEMPLATE.read_text()) if m.rule.id[0] in "EW"]
    assert problems == []


def test_docs_list_every_required_action() -> None:
    text = (ROOT / "docs" / "prune.md").read_text()
    assert [a for a in sorted(REQUIRED_ACTIONS) if a not in text] == []


def test_importing_prune_does_not_load_boto3() -> None:
    # The package is also the macro's Lambda bundle: its cold start must not pay for boto3.
    code = (
        "import sys, pin_versions.prune; "
        "loaded = [m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore'}]; "
        "sys.exit(f'loaded {loaded}' if loaded else 0)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "macro")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_module_runs_standalone() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "macro")}
    done = subprocess.run(
        [sys.executable, "-m", "pin_versions.prune", "--help"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert "--older-than DAYS" in done.stdout and "--apply" in done.stdout


# ---------------------------------------------------------------------------------------
# Issue 12 item 9: races and blind spots, each closed by a rule that errs on keeping
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qualifier", "expected"),
    [
        (3, {("hello", "3")}),
        (3.0, {("hello", "3")}),
        ("3", {("hello", "3")}),
        (3.5, {("hello", None)}),  # neither a version nor an alias: every version kept
        ("live", set()),  # an alias: the alias check covers it
    ],
)
def test_a_qualifier_written_as_a_json_number_names_its_version(
    qualifier: object, expected: set[tuple[str, str | None]]
) -> None:
    params = {"FunctionName": "hello", "Qualifier": qualifier, "Payload.$": "$"}
    assert named(machine(A=task("arn:aws:states:::lambda:invoke", Parameters=params))) == expected


def test_an_execution_that_changes_status_between_calls_is_still_found(
    scenario: Scenario, hooks: Hooks
) -> None:
    """Whatever status the execution moves to before each ListExecutions call (the one a
    status filter would not ask for), it is listed, and its version kept."""
    scenario.set_definition(10)
    flipping = scenario.start()
    scenario.set_definition(1)
    backend = stepfunctions_backends[ACCOUNT][REGION]

    def flip(request: Any) -> None:
        asked = json.loads(request.body or b"{}").get("statusFilter")
        execution = next(
            e for m in backend.state_machines for e in m.executions if e.execution_arn == flipping
        )
        execution.status = "FAILED" if asked in (None, "RUNNING", "PENDING_REDRIVE") else "RUNNING"
        execution.stop_date = (
            datetime.now(UTC).isoformat() if execution.status == "FAILED" else None
        )

    hooks.answers["ListExecutions"] = lambda request: flip(request)
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="app", keep=0)
    assert rows(outcome.decisions)["10"] == (KEEP, "redrivable FAILED execution of orders")
    assert outcome.errors == []


def test_executions_that_can_no_longer_run_free_their_versions(
    scenario: Scenario, hooks: Hooks
) -> None:
    # A SUCCEEDED execution is never redriven; a FAILED one past 14 days no longer can be.
    backend = stepfunctions_backends[ACCOUNT][REGION]
    for version, status, stopped in ((10, "SUCCEEDED", 0), (11, "FAILED", 15), (12, "FAILED", 13)):
        scenario.set_definition(version)
        arn = scenario.start()
        execution = next(
            e for m in backend.state_machines for e in m.executions if e.execution_arn == arn
        )
        execution.status = status
        execution.stop_date = (datetime.now(UTC) - timedelta(days=stopped)).isoformat()
    scenario.set_definition(1)
    got = rows(prune.prune(prune_aws.make_clients(REGION), stack="app", keep=0).decisions)
    assert got["10"] == got["11"] == (DELETE, "unused: nothing names it")
    assert got["12"] == (KEEP, "redrivable FAILED execution of orders")


def test_a_state_machine_changed_moments_ago_keeps_everything_until_listing_settles(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ListExecutions is eventually consistent: an execution started on the previous
    # definition just before the change may not be listed yet.
    monkeypatch.setattr(prune_model, "SETTLE_WINDOW", timedelta(minutes=5))
    now = datetime.now(UTC)
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="app", now=now, keep=0)
    assert {d.decision for d in outcome.decisions} == {KEEP}
    assert rows(outcome.decisions)["10"][1].startswith(
        "could not check: state machine orders: executions started just before are not "
        "listed at once and it changed less than 5 minutes ago; run prune again later"
    )
    later = prune.prune(
        prune_aws.make_clients(REGION), stack="app", now=now + timedelta(minutes=6), keep=0
    )
    assert rows(later.decisions)["10"] == (DELETE, "unused: nothing names it")


def _make_express(name: str = "orders") -> None:
    machine = next(
        m for m in stepfunctions_backends[ACCOUNT][REGION].state_machines if m.name == name
    )
    machine.type = "EXPRESS"


def test_an_express_definition_changed_outside_cloudformation_keeps_everything(
    scenario: Scenario, hooks: Hooks
) -> None:
    _make_express()
    later = datetime.now(UTC) + timedelta(days=1)
    hooks.answers["DetectStackResourceDrift"] = drift("MODIFIED", "/DefinitionString")
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="app", now=later, keep=0)
    assert {d.decision for d in outcome.decisions} == {KEEP}
    assert outcome.errors[0] == (
        "express state machine orders: its definition was changed outside CloudFormation "
        "(/DefinitionString); prune cannot tell when it changed, so an express execution of "
        "the previous definition may still run; deploy the stack again (or make the template "
        "match) and run prune 10 minutes later"
    )
    # Drift in what does not run (tags, logging) does not matter; in sync neither.
    for answer in (drift("MODIFIED", "/Tags/0/Value"), drift("IN_SYNC")):
        hooks.answers["DetectStackResourceDrift"] = answer
        outcome = prune.prune(prune_aws.make_clients(REGION), stack="app", now=later, keep=0)
        assert outcome.errors == []
        assert rows(outcome.decisions)["10"] == (DELETE, "unused: nothing names it")
    # A drift check that fails keeps everything too.
    hooks.answers["DetectStackResourceDrift"] = error(400, "AccessDenied", xml=True)
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="app", now=later, keep=0)
    assert {d.decision for d in outcome.decisions} == {KEEP}
    assert "cloudformation:DetectStackResourceDrift" in outcome.denied


# ---------------------------------------------------------------------------------------
# Issue 11: reclaiming what PinVersions retains
# ---------------------------------------------------------------------------------------

STAMP = "[pin 0123456789]"


def invoke_grant(function: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": f"{ARN}:{function}:*",
            }
        ],
    }


class Shop:
    """Stack ``shop``: role Role, function world, state machine checkout (invokes world:1)
    and the current grant PinVersionsInvokeWorld. Outside the stack, what earlier deploys
    retained: grants on Role for hello-old (nothing uses it) and for world (still in use),
    function hello-old (kept through a rename, unused) and hello-mid (kept, one version run
    by an execution), and provisioned concurrency on world 2 (stamped, left the stack)."""

    def __init__(self) -> None:
        self.iam = boto3.client("iam", region_name=REGION)
        self.cfn = boto3.client("cloudformation", region_name=REGION)
        self.lam = boto3.client("lambda", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.iam.create_role(RoleName="app", AssumeRolePolicyDocument="{}")
        template = {
            "Resources": {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {},
                        "Policies": [{"PolicyName": "Logs", "PolicyDocument": {"Statement": []}}],
                    },
                },
                "World": function_resource("world"),
                "Checkout": state_machine_resource("checkout", definition(1, "world")),
                "Grant": {
                    "Type": "AWS::IAM::Policy",
                    "Properties": {
                        "PolicyName": "PinVersionsInvokeWorld",
                        "Roles": [{"Ref": "Role"}],
                        "PolicyDocument": invoke_grant("world"),
                    },
                },
            }
        }
        self.cfn.create_stack(StackName="shop", TemplateBody=json.dumps(template))
        # A sibling stack whose name starts with shop-: its functions are not shop's.
        self.cfn.create_stack(
            StackName="shop-staging",
            TemplateBody=json.dumps({"Resources": {"W": function_resource("staging-world")}}),
        )
        self.role = next(
            r["PhysicalResourceId"]
            for r in self.cfn.list_stack_resources(StackName="shop")["StackResourceSummaries"]
            if r["ResourceType"] == "AWS::IAM::Role"
        )
        for policy, function in (
            ("PinVersionsInvokeHelloOld0a1b2c", "hello-old"),
            ("PinVersionsInvokeWorldOld", "world"),
        ):
            self.iam.put_role_policy(
                RoleName=self.role,
                PolicyName=policy,
                PolicyDocument=json.dumps(invoke_grant(function)),
            )
        self.iam.put_role_policy(  # not PinVersions': never touched
            RoleName=self.role, PolicyName="Other", PolicyDocument=json.dumps(invoke_grant("x"))
        )
        for name, logical in (("hello-old", "Hello"), ("hello-mid", "Hello")):
            self.lam.create_function(
                **function_resource(name)["Properties"],
                Tags={
                    "aws:cloudformation:stack-name": "shop",
                    "aws:cloudformation:logical-id": logical,
                },
            )
            self.publish(name, 2)
        self.publish("world", 3)
        checkout = f"{SM}:checkout"
        self.sfn.update_state_machine(
            stateMachineArn=checkout, definition=definition(1, "hello-mid")
        )
        self.sfn.start_execution(stateMachineArn=checkout)
        self.sfn.update_state_machine(stateMachineArn=checkout, definition=definition(1, "world"))

    def publish(self, function: str, count: int) -> None:
        for number in range(count):
            self.lam.update_function_configuration(
                FunctionName=function, Description=f"{function} build {number} {STAMP}"
            )
            self.lam.publish_version(FunctionName=function)

    def policies(self) -> list[str]:
        return sorted(self.iam.list_role_policies(RoleName=self.role)["PolicyNames"])

    def functions(self) -> list[str]:
        return sorted(f["FunctionName"] for f in self.lam.list_functions()["Functions"])


def shop_provisioned(request: Any) -> AWSResponse:
    configs = []
    if "/functions/world/" in request.url:
        configs = [
            {"FunctionArn": f"{ARN}:world:1", "Status": "READY"},
            {"FunctionArn": f"{ARN}:world:2", "Status": "READY"},
        ]
    body = json.dumps({"ProvisionedConcurrencyConfigs": configs})
    return respond(200, body, {"Content-Type": "application/json"})(request)


@pytest.fixture
def shop(hooks: Hooks) -> Shop:
    hooks.answers["ListProvisionedConcurrencyConfigs"] = shop_provisioned
    released: list[str] = []

    def release(request: Any) -> AWSResponse:
        released.append(request.url.split("?", 1)[-1])
        return respond(204, "")(request)

    hooks.answers["DeleteProvisionedConcurrencyConfig"] = release
    built = Shop()
    built.released = released  # type: ignore[attr-defined]
    return built


def reclaim_rows(decisions: list[Decision]) -> dict[str, tuple[str, str, str]]:
    return {
        d.version: (d.function, d.decision, d.reason) for d in decisions if d.kind != prune.VERSION
    }


def test_prune_reclaims_what_pinversions_retained_and_nothing_in_use(
    shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="shop")
    assert outcome.errors == [] and outcome.denied == []
    role = shop.role
    assert (
        reclaim_rows(outcome.decisions)
        == {
            f"grant {role}/PinVersionsInvokeHelloOld0a1b2c": (
                "hello-old",
                DELETE,
                "retained grant; no version of its function is in use",
            ),
            f"grant {role}/PinVersionsInvokeWorldOld": (
                "world",
                KEEP,
                "retained grant; in use: current definition of checkout",
            ),
            "function": (
                "hello-old",
                KEEP,
                "retained, no longer a resource of its stack (was Hello of stack shop), "
                "no version in use; --reclaim-functions deletes it",
            ),
            "provisioned concurrency on 1": ("world", KEEP, "current definition of checkout"),
            "provisioned concurrency on 2": (
                "world",
                DELETE,
                "the version left the stack and nothing invokes it (paid)",
            ),
        }
        | {}
    )
    mid = [d for d in outcome.decisions if d.function == "hello-mid" and d.kind == prune.FUNCTION]
    assert [(d.decision, d.reason) for d in mid] == [
        (
            KEEP,
            "retained, no longer a resource of its stack (was Hello of stack shop); in use: "
            "running execution of checkout",
        )
    ]
    # The sibling stack shop-staging's function is not shop's: no row at all.
    assert "staging-world" not in {d.function for d in outcome.decisions}
    # Dry run: nothing changed.
    assert shop.policies() == [
        "Logs",
        "Other",
        "PinVersionsInvokeHelloOld0a1b2c",
        "PinVersionsInvokeWorld",
        "PinVersionsInvokeWorldOld",
    ]
    assert shop.released == []  # type: ignore[attr-defined]
    text = prune.summary(outcome.decisions, applied=False)
    assert (
        "; 6 retained by PinVersions (grants, replaced functions, provisioned concurrency): "
        "4 keep, 2 delete (dry run" in text
    )
    assert text.endswith("(dry run: nothing was deleted; add --apply to delete)")


def test_apply_reclaims_grants_functions_and_provisioned_concurrency(shop: Shop) -> None:
    outcome = prune.prune(
        prune_aws.make_clients(REGION), stack="shop", delete=True, reclaim_functions=True
    )
    assert outcome.errors == [] and outcome.denied == []
    got = reclaim_rows(outcome.decisions)
    assert got[f"grant {shop.role}/PinVersionsInvokeHelloOld0a1b2c"][1] == prune.DELETED
    assert got["provisioned concurrency on 2"][1] == prune.DELETED
    function_rows = {d.function: d.decision for d in outcome.decisions if d.kind == prune.FUNCTION}
    assert function_rows == {"hello-old": prune.DELETED, "hello-mid": KEEP}
    # Its versions went with it: no version rows for hello-old.
    assert [
        d for d in outcome.decisions if d.function == "hello-old" and d.kind == prune.VERSION
    ] == []
    assert shop.policies() == [
        "Logs",
        "Other",
        "PinVersionsInvokeWorld",
        "PinVersionsInvokeWorldOld",
    ]
    assert "hello-old" not in shop.functions() and "hello-mid" in shop.functions()
    assert shop.released == ["Qualifier=2"]  # type: ignore[attr-defined]


def test_a_failed_check_reclaims_nothing(shop: Shop, hooks: Hooks) -> None:
    hooks.answers["ListExecutions"] = error(400, "AccessDeniedException")
    outcome = prune.prune(
        prune_aws.make_clients(REGION), stack="shop", delete=True, reclaim_functions=True
    )
    assert {d.decision for d in outcome.decisions} == {KEEP}
    assert len(shop.policies()) == 5 and "hello-old" in shop.functions()
    assert shop.released == []  # type: ignore[attr-defined]
    # A processed template that cannot be read keeps every grant (others may still go).
    hooks.answers.pop("ListExecutions")
    hooks.answers["GetTemplate"] = error(400, "AccessDenied", xml=True)
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="shop", delete=True)
    assert [d for d in outcome.decisions if d.kind == prune.GRANT] == []
    assert "template of stack shop: GetTemplate: AccessDenied: injected by the test" in (
        outcome.errors
    )
    assert len(shop.policies()) == 5
    # Functions kept through a replacement that cannot be listed are only left alone.
    hooks.answers.pop("GetTemplate")
    hooks.answers["GetResources"] = error(400, "AccessDeniedException")
    outcome = prune.prune(prune_aws.make_clients(REGION), stack="shop", delete=True)
    assert [d for d in outcome.decisions if d.kind == prune.FUNCTION] == []
    assert [d for d in outcome.decisions if d.function == "hello-old" and d.kind == "version"] == []
    assert "tag:GetResources" in outcome.denied
    assert outcome.errors == [
        "functions tagged with the stack: GetResources: AccessDeniedException: injected by the test"
    ]
    assert (
        reclaim_rows(outcome.decisions)[f"grant {shop.role}/PinVersionsInvokeHelloOld0a1b2c"][1]
        == prune.DELETED
    )


def test_docs_example_is_the_real_output(
    scenario: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/prune.md's example table and summary are what prune prints for Scenario (the
    event source mapping's random UUID aside)."""
    code, _, out, err = cli(capsys)
    assert code == 0, err
    text = (ROOT / "docs" / "prune.md").read_text()
    example = text.split("It prints one row per", 1)[1].split("```\n", 2)[1]
    assert out.replace(scenario.mapping, "d4f734c5-2449-4720-94a6-9a8099de9490") == example


# -- prune and the macro read a function reference through one grammar (issue 13) -------

_SAME_GRAMMAR = [
    ("fn", ("fn", None)),
    ("fn:7", ("fn", "7")),
    ("fn:live", ("fn", "live")),
    ("fn:$LATEST", ("fn", "$LATEST")),
    ("123456789012:function:fn", ("fn", None)),
    ("123456789012:function:fn:12", ("fn", "12")),
    ("123456789012:function:fn:blue-green", ("fn", "blue-green")),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn", ("fn", None)),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn:3", ("fn", "3")),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn:prod", ("fn", "prod")),
    ("arn:aws:lambda:us-east-1:123456789012:function:other:3", ("other", "3")),
    ("other", ("other", None)),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), _SAME_GRAMMAR)
def test_prune_and_macro_read_a_function_reference_alike(
    text: str, expected: tuple[str, str | None] | None
) -> None:
    """prune's parse_function_ref and the macro's resolution of a ``FunctionName`` agree on
    which function a value names and whether it picks a version (digits), an alias or
    ``$LATEST``, or no qualifier."""
    from pin_versions import Context
    from pin_versions.inventory import build_inventory
    from pin_versions.options import Options
    from pin_versions.references import resolve
    from pin_versions.resolution import classify
    from pin_versions.targets import LAMBDA

    assert prune.parse_function_ref(text) == expected == LAMBDA.parse(text)
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"FunctionName": "fn", "Runtime": "python3.12"},
            }
        }
    }
    inventory = build_inventory(template, Context("us-east-1", "123456789012"), Options())
    seen = classify(resolve(text, inventory), inventory, name_allowed=True)
    if expected is None or expected[0] != "fn":
        assert seen.function is None
        return
    assert seen.function == "Fn"
    qualifier = expected[1]
    if qualifier is None:
        assert seen.kind == "function"
    elif qualifier.isdigit():
        assert seen.kind == "version"
    else:
        assert seen.kind == "mutable"


# -- state machine versions (issue 14) ---------------------------------------------------

CHILD = f"{SM}:child"


def machine_facts(count: int, *uses: Use, errors: tuple[str, ...] = ()) -> Facts:
    versions = [
        prune_model.MachineVersion(str(n), f"{CHILD}:{n}", NOW) for n in range(1, count + 1)
    ]
    facts = Facts()
    facts.machines["child"] = prune_model.MachineFacts("child", CHILD, versions, list(errors))
    facts.machine_uses.extend(uses)
    return facts


def machine_rows(decisions: list[Decision]) -> dict[str, tuple[str, str]]:
    return {
        d.version: (d.decision, d.reason)
        for d in decisions
        if d.kind == prune_model.MACHINE_VERSION
    }


def test_state_machine_versions_in_use_or_newest_are_kept_the_rest_deleted() -> None:
    facts = machine_facts(
        6,
        Use("child", "1", "running execution of orders"),
        Use("child", "2", "alias live"),
        Use("Child", "3", "resource ChildVersion of stack app"),  # names compare casefolded
        Use("other", "4", "alias live"),  # another state machine's version 4
    )
    assert machine_rows(plan(facts, keep=1, now=NOW)) == {
        "1": (KEEP, "running execution of orders"),
        "2": (KEEP, "alias live"),
        "3": (KEEP, "resource ChildVersion of stack app"),
        "4": (DELETE, "unused: nothing starts it"),
        "5": (DELETE, "unused: nothing starts it"),
        "6": (KEEP, "among the newest 1"),
    }


def test_a_run_time_state_machine_choice_or_a_failed_check_keeps_every_version() -> None:
    anywhere = Use(None, None, "current definition of orders picks a state machine at run time")
    assert {d for d, _ in machine_rows(plan(machine_facts(3, anywhere), keep=0)).values()} == {KEEP}
    failed = machine_rows(plan(machine_facts(3, errors=("ListExecutions: denied",)), keep=0))
    assert failed == {n: (KEEP, "could not check: ListExecutions: denied") for n in "123"}
    unlisted = plan(machine_facts(0, errors=("ListStateMachineVersions: denied",)), keep=0)
    assert machine_rows(unlisted) == {
        "*": (KEEP, "could not check: ListStateMachineVersions: denied")
    }


def test_definitions_name_state_machine_versions_and_run_time_choices() -> None:
    start = "arn:aws:states:::states:startExecution.sync:2"
    pinned = machine(
        A=task(start, Parameters={"StateMachineArn": f"{CHILD}:7", "Input.$": "$"}),
        B=task(
            "arn:aws:states:::aws-sdk:sfn:startExecution", Parameters={"StateMachineArn.$": "$.sm"}
        ),
        C=task(start, Arguments="{% $states.input %}", QueryLanguage="JSONata"),
        D={"Type": "Pass", "Result": {"next": f"{SM}:audit:2"}, "End": True},
        E=task(start, Parameters={"StateMachineArn": f"{CHILD}:live"}),  # an alias: no version
    )
    uses = prune.uses.machine_uses_of_definition(json.dumps(pinned), "current definition of p")
    assert {(u.function, u.version) for u in uses} == {
        ("child", "7"),
        ("audit", "2"),
        (None, None),
    }
    assert {u.reason for u in uses if u.function is None} == {
        "current definition of p picks a state machine at run time (States.B.Parameters)",
        "current definition of p picks a state machine at run time (States.C.Arguments)",
    }


def test_quota_warning_before_the_1000_versions_are_reached() -> None:
    assert prune.rules.quota_warnings(machine_facts(899)) == []
    (warning,) = prune.rules.quota_warnings(machine_facts(900))
    assert warning.startswith("PV160 state machine child has 900 of the 1000 versions")


def _patch_moto_machine_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moto gaps for state machine versions: DeleteStateMachineVersion is not implemented,
    and ListExecutions leaves out ``stateMachineVersionArn`` (moto cannot start a version).
    A test sets ``version_arn`` on an execution to say which version it was started with."""

    def delete_state_machine_version(self: StepFunctionResponse) -> ActionResult:
        arn = self._get_param("stateMachineVersionArn")
        source, _, number = arn.rpartition(":")
        owner = self.stepfunction_backend.describe_state_machine(source)
        owner.versions.pop(int(number), None)
        return ActionResult({})

    def list_executions(self: StepFunctionResponse) -> ActionResult:
        owner = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        items = []
        for execution in sorted(owner.executions, key=lambda e: e.start_date, reverse=True):
            item = {
                "executionArn": execution.execution_arn,
                "name": execution.name,
                "startDate": execution.start_date,
                "stateMachineArn": owner.arn,
                "status": execution.status,
            }
            if getattr(execution, "version_arn", None):
                item["stateMachineVersionArn"] = execution.version_arn
            items.append(item)
        return ActionResult({"executions": items})

    monkeypatch.setattr(
        StepFunctionResponse,
        "delete_state_machine_version",
        delete_state_machine_version,
        raising=False,
    )
    monkeypatch.setattr(StepFunctionResponse, "list_executions", list_executions)


@pytest.fixture
def nested(hooks: Hooks, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Stack ``app``: parent ``orders`` starts ``child``, which has versions 1-6.
    1: a running execution of orders was started on a definition pinned to child:1;
    2 and 3: alias live routes to both (a gradual deployment in progress);
    4: a running execution of child was started with the version ARN child:4;
    5: unused; 6: the newest, and the current definition of orders names it."""
    _patch_moto_machine_versions(monkeypatch)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    cfn = boto3.client("cloudformation", region_name=REGION)
    boto3.client("iam", region_name=REGION).create_role(
        RoleName="app", AssumeRolePolicyDocument="{}"
    )

    def parent(version: int) -> str:
        start = "arn:aws:states:::states:startExecution.sync:2"
        params = {"StateMachineArn": f"{CHILD}:{version}"}
        return json.dumps(machine(A=task(start, Parameters=params)))

    root = {
        "Resources": {
            "Orders": state_machine_resource("orders", parent(1)),
            "Child": state_machine_resource(
                "child", json.dumps(machine(A={"Type": "Pass", "End": True}))
            ),
        }
    }
    cfn.create_stack(StackName="app", TemplateBody=json.dumps(root))
    for number in range(1, 7):
        body = machine(A={"Type": "Pass", "Result": number, "End": True})
        sfn.update_state_machine(stateMachineArn=CHILD, definition=json.dumps(body), publish=True)
    sfn.create_state_machine_alias(
        name="live",
        routingConfiguration=[
            {"stateMachineVersionArn": f"{CHILD}:2", "weight": 90},
            {"stateMachineVersionArn": f"{CHILD}:3", "weight": 10},
        ],
    )
    sfn.start_execution(stateMachineArn=f"{SM}:orders")  # runs parent(1)
    sfn.update_state_machine(stateMachineArn=f"{SM}:orders", definition=parent(6))
    started = sfn.start_execution(stateMachineArn=CHILD)["executionArn"]
    backend = stepfunctions_backends[ACCOUNT][REGION]
    child = next(m for m in backend.state_machines if m.arn == CHILD)
    next(e for e in child.executions if e.execution_arn == started).version_arn = f"{CHILD}:4"
    return sfn


def test_prune_keeps_started_routed_and_pinned_state_machine_versions(
    nested: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, table, out, err = cli(capsys, "--keep", "1")
    assert code == 0, err
    assert table["child (state machine)"] == {
        "1": (KEEP, "running execution of orders"),
        "2": (KEEP, "alias live (weight 90)"),
        "3": (KEEP, "alias live (weight 10)"),
        "4": (KEEP, "running execution of child"),
        "5": (DELETE, "unused: nothing starts it"),
        "6": (KEEP, "current definition of orders; among the newest 1"),
    }
    assert "6 state machine versions of 1 state machine: 5 keep, 1 delete" in out
    code, table, out, err = cli(capsys, "--keep", "1", "--apply")
    assert code == 0, err
    assert table["child (state machine)"]["5"] == ("deleted", "unused: nothing starts it")
    listed = nested.list_state_machine_versions(stateMachineArn=CHILD)["stateMachineVersions"]
    assert sorted(v["stateMachineVersionArn"][-1] for v in listed) == ["1", "2", "3", "4", "6"]


def test_prune_warns_near_the_state_machine_version_quota(
    nested: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prune_model, "MACHINE_VERSION_WARN_AT", 6)
    monkeypatch.setattr(prune.rules, "MACHINE_VERSION_WARN_AT", 6)
    code, _, _, err = cli(capsys, "--keep", "1")
    assert code == 0  # a warning, not a failure
    assert "pin-versions prune: warning: PV160 state machine child has 6 of the 1000" in err


# -- ECS task definition and Batch job definition revisions (issue 14) -------------------


def _container(image: str) -> dict[str, Any]:
    return {"image": image, "vcpus": 1, "memory": 128}


def _patch_moto_job_definition_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moto gap: CloudFormation's AWS::Batch::JobDefinition ignores JobDefinitionName (it
    registers under the generated physical name) and requires RetryStrategy."""
    from moto.batch.models import JobDefinition

    create = JobDefinition.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def named(cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kw: Any) -> Any:
        properties = cloudformation_json["Properties"]
        properties.setdefault("RetryStrategy", {})
        name = properties.get("JobDefinitionName", resource_name)
        return create(cls, name, cloudformation_json, *args, **kw)

    monkeypatch.setattr(JobDefinition, "create_from_cloudformation_json", classmethod(named))


@pytest.fixture
def revisions(hooks: Hooks, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Stack ``app`` holds task definition family ``web`` (revision 3, the current one) and
    job definition ``nightly`` (revision 3). Revisions 1 and 2 of each were left ACTIVE by
    earlier deploys (PinVersions retains them). State machine ``orders`` has a running
    execution whose definition runs ``web:1`` and submits ``nightly:1``; revisions 2 are
    unused. ``webby`` (another family sharing the prefix) is not the stack's."""
    _patch_moto_job_definition_name(monkeypatch)
    ecs = boto3.client("ecs", region_name=REGION)
    batch = boto3.client("batch", region_name=REGION)
    boto3.client("iam", region_name=REGION).create_role(
        RoleName="app", AssumeRolePolicyDocument="{}"
    )
    container = [{"name": "web", "image": "busybox", "memory": 128}]
    for _ in range(2):
        ecs.register_task_definition(family="web", containerDefinitions=container)
        batch.register_job_definition(
            jobDefinitionName="nightly", type="container", containerProperties=_container("a")
        )
    ecs.register_task_definition(family="webby", containerDefinitions=container)
    old = json.dumps(
        machine(
            A=task(
                "arn:aws:states:::ecs:runTask.sync",
                Parameters={
                    "TaskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:1"
                },
                Next="B",
            ),
            B=task(
                "arn:aws:states:::batch:submitJob.sync",
                Parameters={
                    "JobDefinition": f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/nightly:1"
                },
            ),
        )
    )
    root = {
        "Resources": {
            "Orders": state_machine_resource("orders", old),
            "Web": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": "web",
                    "ContainerDefinitions": [{"Name": "web", "Image": "busybox", "Memory": 128}],
                },
            },
            "Nightly": {
                "Type": "AWS::Batch::JobDefinition",
                "Properties": {
                    "JobDefinitionName": "nightly",
                    "Type": "container",
                    "ContainerProperties": {"Image": "b", "Vcpus": 1, "Memory": 128},
                },
            },
        }
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="app", TemplateBody=json.dumps(root)
    )
    sfn = boto3.client("stepfunctions", region_name=REGION)
    sfn.start_execution(stateMachineArn=f"{SM}:orders")
    sfn.update_state_machine(
        stateMachineArn=f"{SM}:orders",
        definition=json.dumps(machine(A={"Type": "Pass", "End": True})),
    )
    return ecs, batch


def test_prune_keeps_revisions_in_use_and_deregisters_the_rest_only_when_asked(
    revisions: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ecs, batch = revisions
    code, table, out, err = cli(capsys)
    assert code == 0, err
    ask = (KEEP, "retained revision, nothing runs it; --reclaim-revisions deregisters it")
    assert table["web (task definition)"] == {
        "1": (KEEP, "running execution of orders"),
        "2": ask,
    }
    assert table["nightly (job definition)"] == {
        "1": (KEEP, "running execution of orders"),
        "2": ask,
    }
    assert "4 task or job definition revisions retained: 4 keep" in out
    code, table, out, err = cli(capsys, "--reclaim-revisions", "--apply")
    assert code == 0, err
    assert table["web (task definition)"]["2"] == ("deleted", "retained revision, nothing runs it")
    assert table["nightly (job definition)"]["2"][0] == "deleted"
    active = ecs.list_task_definitions(familyPrefix="web", status="ACTIVE")["taskDefinitionArns"]
    assert sorted(a.rsplit("/", 1)[1] for a in active) == ["web:1", "web:3"]
    other = ecs.list_task_definitions(familyPrefix="webby", status="ACTIVE")["taskDefinitionArns"]
    assert [a.rsplit("/", 1)[1] for a in other] == ["webby:1"]  # not the stack's: untouched
    jobs = batch.describe_job_definitions(jobDefinitionName="nightly", status="ACTIVE")
    assert sorted(j["revision"] for j in jobs["jobDefinitions"]) == [1, 3]


def test_a_run_time_task_definition_keeps_every_revision() -> None:
    definition = json.dumps(
        machine(A=task("arn:aws:states:::ecs:runTask", Parameters={"TaskDefinition.$": "$.td"}))
    )
    (use,) = prune.revisions.revision_uses(definition, "current definition of orders")
    assert use[:3] == ("task", None, None)
    assert use[3].endswith("picks a task definition at run time (States.A.Parameters)")


@pytest.mark.parametrize(
    ("physical", "expected"),
    [
        (f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web:3", ("ecs", "web")),
        (f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/nightly:12", ("batch", "nightly")),
        (f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/web", None),  # no revision
        (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:web:3", None),
        ("web:3", None),
    ],
)
def test_a_stack_revision_is_read_with_the_core_grammar(
    physical: str, expected: tuple[str, str] | None
) -> None:
    assert prune.revisions.stack_revision(physical) == expected

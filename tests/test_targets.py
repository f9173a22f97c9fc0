"""The target-kind registry (pin_versions.targets): the Lambda record, and that the pipeline
reads what is generic about a target from it."""

from __future__ import annotations

import pytest

from pin_versions import hashing, iam, rewrite
from pin_versions.inventory import FUNCTION_TYPES
from pin_versions.options import read_options
from pin_versions.plan import VersionPlan
from pin_versions.plan.machine_versions import machine_version_id, machine_version_resource
from pin_versions.report import TransformError
from pin_versions.target_kinds import BATCH_JOB_DEFINITION, ECS_TASK_DEFINITION, STATE_MACHINE
from pin_versions.targets import KINDS, LAMBDA, RETAIN, TargetKind, kind_named, kind_of_type


def test_every_kind_is_found_by_type_and_name() -> None:
    assert [kind.name for kind in KINDS] == [
        "lambda",
        "state-machine",
        "ecs-task-definition",
        "batch-job-definition",
    ]
    assert [kind.option_key for kind in KINDS] == [
        "LambdaFunction",
        "StateMachine",
        "ECSTaskDefinition",
        "BatchJobDefinition",
    ]
    assert kind_of_type("AWS::Lambda::Function") is LAMBDA
    assert kind_of_type("AWS::Serverless::Function") is LAMBDA
    assert kind_of_type("AWS::Lambda::Version") is None
    assert kind_of_type("AWS::StepFunctions::StateMachine") is STATE_MACHINE
    assert kind_of_type("AWS::Serverless::StateMachine") is STATE_MACHINE
    assert kind_of_type("AWS::ECS::TaskDefinition") is ECS_TASK_DEFINITION
    assert kind_of_type("AWS::Batch::JobDefinition") is BATCH_JOB_DEFINITION
    assert kind_named("lambda") is LAMBDA
    assert kind_named("state-machine") is STATE_MACHINE
    with pytest.raises(KeyError):
        kind_named("ecs")


@pytest.mark.parametrize(
    ("kind", "resource", "suffix"),
    [
        (STATE_MACHINE, "arn:aws:states:::states:startExecution", None),
        (STATE_MACHINE, "arn:aws:states:::states:startExecution.sync", ".sync"),
        (STATE_MACHINE, "arn:aws-cn:states:::states:startExecution.sync:2", ".sync:2"),
        (STATE_MACHINE, "arn:aws:states:::states:startExecution.waitForTaskToken", None),
        (ECS_TASK_DEFINITION, "arn:aws:states:::ecs:runTask.sync", ".sync"),
        (ECS_TASK_DEFINITION, "arn:aws:states:::ecs:runTask", None),
        (BATCH_JOB_DEFINITION, "arn:aws:states:::batch:submitJob.waitForTaskToken", None),
        (BATCH_JOB_DEFINITION, "arn:aws:states:::batch:submitJob.sync", ".sync"),
    ],
)
def test_the_integrations_of_the_issue_14_kinds(
    kind: TargetKind, resource: str, suffix: str | None
) -> None:
    match = kind.integrations.fullmatch(resource)
    assert match is not None
    assert match["s"] in (suffix, ".waitForTaskToken")
    for other in KINDS:
        if other is not kind:
            assert other.integrations.fullmatch(resource) is None


def test_the_issue_14_grammars() -> None:
    assert STATE_MACHINE.parse("arn:aws:states:us-east-1:123456789012:stateMachine:child") == (
        "child",
        None,
    )
    assert STATE_MACHINE.parse("arn:aws:states:us-east-1:1:stateMachine:child:live") == (
        "child",
        "live",
    )
    assert STATE_MACHINE.parse("child") is None  # StartExecution takes an ARN only
    assert ECS_TASK_DEFINITION.parse("web") == ("web", None)
    assert ECS_TASK_DEFINITION.parse("web:3") == ("web", "3")
    assert ECS_TASK_DEFINITION.parse("arn:aws:ecs:eu-west-1:1:task-definition/web:3") == (
        "web",
        "3",
    )
    assert BATCH_JOB_DEFINITION.parse("arn:aws:batch:eu-west-1:1:job-definition/nightly") == (
        "nightly",
        None,
    )


def test_the_issue_14_grants() -> None:
    assert STATE_MACHINE.statements is not None
    plain = STATE_MACHINE.statements("Child", {}, "")
    assert plain == [
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": [{"Ref": "Child"}]}
    ]
    synced = STATE_MACHINE.statements("Child", {}, ".sync:2")
    assert [s["Action"] for s in synced] == [
        "states:StartExecution",
        ["states:DescribeExecution", "states:StopExecution"],
        ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
    ]
    assert synced[1]["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
            "execution:${Child.Name}:*"
        }
    ]
    assert ECS_TASK_DEFINITION.statements is not None
    assert ECS_TASK_DEFINITION.statements("TD", {"Family": "web"}, ".sync")[0]["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:"
            "task-definition/web:*"
        }
    ]
    derived = ECS_TASK_DEFINITION.statements("TD", {}, "")[0]["Resource"][0]
    assert derived["Fn::Sub"][1]["Name"] == {
        "Fn::Select": [
            0,
            {"Fn::Split": [":", {"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "TD"}]}]}]},
        ]
    }
    assert BATCH_JOB_DEFINITION.statements is not None
    batch = BATCH_JOB_DEFINITION.statements("JD", {"JobDefinitionName": "nightly"}, ".sync")
    assert batch == [
        {
            "Effect": "Allow",
            "Action": "batch:SubmitJob",
            "Resource": [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:"
                    "job-definition/nightly:*"
                }
            ],
        }
    ]


def test_machine_version_ids_and_resource() -> None:
    machine = {"Type": "AWS::StepFunctions::StateMachine"}
    assert machine_version_id({"Child": machine}, "Child") == ("ChildVersion", True)
    taken = {"Child": machine, "ChildVersion": {"Type": "AWS::SNS::Topic"}}
    assert machine_version_id(taken, "Child") == ("ChildPinVersionsVersion", True)
    sams = {
        "Child": machine,
        "ChildVersion": {
            "Type": "AWS::StepFunctions::StateMachineVersion",
            "Properties": {"StateMachineArn": {"Ref": "Child"}},
        },
    }
    assert machine_version_id(sams, "Child") == ("ChildVersion", False)
    assert machine_version_resource("Child", "IsProd") == {
        "Type": "AWS::StepFunctions::StateMachineVersion",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Condition": "IsProd",
        "Properties": {
            "StateMachineArn": {"Ref": "Child"},
            "StateMachineRevisionId": {"Fn::GetAtt": ["Child", "StateMachineRevisionId"]},
        },
    }


def test_kinds_option() -> None:
    options = read_options({"Metadata": {"PinVersions": {"Kinds": {"StateMachine": False}}}})
    assert options.disabled_kinds == {"state-machine"}
    assert not options.kind_enabled("state-machine") and options.kind_enabled("lambda")
    assert read_options({}).disabled_kinds == frozenset()
    with pytest.raises(TransformError) as error:
        read_options(
            {"Metadata": {"PinVersions": {"Kinds": {"Ecs": False, "BatchJobDefinition": 2}}}}
        )
    assert [(d.code, d.path) for d in error.value.diagnostics] == [
        ("PV903", "Metadata.PinVersions.Kinds.Ecs"),
        ("PV903", "Metadata.PinVersions.Kinds.BatchJobDefinition"),
    ]
    with pytest.raises(TransformError) as error:
        read_options({"Metadata": {"PinVersions": {"Kinds": ["StateMachine"]}}})
    assert error.value.diagnostics[0].path == "Metadata.PinVersions.Kinds"


@pytest.mark.parametrize(
    ("resource", "integration"),
    [
        ("arn:aws:states:::lambda:invoke", True),
        ("arn:aws:states:::lambda:invoke.waitForTaskToken", True),
        ("arn:aws-cn:states:::aws-sdk:lambda:invoke", True),
        ("arn:aws:states:::lambda:invoke.sync", False),
        ("arn:aws:states:::aws-sdk:lambda:getFunction", False),
        ("arn:aws:states:::states:startExecution", False),
    ],
)
def test_the_integrations_that_name_a_function(resource: str, integration: bool) -> None:
    assert bool(LAMBDA.integrations.fullmatch(resource)) is integration


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:function:f", ("aws", "us-east-1", "f", None)),
        ("arn:aws:lambda:eu-west-1:123456789012:function:f:7", ("aws", "eu-west-1", "f", "7")),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST",
            ("aws", "us-east-1", "f", "$LATEST"),
        ),
    ],
)
def test_arn_grammar(text: str, groups: tuple[str, str, str, str | None]) -> None:
    match = LAMBDA.arn.fullmatch(text)
    assert match is not None
    assert (match["p"], match["r"], match["n"], match["q"]) == groups


def test_partial_arn_and_plain_name() -> None:
    assert LAMBDA.partial_arn is not None and LAMBDA.plain_name is not None
    partial = LAMBDA.partial_arn.fullmatch("123456789012:function:f:prod")
    assert partial is not None and (partial["a"], partial["n"], partial["q"]) == (
        "123456789012",
        "f",
        "prod",
    )
    assert LAMBDA.arn.fullmatch("arn:aws:states:us-east-1:123456789012:stateMachine:m") is None
    plain = LAMBDA.plain_name.fullmatch("f:3")
    assert plain is not None and (plain["n"], plain["q"]) == ("f", "3")


def test_pin_resource_and_grant() -> None:
    assert LAMBDA.pin_resource("Fn", None) == {
        "Type": "AWS::Lambda::Version",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {"FunctionName": {"Ref": "Fn"}},
    }
    assert LAMBDA.pin_resource("Fn", "IsProd")["Condition"] == "IsProd"
    assert LAMBDA.grant("Fn") == {"Fn::Sub": "${Fn.Arn}:*"}


def test_the_pipeline_reads_the_record() -> None:
    assert FUNCTION_TYPES is LAMBDA.resource_types
    assert iam.INVOKE_ACTION == LAMBDA.grant_action == "lambda:InvokeFunction"
    assert hashing.HASHED_PROPERTIES is LAMBDA.hashed_properties
    assert hashing.EXCLUDED_PROPERTIES is LAMBDA.excluded_properties
    assert hashing.SAM_EXCLUDED_PROPERTIES is LAMBDA.sam_excluded_properties
    version = VersionPlan("Fn", "FnVersion0123456789", "0123456789", True, "C", False)
    assert rewrite.version_resource(version) == LAMBDA.pin_resource("Fn", "C")


def test_every_kind_is_complete() -> None:
    for kind in KINDS:
        assert kind.resource_types and kind.name_field and kind.grant_action
        assert kind.option_key and kind.name_properties and kind.arn_attributes
        # A kind either publishes a separate pin resource or keeps its own revisions alive.
        assert (kind.pin.type in kind.resource_types) is (kind.strategy == RETAIN)
        assert not kind.hashed_properties & kind.excluded_properties
        assert "{}" in kind.grant_resource.replace("{{", "").replace("}}", "")
        assert all(code.startswith("PV1") for code in kind.warning_codes)

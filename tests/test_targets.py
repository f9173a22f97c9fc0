"""The target-kind registry (pin_versions.targets): the Lambda record, and that the pipeline
reads what is generic about a target from it."""

from __future__ import annotations

import pytest

from pin_versions import hashing, iam, rewrite
from pin_versions.inventory import FUNCTION_TYPES
from pin_versions.plan import VersionPlan
from pin_versions.targets import KINDS, LAMBDA, kind_named, kind_of_type


def test_lambda_is_the_one_kind_and_is_found_by_type_and_name() -> None:
    assert KINDS == (LAMBDA,)
    assert kind_of_type("AWS::Lambda::Function") is LAMBDA
    assert kind_of_type("AWS::Serverless::Function") is LAMBDA
    assert kind_of_type("AWS::Lambda::Version") is None
    assert kind_named("lambda") is LAMBDA
    with pytest.raises(KeyError):
        kind_named("ecs")


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
    assert iam.version_resource("Fn") == LAMBDA.grant("Fn")
    assert hashing.HASHED_PROPERTIES is LAMBDA.hashed_properties
    assert hashing.EXCLUDED_PROPERTIES is LAMBDA.excluded_properties
    assert hashing.SAM_EXCLUDED_PROPERTIES is LAMBDA.sam_excluded_properties
    version = VersionPlan("Fn", "FnVersion0123456789", "0123456789", True, "C", False)
    assert rewrite.version_resource(version) == LAMBDA.pin_resource("Fn", "C")


def test_every_kind_is_complete() -> None:
    for kind in KINDS:
        assert kind.resource_types and kind.name_field and kind.grant_action
        assert kind.pin.type not in kind.resource_types
        assert not kind.hashed_properties & kind.excluded_properties
        assert "{}" in kind.grant_resource.replace("{{", "").replace("}}", "")
        assert all(code.startswith("PV1") for code in kind.warning_codes)

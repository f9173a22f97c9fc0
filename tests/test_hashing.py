"""The hash contract: what a version locks, and the literal logical IDs it gives."""

from __future__ import annotations

from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from pin_versions import Context
from pin_versions.hashing import (
    EXCLUDED_PROPERTIES,
    HASHED_PROPERTIES,
    locked_configuration,
    strip_stamp,
    version_hash,
)
from support import ACCOUNT, REGION, SAMPLES, load_path

CONTEXT = Context(REGION, ACCOUNT, {"FunctionRole": "arn:aws:iam::123456789012:role/lambda"})

HELLO: dict[str, Any] = {
    "Runtime": "python3.13",
    "Handler": "index.handler",
    "Role": {"Ref": "FunctionRole"},
    "Code": {"ZipFile": 'def handler(event, context): return {"verdict": "Approved"}'},
}


def test_every_schema_property_is_classified() -> None:
    """A property AWS adds to AWS::Lambda::Function must get a conscious decision."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, "AWS::Lambda::Function").schema
    read_only = {p.rsplit("/", 1)[-1] for p in schema.get("readOnlyProperties", [])}
    writable = set(schema["properties"]) - read_only
    assert not HASHED_PROPERTIES & EXCLUDED_PROPERTIES
    assert writable == HASHED_PROPERTIES | EXCLUDED_PROPERTIES, (
        f"unclassified: {sorted(writable - HASHED_PROPERTIES - EXCLUDED_PROPERTIES)}, "
        f"no longer in the schema: {sorted((HASHED_PROPERTIES | EXCLUDED_PROPERTIES) - writable)}"
    )


@pytest.mark.parametrize(
    ("template", "function", "parameters", "logical_id"),
    [
        pytest.param("blue-green/day1.yaml", "Hello", {}, "HelloVersionca4e740840", id="day1"),
        pytest.param("blue-green/day2.yaml", "Hello", {}, "HelloVersiondd12ac0061", id="day2"),
        pytest.param(
            "cdk-join/template.json",
            "SubmitOrder",
            {},
            "SubmitOrderVersion9937896993",
            id="cdk-join",
        ),
    ],
)
def test_known_functions_keep_their_logical_ids(
    template: str, function: str, parameters: dict[str, str], logical_id: str
) -> None:
    """These values are a compatibility contract: a change here re-publishes every function
    of every stack on its next deploy. Never update them to make a test pass."""
    properties = load_path(SAMPLES / template)["Resources"][function]["Properties"]
    digest = version_hash(properties, Context(REGION, ACCOUNT, parameters))
    assert f"{function}Version{digest}" == logical_id


def test_golden_hello_hash() -> None:
    assert version_hash(HELLO, CONTEXT) == "20c65ce24e"


def test_key_order_does_not_matter() -> None:
    reordered = dict(reversed(list(HELLO.items())))
    reordered["Code"] = dict(reversed(list(HELLO["Code"].items())))
    assert version_hash(reordered, CONTEXT) == version_hash(HELLO, CONTEXT)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"Tags": [{"Key": "team", "Value": "a"}]}, id="Tags"),
        pytest.param({"ReservedConcurrentExecutions": 5}, id="ReservedConcurrentExecutions"),
        pytest.param({"CodeSigningConfigArn": "arn:aws:lambda:x"}, id="CodeSigningConfigArn"),
        pytest.param({"TenancyConfig": {"TenantIsolationMode": "PER_TENANT"}}, id="Tenancy"),
    ],
)
def test_what_a_version_does_not_snapshot_is_not_hashed(extra: dict[str, Any]) -> None:
    assert version_hash({**HELLO, **extra}, CONTEXT) == version_hash(HELLO, CONTEXT)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"MemorySize": 256}, id="MemorySize"),
        pytest.param({"Environment": {"Variables": {"A": "1"}}}, id="Environment"),
        pytest.param({"Code": {"ZipFile": "def handler(e, c): return 2"}}, id="Code"),
        pytest.param({"Description": "new words"}, id="Description"),
        pytest.param({"Layers": ["arn:aws:lambda:us-east-1:1:layer:x:1"]}, id="Layers"),
        pytest.param({"Architectures": ["arm64"]}, id="Architectures"),
    ],
)
def test_what_a_version_snapshots_changes_the_hash(change: dict[str, Any]) -> None:
    assert version_hash({**HELLO, **change}, CONTEXT) != version_hash(HELLO, CONTEXT)


def test_parameter_values_from_the_request_are_hashed() -> None:
    other = Context(REGION, ACCOUNT, {"FunctionRole": "arn:aws:iam::123456789012:role/other"})
    assert version_hash(HELLO, other) != version_hash(HELLO, CONTEXT)
    # Pseudo parameters inside Fn::Sub resolve from the request too.
    env = {**HELLO, "Environment": {"Variables": {"R": {"Fn::Sub": "${AWS::Region}-x"}}}}
    assert version_hash(env, Context("eu-west-1", ACCOUNT, CONTEXT.parameters)) != version_hash(
        env, CONTEXT
    )


def test_the_stamp_is_not_part_of_the_hash() -> None:
    digest = version_hash({**HELLO, "Description": "Says hello"}, CONTEXT)
    stamped = {**HELLO, "Description": f"Says hello [pin {digest}]"}
    assert version_hash(stamped, CONTEXT) == digest
    assert version_hash({**HELLO, "Description": f"[pin {digest}]"}, CONTEXT) == version_hash(
        HELLO, CONTEXT
    )
    assert strip_stamp("Says hello [pin 0123456789]") == "Says hello"
    assert strip_stamp("[pin not-a-hash]") == "[pin not-a-hash]"
    assert "Description" not in locked_configuration({**HELLO, "Description": "[pin 0123abcdef]"})


def test_a_condition_the_parameters_decide_is_part_of_the_hash() -> None:
    """MemorySize: !If [IsProd, 1024, 128]: flipping Env must publish a new version."""
    conditions = {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsBig": {"Fn::Or": [{"Condition": "IsProd"}, {"Fn::Equals": [{"Ref": "Size"}, "big"]}]},
    }
    function = {**HELLO, "MemorySize": {"Fn::If": ["IsBig", 1024, 128]}}

    def digest(env: str, size: str = "small") -> str:
        context = Context(REGION, ACCOUNT, {**CONTEXT.parameters, "Env": env, "Size": size})
        return version_hash(function, context, conditions=conditions)

    assert digest("prod") != digest("dev")
    assert digest("dev", "big") == digest("prod")  # both pick 1024
    assert digest("dev") == version_hash({**HELLO, "MemorySize": 128}, CONTEXT)
    # A condition the request cannot decide stays as written.
    undecided = Context(REGION, ACCOUNT, dict(CONTEXT.parameters))
    assert version_hash(function, undecided, conditions=conditions) != digest("dev")

"""CloudFormation's and Lambda's limits, and malformed requests: each fails with an exact,
actionable message, and never with a half-changed template."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pin_versions.handler import lambda_handler
from support import macro_event, run_macro

ROLE = "arn:aws:iam::123456789012:role/states"


def _function(code: str = "def handler(event, context): return event") -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Role": "arn:aws:iam::123456789012:role/lambda",
            "Code": {"ZipFile": code},
        },
    }


def _machine(*functions: str, extra_states: dict[str, Any] | None = None) -> dict[str, Any]:
    states: dict[str, Any] = dict(extra_states or {})
    names = list(functions)
    for index, name in enumerate(names):
        state: dict[str, Any] = {"Type": "Task", "Resource": {"Fn::GetAtt": [name, "Arn"]}}
        if index + 1 < len(names):
            state["Next"] = f"Call{names[index + 1]}"
        else:
            state["End"] = True
        states[f"Call{name}"] = state
    start = next(iter(states))
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"RoleArn": ROLE, "Definition": {"StartAt": start, "States": states}},
    }


def _failure(template: dict[str, Any]) -> str:
    response = run_macro(template)
    assert response["status"] == "failure"
    assert "fragment" not in response
    return str(response["errorMessage"])


def test_resource_limit() -> None:
    resources: dict[str, Any] = {f"Topic{i}": {"Type": "AWS::SNS::Topic"} for i in range(496)}
    resources |= {"Hello": _function(), "World": _function("def handler(e, c): return 2")}
    resources["Machine"] = _machine("Hello", "World")
    assert len(resources) == 499
    assert _failure({"Resources": resources}) == (
        "Resources: the template has 499 resources and pinning adds 2: 501, over "
        "CloudFormation's 500; split the stack or exclude functions with "
        "Metadata.PinVersions.Exclude [PV906]"
    )
    # One function fewer fits exactly.
    del resources["Topic0"], resources["Topic1"]
    resources["Machine"] = _machine("Hello")
    del resources["World"]
    assert run_macro({"Resources": resources})["status"] == "success"


def test_logical_id_limit() -> None:
    name = "F" * 240
    template = {"Resources": {name: _function(), "Machine": _machine(name)}}
    assert _failure(template) == (
        f"Resources.{name}: its version's logical ID would be 257 characters, over "
        "CloudFormation's 255; shorten the function's logical ID to at most 238 characters "
        "[PV907]"
    )
    ok = "F" * 238
    assert run_macro({"Resources": {ok: _function(), "Machine": _machine(ok)}})["status"] == (
        "success"
    )


def test_description_that_cannot_take_the_stamp() -> None:
    function = _function()
    function["Properties"]["Description"] = "d" * 240
    template = {"Resources": {"Hello": function, "Machine": _machine("Hello")}}
    assert _failure(template) == (
        "Resources.Hello.Properties.Description: is 240 characters and the version stamp "
        "needs 17 more, over Lambda's 256; shorten it to at most 239 characters or set "
        "Metadata.PinVersions.DescriptionStamp to false [PV908]"
    )
    function["Properties"]["Description"] = "d" * 239
    assert run_macro(template)["status"] == "success"


def _padded(size: int) -> dict[str, Any]:
    """A template whose processed form is ``size`` bytes plus what the macro adds."""
    pad = {"Pad": {"Type": "Pass", "Result": {"text": ""}, "Next": "CallHello"}}
    template = {"Resources": {"Hello": _function(), "Machine": _machine("Hello", extra_states=pad)}}
    from pin_versions.transform import _size

    states = template["Resources"]["Machine"]["Properties"]["Definition"]["States"]
    states["Pad"]["Result"]["text"] = "x" * (size - _size(template))
    assert _size(template) == size
    return template


def test_processed_template_size_limit() -> None:
    # The macro adds 252 bytes here: the version resource, the stamp, the rewritten Task and
    # the function's UpdateReplacePolicy and DeletionPolicy.
    template = _padded(1_048_500)
    assert _failure(template) == (
        "the processed template would be 1,048,752 bytes (the macro adds 252), over "
        "CloudFormation's 1,048,576-byte limit for processed templates; split the stack or "
        "exclude functions with Metadata.PinVersions.Exclude [PV909]"
    )
    assert run_macro(_padded(1_048_576 - 252))["status"] == "success"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            lambda e: e.pop("fragment"),
            "fragment: the macro request has no fragment [PV901]",
            id="no-fragment",
        ),
        pytest.param(
            lambda e: e.pop("requestId"),
            "requestId: the macro request has no requestId [PV901]",
            id="no-request-id",
        ),
        pytest.param(
            lambda e: e.update(fragment="Resources: {}"),
            "fragment: the fragment must be a JSON object (a template) [PV901]",
            id="fragment-not-an-object",
        ),
        pytest.param(
            lambda e: e.update(fragment={"Type": "AWS::StepFunctions::StateMachine"}),
            "PinVersions is a template-level macro: list it under Transform at the top of the "
            "template (Transform: PinVersions), not in Fn::Transform [PV902]",
            id="fn-transform",
        ),
    ],
)
def test_malformed_requests(change: Any, message: str) -> None:
    event = macro_event({"Resources": {"Hello": _function(), "Machine": _machine("Hello")}})
    change(event)
    before = copy.deepcopy(event)
    response = lambda_handler(event, None)
    assert event == before
    assert response["status"] == "failure"
    assert response["errorMessage"] == message

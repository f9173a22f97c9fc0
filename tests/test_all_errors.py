"""All errors at once (issue 13): one failure lists every problem found across options,
resources and state machines, not only the first stage's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pin_versions import Context, TransformError, transform
from pin_versions.handler import lambda_handler

FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Properties": {"Runtime": "python3.13", "Handler": "i.h", "Code": {"ZipFile": "x"}},
}
ROLE = "arn:aws:iam::123456789012:role/states"


def _broken_template() -> dict[str, Any]:
    return {
        "Metadata": {"PinVersions": {"Strict": "sometimes"}},
        "Resources": {
            "Fn": FUNCTION,
            "NotJson": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"RoleArn": ROLE, "DefinitionString": '{"StartAt": "A", "States": {'},
            },
            "Good": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": ROLE,
                    "Definition": {
                        "StartAt": "A",
                        "States": {
                            "A": {
                                "Type": "Task",
                                "Resource": {"Fn::GetAtt": ["Fn", "Arn"]},
                                "End": True,
                            }
                        },
                    },
                },
            },
            "TwoDefinitions": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": ROLE,
                    "Definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    "DefinitionString": "{}",
                },
            },
        },
    }


def test_two_broken_state_machines_and_a_bad_option_fail_once_with_all_three() -> None:
    with pytest.raises(TransformError) as caught:
        transform(_broken_template(), Context("us-east-1", "123456789012"))
    found = [(d.code, d.path) for d in caught.value.diagnostics]
    assert found == [
        ("PV903", "Metadata.PinVersions.Strict"),
        ("PV904", "Resources.NotJson.Properties.DefinitionString"),
        ("PV920", "Resources.TwoDefinitions.Properties"),
    ]


def test_the_macro_response_names_all_three() -> None:
    event = {
        "requestId": "r",
        "region": "us-east-1",
        "accountId": "123456789012",
        "fragment": _broken_template(),
        "templateParameterValues": {},
        "params": {},
        "transformId": "123456789012::PinVersions",
    }
    response = lambda_handler(json.loads(json.dumps(event)), None)
    assert response["status"] == "failure"
    message = response["errorMessage"]
    for code, where in (
        ("PV903", "Metadata.PinVersions.Strict"),
        ("PV904", "Resources.NotJson"),
        ("PV920", "Resources.TwoDefinitions"),
    ):
        assert code in message and where in message


def test_resource_errors_come_with_option_errors() -> None:
    template = {
        "Metadata": {"PinVersions": {"Exclude": "Fn"}},
        "Resources": {"Fn": FUNCTION, "Bad": {"Type": 3}},
    }
    with pytest.raises(TransformError) as caught:
        transform(template)
    assert [(d.code, d.path) for d in caught.value.diagnostics] == [
        ("PV903", "Metadata.PinVersions.Exclude"),
        ("PV910", "Resources.Bad.Type"),
    ]


def test_one_invalid_option_still_fails_alone() -> None:
    template = _broken_template()
    del template["Resources"]["NotJson"], template["Resources"]["TwoDefinitions"]
    with pytest.raises(TransformError) as caught:
        transform(template)
    assert [d.code for d in caught.value.diagnostics] == ["PV903"]

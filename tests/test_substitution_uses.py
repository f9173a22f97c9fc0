"""DefinitionSubstitutions keys of a Definition object that the rewrite leaves without a use
are dropped, and only those (fuzz explore run, wrong_type): each use is counted once, inside
an Fn::Join part or an Fn::Sub variable as much as in a plain string."""

from __future__ import annotations

import copy
from typing import Any

from pin_versions import Context, transform

ROLE = "arn:aws:iam::123456789012:role/states"


def _template(resource: Any, extra_state: dict[str, Any] | None = None) -> dict[str, Any]:
    states: dict[str, Any] = {"Hello": {"Type": "Task", "Resource": resource, "End": True}}
    if extra_state is not None:
        states["Hello"] = {"Type": "Task", "Resource": resource, "Next": "Say"}
        states["Say"] = extra_state
    return {
        "Resources": {
            "Hello": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Runtime": "python3.13", "Handler": "i.h", "Code": {"ZipFile": "x"}},
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": ROLE,
                    "DefinitionSubstitutions": {"HelloArn": {"Fn::GetAtt": ["Hello", "Arn"]}},
                    "Definition": {"StartAt": "Hello", "States": states},
                },
            },
        }
    }


def _machine(template: dict[str, Any]) -> dict[str, Any]:
    result = transform(copy.deepcopy(template), Context("us-east-1", "123456789012"))
    version = result.report.versions[0].version
    properties = result.template["Resources"]["Machine"]["Properties"]
    properties["version"] = version
    return properties  # type: ignore[no-any-return]


def test_a_key_used_only_by_a_task_in_a_join_part_is_itself_pinned() -> None:
    """Its one use is the Task's: the key's value is rewritten (as for a plain
    ``"${HelloArn}"``), and the Join stays as written; no key is left unused."""
    properties = _machine(_template({"Fn::Join": ["", ["${HelloArn}"]]}))
    task = properties["Definition"]["States"]["Hello"]
    assert task["Resource"] == {"Fn::Join": ["", ["${HelloArn}"]]}
    assert properties["DefinitionSubstitutions"] == {"HelloArn": {"Ref": properties["version"]}}


def test_a_key_also_used_in_a_sub_variable_is_kept() -> None:
    say = {
        "Type": "Pass",
        "Result": {"Fn::Sub": ["calls ${F}", {"F": "${HelloArn}"}]},
        "End": True,
    }
    properties = _machine(_template({"Fn::Join": ["", ["${HelloArn}"]]}, say))
    assert properties["Definition"]["States"]["Hello"]["Resource"] == {
        "Fn::Join": ["", [{"Ref": properties["version"]}]]
    }
    assert properties["DefinitionSubstitutions"] == {"HelloArn": {"Fn::GetAtt": ["Hello", "Arn"]}}
    assert properties["Definition"]["States"]["Say"] == say

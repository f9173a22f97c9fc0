"""Day 2 shapes the emulator tests and prune rely on (docs/design.md, "Day 2"): retained
grants whose identity follows the function's physical name, functions that outlive a
replacement, versions that follow their function, and what SAM will produce."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from typing import Any

import pytest

from pin_versions import Context, TransformError, transform
from support import ACCOUNT, REGION, ROOT

ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "states.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    },
}


def _function(code: str = "return 1", **extra: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Role": "arn:aws:iam::123456789012:role/lambda",
            "Code": {"ZipFile": f"def handler(event, context): {code}"},
            **extra,
        },
    }


def _template(target: str = "Hello", **functions: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = dict(functions) or {"Hello": _function()}
    resources["MachineRole"] = copy.deepcopy(ROLE)
    resources["Machine"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]},
            "Definition": {
                "StartAt": "A",
                "States": {
                    "A": {"Type": "Task", "Resource": {"Fn::GetAtt": [target, "Arn"]}, "End": True}
                },
            },
        },
    }
    return {"Resources": resources}


def _transform(template: dict[str, Any], **parameters: str) -> tuple[dict[str, Any], Any]:
    result = transform(template, Context(REGION, ACCOUNT, parameters))
    return result.template, result.report


def _grants(output: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        k: v
        for k, v in output["Resources"].items()
        if v["Type"] == "AWS::IAM::Policy"
        and str(v["Properties"]["PolicyName"]).startswith("PinVersionsInvoke")
    }


def test_grant_shape() -> None:
    output, report = _transform(_template())
    ((logical_id, grant),) = _grants(output).items()
    assert re.fullmatch(r"MachineRolePinVersionsInvokeHello[0-9a-f]{10}", logical_id)
    digest = logical_id[-10:]
    assert grant == {
        "Type": "AWS::IAM::Policy",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "PolicyName": f"PinVersionsInvoke-Hello-{digest}",
            "Roles": [{"Ref": "MachineRole"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "lambda:InvokeFunction",
                        "Resource": [{"Fn::Sub": "${Hello.Arn}:*"}],
                    }
                ],
            },
        },
    }
    assert output["Resources"]["Machine"]["DependsOn"] == [logical_id]
    assert "Policies" not in output["Resources"]["MachineRole"]["Properties"]
    assert [g.to_json() for g in report.grants] == [
        {
            "logicalId": logical_id,
            "role": "MachineRole",
            "function": "Hello",
            "policyName": f"PinVersionsInvoke-Hello-{digest}",
            "condition": None,
        }
    ]


def test_a_rename_gives_a_new_grant_and_a_code_change_does_not() -> None:
    day1, _ = _transform(_template(Hello=_function(FunctionName="hello")))
    renamed, _ = _transform(_template(Hello=_function(FunctionName="hello-renamed")))
    new_code, _ = _transform(_template(Hello=_function("return 2", FunctionName="hello")))
    (old,) = _grants(day1)
    (new,) = _grants(renamed)
    assert old != new  # the old grant leaves the template and is retained
    assert (
        _grants(day1)[old]["Properties"]["PolicyName"]
        != (_grants(renamed)[new]["Properties"]["PolicyName"])
    )  # one role holds both inline policies
    assert list(_grants(new_code)) == [old]


def test_a_name_from_a_parameter_is_resolved() -> None:
    template = _template(Hello=_function(FunctionName={"Ref": "Name"}))
    template["Parameters"] = {"Name": {"Type": "String"}}
    first, _ = _transform(template, Name="hello")
    second, _ = _transform(template, Name="hello-renamed")
    literal, _ = _transform(_template(Hello=_function(FunctionName="hello")))
    assert list(_grants(first)) == list(_grants(literal)) != list(_grants(second))


def test_a_generated_name_keeps_its_grant() -> None:
    day1, _ = _transform(_template())
    day2, _ = _transform(_template(Hello=_function("return 2")))
    assert list(_grants(day1)) == list(_grants(day2))


def test_a_task_moved_to_another_function_leaves_the_old_grant_retained() -> None:
    functions = {"Hello": _function(), "Goodbye": _function("return 2")}
    day1, _ = _transform(_template("Hello", **copy.deepcopy(functions)))
    day2, _ = _transform(_template("Goodbye", **copy.deepcopy(functions)))
    (hello,) = _grants(day1)
    assert hello not in _grants(day2)
    assert _grants(day1)[hello]["DeletionPolicy"] == "Retain"
    (goodbye,) = _grants(day2)
    assert "Goodbye" in goodbye


def test_long_names_give_a_valid_logical_id_and_policy_name() -> None:
    role, function = "R" * 200, "F" * 200
    template = _template(function, **{function: _function()})
    template["Resources"][role] = template["Resources"].pop("MachineRole")
    template["Resources"]["Machine"]["Properties"]["RoleArn"] = {"Fn::GetAtt": [role, "Arn"]}
    output, _ = _transform(template)
    ((logical_id, grant),) = _grants(output).items()
    assert len(logical_id) <= 255 and logical_id.isalnum()
    name = grant["Properties"]["PolicyName"]
    assert len(name) <= 128 and re.fullmatch(r"[\w+=,.@-]+", name)


def _own_policy(resource: object) -> list[dict[str, object]]:
    statement = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": resource}
    return [{"PolicyName": "Mine", "PolicyDocument": {"Statement": [statement]}}]


def test_a_policy_that_covers_every_version_for_good_gets_no_grant() -> None:
    """A wildcard or a literal ARN stays where it is through a rename of the function."""
    for resource in ("*", "arn:aws:lambda:us-east-1:123456789012:function:*"):
        template = _template()
        template["Resources"]["MachineRole"]["Properties"]["Policies"] = _own_policy(resource)
        output, report = _transform(template)
        assert _grants(output) == {}, resource
        assert report.roles[0].added == ()


def test_a_policy_that_follows_the_function_still_gets_a_retained_grant() -> None:
    """``${Hello.Arn}:*`` covers every version today, but it follows Hello through a
    rename: the day-1 function's versions would lose it under running executions. The
    retained grant stays behind (docs/design.md, "After the issue 14/15 merges")."""
    template = _template()
    template["Resources"]["MachineRole"]["Properties"]["Policies"] = _own_policy(
        {"Fn::Sub": "${Hello.Arn}:*"}
    )
    output, report = _transform(template)
    assert len(_grants(output)) == 1
    assert report.roles[0].added == ("Hello",)
    again, _ = _transform(output)  # the grant itself counts on a second pass
    assert again == output


def test_conditional_role_and_function_combine_their_conditions() -> None:
    template = _template()
    template["Conditions"] = {
        "A": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
        "B": {"Fn::Equals": [{"Ref": "AWS::AccountId"}, "123456789012"]},
    }
    template["Resources"]["Hello"]["Condition"] = "A"
    template["Resources"]["MachineRole"]["Condition"] = "B"
    template["Resources"]["Machine"]["Condition"] = "B"
    output, _ = _transform(template)
    ((logical_id, grant),) = _grants(output).items()
    assert grant["Condition"] == logical_id
    assert output["Conditions"][logical_id] == {"Fn::And": [{"Condition": "B"}, {"Condition": "A"}]}
    # The state machine's condition is not the grant's: no DependsOn that could dangle.
    assert "DependsOn" not in output["Resources"]["Machine"]


def test_pinned_functions_outlive_a_replacement_but_not_the_stack() -> None:
    output, _ = _transform(_template())
    hello = output["Resources"]["Hello"]
    assert (hello["UpdateReplacePolicy"], hello["DeletionPolicy"]) == ("Retain", "Delete")
    template = _template()
    template["Resources"]["Hello"]["DeletionPolicy"] = "Retain"
    output, _ = _transform(template)
    assert output["Resources"]["Hello"]["DeletionPolicy"] == "Retain"


def _sam(deletion_policy: str | None = None, strict: bool = False) -> dict[str, Any]:
    hello: dict[str, Any] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "InlineCode": "def handler(event, context): return event",
            "AutoPublishAlias": "live",
        },
    }
    if deletion_policy is not None:
        hello["DeletionPolicy"] = deletion_policy
    template: dict[str, Any] = {
        "Transform": ["PinVersions", "AWS::Serverless-2016-10-31"],
        "Resources": {
            "Hello": hello,
            "Machine": {
                "Type": "AWS::Serverless::StateMachine",
                "Properties": {
                    "Definition": {
                        "StartAt": "A",
                        "States": {
                            "A": {
                                "Type": "Task",
                                "Resource": {"Fn::GetAtt": ["Hello", "Arn"]},
                                "End": True,
                            }
                        },
                    }
                },
            },
        },
    }
    if strict:
        template["Metadata"] = {"PinVersions": {"Strict": True}}
    return template


def test_sam_auto_publish_alias_follows_and_is_retained() -> None:
    output, report = _transform(_sam())
    hello = output["Resources"]["Hello"]
    assert hello["UpdateReplacePolicy"] == "Retain"  # SAM passes it to the version
    assert "DeletionPolicy" not in hello  # SAM then retains the version by default
    assert hello["Properties"]["AutoPublishAliasAllProperties"] is True
    assert hello["Properties"]["Description"].startswith("[pin ")
    # SAM makes the role from Policies and names it <StateMachine>Role.
    (grant,) = _grants(output).values()
    assert grant["Properties"]["Roles"] == [{"Ref": "MachineRole"}]
    assert [w.code for w in report.warnings] == ["PV109"]


def test_sam_deletion_policy_delete_reaches_the_version() -> None:
    output, report = _transform(_sam("Delete"))
    assert output["Resources"]["Hello"]["DeletionPolicy"] == "Delete"  # the user's choice
    assert ("PV119", "Resources.Hello.DeletionPolicy") in [
        (w.code, w.path) for w in report.warnings
    ]
    with pytest.raises(TransformError) as failure:
        _transform(_sam("Delete", strict=True))
    assert any(d.code == "PV905" and "PV119" in d.message for d in failure.value.diagnostics)


def test_a_reused_version_description_too_long_for_the_stamp() -> None:
    template = _template()
    template["Resources"]["HelloFixed"] = {
        "Type": "AWS::Lambda::Version",
        "Properties": {"FunctionName": {"Ref": "Hello"}, "Description": "x" * 250},
    }
    with pytest.raises(TransformError) as failure:
        _transform(template)
    assert [(d.code, d.path) for d in failure.value.diagnostics] == [
        ("PV913", "Resources.HelloFixed.Properties.Description")
    ]


def test_explain_shows_the_policies_sam_will_give_its_version(tmp_path: Any) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_sam()), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pin_versions.cli", "explain", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if "published by SAM" in line]
    assert row.split()[-2:] == ["Retain", "Retain"], row


def test_checks_judge_the_role_a_task_invokes_with() -> None:
    """cfn-lint E9102 / checks.py: a Task with Credentials needs its own role's grant."""
    from pin_versions.local.checks import processed_problems

    golden = ROOT / "tests" / "golden" / "day2-credentials-role" / "expected.json"
    processed = json.loads(golden.read_text(encoding="utf-8"))
    assert processed_problems(processed) == []
    broken = copy.deepcopy(processed)
    (grant,) = [k for k in _grants(broken) if k.startswith("TaskRole")]
    del broken["Resources"][grant]
    for resource in broken["Resources"].values():
        if grant in resource.get("DependsOn", []):
            resource["DependsOn"].remove(grant)
    assert [f.path for f in processed_problems(broken)] == [
        ("Resources", "TaskRole"),
        ("Resources", "TaskRole"),
    ]


@pytest.mark.parametrize(
    ("depends_on", "expected"),
    [
        pytest.param("Other", ["Other", "GRANT"], id="string"),
        pytest.param(["Other"], ["Other", "GRANT"], id="list"),
    ],
)
def test_the_state_machine_waits_for_its_grant(depends_on: Any, expected: Any) -> None:
    template = _template()
    template["Resources"]["Machine"]["DependsOn"] = depends_on
    output, _ = _transform(template)
    (grant,) = _grants(output)
    expected = [grant if d == "GRANT" else d for d in expected]
    assert output["Resources"]["Machine"]["DependsOn"] == expected


@pytest.mark.parametrize(
    "depends_on",
    [
        pytest.param({"Ref": "Other"}, id="ref"),
        pytest.param(None, id="null"),
        pytest.param(3, id="number"),
    ],
)
def test_a_depends_on_cloudformation_rejects_fails_before_any_grant(depends_on: Any) -> None:
    """Not a DependsOn CloudFormation takes: never turned into a list, never extended; the
    transform fails naming the path (issue 12 item 6, PV922)."""
    template = _template()
    template["Resources"]["Machine"]["DependsOn"] = depends_on
    with pytest.raises(TransformError) as failure:
        _transform(template)
    assert [(d.code, d.path) for d in failure.value.diagnostics] == [
        ("PV922", "Resources.Machine.DependsOn")
    ]

"""The demo's emulator: one test per moto gap (real without the layer, closed with it),
then the layer's own guarantees and the CloudFormation-like deploy helper."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from demo import cfn_yaml
from demo.emulator import (
    GAP_KEYS,
    GAPS,
    SAM_TRANSFORM,
    DeployError,
    Emulator,
    EmulatorError,
    compat_layer,
    dependency_order,
    emulator,
    invoke_resource_arn,
    requires_replacement,
    run_transforms,
    template_parameter_values,
    without_transform,
)

ROLE: dict[str, Any] = {
    "Type": "AWS::IAM::Role",
    "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
}


def function(returns: Any, **properties: Any) -> dict[str, Any]:
    """An inline Python function that returns `returns`."""
    code = f"def handler(event, context):\n    return {returns!r}\n"
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": code},
            **properties,
        },
    }


def version(function_id: str = "F", **attributes: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Version",
        "Properties": {"FunctionName": {"Ref": function_id}},
        **attributes,
    }


def template(
    resources: dict[str, Any], outputs: dict[str, Any] | None = None, **sections: Any
) -> dict[str, Any]:
    result: dict[str, Any] = {"Resources": {"Role": ROLE, **resources}, **sections}
    if outputs:
        result["Outputs"] = {key: {"Value": value} for key, value in outputs.items()}
    return result


def outputs(emu: Emulator, stack: str = "s") -> dict[str, str]:
    found = emu.cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in found}


def invoke(emu: Emulator, name: str) -> tuple[str | None, Any]:
    response = emu.lambda_.invoke(FunctionName=name)
    return response.get("FunctionError"), json.loads(response["Payload"].read() or b"null")


@pytest.fixture(autouse=True)
def _no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the layer moto would run Lambda in docker; never reach a real daemon.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/pin-versions-demo.sock")


# --------------------------------------------------------------------------------------
# One test per gap
# --------------------------------------------------------------------------------------

PASS_MACHINE = {
    "Type": "AWS::StepFunctions::StateMachine",
    "Properties": {
        "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
        "DefinitionString": json.dumps(
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        ),
    },
}


def test_gap_sfn_backend() -> None:
    """moto files a stack's state machine where the executing API cannot see it."""
    with emulator(skip={"sfn-backend"}) as emu:
        emu.deploy("s", template({"M": PASS_MACHINE}))
        assert emu.stepfunctions.list_state_machines()["stateMachines"] == []
        with pytest.raises(emu.stepfunctions.exceptions.StateMachineDoesNotExist):
            emu.stepfunctions.start_execution(stateMachineArn=emu.physical_id("s", "M"), name="x")

    with emulator() as emu:
        emu.deploy("s", template({"M": PASS_MACHINE}))
        machine = emu.physical_id("s", "M")
        listed = emu.stepfunctions.list_state_machines()["stateMachines"]
        assert [m["stateMachineArn"] for m in listed] == [machine]
        started = emu.stepfunctions.start_execution(stateMachineArn=machine, name="x")
        assert started["executionArn"].endswith(":x")


def test_gap_sfn_definition() -> None:
    """moto reads DefinitionString only: Definition and DefinitionSubstitutions are lost."""
    machine = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "Definition": {
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "Result": "${Greeting}", "End": True}},
            },
            "DefinitionSubstitutions": {"Greeting": "hello"},
        },
    }
    with emulator(skip={"sfn-definition"}) as emu, pytest.raises(Exception, match="<EOF>"):
        # The interpreter's parser is handed an empty definition.
        emu.deploy("s", template({"M": machine}))

    with emulator() as emu:
        emu.deploy("s", template({"M": machine}))
        found = emu.stepfunctions.describe_state_machine(stateMachineArn=emu.physical_id("s", "M"))
        assert json.loads(found["definition"]) == {
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Result": "hello", "End": True}},
        }


def test_gap_lambda_in_process() -> None:
    """moto runs Lambda code in docker; the layer runs the version's own zip in-process."""
    with emulator(skip={"lambda-in-process"}) as emu:
        emu.deploy("s", template({"F": function({"n": 1})}))
        response = emu.lambda_.invoke(FunctionName=emu.physical_id("s", "F"))
        assert response["FunctionError"] == "Handled"
        assert b"error running docker" in response["Payload"].read()

    with emulator() as emu:
        emu.deploy("s", template({"F": function({"n": 1})}))
        assert invoke(emu, emu.physical_id("s", "F")) == (None, {"n": 1})
        emu.deploy("s", template({"F": function("unused", Runtime="nodejs22.x")}))
        error, payload = invoke(emu, emu.physical_id("s", "F"))
        assert error == "Handled"
        assert payload["errorMessage"] == "nodejs22.x: the in-process runner runs Python only"


def test_gap_zipfile_update() -> None:
    """moto treats an updated inline ZipFile as a base64 zip: the new code is garbage."""
    with emulator(skip={"zipfile-update"}) as emu:
        emu.deploy("s", template({"F": function({"day": 1})}))
        emu.deploy("s", template({"F": function({"day": 2})}))
        error, payload = invoke(emu, emu.physical_id("s", "F"))
        assert (error, payload["errorType"]) == ("Handled", "BadZipFile")

    with emulator() as emu:
        emu.deploy("s", template({"F": function({"day": 1})}))
        emu.deploy("s", template({"F": function({"day": 2})}))
        assert invoke(emu, emu.physical_id("s", "F")) == (None, {"day": 2})


def test_gap_version_ref() -> None:
    """moto's Ref of an AWS::Lambda::Version is its logical ID, not the version ARN."""
    refs = {"Ref": {"Ref": "V"}, "Sub": {"Fn::Sub": "${V}"}}
    with emulator(skip={"version-ref"}) as emu:
        emu.deploy("s", template({"F": function(1), "V": version()}, refs))
        assert outputs(emu) == {"Ref": "V", "Sub": "V"}

    attributes = {
        "Number": {"Fn::GetAtt": ["V", "Version"]},
        "Arn": {"Fn::GetAtt": ["V", "FunctionArn"]},
    }
    with emulator() as emu:
        emu.deploy("s", template({"F": function(1), "V": version()}, {**refs, **attributes}))
        arn = emu.lambda_.get_function(FunctionName=emu.physical_id("s", "F"))["Configuration"][
            "FunctionArn"
        ]
        assert outputs(emu) == {
            "Ref": f"{arn}:1",
            "Sub": f"{arn}:1",
            "Number": "1",
            "Arn": f"{arn}:1",
        }


def test_gap_version_publish() -> None:
    """moto silently reuses the last version where CloudFormation fails the deploy."""
    day1 = template(
        {"F": function(1), "V1": version(DeletionPolicy="Retain")}, {"V": {"Ref": "V1"}}
    )
    day2 = template({"F": function(1), "V2": version()}, {"V": {"Ref": "V2"}})
    with emulator(skip={"version-publish"}) as emu:
        emu.deploy("s", day1)
        emu.deploy("s", day2)
        assert outputs(emu)["V"].endswith(":1")

    with emulator() as emu:
        emu.deploy("s", day1)
        with pytest.raises(DeployError, match=r"A version for this Lambda function exists \( 1 \)"):
            emu.deploy("s", day2)


def test_gap_iam_role_policies() -> None:
    """moto stores a role's inline policies as Python objects and ignores them on update."""

    def role(policy_name: str) -> dict[str, Any]:
        statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
        document = {"Version": "2012-10-17", "Statement": [statement]}
        policies = [{"PolicyName": policy_name, "PolicyDocument": document}]
        return {
            "Resources": {"R": {**ROLE, "Properties": {**ROLE["Properties"], "Policies": policies}}}
        }

    with emulator(skip={"iam-role-policies"}) as emu:
        emu.deploy("s", role("One"))
        name = emu.physical_id("s", "R")
        document = emu.iam.get_role_policy(RoleName=name, PolicyName="One")["PolicyDocument"]
        assert isinstance(document, str) and document.startswith("{'Version'")  # a repr
        emu.deploy("s", role("Two"))
        assert emu.iam.list_role_policies(RoleName=name)["PolicyNames"] == ["One"]

    with emulator() as emu:
        emu.deploy("s", role("One"))
        name = emu.physical_id("s", "R")
        document = emu.iam.get_role_policy(RoleName=name, PolicyName="One")["PolicyDocument"]
        assert document["Statement"][0]["Action"] == "s3:GetObject"
        emu.deploy("s", role("Two"))
        assert emu.iam.list_role_policies(RoleName=name)["PolicyNames"] == ["Two"]


def test_gap_update_parameters() -> None:
    """moto keeps resolving parameters the updated template no longer declares."""
    day1 = template(
        {"F": function(1, Description={"Ref": "P"})}, Parameters={"P": {"Type": "String"}}
    )
    day2 = template({"F": function(2)})
    with emulator(skip={"update-parameters"}) as emu:
        emu.deploy("s", day1, {"P": "x"})
        with pytest.raises(KeyError, match="P"):
            emu.deploy("s", day2)

    with emulator() as emu:
        emu.deploy("s", day1, {"P": "x"})
        assert emu.deploy("s", day2).status == "UPDATE_COMPLETE"


def test_gap_update_semantics() -> None:
    """moto adds before it modifies (a new Version publishes the old code) and deletes
    removed resources first, Retain or not."""
    keep = {**ROLE, "DeletionPolicy": "Retain"}
    day1 = template(
        {"F": function({"day": 1}), "Keep": keep, "V1": version(DeletionPolicy="Retain")},
        {"V": {"Ref": "V1"}},
    )
    day2 = template({"F": function({"day": 2}), "V2": version()}, {"V": {"Ref": "V2"}})
    # version-publish stays open too, or it would turn the stale version into a failed deploy;
    # version-delete too, or moto's early removal of V1 would free its number for V2.
    with emulator(skip={"update-semantics", "version-publish", "version-delete"}) as emu:
        emu.deploy("s", day1)
        kept = emu.physical_id("s", "Keep")
        emu.deploy("s", day2)
        assert outputs(emu)["V"].endswith(":1")  # "version 2" is version 1 ...
        assert invoke(emu, outputs(emu)["V"]) == (None, {"day": 1})  # ... with day-1 code
        with pytest.raises(emu.iam.exceptions.NoSuchEntityException):
            emu.iam.get_role(RoleName=kept)

    with emulator() as emu:
        emu.deploy("s", day1)
        kept = emu.physical_id("s", "Keep")
        emu.deploy("s", day2)
        assert outputs(emu)["V"].endswith(":2")
        assert invoke(emu, outputs(emu)["V"]) == (None, {"day": 2})
        assert invoke(emu, outputs(emu)["V"][:-1] + "1") == (None, {"day": 1})
        assert emu.iam.get_role(RoleName=kept)["Role"]["RoleName"] == kept


def test_gap_update_replacement() -> None:
    """moto updates a renamed function in place; CloudFormation replaces it."""
    day1 = template(
        {"F": function({"day": 1}, FunctionName="one"), "V": version()},
        {"V": {"Ref": "V"}},
    )
    day2 = template(
        {"F": function({"day": 1}, FunctionName="two"), "V": version()},
        {"V": {"Ref": "V"}},
    )
    with emulator(skip={"update-replacement"}) as emu:
        emu.deploy("s", day1)
        emu.deploy("s", day2)
        assert emu.physical_id("s", "F") == "one"  # still the old function
        assert outputs(emu)["V"].endswith("function:one:1")

    with emulator() as emu:
        emu.deploy("s", day1)
        emu.deploy("s", day2)
        assert emu.physical_id("s", "F") == "two"
        # The version names the function, so it is replaced too: published on "two".
        assert outputs(emu)["V"].endswith("function:two:1")
        assert invoke(emu, outputs(emu)["V"]) == (None, {"day": 1})
        # Deleting the old function deleted every version of it.
        with pytest.raises(emu.lambda_.exceptions.ResourceNotFoundException):
            emu.lambda_.get_function(FunctionName="one")

    retained = template(
        {
            "F": {**function({"day": 1}, FunctionName="one"), "UpdateReplacePolicy": "Retain"},
            "V": version(DeletionPolicy="Retain", UpdateReplacePolicy="Retain"),
        },
    )
    with emulator() as emu:
        emu.deploy("s", retained)
        emu.deploy("s", day2)
        assert emu.physical_id("s", "F") == "two"
        assert invoke(emu, "one:1") == (None, {"day": 1})  # kept through the replacement


def test_requires_replacement_follows_the_template_reference() -> None:
    assert requires_replacement("AWS::Lambda::Function", {}, {"FunctionName": "x"})
    assert not requires_replacement("AWS::Lambda::Function", {"Code": 1}, {"Code": 2})
    assert requires_replacement("AWS::Lambda::Version", {"Description": "a"}, {})
    # createOnlyProperties in the resource provider schema: provisioned concurrency too.
    assert requires_replacement(
        "AWS::Lambda::Version",
        {"ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 1}},
        {"ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2}},
    )
    assert requires_replacement("AWS::IAM::Role", {"Path": "/a/"}, {"Path": "/b/"})
    assert not requires_replacement("AWS::IAM::Role", {"Policies": []}, {"Policies": [1]})
    assert not requires_replacement("Custom::Unknown", {"A": 1}, {"A": 2})
    assert not requires_replacement("AWS::IAM::Policy", {"PolicyName": "a"}, {"PolicyName": "b"})
    assert requires_replacement("AWS::StepFunctions::StateMachine", {}, {"StateMachineName": "m"})


def test_update_sees_a_change_made_only_through_a_parameter() -> None:
    day = {
        "F": function(
            "unused",
            Code={"ZipFile": {"Fn::Sub": "def handler(event, context):\n    return '${Say}'\n"}},
        )
    }
    parameters = {"Say": {"Type": "String"}}
    with emulator() as emu:
        emu.deploy("s", template(day, Parameters=parameters), {"Say": "one"})
        emu.deploy("s", template(day, Parameters=parameters), {"Say": "two"})
        assert invoke(emu, emu.physical_id("s", "F")) == (None, "two")


def test_gap_version_delete() -> None:
    """moto never deletes an AWS::Lambda::Version; CloudFormation does, unless Retain."""
    day1 = template({"F": function({"day": 1}), "V1": version()})
    day2 = template({"F": function({"day": 2}), "V2": version()}, {"V": {"Ref": "V2"}})
    with emulator(skip={"version-delete"}) as emu:
        emu.deploy("s", day1)
        emu.deploy("s", day2)
        assert invoke(emu, emu.physical_id("s", "F") + ":1") == (None, {"day": 1})

    with emulator() as emu:
        emu.deploy("s", day1)
        emu.deploy("s", day2)
        assert outputs(emu)["V"].endswith(":2")  # numbers are never reused
        with pytest.raises(emu.lambda_.exceptions.ResourceNotFoundException):
            emu.lambda_.invoke(FunctionName=emu.physical_id("s", "F") + ":1")
        assert invoke(emu, outputs(emu)["V"]) == (None, {"day": 2})

    kept = template({"F": function({"day": 1}), "V1": version(DeletionPolicy="Retain")})
    with emulator() as emu:
        emu.deploy("s", kept)
        emu.deploy("s", day2)
        assert invoke(emu, emu.physical_id("s", "F") + ":1") == (None, {"day": 1})


def policy_resource(logical_role: str, resource: Any, **attributes: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": resource}
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "Grant",
            "Roles": [{"Ref": logical_role}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        },
        **attributes,
    }


def test_iam_policy_resources_outlive_role_updates_and_retain_keeps_them() -> None:
    grant = policy_resource("Role", "*", DeletionPolicy="Retain")
    day1 = template({"Grant": grant})
    with_role_policy = {
        **ROLE,
        "Properties": {
            **ROLE["Properties"],
            "Policies": [
                {
                    "PolicyName": "Own",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": []},
                }
            ],
        },
    }
    with emulator() as emu:
        emu.deploy("s", day1)
        role = emu.physical_id("s", "Role")
        emu.deploy("s", {"Resources": {"Role": with_role_policy, "Grant": grant}})
        assert sorted(emu.iam.list_role_policies(RoleName=role)["PolicyNames"]) == [
            "Grant",
            "Own",
        ]
        emu.deploy("s", {"Resources": {"Role": ROLE}})  # Grant left the template: retained
        assert emu.iam.list_role_policies(RoleName=role)["PolicyNames"] == ["Grant"]

    with emulator() as emu:
        emu.deploy("s", template({"Grant": policy_resource("Role", "*")}))
        role = emu.physical_id("s", "Role")
        emu.deploy("s", template({}))
        assert emu.iam.list_role_policies(RoleName=role)["PolicyNames"] == []


def run_execution(emu: Emulator, machine_logical_id: str, timeout: float = 20) -> dict[str, Any]:
    """Start an execution, wait for it, return describe_execution plus its failure event."""
    import time

    machine = emu.physical_id("s", machine_logical_id)
    arn = emu.stepfunctions.start_execution(stateMachineArn=machine)["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        found = emu.stepfunctions.describe_execution(executionArn=arn)
        if found["status"] != "RUNNING":
            break
        assert time.monotonic() < deadline, f"{machine_logical_id} still running"
        time.sleep(0.02)
    events = emu.stepfunctions.get_execution_history(executionArn=arn)["events"]
    failures = [
        details
        for event in events
        for key, details in event.items()
        if key in ("lambdaFunctionFailedEventDetails", "taskFailedEventDetails")
    ]
    return {**found, "failures": failures, "types": [event["type"] for event in events]}


def task_machine(task: dict[str, Any], role: str = "Role") -> dict[str, Any]:
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", **task, "End": True}}}
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
            "Definition": definition,
        },
    }


def test_gap_sfn_task_iam() -> None:
    """moto's interpreter invokes Lambda whatever the role allows; Step Functions asks IAM."""
    resources = {
        "F": function({"ok": True}),
        "M": task_machine({"Resource": "${Fn}"}),
    }
    substituted = {
        name: resource
        if name != "M"
        else {
            **resource,
            "Properties": {
                **resource["Properties"],
                "DefinitionSubstitutions": {"Fn": {"Fn::GetAtt": ["F", "Arn"]}},
            },
        }
        for name, resource in resources.items()
    }
    with emulator(skip={"sfn-task-iam"}) as emu:
        emu.deploy("s", template(substituted))
        assert run_execution(emu, "M")["status"] == "SUCCEEDED"  # no grant at all

    with emulator() as emu:
        emu.deploy("s", template(substituted))
        ended = run_execution(emu, "M")
        arn = emu.lambda_.get_function(FunctionName=emu.physical_id("s", "F"))["Configuration"][
            "FunctionArn"
        ]
        assert (ended["status"], ended["error"]) == ("FAILED", "Lambda.AWSLambdaException")
        assert "LambdaFunctionFailed" in ended["types"]
        role = emu.physical_id("s", "Role")
        assert ended["cause"].startswith(f"User: arn:aws:sts::123456789012:assumed-role/{role}/")
        assert (
            f"is not authorized to perform: lambda:InvokeFunction on resource: {arn} "
            in ended["cause"]
        )
        assert "Error Code: AccessDeniedException" in ended["cause"]


def _machine(definition: dict[str, Any], role: str = "Role") -> dict[str, Any]:
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": {"Fn::GetAtt": [role, "Arn"]},
            "DefinitionString": {"Fn::Sub": json.dumps(definition)},
        },
    }


def _task(resource: str, **more: Any) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": resource, **more, "End": True}},
    }


def _role_with(*statements: dict[str, Any]) -> dict[str, Any]:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return {
        **ROLE,
        "Properties": {
            **ROLE["Properties"],
            "Policies": [{"PolicyName": "P", "PolicyDocument": document}],
        },
    }


FN_ROLE = {"Fn::GetAtt": ["FnRole", "Arn"]}  # the function's own role: no cycle with Role


def _allow(resource: Any, effect: str = "Allow") -> dict[str, Any]:
    return {"Effect": effect, "Action": "lambda:InvokeFunction", "Resource": resource}


@pytest.mark.parametrize(
    ("statements", "resource", "expected"),
    [
        pytest.param([_allow({"Fn::GetAtt": ["F", "Arn"]})], "${F.Arn}", None, id="exact"),
        pytest.param(
            [_allow({"Fn::GetAtt": ["F", "Arn"]})],
            "${V}",
            "Lambda.AWSLambdaException",
            id="unqualified-grant-version-invoke",
        ),
        pytest.param([_allow({"Fn::Sub": "${F.Arn}:*"})], "${V}", None, id="version-wildcard"),
        pytest.param(
            [_allow({"Fn::Sub": "${F.Arn}:*"})],
            "${F.Arn}",
            "Lambda.AWSLambdaException",
            id="wildcard-misses-unqualified",
        ),
        pytest.param(
            [_allow("*"), _allow({"Fn::Sub": "${F.Arn}:*"}, "Deny")],
            "${V}",
            "Lambda.AWSLambdaException",
            id="deny-wins",
        ),
        pytest.param(
            [_allow([{"Fn::GetAtt": ["F", "Arn"]}, {"Fn::Sub": "${F.Arn}:*"}])],
            "arn:aws:states:::lambda:invoke",
            None,
            id="optimised-integration",
        ),
        pytest.param(
            [_allow({"Fn::GetAtt": ["F", "Arn"]})],
            "arn:aws:states:::lambda:invoke",
            "Lambda.AWSLambdaException",
            id="optimised-integration-denied",
        ),
        pytest.param(
            [_allow({"Fn::GetAtt": ["F", "Arn"]})],
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Lambda.AWSLambdaException",
            id="callback-integration-denied",
        ),
    ],
)
def test_task_invokes_are_judged_by_the_role_policies(
    statements: list[dict[str, Any]], resource: str, expected: str | None
) -> None:
    more: dict[str, Any] = {}
    if resource.startswith("arn:aws:states"):
        more = {"Parameters": {"FunctionName": "${V}", "Payload": {}}}
    resources = {
        "Role": _role_with(*statements),
        "FnRole": ROLE,
        "F": function({"ok": True}, Role=FN_ROLE),
        "V": version(),
        "M": _machine(_task(resource, **more)),
    }
    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        ended = run_execution(emu, "M")
        assert (ended.get("error"), ended["status"]) == (
            expected,
            "FAILED" if expected else "SUCCEEDED",
        ), ended["failures"]


def test_task_credentials_role_makes_the_call() -> None:
    resources = {
        "Role": _role_with(),  # the state machine's role allows nothing
        "TaskRole": _role_with(_allow({"Fn::Sub": "${F.Arn}:*"})),
        "FnRole": ROLE,
        "F": function({"ok": True}, Role=FN_ROLE),
        "V": version(),
        "M": _machine(_task("${V}", Credentials={"RoleArn": "${TaskRole.Arn}"})),
        "Plain": _machine(_task("${V}")),
    }
    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        assert run_execution(emu, "M")["status"] == "SUCCEEDED"
        assert run_execution(emu, "Plain")["error"] == "Lambda.AWSLambdaException"


def test_a_granted_invoke_of_a_deleted_version_is_resource_not_found() -> None:
    resources = {
        "Role": _role_with(_allow({"Fn::Sub": "${F.Arn}:*"})),
        "FnRole": ROLE,
        "F": function({"ok": True}, Role=FN_ROLE),
        "M": _machine(_task("${F.Arn}:7")),
    }
    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        ended = run_execution(emu, "M")
        assert ended["error"] == "Lambda.ResourceNotFoundException"
        assert "Error Code: ResourceNotFoundException" in ended["cause"]
        assert "LambdaFunctionFailed" in ended["types"]


def test_gap_lambda_alias() -> None:
    """moto's CloudFormation has no AWS::Lambda::Alias (SAM AutoPublishAlias makes one)."""

    def day(returns: int, version_id: str) -> dict[str, Any]:
        alias = {
            "Type": "AWS::Lambda::Alias",
            "Properties": {
                "FunctionName": {"Ref": "F"},
                "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]},
                "Name": "live",
            },
        }
        resources = {"F": function(returns), version_id: version(), "Live": alias}
        return template(resources, {"Alias": {"Ref": "Live"}})

    with emulator(skip={"lambda-alias"}) as emu, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Tried to parse AWS::Lambda::Alias", UserWarning)
        emu.deploy("s", day(1, "V1"))
        with pytest.raises(emu.lambda_.exceptions.ResourceNotFoundException):
            emu.lambda_.get_alias(FunctionName=emu.physical_id("s", "F"), Name="live")

    with emulator() as emu:
        emu.deploy("s", day(1, "V1"))
        alias = outputs(emu)["Alias"]
        assert alias.endswith(":live")
        assert invoke(emu, alias) == (None, 1)
        emu.deploy("s", day(2, "V2"))
        name = emu.physical_id("s", "F")
        assert emu.lambda_.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
        assert invoke(emu, alias) == (None, 2)


# --------------------------------------------------------------------------------------
# Nested state machines (issue 14): demo/emulator_services.py
# --------------------------------------------------------------------------------------

ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def answering_machine(answer: str, role: str = "Role") -> dict[str, Any]:
    """A child state machine whose one Pass state answers `answer`."""
    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Result": {"answer": answer}, "End": True}},
    }
    return task_machine({}, role) | {
        "Properties": {"RoleArn": {"Fn::GetAtt": [role, "Arn"]}, "Definition": definition}
    }


def starting_machine(target: Any, pattern: str = "", role: str = "Role") -> dict[str, Any]:
    """A parent whose one Task starts `target` (`.sync`, `.sync:2` or plain) and outputs
    the child's output (sync) or the StartExecution result."""
    task: dict[str, Any] = {
        "Resource": f"arn:aws:states:::states:startExecution{pattern}",
        "Parameters": {"StateMachineArn": "${Target}", "Input": {"from": "parent"}},
    }
    if pattern == ".sync:2":
        task["OutputPath"] = "$.Output"
    machine = task_machine(task, role)
    machine["Properties"]["DefinitionSubstitutions"] = {"Target": target}
    return machine


def machine_version(machine: str = "Child", **attributes: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::StepFunctions::StateMachineVersion",
        "Properties": {
            "StateMachineArn": {"Ref": machine},
            "StateMachineRevisionId": {"Fn::GetAtt": [machine, "StateMachineRevisionId"]},
        },
        **attributes,
    }


def test_gap_sfn_service_integrations() -> None:
    """moto hands the ASL field names to boto3: every startExecution Task is a
    States.Runtime failure."""
    resources = {
        "Role": _role_with(ALLOW_ALL),
        "Child": answering_machine("child"),
        "Plain": starting_machine({"Ref": "Child"}),
        "Sync": starting_machine({"Ref": "Child"}, ".sync"),
        "Sync2": starting_machine({"Ref": "Child"}, ".sync:2"),
    }
    with emulator(skip={"sfn-service-integrations"}) as emu:
        emu.deploy("s", {"Resources": resources})
        ended = run_execution(emu, "Plain")
        assert (ended["status"], ended["error"]) == ("FAILED", "States.Runtime")
        assert "StateMachineArn" in ended["cause"]

    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        child = emu.physical_id("s", "Child")
        plain = run_execution(emu, "Plain")
        assert plain["status"] == "SUCCEEDED"
        started = json.loads(plain["output"])
        assert set(started) == {"ExecutionArn", "StartDate"}
        assert started["ExecutionArn"].startswith(child.replace(":stateMachine:", ":execution:"))
        assert isinstance(started["StartDate"], int)  # epoch milliseconds
        sync = json.loads(run_execution(emu, "Sync")["output"])
        # .sync: Input and Output are JSON text; .sync:2: JSON.
        assert (sync["Status"], json.loads(sync["Output"])) == ("SUCCEEDED", {"answer": "child"})
        assert json.loads(run_execution(emu, "Sync2")["output"]) == {"answer": "child"}


def test_gap_sfn_version_execution() -> None:
    """moto cannot start an execution of a version ARN."""
    resources = {"Role": _role_with(ALLOW_ALL), "Child": answering_machine("day 1")}
    with emulator(skip={"sfn-version-execution"}) as emu:
        emu.deploy("s", {"Resources": resources})
        child = emu.physical_id("s", "Child")
        publish(emu, child)
        with pytest.raises(AttributeError, match="_handle_name_input_idempotency"):
            emu.stepfunctions.start_execution(stateMachineArn=f"{child}:1")

    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        child = emu.physical_id("s", "Child")
        publish(emu, child)
        emu.deploy("s", {"Resources": {**resources, "Child": answering_machine("day 2")}})
        versioned = emu.stepfunctions.start_execution(stateMachineArn=f"{child}:1")
        latest = emu.stepfunctions.start_execution(stateMachineArn=child)
        outputs_seen = []
        for started in (versioned, latest):
            arn = started["executionArn"]
            assert arn.startswith(child.replace(":stateMachine:", ":execution:"))
            outputs_seen.append(json.loads(wait_for_execution(emu, arn)["output"]))
        assert outputs_seen == [{"answer": "day 1"}, {"answer": "day 2"}]


def publish(emu: Emulator, machine: str) -> None:
    """UpdateStateMachine with publish (moto has no PublishStateMachineVersion)."""
    definition = emu.stepfunctions.describe_state_machine(stateMachineArn=machine)["definition"]
    emu.stepfunctions.update_state_machine(
        stateMachineArn=machine, definition=definition, publish=True
    )


def wait_for_execution(emu: Emulator, arn: str, timeout: float = 20) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = emu.stepfunctions.describe_execution(executionArn=arn)
        if found["status"] != "RUNNING":
            return found
        assert time.monotonic() < deadline, f"{arn} still running"
        time.sleep(0.02)


def test_gap_sfn_cfn_versions() -> None:
    """moto's CloudFormation skips AWS::StepFunctions::StateMachineVersion."""
    day1 = {
        "Role": _role_with(ALLOW_ALL),
        "Child": answering_machine("day 1"),
        "ChildVersion": machine_version(),
    }
    version_ref = {"Version": {"Ref": "ChildVersion"}}
    with emulator(skip={"sfn-cfn-versions"}) as emu, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Tried to parse AWS::StepFunctions", UserWarning)
        plain = {**day1, "ChildVersion": machine_version()}
        del plain["ChildVersion"]["Properties"]["StateMachineRevisionId"]
        emu.deploy("s", template(plain, version_ref))
        assert "Version" not in outputs(emu)  # nothing was created or published

    with emulator() as emu:
        arns = {
            "Machine": {"Fn::GetAtt": ["Child", "Arn"]},
            "Revision": {"Fn::GetAtt": ["Child", "StateMachineRevisionId"]},
        }
        emu.deploy("s", template(day1, {**version_ref, **arns}))
        child = emu.physical_id("s", "Child")
        first = outputs(emu)
        assert (first["Version"], first["Machine"]) == (f"{child}:1", child)
        # A new definition is a new revision: the version is replaced (version 2 published)
        # and the old one deleted, as it has no UpdateReplacePolicy Retain.
        emu.deploy(
            "s", template({**day1, "Child": answering_machine("day 2")}, {**version_ref, **arns})
        )
        second = outputs(emu)
        assert second["Version"] == f"{child}:2"
        assert second["Revision"] != first["Revision"]
        with pytest.raises(emu.stepfunctions.exceptions.StateMachineDoesNotExist):
            emu.stepfunctions.describe_state_machine(stateMachineArn=f"{child}:1")
        ended = wait_for_execution(
            emu, emu.stepfunctions.start_execution(stateMachineArn=f"{child}:2")["executionArn"]
        )
        assert json.loads(ended["output"]) == {"answer": "day 2"}

    retained = {**day1, "ChildVersion": machine_version(UpdateReplacePolicy="Retain")}
    alias = {
        "Type": "AWS::StepFunctions::StateMachineAlias",
        "Properties": {
            "Name": "live",
            "DeploymentPreference": {
                "StateMachineVersionArn": {"Ref": "ChildVersion"},
                "Type": "ALL_AT_ONCE",
            },
        },
    }
    with emulator() as emu:
        emu.deploy("s", template({**retained, "Live": alias}, {"Alias": {"Ref": "Live"}}))
        child = emu.physical_id("s", "Child")
        assert outputs(emu)["Alias"] == f"{child}:live"
        day2 = {**retained, "Child": answering_machine("day 2"), "Live": alias}
        emu.deploy("s", template(day2))
        kept = emu.stepfunctions.describe_state_machine(stateMachineArn=f"{child}:1")
        assert json.loads(kept["definition"])["States"]["P"]["Result"] == {"answer": "day 1"}
        via_alias = emu.stepfunctions.start_execution(stateMachineArn=f"{child}:live")
        ended = wait_for_execution(emu, via_alias["executionArn"])
        assert json.loads(ended["output"]) == {"answer": "day 2"}  # the alias moved to 2
        # Deploying the same definition again publishes nothing new (same revision).
        emu.deploy("s", template(day2))
        assert emu.stepfunctions.describe_state_machine(stateMachineArn=f"{child}:2")
        with pytest.raises(emu.stepfunctions.exceptions.StateMachineDoesNotExist):
            emu.stepfunctions.describe_state_machine(stateMachineArn=f"{child}:3")


def test_a_state_machine_deleted_takes_its_versions() -> None:
    """DeleteStateMachine deletes all versions and aliases (Step Functions developer guide,
    "Authorization for versions and aliases"): Retain on a version does not keep it."""
    resources = {
        "Role": _role_with(ALLOW_ALL),
        "Child": answering_machine("day 1"),
        "ChildVersion": machine_version(DeletionPolicy="Retain"),
    }
    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        child = emu.physical_id("s", "Child")
        emu.deploy("s", {"Resources": {"Role": resources["Role"]}})
        with pytest.raises(emu.stepfunctions.exceptions.StateMachineDoesNotExist):
            emu.stepfunctions.start_execution(stateMachineArn=f"{child}:1")


def test_a_state_machine_replaced_takes_its_versions() -> None:
    """A new StateMachineName replaces the state machine; deleting the old one deletes its
    versions, Retain or not, and the version resource follows the new one."""
    named = answering_machine("day 1")
    named["Properties"]["StateMachineName"] = "one"
    renamed = answering_machine("day 1")
    renamed["Properties"]["StateMachineName"] = "two"
    kept = machine_version(DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
    base = {"Role": _role_with(ALLOW_ALL), "ChildVersion": kept}
    with emulator() as emu:
        emu.deploy("s", template({**base, "Child": named}, {"V": {"Ref": "ChildVersion"}}))
        first = outputs(emu)["V"]
        assert first.endswith(":stateMachine:one:1")
        emu.deploy("s", template({**base, "Child": renamed}, {"V": {"Ref": "ChildVersion"}}))
        assert outputs(emu)["V"].endswith(":stateMachine:two:1")
        with pytest.raises(emu.stepfunctions.exceptions.StateMachineDoesNotExist):
            emu.stepfunctions.describe_state_machine(stateMachineArn=first)


def test_an_alias_routes_by_weight() -> None:
    alias = {
        "Type": "AWS::StepFunctions::StateMachineAlias",
        "Properties": {
            "Name": "live",
            "RoutingConfiguration": [
                {"StateMachineVersionArn": {"Fn::Sub": "${Child}:1"}, "Weight": 0},
                {"StateMachineVersionArn": {"Ref": "ChildVersion"}, "Weight": 100},
            ],
        },
    }
    day1 = {"Role": _role_with(ALLOW_ALL), "Child": answering_machine("day 1")}
    kept = machine_version(UpdateReplacePolicy="Retain")
    with emulator() as emu:
        emu.deploy("s", template({**day1, "ChildVersion": kept}))
        child = emu.physical_id("s", "Child")
        day2 = {**day1, "Child": answering_machine("day 2"), "ChildVersion": kept}
        emu.deploy("s", template({**day2, "Live": alias}))
        for _ in range(3):
            started = emu.stepfunctions.start_execution(stateMachineArn=f"{child}:live")
            ended = wait_for_execution(emu, started["executionArn"])
            assert json.loads(ended["output"]) == {"answer": "day 2"}


def test_gap_service_task_iam() -> None:
    """moto's interpreter starts a child execution whatever the role allows."""
    resources = {
        "ChildRole": ROLE,
        "Child": answering_machine("child", role="ChildRole"),
        "ChildVersion": machine_version(),
        "Parent": starting_machine({"Ref": "ChildVersion"}),
    }
    with emulator(skip={"service-task-iam"}) as emu:
        emu.deploy("s", template(resources))
        assert run_execution(emu, "Parent")["status"] == "SUCCEEDED"

    with emulator() as emu:
        emu.deploy("s", template(resources))
        ended = run_execution(emu, "Parent")
        assert (ended["status"], ended["error"]) == (
            "FAILED",
            "StepFunctions.AWSStepFunctionsException",
        )
        child = emu.physical_id("s", "Child")
        # Judged on the unqualified ARN, though the Task starts version 1.
        assert (
            f"not authorized to perform: states:StartExecution on resource: {child} "
            in ended["cause"]
        )
        assert "Error Code: AccessDeniedException" in ended["cause"]


def _start(resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "states:StartExecution", "Resource": resource}


SYNC_GRANTS = [
    {
        "Effect": "Allow",
        "Action": ["states:DescribeExecution", "states:StopExecution"],
        "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:"
            "${AWS::AccountId}:execution:${Child.Name}:*"
        },
    },
    {
        "Effect": "Allow",
        "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:"
            "${AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
        },
    },
]


@pytest.mark.parametrize(
    ("statements", "pattern", "target", "expected"),
    [
        pytest.param([_start({"Ref": "Child"})], "", "ChildVersion", None, id="unqualified"),
        pytest.param(
            [_start({"Fn::Sub": "${Child}:*"})],
            "",
            "ChildVersion",
            "StepFunctions.AWSStepFunctionsException",
            id="version-wildcard-is-not-the-machine",
        ),
        pytest.param(
            [_start({"Ref": "Child"})],
            ".sync:2",
            "ChildVersion",
            "StepFunctions.AWSStepFunctionsException",
            id="sync-needs-more",
        ),
        pytest.param(
            [_start({"Ref": "Child"}), *SYNC_GRANTS], ".sync", "ChildVersion", None, id="sync"
        ),
        pytest.param(
            [_start({"Ref": "Child"}), *SYNC_GRANTS], ".sync:2", "Child", None, id="latest"
        ),
    ],
)
def test_start_execution_tasks_are_judged_by_the_role_policies(
    statements: list[dict[str, Any]], pattern: str, target: str, expected: str | None
) -> None:
    resources = {
        "Role": _role_with(*statements),
        "ChildRole": ROLE,
        "Child": answering_machine("child", role="ChildRole"),
        "ChildVersion": machine_version(),
        "Parent": starting_machine({"Ref": target}, pattern),
    }
    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        ended = run_execution(emu, "Parent")
        assert (ended.get("error"), ended["status"]) == (
            expected,
            "FAILED" if expected else "SUCCEEDED",
        ), ended["failures"]


def test_a_wait_for_task_token_start_runs_the_version_and_waits_for_the_token() -> None:
    """startExecution.waitForTaskToken: the version named starts (judged like any start),
    and the parent waits until SendTaskSuccess hands back the token's output."""
    import time

    task: dict[str, Any] = {
        "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": "${Target}", "Input": {"token.$": "$$.Task.Token"}},
    }
    parent = task_machine(task)
    parent["Properties"]["DefinitionSubstitutions"] = {"Target": {"Ref": "ChildVersion"}}
    resources = {
        "Role": _role_with(_start({"Ref": "Child"})),
        "ChildRole": ROLE,
        "Child": answering_machine("child", role="ChildRole"),
        "ChildVersion": machine_version(),
        "Parent": parent,
    }
    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        started = emu.stepfunctions.start_execution(stateMachineArn=emu.physical_id("s", "Parent"))[
            "executionArn"
        ]
        child = emu.physical_id("s", "Child")
        deadline = time.monotonic() + 20
        while True:
            children = emu.stepfunctions.list_executions(stateMachineArn=child)["executions"]
            if children:
                break
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.02)
        token = json.loads(
            emu.stepfunctions.describe_execution(executionArn=children[0]["executionArn"])["input"]
        )["token"]
        assert emu.stepfunctions.describe_execution(executionArn=started)["status"] == "RUNNING"
        emu.stepfunctions.send_task_success(taskToken=token, output='{"done": true}')
        ended = wait_for_execution(emu, started)
        assert (ended["status"], json.loads(ended["output"])) == ("SUCCEEDED", {"done": True})


def test_a_started_version_that_is_gone_fails_the_task() -> None:
    resources = {
        "Role": _role_with(ALLOW_ALL),
        "Child": answering_machine("child"),
        "Parent": starting_machine({"Fn::Sub": "${Child}:7"}),
    }
    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        ended = run_execution(emu, "Parent")
        assert ended["error"] == "StepFunctions.StateMachineDoesNotExistException"
        assert "Error Code: StateMachineDoesNotExist" in ended["cause"]


# --------------------------------------------------------------------------------------
# ECS task definitions and Batch job definitions (issue 14)
# --------------------------------------------------------------------------------------


def task_definition(image: str, **attributes: Any) -> dict[str, Any]:
    container = {"Name": "main", "Image": image, "Memory": 512}
    return {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {"Family": "hello", "ContainerDefinitions": [container]},
        **attributes,
    }


def run_task_machine(pattern: str = ".sync", role: str = "Role") -> dict[str, Any]:
    task = {
        "Resource": f"arn:aws:states:::ecs:runTask{pattern}",
        "Parameters": {
            "Cluster": "${Cluster}",
            "TaskDefinition": "${TaskDefinition}",
            "LaunchType": "FARGATE",
        },
    }
    machine = task_machine(task, role)
    machine["Properties"]["DefinitionSubstitutions"] = {
        "Cluster": {"Ref": "Cluster"},
        "TaskDefinition": {"Ref": "TD"},
    }
    return machine


def ecs_stack(image: str, statements: Any = (ALLOW_ALL,), **attributes: Any) -> dict[str, Any]:
    return {
        "Resources": {
            "Role": _role_with(*statements),
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "TD": task_definition(image, **attributes),
            "M": run_task_machine(),
        },
        "Outputs": {"TD": {"Value": {"Ref": "TD"}}},
    }


def revision_status(emu: Emulator, arn: str) -> str:
    found: str = emu.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"][
        "status"
    ]
    return found


def test_gap_ecs_task_definition_cfn() -> None:
    """moto leaves a removed task definition ACTIVE and deregisters a replaced one even
    with UpdateReplacePolicy Retain."""
    retained = ecs_stack("hello:1", UpdateReplacePolicy="Retain")
    with emulator(skip={"ecs-task-definition-cfn"}) as emu:
        emu.deploy("s", ecs_stack("hello:1"))
        first = outputs(emu)["TD"]
        emu.deploy("s", {"Resources": {"Role": ROLE}})
        assert revision_status(emu, first) == "ACTIVE"

    with emulator() as emu:
        emu.deploy("s", ecs_stack("hello:1"))
        first = outputs(emu)["TD"]
        assert first.endswith(":task-definition/hello:1")
        emu.deploy("s", ecs_stack("hello:2"))  # ContainerDefinitions: replacement
        second = outputs(emu)["TD"]
        assert second.endswith("hello:2")
        assert (revision_status(emu, first), revision_status(emu, second)) == (
            "INACTIVE",
            "ACTIVE",
        )
        emu.deploy("s", {"Resources": {"Role": ROLE}})
        assert revision_status(emu, second) == "INACTIVE"

    with emulator() as emu:
        emu.deploy("s", retained)
        first = outputs(emu)["TD"]
        emu.deploy("s", ecs_stack("hello:2", UpdateReplacePolicy="Retain"))
        assert revision_status(emu, first) == "ACTIVE"
        # A task definition removed with DeletionPolicy Retain stays ACTIVE too.
        kept = ecs_stack("hello:2", DeletionPolicy="Retain")
        emu.deploy("s", kept)
        second = outputs(emu)["TD"]
        emu.deploy("s", {"Resources": {"Role": ROLE}})
        assert revision_status(emu, second) == "ACTIVE"


def test_gap_ecs_inactive_run() -> None:
    """moto runs an INACTIVE revision; ECS refuses it."""
    with emulator(skip={"ecs-inactive-run"}) as emu:
        emu.deploy("s", ecs_stack("hello:1"))
        emu.client("ecs").deregister_task_definition(taskDefinition=outputs(emu)["TD"])
        assert run_execution(emu, "M")["status"] == "SUCCEEDED"

    with emulator() as emu:
        emu.deploy("s", ecs_stack("hello:1"))
        ended = run_execution(emu, "M")
        assert ended["status"] == "SUCCEEDED"
        described = json.loads(ended["output"])  # .sync: the stopped task, described
        assert described["LastStatus"] == "STOPPED"
        assert described["TaskDefinitionArn"] == outputs(emu)["TD"]
        assert described["Containers"][0]["Image"] == "hello:1"
        emu.client("ecs").deregister_task_definition(taskDefinition=outputs(emu)["TD"])
        ended = run_execution(emu, "M")
        assert (ended["status"], ended["error"]) == ("FAILED", "ECS.InvalidParameterException")
        assert ended["cause"].startswith("TaskDefinition is inactive (Service: AmazonECS;")


def test_run_task_is_judged_on_the_revision() -> None:
    granted = {"Effect": "Allow", "Action": "ecs:RunTask"}
    every_revision = {
        **granted,
        "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}"
            ":task-definition/hello:*"
        },
    }
    with emulator() as emu:
        emu.deploy("s", ecs_stack("hello:1", statements=[every_revision]))
        assert run_execution(emu, "M")["status"] == "SUCCEEDED"
        emu.deploy("s", ecs_stack("hello:1", statements=[{**granted, "Resource": "*:2"}]))
        ended = run_execution(emu, "M")
        assert (ended["status"], ended["error"]) == ("FAILED", "ECS.AccessDeniedException")
        assert "not authorized to perform: ecs:RunTask on resource: " in ended["cause"]
        assert ":task-definition/hello:1 " in ended["cause"]


def job_definition(image: str, **properties: Any) -> dict[str, Any]:
    container = {"Image": image, "Vcpus": 1, "Memory": 512}
    return {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {"Type": "container", "ContainerProperties": container, **properties},
    }


def submit_job_machine(pattern: str = ".sync", role: str = "Role") -> dict[str, Any]:
    task = {
        "Resource": f"arn:aws:states:::batch:submitJob{pattern}",
        "Parameters": {
            "JobName": "job",
            "JobQueue": "${JobQueue}",
            "JobDefinition": "${JobDefinition}",
        },
    }
    machine = task_machine(task, role)
    machine["Properties"]["DefinitionSubstitutions"] = {
        "JobQueue": {"Ref": "Queue"},
        "JobDefinition": {"Ref": "JD"},
    }
    return machine


BATCH_BASE: dict[str, Any] = {
    "BatchRole": ROLE,
    "Environment": {
        "Type": "AWS::Batch::ComputeEnvironment",
        "Properties": {"Type": "UNMANAGED", "ServiceRole": {"Fn::GetAtt": ["BatchRole", "Arn"]}},
    },
    "Queue": {
        "Type": "AWS::Batch::JobQueue",
        "Properties": {
            "Priority": 1,
            "ComputeEnvironmentOrder": [{"Order": 1, "ComputeEnvironment": {"Ref": "Environment"}}],
        },
    },
}


def batch_stack(image: str, statements: Any = (ALLOW_ALL,), **properties: Any) -> dict[str, Any]:
    return {
        "Resources": {
            **BATCH_BASE,
            "Role": _role_with(*statements),
            "JD": job_definition(image, **properties),
            "M": submit_job_machine(),
        },
        "Outputs": {"JD": {"Value": {"Ref": "JD"}}},
    }


def job_definition_status(emu: Emulator, arn: str) -> str:
    found = emu.client("batch").describe_job_definitions(jobDefinitions=[arn])
    status: str = found["jobDefinitions"][0]["status"]
    return status


def test_gap_batch_unmanaged_environment() -> None:
    with emulator(skip={"batch-unmanaged-environment"}) as emu, pytest.raises(KeyError):
        emu.deploy("s", batch_stack("hello:1"))

    with emulator() as emu:
        emu.deploy("s", batch_stack("hello:1"))
        queue = emu.physical_id("s", "Queue")
        assert emu.client("batch").describe_job_queues(jobQueues=[queue])["jobQueues"]


def test_gap_batch_job_definition_cfn() -> None:
    """moto cannot update (or delete) an AWS::Batch::JobDefinition."""
    retry = {"RetryStrategy": {"Attempts": 1}}
    with emulator(skip={"batch-job-definition-cfn"}) as emu:
        with pytest.raises(KeyError, match="RetryStrategy"):
            emu.deploy("s", batch_stack("hello:1"))
        emu.deploy("s", batch_stack("hello:1", **retry))
        emu.deploy("s", batch_stack("hello:2", **retry))
        # The update changed nothing: still revision 1 with the day-1 image.
        assert outputs(emu)["JD"].endswith(":1")
        found = emu.client("batch").describe_job_definitions()["jobDefinitions"]
        assert [d["containerProperties"]["image"] for d in found] == ["hello:1"]

    with emulator() as emu:
        emu.deploy("s", batch_stack("hello:1"))
        first = outputs(emu)["JD"]
        assert first.endswith(":1")
        emu.deploy("s", batch_stack("hello:2"))  # an update: a new revision
        second = outputs(emu)["JD"]
        assert second == first[:-1] + "2"
        assert (job_definition_status(emu, first), job_definition_status(emu, second)) == (
            "INACTIVE",
            "ACTIVE",
        )
        emu.deploy("s", {"Resources": {"Role": ROLE}})
        assert job_definition_status(emu, second) == "INACTIVE"

    skip = {"ResourceRetentionPolicy": {"SkipDeregisterOnUpdate": True}}
    with emulator() as emu:
        emu.deploy("s", batch_stack("hello:1", **skip))
        first = outputs(emu)["JD"]
        emu.deploy("s", batch_stack("hello:2", **skip))
        assert job_definition_status(emu, first) == "ACTIVE"


def test_gap_batch_job_image() -> None:
    with emulator(skip={"batch-job-image"}) as emu:
        emu.deploy("s", batch_stack("hello:1"))
        assert "Image" not in json.loads(run_execution(emu, "M")["output"])["Container"]

    with emulator() as emu:
        emu.deploy("s", batch_stack("hello:1"))
        described = json.loads(run_execution(emu, "M")["output"])
        assert (described["Status"], described["Container"]["Image"]) == ("SUCCEEDED", "hello:1")
        assert described["JobDefinition"] == outputs(emu)["JD"]


def test_gap_batch_inactive_submit() -> None:
    """moto submits a job on an INACTIVE revision; Batch refuses it."""
    with emulator(skip={"batch-inactive-submit"}) as emu:
        emu.deploy("s", batch_stack("hello:1"))
        emu.client("batch").deregister_job_definition(jobDefinition=outputs(emu)["JD"])
        assert run_execution(emu, "M")["status"] == "SUCCEEDED"

    with emulator() as emu:
        emu.deploy("s", batch_stack("hello:1"))
        arn = outputs(emu)["JD"]
        emu.client("batch").deregister_job_definition(jobDefinition=arn)
        ended = run_execution(emu, "M")
        assert (ended["status"], ended["error"]) == ("FAILED", "Batch.ClientException")
        assert ended["cause"].startswith(
            f"JobDefinition {arn} is not in ACTIVE status (Service: AWSBatch; Status Code: 400;"
        )


def test_submit_job_is_judged_on_the_job_definition_and_queue() -> None:
    queue_grant = {
        "Effect": "Allow",
        "Action": "batch:SubmitJob",
        "Resource": {"Ref": "Queue"},
    }
    definition_grant = {
        "Effect": "Allow",
        "Action": "batch:SubmitJob",
        "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}"
            ":job-definition/*:*"
        },
    }
    with emulator() as emu:
        emu.deploy("s", batch_stack("hello:1", statements=[queue_grant, definition_grant]))
        assert run_execution(emu, "M")["status"] == "SUCCEEDED"
        emu.deploy("s", batch_stack("hello:1", statements=[queue_grant]))
        ended = run_execution(emu, "M")
        assert (ended["status"], ended["error"]) == ("FAILED", "Batch.AWSBatchException")
        assert "batch:SubmitJob on resource: " + outputs(emu)["JD"] in ended["cause"]


def test_every_gap_has_a_test() -> None:
    missing = [key for key in GAP_KEYS if f"test_gap_{key.replace('-', '_')}" not in globals()]
    assert missing == []


# --------------------------------------------------------------------------------------
# The layer itself
# --------------------------------------------------------------------------------------


def _patched_attributes() -> Iterator[tuple[object, str, object]]:
    from moto.awslambda.models import LambdaFunction, LambdaStorage, LambdaVersion
    from moto.batch.models import ComputeEnvironment, Job, JobDefinition
    from moto.batch_simple.models import BatchSimpleBackend
    from moto.cloudformation.parsing import ResourceMap, get_model_map
    from moto.ecs.models import EC2ContainerServiceBackend, TaskDefinition
    from moto.iam.models import Role
    from moto.stepfunctions import models as sfn_models
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        lambda_eval_utils,
        state_task_lambda,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk,
        state_task_service_lambda,
    )
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    from demo.emulator_services import _service_classes, _service_module

    owners: list[object] = [
        LambdaFunction,
        LambdaStorage,
        LambdaVersion,
        ResourceMap,
        Role,
        StateMachine,
        state_task_lambda.StateTaskLambda,
        state_task_service_lambda.StateTaskServiceLambda,
        _service_module("state_task_service").StateTaskService,
        *_service_classes(),
        StepFunctionsParserBackend,
        TaskDefinition,
        EC2ContainerServiceBackend,
        JobDefinition,
        ComputeEnvironment,
        Job,
        BatchSimpleBackend,
    ]
    yield get_model_map(), "models", sorted(get_model_map())
    for owner in owners:
        for name, value in sorted(vars(owner).items()):
            yield owner, name, value
    yield sfn_models, "stepfunctions_backends", sfn_models.stepfunctions_backends
    for module in (lambda_eval_utils, state_task_service_aws_sdk):
        yield module, "boto_client_for", module.boto_client_for


def test_layer_undoes_every_patch() -> None:
    before = list(_patched_attributes())
    with compat_layer() as closed:
        assert closed == GAP_KEYS
        assert list(_patched_attributes()) != before
    assert list(_patched_attributes()) == before


def test_layer_is_pinned_to_one_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    monkeypatch.setattr(moto, "__version__", "9.9.9")
    expected = r"moto 5\.2\.5 internals, but moto 9\.9\.9"
    with pytest.raises(EmulatorError, match=expected), compat_layer():
        pass


def test_layer_refuses_unknown_gaps_and_nesting() -> None:
    with pytest.raises(EmulatorError, match="unknown gap"), compat_layer(skip={"no-such-gap"}):
        pass
    with compat_layer(), pytest.raises(EmulatorError, match="already active"), compat_layer():
        pass


def test_gaps_are_documented() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "demo.md").read_text("utf-8")
    assert [gap.key for gap in GAPS if f"`{gap.key}`" not in text] == []


# --------------------------------------------------------------------------------------
# The deploy helper: transforms as CloudFormation runs them
# --------------------------------------------------------------------------------------


def recording_macro(tag: str, seen: list[dict[str, Any]]) -> Any:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event)
        fragment = json.loads(json.dumps(event["fragment"]))
        fragment.setdefault("Metadata", {}).setdefault("Seen", []).append(tag)
        return {"requestId": event["requestId"], "status": "success", "fragment": fragment}

    return handler


SOURCE: dict[str, Any] = {
    "Transform": ["First", "Second"],
    "Parameters": {
        "Wait": {"Type": "Number", "Default": 300},
        "Names": {"Type": "CommaDelimitedList", "Default": "a,b"},
        "Given": {"Type": "String"},
    },
    "Resources": {"Role": ROLE},
}


def test_transforms_run_in_order_with_a_real_macro_event() -> None:
    seen: list[dict[str, Any]] = []
    macros = {"First": recording_macro("1", seen), "Second": recording_macro("2", seen)}
    values = template_parameter_values(SOURCE, {"Given": "g"})
    processed, logs = run_transforms(SOURCE, macros=macros, parameter_values=values)

    assert processed["Metadata"] == {"Seen": ["1", "2"]}
    assert "Transform" not in processed
    assert logs == ()
    first, second = seen
    assert set(first) == {
        "region",
        "accountId",
        "fragment",
        "transformId",
        "params",
        "requestId",
        "templateParameterValues",
    }
    assert (first["region"], first["accountId"]) == ("us-east-1", "123456789012")
    assert (first["transformId"], second["transformId"]) == (
        "123456789012::First",
        "123456789012::Second",
    )
    assert "Transform" not in first["fragment"] and first["params"] == {}
    assert second["fragment"]["Metadata"] == {"Seen": ["1"]}  # the first macro's output
    assert first["requestId"] != second["requestId"]
    assert first["templateParameterValues"] == {"Wait": "300", "Names": ["a", "b"], "Given": "g"}


@pytest.mark.parametrize(
    ("response", "message"),
    [
        pytest.param(
            {"status": "failure", "errorMessage": "Resources.X: no"},
            "Transform 123456789012::First failed with: Resources.X: no",
            id="failure",
        ),
        pytest.param({"status": "SUCCESS!"}, "unknown status 'SUCCESS!'", id="bad-status"),
        pytest.param({"status": "success"}, "fragment is not a template", id="no-fragment"),
        pytest.param(
            {"status": "success", "fragment": {}, "requestId": "other"},
            "requestId does not match",
            id="wrong-request-id",
        ),
    ],
)
def test_transform_failures_fail_the_deploy(response: dict[str, Any], message: str) -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"requestId": event["requestId"], **response}

    with pytest.raises(DeployError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_transforms(
            {"Transform": "First", "Resources": {}},
            macros={"First": handler},
            parameter_values={},
        )


def test_unknown_transforms_are_clear_errors() -> None:
    with pytest.raises(DeployError, match=r"No transform named 123456789012::Nope found\."):
        run_transforms({"Transform": "Nope", "Resources": {}}, macros={}, parameter_values={})


SAM_FUNCTION: dict[str, Any] = {
    "Type": "AWS::Serverless::Function",
    "Properties": {
        "Runtime": "python3.13",
        "Handler": "index.handler",
        "InlineCode": "def handler(event, context):\n    return 1\n",
    },
}


@pytest.mark.parametrize(
    "order",
    [["AWS::Serverless-2016-10-31", "Seen"], ["Seen", "AWS::Serverless-2016-10-31"]],
    ids=["sam-first", "sam-last"],
)
def test_the_sam_transform_runs_offline_in_list_order(order: list[str]) -> None:
    seen: list[dict[str, Any]] = []
    source = {"Transform": order, "Resources": {"Fn": SAM_FUNCTION}}
    processed, _ = run_transforms(
        source, macros={"Seen": recording_macro("m", seen)}, parameter_values={}
    )
    types = {name: r["Type"] for name, r in processed["Resources"].items()}
    assert types == {"Fn": "AWS::Lambda::Function", "FnRole": "AWS::IAM::Role"}
    handed = {name: r["Type"] for name, r in seen[0]["fragment"]["Resources"].items()}
    # The macro sees what the transforms before it produced.
    assert handed == (types if order[0] == SAM_TRANSFORM else {"Fn": "AWS::Serverless::Function"})
    assert processed["Metadata"] == {"Seen": ["m"]}


def test_sam_failures_fail_the_deploy_with_its_message() -> None:
    broken = {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": 7}}
    with pytest.raises(DeployError, match=r"Transform AWS::Serverless-2016-10-31 failed with: "):
        run_transforms(
            {"Transform": SAM_TRANSFORM, "Resources": {"Fn": broken}},
            macros={},
            parameter_values={},
        )


def test_a_sam_template_deploys_and_runs() -> None:
    with emulator() as emu:
        emu.deploy("s", {"Transform": SAM_TRANSFORM, "Resources": {"Fn": SAM_FUNCTION}})
        assert invoke(emu, emu.physical_id("s", "Fn")) == (None, 1)


def test_macro_stdout_goes_to_its_log_stream(capfd: pytest.CaptureFixture[str]) -> None:
    def chatty(event: dict[str, Any], context: Any) -> dict[str, Any]:
        print('{"level": "INFO", "message": "hello from the macro"}')
        fragment = event["fragment"]
        return {"requestId": event["requestId"], "status": "success", "fragment": fragment}

    _, logs = run_transforms(
        {"Transform": "Chatty", "Resources": {}}, macros={"Chatty": chatty}, parameter_values={}
    )
    assert logs == ('{"level": "INFO", "message": "hello from the macro"}',)
    assert "hello from the macro" not in capfd.readouterr().out


def test_without_transform_strikes_one_name() -> None:
    assert "Transform" not in without_transform({"Transform": "PinVersions"}, "PinVersions")
    both = {"Transform": ["AWS::Serverless-2016-10-31", "PinVersions"], "Resources": {}}
    assert without_transform(both, "PinVersions")["Transform"] == "AWS::Serverless-2016-10-31"


def test_deploy_rejects_parameters_the_template_does_not_declare() -> None:
    with emulator() as emu, pytest.raises(DeployError, match=r"\['Nope'\] do not exist"):
        emu.deploy("s", template({}), {"Nope": "1"})


def test_dependency_order_follows_ref_getatt_sub_and_depends_on() -> None:
    resources = {
        "Machine": {"Properties": {"D": {"Fn::Sub": "${V} ${!Literal} ${Local}"}}},
        "V": {"Properties": {"F": {"Ref": "Fn"}}},
        "Fn": {"Properties": {"R": {"Fn::GetAtt": "Role.Arn"}}},
        "Role": {"DependsOn": "Other"},
        "Other": {"Properties": {"Ignored": {"Fn::Sub": ["${Local}", {"Local": "x"}]}}},
    }
    assert dependency_order(resources, resources) == ["Other", "Role", "Fn", "V", "Machine"]
    assert dependency_order(resources, ["Machine", "Fn"]) == ["Fn", "Machine"]


def test_cfn_yaml_reads_short_forms_like_cloudformation() -> None:
    text = """
    Version: 2012-10-17
    A: !GetAtt Hello.Arn
    B: !Sub "${Hello.Arn}:*"
    C: !Ref Hello
    D: !If [Cond, !Ref A, !Ref "AWS::NoValue"]
    """
    assert cfn_yaml.loads(text) == {
        "Version": "2012-10-17",
        "A": {"Fn::GetAtt": ["Hello", "Arn"]},
        "B": {"Fn::Sub": "${Hello.Arn}:*"},
        "C": {"Ref": "Hello"},
        "D": {"Fn::If": ["Cond", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]},
    }


def test_a_version_runs_with_its_own_environment() -> None:
    def reads(answer: str) -> dict[str, Any]:
        code = "import os\ndef handler(event, context):\n    return os.environ['ANSWER']\n"
        return {
            "F": function(
                "unused", Code={"ZipFile": code}, Environment={"Variables": {"ANSWER": answer}}
            ),
            "V": version(),
        }

    with emulator() as emu:
        emu.deploy("s", template(reads("one"), {"V": {"Ref": "V"}}))
        first = outputs(emu)["V"]
        described = {
            "Type": "AWS::Lambda::Version",
            "Properties": {"FunctionName": {"Ref": "F"}, "Description": "2"},
        }
        # A new Description replaces the version: version 2 is published, version 1 deleted.
        emu.deploy("s", template({**reads("two"), "V": described}))
        name = emu.physical_id("s", "F")
        assert invoke(emu, name) == (None, "two")
        assert invoke(emu, name + ":2") == (None, "two")
        with pytest.raises(emu.lambda_.exceptions.ResourceNotFoundException):
            invoke(emu, first)

    with emulator() as emu:
        emu.deploy("s", template(reads("one"), {"V": {"Ref": "V"}}))
        first = outputs(emu)["V"]
        emu.deploy("s", template({**reads("two"), "V2": version()}))
        assert invoke(emu, first) == (None, "one")  # version 1 kept its environment


def test_aws_sdk_lambda_invoke_is_judged_too() -> None:
    """arn:aws:states:::aws-sdk:lambda:invoke goes through the same check (its error names
    are moto's; a granted call fails in moto on the Payload stream, a gap not closed)."""
    resources = {
        "Role": _role_with(_allow({"Fn::GetAtt": ["F", "Arn"]})),
        "FnRole": ROLE,
        "F": function({"ok": True}, Role=FN_ROLE),
        "V": version(),
        "M": _machine(
            _task("arn:aws:states:::aws-sdk:lambda:invoke", Parameters={"FunctionName": "${V}"})
        ),
    }
    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        ended = run_execution(emu, "M")
        assert ended["status"] == "FAILED"
        assert "is not authorized to perform: lambda:InvokeFunction on resource: " in ended["cause"]
        assert (
            ended["cause"]
            .split(" on resource: ")[1]
            .startswith(
                emu.lambda_.get_function(FunctionName=emu.physical_id("s", "F"))["Configuration"][
                    "FunctionArn"
                ]
                + ":1 "
            )
        )


def test_the_resource_iam_judges_is_the_arn_lambda_resolves() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    assert invoke_resource_arn("f", None, "us-east-1", "123456789012") == arn
    assert invoke_resource_arn("f:3", None, "us-east-1", "123456789012") == f"{arn}:3"
    assert invoke_resource_arn("123456789012:function:f", "live", "us-east-1", "1") == f"{arn}:live"
    assert invoke_resource_arn(arn, "7", "us-east-1", "1") == f"{arn}:7"
    assert invoke_resource_arn(f"{arn}:7", "7", "us-east-1", "1") == f"{arn}:7"


def test_attached_managed_policies_count() -> None:
    managed = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [_allow({"Fn::Sub": "${F.Arn}:*"})],
            },
        },
    }
    resources = {
        "Role": _role_with(),
        "Grant": managed,
        "FnRole": ROLE,
        "F": function({"ok": True}, Role=FN_ROLE),
        "V": version(),
        "M": {**_machine(_task("${V}")), "DependsOn": "Grant"},
    }
    with emulator() as emu:
        emu.deploy("s", {"Resources": resources})
        assert run_execution(emu, "M")["status"] == "SUCCEEDED"

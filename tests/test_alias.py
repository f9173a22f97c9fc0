"""The Alias option (issue 15): option validation (each bad field fails with its path and
what to do, all at once), the alias and version added, callers moved in every form they are
written, grants as Step Functions checks them, SAM's alias-ARN grant fixed, and the hook the
nested-state-machine kind uses. Golden cases (tests/golden/alias-*) cover whole templates."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pin_versions import Context, TransformError, transform
from pin_versions.alias_options import AliasOption, read_alias
from pin_versions.inventory import build_inventory
from pin_versions.options import Options, collect_options
from pin_versions.plan.aliases import caller_alias
from pin_versions.report import Diagnostic
from support import ROOT, new_lint_errors

PATH = "Metadata.PinVersions.Alias"
ROLE_ASSUME = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "x:Y"}
    ],
}


def _errors(value: Any) -> list[tuple[str, str]]:
    errors: list[Diagnostic] = []
    assert read_alias(value, PATH, errors) is None
    assert {e.code for e in errors} == {"PV930"}
    return [(e.path, e.message) for e in errors]


# -- option validation -------------------------------------------------------------------------


def _pref(preference: dict[str, Any]) -> dict[str, Any]:
    return {"Name": "a", "DeploymentPreference": preference}


def test_a_full_option_reads_every_field() -> None:
    errors: list[Diagnostic] = []
    option = read_alias(
        {
            "Name": "live",
            "DeploymentPreference": {
                "Type": "LINEAR",
                "Percentage": "20",  # CloudFormation takes "20" for an Integer
                "Interval": 5,
                "Alarms": ["a", {"Ref": "B"}],
            },
            "MoveCallers": {"EventBridge": True, "Pipes": "true", "Scheduler": False},
        },
        PATH,
        errors,
    )
    assert errors == []
    assert option == AliasOption(
        "live", "LINEAR", 20, 5, ("a", {"Ref": "B"}), frozenset({"EventBridge", "Pipes"})
    )
    assert option.deployment_preference({"Ref": "V"}) == {
        "StateMachineVersionArn": {"Ref": "V"},
        "Type": "LINEAR",
        "Percentage": 20,
        "Interval": 5,
        "Alarms": ["a", {"Ref": "B"}],
    }


def test_no_deployment_preference_is_all_at_once() -> None:
    errors: list[Diagnostic] = []
    assert read_alias({"Name": "live"}, PATH, errors) == AliasOption("live")
    assert AliasOption("live").deployment_preference({"Ref": "V"}) == {
        "StateMachineVersionArn": {"Ref": "V"},
        "Type": "ALL_AT_ONCE",
    }


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        ("live", PATH, "is a string; write a mapping such as {Name: live, Deployment"),
        ({}, f"{PATH}.Name", "is missing; name the alias, for example Name: live"),
        ({"Name": {"Ref": "P"}}, f"{PATH}.Name", "write the alias name as literal text"),
        ({"Name": "x" * 81}, f"{PATH}.Name", "is 81 characters; an alias name is 1-80"),
        ({"Name": "my-alias"}, f"{PATH}.Name", "use letters and digits with at least one"),
        ({"Name": "123"}, f"{PATH}.Name", "use letters and digits with at least one letter"),
        ({"Name": "a", "Routing": 1}, f"{PATH}.Routing", "unknown field 'Routing'; known"),
        (
            _pref({}),
            f"{PATH}.DeploymentPreference.Type",
            "is missing; write one of CANARY, LINEAR, ALL_AT_ONCE",
        ),
        (
            _pref({"Type": "BLUE_GREEN"}),
            f"{PATH}.DeploymentPreference.Type",
            "write one of CANARY, LINEAR, ALL_AT_ONCE",
        ),
        (
            _pref({"Type": "CANARY", "Interval": 5}),
            f"{PATH}.DeploymentPreference.Percentage",
            "is missing; a CANARY deployment needs Percentage and Interval",
        ),
        (
            _pref({"Type": "LINEAR", "Percentage": 5}),
            f"{PATH}.DeploymentPreference.Interval",
            "is missing; a LINEAR deployment needs Percentage and Interval",
        ),
        (
            {
                "Name": "a",
                "DeploymentPreference": {"Type": "CANARY", "Percentage": 100, "Interval": 1},
            },
            f"{PATH}.DeploymentPreference.Percentage",
            "is 100; it must be 1-99 percent",
        ),
        (
            {
                "Name": "a",
                "DeploymentPreference": {"Type": "CANARY", "Percentage": 0, "Interval": 1},
            },
            f"{PATH}.DeploymentPreference.Percentage",
            "is 0; it must be 1-99 percent",
        ),
        (
            {
                "Name": "a",
                "DeploymentPreference": {"Type": "CANARY", "Percentage": 5, "Interval": 2101},
            },
            f"{PATH}.DeploymentPreference.Interval",
            "is 2101; it must be 1-2100 minutes",
        ),
        (
            {
                "Name": "a",
                "DeploymentPreference": {"Type": "CANARY", "Percentage": 5.5, "Interval": 1},
            },
            f"{PATH}.DeploymentPreference.Percentage",
            "write a whole number of percent, 1-99",
        ),
        (
            {
                "Name": "a",
                "DeploymentPreference": {"Type": "CANARY", "Percentage": True, "Interval": 1},
            },
            f"{PATH}.DeploymentPreference.Percentage",
            "write a whole number of percent, 1-99",
        ),
        (
            {
                "Name": "a",
                "DeploymentPreference": {"Type": "LINEAR", "Percentage": 10, "Interval": 211},
            },
            f"{PATH}.DeploymentPreference",
            "a LINEAR shift of 10% every 211 minutes lasts 2110 minutes, over CloudFormation's",
        ),
        (
            _pref({"Type": "ALL_AT_ONCE", "Interval": 5}),
            f"{PATH}.DeploymentPreference.Interval",
            "has no effect with Type ALL_AT_ONCE",
        ),
        (
            {
                "Name": "a",
                "DeploymentPreference": {"Type": "ALL_AT_ONCE", "StateMachineVersionArn": "x"},
            },
            f"{PATH}.DeploymentPreference.StateMachineVersionArn",
            "is set by the macro",
        ),
        (
            _pref({"Type": "ALL_AT_ONCE", "Alarms": []}),
            f"{PATH}.DeploymentPreference.Alarms",
            "write a list of 1-100 CloudWatch alarm names",
        ),
        (
            _pref({"Type": "ALL_AT_ONCE", "Alarms": ["x"] * 101}),
            f"{PATH}.DeploymentPreference.Alarms",
            "lists 101 alarms; at most 100",
        ),
        (
            _pref({"Type": "ALL_AT_ONCE", "Alarms": ["a" * 257]}),
            f"{PATH}.DeploymentPreference.Alarms[0]",
            "is 257 characters; an alarm name is 1-256",
        ),
        (
            {
                "Name": "a",
                "DeploymentPreference": {
                    "Type": "ALL_AT_ONCE",
                    "Alarms": ["arn:aws:cloudwatch:us-east-1:1:alarm:x"],
                },
            },
            f"{PATH}.DeploymentPreference.Alarms[0]",
            "is an alarm ARN; write the alarm's name",
        ),
        (
            {
                "Name": "a",
                "DeploymentPreference": {
                    "Type": "ALL_AT_ONCE",
                    "Alarms": [{"Fn::GetAtt": ["Alarm", "Arn"]}],
                },
            },
            f"{PATH}.DeploymentPreference.Alarms[0]",
            "is an alarm ARN (Fn::GetAtt ...Arn)",
        ),
        (
            _pref({"Type": "ALL_AT_ONCE", "Alarms": [7]}),
            f"{PATH}.DeploymentPreference.Alarms[0]",
            "write a CloudWatch alarm name",
        ),
        ({"Name": "a", "MoveCallers": ["EventBridge"]}, f"{PATH}.MoveCallers", "is a list"),
        (
            {"Name": "a", "MoveCallers": {"Lambda": True}},
            f"{PATH}.MoveCallers.Lambda",
            "unknown field 'Lambda'; known fields are EventBridge, Scheduler, Pipes, ApiGateway",
        ),
        (
            {"Name": "a", "MoveCallers": {"Pipes": "maybe"}},
            f"{PATH}.MoveCallers.Pipes",
            "is a string; write true or false",
        ),
    ],
)
def test_each_bad_field_names_its_path_and_what_to_do(value: Any, path: str, message: str) -> None:
    errors = _errors(value)
    assert any(p == path and message in m for p, m in errors), errors


def test_every_bad_field_is_reported_at_once() -> None:
    errors = _errors(
        {
            "Name": "a-b",
            "DeploymentPreference": {"Type": "CANARY", "Percentage": 200, "Alarms": ["a", "a"]},
            "MoveCallers": {"Pipes": 3},
        }
    )
    assert [p for p, _ in errors] == [
        f"{PATH}.Name",
        f"{PATH}.DeploymentPreference.Alarms[1]",
        f"{PATH}.DeploymentPreference.Percentage",
        f"{PATH}.DeploymentPreference.Interval",
        f"{PATH}.MoveCallers.Pipes",
    ]


def test_a_bad_alias_fails_with_the_other_option_errors() -> None:
    template = _template({"Alias": {"Name": "a_b"}, "Strict": "sometimes"})
    with pytest.raises(TransformError) as raised:
        transform(template, Context())
    codes = [(d.code, d.path) for d in raised.value.diagnostics]
    assert ("PV903", "Metadata.PinVersions.Strict") in codes
    assert ("PV930", "Metadata.PinVersions.Alias.Name") in codes


def test_the_option_is_known_to_collect_options() -> None:
    errors: list[Diagnostic] = []
    options = collect_options({"Metadata": {"PinVersions": {"Alias": {"Name": "x"}}}}, errors)
    assert errors == []
    assert options.alias == AliasOption("x")


# -- what it adds ------------------------------------------------------------------------------


def _template(options: dict[str, Any], **resources: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Metadata": {"PinVersions": options},
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/states",
                    "DefinitionString": '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}',
                },
            },
            "EventsRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": ROLE_ASSUME},
            },
        },
    }
    base["Resources"].update(resources)
    return base


def _rule(arn: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "ScheduleExpression": "rate(1 hour)",
            "Targets": [{"Id": "t", "Arn": arn, "RoleArn": {"Fn::GetAtt": ["EventsRole", "Arn"]}}],
        },
    }


MOVE = {"Alias": {"Name": "live", "MoveCallers": {"EventBridge": True}}}


def test_version_and_alias_are_added_retained_after_the_state_machine() -> None:
    output = transform(_template({"Alias": {"Name": "live"}}), Context()).template
    resources = output["Resources"]
    assert list(resources)[:3] == ["Machine", "MachineVersion", "MachineAliaslive"]
    assert resources["MachineVersion"] == {
        "Type": "AWS::StepFunctions::StateMachineVersion",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "StateMachineArn": {"Ref": "Machine"},
            "StateMachineRevisionId": {"Fn::GetAtt": ["Machine", "StateMachineRevisionId"]},
        },
    }
    alias = resources["MachineAliaslive"]
    assert (alias["DeletionPolicy"], alias["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert alias["Properties"] == {
        "Name": "live",
        "DeploymentPreference": {
            "StateMachineVersionArn": {"Ref": "MachineVersion"},
            "Type": "ALL_AT_ONCE",
        },
    }


def test_without_the_option_nothing_is_added() -> None:
    template = _template({}, Rule=_rule({"Ref": "Machine"}))
    result = transform(template, Context())
    assert result.template["Resources"] == template["Resources"]
    assert "aliases" not in result.report.to_json()


@pytest.mark.parametrize(
    ("written", "moved"),
    [
        ({"Ref": "Machine"}, {"Ref": "MachineAliaslive"}),
        ({"Fn::GetAtt": ["Machine", "Arn"]}, {"Ref": "MachineAliaslive"}),
        ({"Fn::GetAtt": "Machine.Arn"}, {"Ref": "MachineAliaslive"}),
        ({"Fn::Sub": "${Machine}"}, {"Fn::Sub": "${MachineAliaslive}"}),
        ({"Fn::Sub": "${Machine.Arn}"}, {"Fn::Sub": "${MachineAliaslive}"}),
        (
            {"Fn::Sub": ["${Arn}", {"Arn": {"Ref": "Machine"}}]},
            {"Fn::Sub": ["${Arn}", {"Arn": {"Ref": "MachineAliaslive"}}]},
        ),
        (
            {"Fn::Join": ["", [{"Ref": "Machine"}]]},
            {"Fn::Join": ["", [{"Ref": "MachineAliaslive"}]]},
        ),
    ],
)
def test_a_caller_moves_in_the_form_it_was_written(written: Any, moved: Any) -> None:
    result = transform(_template(MOVE, Rule=_rule(written)), Context())
    rule = result.template["Resources"]["Rule"]
    assert rule["Properties"]["Targets"][0]["Arn"] == moved
    assert rule["DependsOn"] == ["EventsRolePinVersionsStartMachine"]
    grant = result.template["Resources"]["EventsRolePinVersionsStartMachine"]
    assert grant["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": {"Ref": "Machine"},
            "Condition": {"StringEquals": {"states:StateMachineQualifier": "live"}},
        }
    ]
    assert result.report.aliases[0].callers == ("Resources.Rule.Properties.Targets[0].Arn",)


def test_an_escaped_placeholder_is_text_and_is_not_moved() -> None:
    result = transform(_template(MOVE, Rule=_rule({"Fn::Sub": "${!Machine}"})), Context())
    assert result.template["Resources"]["Rule"] == _rule({"Fn::Sub": "${!Machine}"})


def test_callers_are_left_alone_unless_asked() -> None:
    result = transform(_template({"Alias": {"Name": "live"}}, Rule=_rule({"Ref": "Machine"})))
    assert result.template["Resources"]["Rule"] == _rule({"Ref": "Machine"})


def test_a_literal_arn_caller_is_named_not_moved() -> None:
    template = _template(MOVE, Rule=_rule("arn:aws:states:us-east-1:1:stateMachine:orders"))
    template["Resources"]["Machine"]["Properties"]["StateMachineName"] = "orders"
    result = transform(template, Context())
    (warning,) = result.report.warnings
    assert warning.code == "PV153"
    assert warning.path == "Resources.Rule.Properties.Targets[0].Arn"
    assert "write !Ref MachineAliaslive" in warning.message


def test_a_role_that_already_allows_the_state_machine_gets_no_grant() -> None:
    template = _template(MOVE, Rule=_rule({"Ref": "Machine"}))
    template["Resources"]["EventsRole"]["Properties"]["Policies"] = [
        {
            "PolicyName": "start",
            "PolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Action": "states:*", "Resource": {"Ref": "Machine"}}
                ]
            },
        }
    ]
    result = transform(template, Context())
    assert "EventsRolePinVersionsStartMachine" not in result.template["Resources"]
    assert result.template["Resources"]["Rule"]["Properties"]["Targets"][0]["Arn"] == {
        "Ref": "MachineAliaslive"
    }


def test_a_role_outside_the_template_gets_the_statement_to_add() -> None:
    rule = _rule({"Ref": "Machine"})
    rule["Properties"]["Targets"][0]["RoleArn"] = "arn:aws:iam::123456789012:role/elsewhere"
    result = transform(_template(MOVE, Rule=rule), Context())
    (warning,) = result.report.warnings
    assert warning.code == "PV150"
    assert warning.path == "Resources.Rule.Properties.Targets[0].RoleArn"
    assert '"states:StateMachineQualifier": "live"' in warning.message


def test_a_taken_alias_logical_id_fails() -> None:
    template = _template({"Alias": {"Name": "live"}}, MachineAliaslive={"Type": "AWS::SNS::Topic"})
    with pytest.raises(TransformError) as raised:
        transform(template, Context())
    (error,) = raised.value.diagnostics
    assert (error.code, error.path) == ("PV931", "Resources.MachineAliaslive")
    assert "rename that resource or choose another alias Name" in error.message


def test_an_alias_on_a_resource_that_is_not_a_state_machine_fails() -> None:
    template = _template({})
    template["Resources"]["EventsRole"]["Metadata"] = {"PinVersions": {"Alias": {"Name": "x"}}}
    with pytest.raises(TransformError) as raised:
        transform(template, Context())
    (error,) = raised.value.diagnostics
    assert (error.code, error.path) == (
        "PV932",
        "Resources.EventsRole.Metadata.PinVersions.Alias",
    )


def test_a_skipped_state_machine_gets_no_alias() -> None:
    template = _template({"Alias": {"Name": "live"}, "Exclude": ["Machine"]})
    result = transform(template, Context())
    assert set(result.template["Resources"]) == {"Machine", "EventsRole"}


def test_the_output_is_a_fixed_point_and_lints_clean() -> None:
    template = _template(MOVE, Rule=_rule({"Ref": "Machine"}))
    before = copy.deepcopy(template)
    output = transform(template, Context()).template
    assert template == before  # never mutated
    assert transform(output, Context()).template == output
    assert new_lint_errors(template, output) == []


def test_sam_alias_arn_grant_is_moved_to_the_state_machine_arn() -> None:
    # What SAM writes for UseAliasAsEventTarget (aws/serverless-application-model#3720).
    template = _template(
        {},
        MachineVersion={
            "Type": "AWS::StepFunctions::StateMachineVersion",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"StateMachineArn": {"Ref": "Machine"}},
        },
        MachineAliasprod={
            "Type": "AWS::StepFunctions::StateMachineAlias",
            "Properties": {
                "Name": "prod",
                "DeploymentPreference": {
                    "StateMachineVersionArn": {"Ref": "MachineVersion"},
                    "Type": "ALL_AT_ONCE",
                },
            },
        },
        Rule=_rule({"Ref": "MachineAliasprod"}),
    )
    template["Resources"]["EventsRole"]["Properties"]["Policies"] = [
        {
            "PolicyName": "EventsRoleStartExecutionPolicy",
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "states:StartExecution",
                        "Effect": "Allow",
                        "Resource": {"Ref": "MachineAliasprod"},
                    }
                ]
            },
        }
    ]
    result = transform(template, Context())
    statement = result.template["Resources"]["EventsRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]["Statement"][0]
    assert statement == {
        "Action": "states:StartExecution",
        "Effect": "Allow",
        "Resource": {"Ref": "Machine"},
        "Condition": {"StringEquals": {"states:StateMachineQualifier": "prod"}},
    }
    assert [w.code for w in result.report.warnings] == ["PV154"]


# -- the nested-state-machine kind's hook ------------------------------------------------------


def _inventory(template: dict[str, Any], options: Options) -> Any:
    return build_inventory(template, Context(), options)


def test_caller_alias_names_the_alias_only_when_step_functions_callers_move() -> None:
    moved = {"Alias": {"Name": "live", "MoveCallers": {"StepFunctions": True}}}
    template = _template(moved)
    options = collect_options(template, [])
    assert caller_alias(_inventory(template, options), options, "Machine") == "MachineAliaslive"
    template = _template({"Alias": {"Name": "live"}})
    options = collect_options(template, [])
    assert caller_alias(_inventory(template, options), options, "Machine") is None
    template = _template(moved)
    template["Resources"]["Machine"]["Metadata"] = {"PinVersions": {"Alias": False}}
    options = collect_options(template, [])
    assert caller_alias(_inventory(template, options), options, "Machine") is None


# -- other state machines' startExecution Tasks -------------------------------------------------


def _nested(parent_definition: dict[str, Any]) -> dict[str, Any]:
    moved = {"Alias": {"Name": "live", "MoveCallers": {"StepFunctions": True}}}
    template = _template({})
    template["Resources"]["Machine"]["Metadata"] = {"PinVersions": moved}
    template["Resources"]["Parent"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"RoleArn": {"Fn::GetAtt": ["EventsRole", "Arn"]}, **parent_definition},
    }
    return template


def _task(arn: Any, resource: Any = "arn:aws:states:::states:startExecution.sync:2") -> Any:
    return {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "End": True,
                "Branches": [
                    {
                        "StartAt": "Run",
                        "States": {
                            "Run": {
                                "Type": "Task",
                                "Resource": resource,
                                "Parameters": {"StateMachineArn": arn},
                                "End": True,
                            }
                        },
                    }
                ],
            }
        },
    }


RUN = ("Definition", "States", "P", "Branches", 0, "States", "Run", "Parameters")


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::states:startExecution",
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:::states:startExecution.waitForTaskToken",
        {"Fn::Sub": "arn:${AWS::Partition}:states:::states:startExecution.sync:2"},
    ],
)
def test_a_parent_task_starts_the_alias_and_its_role_is_granted(resource: Any) -> None:
    template = _nested({"Definition": _task({"Ref": "Machine"}, resource)})
    result = transform(template, Context())
    parent = result.template["Resources"]["Parent"]
    node: Any = parent["Properties"]
    for key in RUN:
        node = node[key]
    assert node["StateMachineArn"] == {"Ref": "MachineAliaslive"}
    # The nested-state-machine kind grants the parent's role (StartExecution on the child's
    # unqualified ARN, which covers the alias): no second grant.
    (grant,) = parent["DependsOn"]
    assert grant.startswith("EventsRolePinVersionsInvokeMachine")
    assert "EventsRolePinVersionsStartMachine" not in result.template["Resources"]
    assert result.report.aliases[0].callers == (
        "Resources.Parent.Properties.Definition.States.P.Branches[0].States.Run.Parameters"
        ".StateMachineArn",
    )


def test_with_the_kind_turned_off_the_alias_planner_grants_the_parent() -> None:
    template = _nested({"Definition": _task({"Ref": "Machine"})})
    template["Metadata"]["PinVersions"]["Kinds"] = {"StateMachine": False}
    result = transform(template, Context())
    parent = result.template["Resources"]["Parent"]
    node: Any = parent["Properties"]
    for key in RUN:
        node = node[key]
    assert node["StateMachineArn"] == {"Ref": "MachineAliaslive"}
    assert parent["DependsOn"] == ["EventsRolePinVersionsStartMachine"]
    statement = result.template["Resources"]["EventsRolePinVersionsStartMachine"]["Properties"][
        "PolicyDocument"
    ]["Statement"]
    assert statement[0]["Condition"] == {"StringEquals": {"states:StateMachineQualifier": "live"}}


def test_a_lambda_task_naming_the_state_machine_is_not_a_caller() -> None:
    definition = _task({"Ref": "Machine"}, "arn:aws:states:::lambda:invoke")
    result = transform(_nested({"Definition": definition}), Context())
    assert result.template["Resources"]["Parent"]["Properties"]["Definition"] == definition


def test_a_parent_pinned_to_the_child_version_starts_the_alias_in_every_form() -> None:
    # What the nested-state-machine kind writes (the Task pinned to <Child>Version), in a
    # DefinitionString Fn::Sub and in DefinitionSubstitutions.
    template = _nested(
        {
            "DefinitionString": {
                "Fn::Sub": '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": '
                '"arn:aws:states:::states:startExecution", "Parameters": {"StateMachineArn": '
                '"${MachineVersion}", "Input": {"other": "${Other}"}}, "End": true}}}'
            },
            "DefinitionSubstitutions": {"Child": {"Ref": "MachineVersion"}, "Other": "x"},
        }
    )
    template["Resources"]["MachineVersion"] = {
        "Type": "AWS::StepFunctions::StateMachineVersion",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "StateMachineArn": {"Ref": "Machine"},
            "StateMachineRevisionId": {"Fn::GetAtt": ["Machine", "StateMachineRevisionId"]},
        },
    }
    properties = transform(template, Context()).template["Resources"]["Parent"]["Properties"]
    assert "${MachineAliaslive}" in properties["DefinitionString"]["Fn::Sub"]
    assert "${MachineVersion}" not in properties["DefinitionString"]["Fn::Sub"]
    assert properties["DefinitionSubstitutions"] == {
        "Child": {"Ref": "MachineAliaslive"},
        "Other": "x",
    }


def test_a_parent_string_definition_pinned_by_the_kind_starts_the_alias() -> None:
    definition = (
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": '
        '"arn:aws:states:::states:startExecution", "Parameters": {"StateMachineArn": '
        '"${Child}"}, "End": true}}}'
    )
    template = _nested(
        {
            "DefinitionString": definition,
            "DefinitionSubstitutions": {"Child": {"Ref": "Machine"}},
        }
    )
    result = transform(template, Context())
    properties = result.template["Resources"]["Parent"]["Properties"]
    assert properties["DefinitionSubstitutions"] == {"Child": {"Ref": "MachineAliaslive"}}
    assert result.report.aliases[0].callers == (
        "Resources.Parent.Properties.DefinitionString.States.A.Parameters.StateMachineArn",
    )


# -- the sample deploys ------------------------------------------------------------------------


def test_the_canary_sample_deploys_and_runs_through_its_alias() -> None:
    """samples/canary on the emulator (moto has no AWS::CloudWatch::Alarm in CloudFormation:
    the alarm is skipped with a warning there; its name is still passed to the alias):
    the rule targets the alias, an execution started through the alias runs the pinned code,
    and a day 2 with another Verdict makes new executions through the alias run it."""
    import time
    import warnings

    from demo import cfn_yaml, story
    from demo.emulator import emulator

    sample = cfn_yaml.load(ROOT / "samples" / "canary" / "template.yaml")

    def run(emu: Any, alias: str) -> dict[str, Any]:
        execution = emu.stepfunctions.start_execution(stateMachineArn=alias, input="{}")
        for _ in range(200):
            described: dict[str, Any] = emu.stepfunctions.describe_execution(
                executionArn=execution["executionArn"]
            )
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.05)
        raise AssertionError("the execution did not finish")

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Tried to parse AWS::CloudWatch::Alarm", UserWarning)
        with emulator({"PinVersions": story.load_macro()}) as emu:
            emu.deploy("canary", sample, {})
            resources = {
                r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in emu.cloudformation.list_stack_resources(StackName="canary")[
                    "StackResourceSummaries"
                ]
            }
            alias = resources["OrdersAliaslive"]
            assert alias == f"{resources['Orders']}:live"
            targets = emu.client("events").list_targets_by_rule(Rule=resources["OrderPlaced"])
            assert [t["Arn"] for t in targets["Targets"]] == [alias]
            day1 = run(emu, alias)
            assert (day1["status"], json.loads(day1["output"])) == (
                "SUCCEEDED",
                {"verdict": "Approved"},
            )
            emu.deploy("canary", sample, {"Verdict": "Rejected"})
            day2 = run(emu, alias)
            assert (day2["status"], day2.get("error")) == ("FAILED", "Rejected")


def test_strict_fails_a_caller_the_macro_cannot_grant() -> None:
    rule = _rule({"Ref": "Machine"})
    rule["Properties"]["Targets"][0]["RoleArn"] = "arn:aws:iam::123456789012:role/elsewhere"
    template = _template({**MOVE, "Strict": True}, Rule=rule)
    with pytest.raises(TransformError) as raised:
        transform(template, Context())
    assert [(d.code, d.path) for d in raised.value.diagnostics] == [
        ("PV905", "Resources.Rule.Properties.Targets[0].RoleArn")
    ]


def test_a_grant_exists_when_its_role_and_state_machine_do() -> None:
    template = _template(MOVE, Rule=_rule({"Ref": "Machine"}), Other=_rule({"Ref": "Machine"}))
    template["Conditions"] = {"On": {"Fn::Equals": ["a", "a"]}}
    template["Resources"]["Machine"]["Condition"] = "On"
    template["Resources"]["Rule"]["Condition"] = "On"
    output = transform(template, Context()).template
    resources = output["Resources"]
    assert resources["EventsRolePinVersionsStartMachine"]["Condition"] == "On"
    assert resources["MachineAliaslive"]["Condition"] == "On"
    assert resources["Rule"]["DependsOn"] == ["EventsRolePinVersionsStartMachine"]
    # Other has no Condition (a template error of its own, Ref of a conditional resource):
    # it never waits for a resource that may not exist.
    assert "DependsOn" not in resources["Other"]


WEIRD: list[Any] = [
    None,
    0,
    True,
    "x",
    [],
    {},
    [None],
    {"Ref": None},
    {"Fn::If": ["C", {"Ref": "Machine"}, {"Ref": "AWS::NoValue"}]},
    {"Fn::Sub": ["${Machine}", "not a mapping"]},
    {"Fn::Sub": 3},
    {"Fn::Join": ["", "not a list"]},
    {"Fn::GetAtt": ["Machine"]},
]


@pytest.mark.parametrize("value", WEIRD, ids=repr)
@pytest.mark.parametrize(
    "where",
    [
        "target",
        "role",
        "targets",
        "properties",
        "alias-name",
        "alias-properties",
        "policy-statement",
        "sam-auto-publish",
    ],
)
def test_odd_shapes_never_crash(value: Any, where: str) -> None:
    """Wherever the alias planner reads, an odd value is an error naming it, or is left
    alone: never an internal error (PV900)."""
    everything = {"EventBridge": True, "Scheduler": True, "Pipes": True, "ApiGateway": True}
    template = _template({"Alias": {"Name": "live", "MoveCallers": everything}})
    resources = template["Resources"]
    rule = _rule({"Ref": "Machine"})
    resources["Rule"] = rule
    alias = {
        "Type": "AWS::StepFunctions::StateMachineAlias",
        "Properties": {
            "Name": "old",
            "RoutingConfiguration": [{"StateMachineVersionArn": {"Ref": "V"}, "Weight": 100}],
        },
    }
    resources["V"] = {
        "Type": "AWS::StepFunctions::StateMachineVersion",
        "Properties": {"StateMachineArn": {"Ref": "Machine"}},
    }
    resources["Old"] = alias
    resources["EventsRole"]["Properties"]["Policies"] = [
        {
            "PolicyName": "p",
            "PolicyDocument": {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "states:StartExecution",
                        "Resource": {"Ref": "Old"},
                    }
                ]
            },
        }
    ]
    if where == "target":
        rule["Properties"]["Targets"][0]["Arn"] = value
    elif where == "role":
        rule["Properties"]["Targets"][0]["RoleArn"] = value
    elif where == "targets":
        rule["Properties"]["Targets"] = value
    elif where == "properties":
        rule["Properties"] = value
    elif where == "alias-name":
        alias["Properties"]["Name"] = value
    elif where == "alias-properties":
        alias["Properties"] = value
    elif where == "policy-statement":
        resources["EventsRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"] = [
            value
        ]
    else:
        resources["Machine"] = {
            "Type": "AWS::Serverless::StateMachine",
            "Properties": {
                "AutoPublishAlias": value,
                "DeploymentPreference": value,
                "UseAliasAsEventTarget": value,
                "Events": {"E": value},
                "Definition": {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}},
            },
        }
    try:
        transform(template, Context())
    except TransformError as error:
        assert all(d.code != "PV900" for d in error.diagnostics), error.diagnostics


def test_a_parent_in_a_cycle_is_left_on_the_child_saying_why() -> None:
    moved = {"Alias": {"Name": "live", "MoveCallers": {"StepFunctions": True}}}
    template = _nested({"Definition": _task({"Ref": "Machine"})})
    # The child starts the parent too (kinds leaves such Tasks alone: PV140).
    template["Resources"]["Machine"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Metadata": {"PinVersions": moved},
        "Properties": {
            "RoleArn": {"Fn::GetAtt": ["EventsRole", "Arn"]},
            "Definition": _task({"Fn::GetAtt": ["Parent", "Arn"]}),
        },
    }
    template["Resources"]["Parent"]["Metadata"] = {"PinVersions": {"Alias": False}}
    result = transform(template, Context())
    node: Any = result.template["Resources"]["Parent"]["Properties"]
    for key in RUN:
        node = node[key]
    assert node["StateMachineArn"] == {"Ref": "Machine"}
    codes = {w.code: w for w in result.report.warnings}
    assert "circular dependency" in codes["PV155"].message
    assert new_lint_errors(template, result.template) == []


def test_what_the_alias_adds_counts_toward_the_resource_limit() -> None:
    template = _template({"Alias": {"Name": "live"}})
    for index in range(497):  # 499 resources with Machine and EventsRole
        template["Resources"][f"Topic{index}"] = {"Type": "AWS::SNS::Topic"}
    with pytest.raises(TransformError) as raised:
        transform(template, Context())
    (error,) = raised.value.diagnostics
    assert error.code == "PV906"
    assert "the template has 499 resources and pinning adds 2: 501" in error.message


def test_after_sam_an_api_event_starts_the_alias() -> None:
    """SAM's Api event (an AWS::ApiGateway::Method whose request template names the state
    machine) moves to the alias when PinVersions runs after SAM; SAM's role for it already
    allows the state machine ARN, so it gets no second grant."""
    from pin_versions.local.sam_local import translate

    sam = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Metadata": {
            "PinVersions": {"Alias": {"Name": "live", "MoveCallers": {"ApiGateway": True}}}
        },
        "Resources": {
            "Orders": {
                "Type": "AWS::Serverless::StateMachine",
                "Properties": {
                    "Definition": {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}},
                    "Events": {
                        "Post": {"Type": "Api", "Properties": {"Path": "/", "Method": "post"}}
                    },
                },
            }
        },
    }
    expanded = translate({k: v for k, v in sam.items() if k != "Transform"}, {})
    result = transform(expanded, Context())
    body = result.template["Resources"]["ServerlessRestApi"]["Properties"]["Body"]
    integration = body["paths"]["/"]["post"]["x-amazon-apigateway-integration"]
    templates = json.dumps(integration["requestTemplates"])
    assert "${OrdersAliaslive}" in templates and "${Orders}" not in templates
    (entry,) = result.report.aliases
    assert entry.callers == (
        "Resources.ServerlessRestApi.Properties.Body.paths./.post"
        ".x-amazon-apigateway-integration.requestTemplates.application/json",
    )
    assert entry.grants == ()
    assert [w.code for w in result.report.warnings] == ["PV156"]
    assert new_lint_errors(expanded, result.template) == []


def test_a_lower_case_type_is_quoted_in_the_message() -> None:
    assert _errors(_pref({"Type": "canary", "Percentage": 10, "Interval": 5})) == [
        (
            f"{PATH}.DeploymentPreference.Type",
            "is 'canary'; write one of CANARY, LINEAR, ALL_AT_ONCE",
        )
    ]


@pytest.mark.parametrize("where", ["template", "resource"])
def test_an_alarm_that_refs_a_resource_other_than_an_alarm_fails(where: str) -> None:
    """CloudWatch treats an unknown alarm name as OK: a Ref to a function would never roll
    the shift back. A Ref to an alarm of the template passes."""
    alias = {
        "Name": "live",
        "DeploymentPreference": {
            "Type": "ALL_AT_ONCE",
            "Alarms": [{"Ref": "Errors"}, {"Ref": "EventsRole"}],
        },
    }
    alarm = {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "MetricName": "ExecutionsFailed",
            "Namespace": "AWS/States",
            "Period": 60,
            "Statistic": "Sum",
        },
    }
    template = _template({} if where == "resource" else {"Alias": alias}, Errors=alarm)
    base = "Metadata.PinVersions.Alias"
    if where == "resource":
        template["Resources"]["Machine"]["Metadata"] = {"PinVersions": {"Alias": alias}}
        base = f"Resources.Machine.{base}"
    with pytest.raises(TransformError) as failure:
        transform(template, Context())
    assert [(d.code, d.path) for d in failure.value.diagnostics] == [
        ("PV930", f"{base}.DeploymentPreference.Alarms[1]")
    ]
    assert "AWS::IAM::Role, not a CloudWatch alarm" in failure.value.diagnostics[0].message


def test_a_parent_moved_to_the_alias_is_as_asked_on_a_second_pass() -> None:
    """Strict and MoveCallers.StepFunctions: the first pass moves the parent's Task to the
    child's alias; the second reads it as the Task the option moved (no PV104 under Strict),
    keeps its grant, and changes nothing (found by the explore-profile fuzz run)."""
    from pin_versions.local.yaml_io import load_file  # the command line's loader

    path = Path(__file__).parent / "golden" / "alias-step-functions-callers" / "input.yaml"
    template = load_file(path)
    template["Metadata"] = {"PinVersions": {"Strict": True}}
    first = transform(template, Context("us-east-1", "123456789012", {})).template
    second = transform(first, Context("us-east-1", "123456789012", {}))
    assert second.template == first
    assert "PV104" not in {w.code for w in second.report.warnings}

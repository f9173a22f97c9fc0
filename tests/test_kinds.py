"""The issue 14 target kinds (nested state machines, ECS task definitions, Batch job
definitions): what is left alone and why, reuse and naming of state machine versions, roles
that already allow what a Task needs, Credentials roles, cycles and turning a kind off. The
golden cases (tests/golden/kinds-*) show whole templates; these pin down one rule each."""

from __future__ import annotations

from typing import Any

import pytest

from pin_versions import Context, TransformError, transform

ROLE_ARN = "arn:aws:iam::123456789012:role/external"
CONTEXT = Context("us-east-1", "123456789012", {})


def _role(statements: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {
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
    }
    if statements is not None:
        properties["Policies"] = [
            {
                "PolicyName": "own",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }
        ]
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def _machine(states: dict[str, Any], role: Any = None, **extra: Any) -> dict[str, Any]:
    first = next(iter(states))
    properties = {
        "RoleArn": role if role is not None else {"Fn::GetAtt": ["Role", "Arn"]},
        "Definition": {"StartAt": first, "States": states},
        **extra,
    }
    return {"Type": "AWS::StepFunctions::StateMachine", "Properties": properties}


def _start(arn: Any, suffix: str = "", **task: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:startExecution{suffix}",
        "Parameters": {"StateMachineArn": arn},
        "End": True,
        **task,
    }


CHILD = _machine({"Done": {"Type": "Succeed"}}, StateMachineName="child")
TASK_DEFINITION = {
    "Type": "AWS::ECS::TaskDefinition",
    "Properties": {
        "Family": "web",
        "ContainerDefinitions": [{"Name": "web", "Image": "busybox", "Memory": 128}],
    },
}
JOB_DEFINITION = {
    "Type": "AWS::Batch::JobDefinition",
    "Properties": {"Type": "container", "JobDefinitionName": "nightly"},
}


def _run(resources: dict[str, Any], **metadata: Any) -> Any:
    template: dict[str, Any] = {"Resources": {"Role": _role(), **resources}}
    if metadata:
        template["Metadata"] = {"PinVersions": metadata}
    return transform(template, CONTEXT)


def _warnings(result: Any) -> list[tuple[str, str]]:
    return [(w.code, w.path) for w in result.report.warnings]


def _task(result: Any, machine: str = "Parent", state: str = "A") -> Any:
    return result.template["Resources"][machine]["Properties"]["Definition"]["States"][state]


@pytest.mark.parametrize(
    ("arn", "code", "words"),
    [
        (
            "arn:aws:states:us-east-1:123456789012:stateMachine:elsewhere",
            "PV101",
            "names no state machine of this template",
        ),
        (
            "arn:aws:states:eu-west-1:123456789012:stateMachine:child",
            "PV101",
            "names a state machine in region eu-west-1",
        ),
        (
            {"Fn::ImportValue": "shared-machine"},
            "PV101",
            "cannot tell which state machine Fn::ImportValue names",
        ),
        (
            "arn:aws:states:us-east-1:123456789012:stateMachine:child:live",
            "PV104",
            "through 'live'",
        ),
        (
            "arn:aws:states:us-east-1:123456789012:stateMachine:child:3",
            "PV103",
            "revision 3",
        ),
        ({"Ref": "Role"}, "PV101", "Role, which is not a state machine"),
        ({"Fn::GetAtt": ["Child", "Name"]}, "PV101", "is not the ARN of the state machine"),
    ],
)
def test_a_child_that_cannot_be_pinned_is_left_alone_and_named(
    arn: Any, code: str, words: str
) -> None:
    result = _run({"Child": CHILD, "Parent": _machine({"A": _start(arn)})})
    path = "Resources.Parent.Properties.Definition.States.A.Parameters.StateMachineArn"
    assert _warnings(result) == [(code, path)]
    assert words in result.report.warnings[0].message
    assert _task(result)["Parameters"]["StateMachineArn"] == arn
    assert "ChildVersion" not in result.template["Resources"]


def test_a_dynamic_child_is_reported_as_dynamic() -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn.$": "$.machine"},
        "End": True,
    }
    result = _run({"Child": CHILD, "Parent": _machine({"A": task})})
    assert _warnings(result) == [
        ("PV102", 'Resources.Parent.Properties.Definition.States.A.Parameters["StateMachineArn.$"]')
    ]


def test_jsonata_arguments_in_a_definition_object() -> None:
    task = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": "arn:aws:states:::states:startExecution.sync",
        "Arguments": {"StateMachineArn": {"Ref": "Child"}, "Input": "{% $states.input %}"},
        "End": True,
    }
    result = _run({"Child": CHILD, "Parent": _machine({"A": task})})
    assert _task(result)["Arguments"]["StateMachineArn"] == {"Ref": "ChildVersion"}
    pin = result.report.pins[0]
    assert (pin.function, pin.version, pin.kind) == ("Child", "ChildVersion", "state-machine")


def test_a_taken_version_id_falls_back_and_an_existing_version_is_reused() -> None:
    taken = {"Type": "AWS::SNS::Topic"}
    result = _run(
        {"Child": CHILD, "ChildVersion": taken, "Parent": _machine({"A": _start({"Ref": "Child"})})}
    )
    assert _task(result)["Parameters"]["StateMachineArn"] == {"Ref": "ChildPinVersionsVersion"}
    assert result.template["Resources"]["ChildPinVersionsVersion"]["Type"] == (
        "AWS::StepFunctions::StateMachineVersion"
    )

    existing = {
        "Type": "AWS::StepFunctions::StateMachineVersion",
        "Properties": {"StateMachineArn": {"Ref": "Child"}, "Description": "mine"},
    }
    result = _run(
        {"Child": CHILD, "Mine": existing, "Parent": _machine({"A": _start({"Ref": "Child"})})}
    )
    assert _warnings(result) == [("PV141", "Resources.Mine")]
    assert _task(result)["Parameters"]["StateMachineArn"] == {"Ref": "Mine"}
    mine = result.template["Resources"]["Mine"]
    assert (mine["DeletionPolicy"], mine["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert mine["Properties"]["StateMachineRevisionId"] == {
        "Fn::GetAtt": ["Child", "StateMachineRevisionId"]
    }
    assert "ChildVersion" not in result.template["Resources"]


def test_both_version_ids_taken_is_an_error() -> None:
    topic = {"Type": "AWS::SNS::Topic"}
    with pytest.raises(TransformError) as error:
        _run(
            {
                "Child": CHILD,
                "ChildVersion": topic,
                "ChildPinVersionsVersion": topic,
                "Parent": _machine({"A": _start({"Ref": "Child"})}),
            }
        )
    assert [(d.code, d.path) for d in error.value.diagnostics] == [
        ("PV911", "Resources.ChildPinVersionsVersion")
    ]


def test_a_skipped_child_is_left_alone() -> None:
    skipped = {**CHILD, "Metadata": {"PinVersions": {"Skip": True}}}
    result = _run({"Child": skipped, "Parent": _machine({"A": _start({"Ref": "Child"})})})
    assert (
        "PV110",
        "Resources.Parent.Properties.Definition.States.A.Parameters.StateMachineArn",
    ) in (_warnings(result))
    assert _task(result)["Parameters"]["StateMachineArn"] == {"Ref": "Child"}


def test_a_machine_that_starts_itself_is_a_cycle() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:self"
    loop = _machine({"A": _start(arn)}, StateMachineName="self")
    result = _run({"Loop": loop})
    assert [code for code, _ in _warnings(result)] == ["PV140"]
    assert _task(result, "Loop")["Parameters"]["StateMachineArn"] == arn
    assert "LoopVersion" not in result.template["Resources"]


def test_a_role_that_already_allows_it_gets_no_grant() -> None:
    everything = [{"Effect": "Allow", "Action": "states:*", "Resource": "*"}]
    resources = {"Child": CHILD, "Parent": _machine({"A": _start({"Ref": "Child"}, ".sync")})}
    template = {"Resources": {"Role": _role(everything), **resources}}
    result = transform(template, CONTEXT)
    # .sync also needs events:* on the managed rule, which states:* does not give.
    assert [g.function for g in result.report.grants] == ["Child"]

    enough = [*everything, {"Effect": "Allow", "Action": "events:*", "Resource": "*"}]
    template = {"Resources": {"Role": _role(enough), **resources}}
    result = transform(template, CONTEXT)
    assert result.report.grants == []
    assert [(r.role, r.functions, r.added) for r in result.report.roles] == [
        ("Role", ("Child",), ())
    ]


def test_start_execution_on_the_child_arn_covers_a_plain_start() -> None:
    literal = "arn:aws:states:us-east-1:123456789012:stateMachine:child"
    own: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": literal}
    ]
    template = {
        "Resources": {
            "Role": _role(own),
            "Child": CHILD,
            "Parent": _machine({"A": _start({"Fn::GetAtt": ["Child", "Arn"]})}),
        }
    }
    assert transform(template, CONTEXT).report.grants == []
    # The same statement with a Condition is not trusted (it may not hold).
    own[0]["Condition"] = {"StringEquals": {"aws:RequestTag/x": "y"}}
    assert [g.function for g in transform(template, CONTEXT).report.grants] == ["Child"]
    # `Ref Child` covers it today but follows the child through a rename, which would leave
    # the day-1 child's version unstartable: the retained grant is added (the transition
    # scenario nested-child-renamed shows it on the emulator).
    del own[0]["Condition"]
    own[0]["Resource"] = {"Ref": "Child"}
    assert [g.function for g in transform(template, CONTEXT).report.grants] == ["Child"]


def test_an_ecs_revision_only_grant_does_not_cover_the_family() -> None:
    one_revision = [{"Effect": "Allow", "Action": "ecs:RunTask", "Resource": {"Ref": "Web"}}]
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"TaskDefinition": "web"},
        "End": True,
    }
    template = {
        "Resources": {
            "Role": _role(one_revision),
            "Web": TASK_DEFINITION,
            "Parent": _machine({"A": task}),
        }
    }
    result = transform(template, CONTEXT)
    assert _task(result)["Parameters"]["TaskDefinition"] == {"Ref": "Web"}
    (grant,) = result.report.grants
    policy = result.template["Resources"][grant.logical_id]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:"
                    "task-definition/web:*"
                }
            ],
        }
    ]
    web = result.template["Resources"]["Web"]
    assert (web["DeletionPolicy"], web["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_a_fixed_revision_is_left_alone() -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {"JobName": "n", "JobQueue": "q", "JobDefinition": "nightly:4"},
        "End": True,
    }
    result = _run({"Nightly": JOB_DEFINITION, "Parent": _machine({"A": task})})
    assert [code for code, _ in _warnings(result)] == ["PV103"]
    assert "revision 4" in result.report.warnings[0].message
    assert "DeletionPolicy" not in result.template["Resources"]["Nightly"]


def test_batch_retention_and_a_user_policy_overridden_with_a_warning() -> None:
    job = {**JOB_DEFINITION, "DeletionPolicy": "Delete"}
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob",
        "Parameters": {"JobName": "n", "JobQueue": "q", "JobDefinition": {"Ref": "Nightly"}},
        "End": True,
    }
    result = _run({"Nightly": job, "Parent": _machine({"A": task})})
    assert _warnings(result) == [("PV142", "Resources.Nightly.DeletionPolicy")]
    nightly = result.template["Resources"]["Nightly"]
    assert nightly["DeletionPolicy"] == nightly["UpdateReplacePolicy"] == "Retain"
    assert nightly["Properties"]["ResourceRetentionPolicy"] == {"SkipDeregisterOnUpdate": True}
    assert _task(result)["Parameters"]["JobDefinition"] == {"Ref": "Nightly"}


def test_a_credentials_role_outside_the_template_gets_the_statement_to_add() -> None:
    task = _start({"Ref": "Child"}, Credentials={"RoleArn": ROLE_ARN})
    result = _run({"Child": CHILD, "Parent": _machine({"A": task})})
    (warning,) = result.report.warnings
    assert warning.code == "PV116"
    assert '"Action": "states:StartExecution"' in warning.message
    assert '{"Ref": "Child"}' in warning.message
    assert _task(result)["Parameters"]["StateMachineArn"] == {"Ref": "ChildVersion"}


def test_lambda_turned_off_leaves_lambda_tasks_alone() -> None:
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Runtime": "python3.13", "Handler": "i.h", "Code": {"ZipFile": "x"}},
    }
    states = {
        "A": {"Type": "Task", "Resource": {"Fn::GetAtt": ["Fn", "Arn"]}, "Next": "B"},
        "B": _start({"Ref": "Child"}),
    }
    result = _run(
        {"Fn": function, "Child": CHILD, "Parent": _machine(states)},
        Kinds={"LambdaFunction": False},
    )
    assert _task(result)["Resource"] == {"Fn::GetAtt": ["Fn", "Arn"]}
    assert [p.kind for p in result.report.pins] == ["state-machine"]
    assert result.report.versions == []


def test_a_bad_kinds_option_is_reported_with_every_other_error() -> None:
    broken = _machine({"A": _start({"Ref": "Child"})})
    broken["Properties"]["Definition"] = None
    broken["Properties"]["DefinitionString"] = "{"
    template = {
        "Metadata": {"PinVersions": {"Kinds": {"StepFunctions": False}}},
        "Resources": {"Role": _role(), "Child": CHILD, "Parent": broken},
    }
    with pytest.raises(TransformError) as error:
        transform(template, CONTEXT)
    assert [(d.code, d.path) for d in error.value.diagnostics] == [
        ("PV903", "Metadata.PinVersions.Kinds.StepFunctions"),
        ("PV920", "Resources.Parent.Properties"),
    ]


def test_strict_makes_a_cycle_fail() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:self"
    loop = _machine({"A": _start(arn)}, StateMachineName="self")
    with pytest.raises(TransformError) as error:
        _run({"Loop": loop}, Strict=True)
    assert [d.code for d in error.value.diagnostics] == ["PV905"]
    assert "(PV140)" in error.value.diagnostics[0].message


def test_a_child_of_two_parents_gets_one_version_and_a_grant_per_role() -> None:
    other_role = _role()
    parents = {
        "First": _machine({"A": _start({"Ref": "Child"})}),
        "Second": _machine(
            {"A": _start({"Fn::GetAtt": ["Child", "Arn"]}, ".sync")},
            role={"Fn::GetAtt": ["OtherRole", "Arn"]},
        ),
    }
    result = _run({"Child": CHILD, "OtherRole": other_role, **parents})
    added = [k for k in result.template["Resources"] if k.endswith("Version")]
    assert added == ["ChildVersion"]
    assert sorted((g.role, g.function) for g in result.report.grants) == [
        ("OtherRole", "Child"),
        ("Role", "Child"),
    ]
    for machine in ("First", "Second"):
        assert _task(result, machine)["Parameters"]["StateMachineArn"] == {"Ref": "ChildVersion"}


@pytest.mark.parametrize(
    "arn",
    [
        {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
            "stateMachine:${Child.Name}"
        },
        {"Fn::Sub": "arn:aws:states:${AWS::Region}:${AWS::AccountId}:stateMachine:child"},
        {"Fn::GetAtt": ["Child", "Arn"]},
    ],
)
def test_every_way_of_naming_the_child_is_pinned(arn: Any) -> None:
    result = _run({"Child": CHILD, "Parent": _machine({"A": _start(arn)})})
    assert _warnings(result) == []
    pinned = _task(result)["Parameters"]["StateMachineArn"]
    assert pinned in ({"Ref": "ChildVersion"}, {"Fn::Sub": "${ChildVersion}"})
    assert [(p.function, p.version) for p in result.report.pins] == [("Child", "ChildVersion")]


def test_a_task_pinned_by_hand_keeps_its_version_alive() -> None:
    version = {
        "Type": "AWS::StepFunctions::StateMachineVersion",
        "Properties": {"StateMachineArn": {"Ref": "Child"}},
    }
    result = _run(
        {"Child": CHILD, "Pinned": version, "Parent": _machine({"A": _start({"Ref": "Pinned"})})}
    )
    path = "Resources.Parent.Properties.Definition.States.A.Parameters.StateMachineArn"
    assert _warnings(result) == [("PV103", path), ("PV141", "Resources.Pinned")]
    assert _task(result)["Parameters"]["StateMachineArn"] == {"Ref": "Pinned"}
    pinned = result.template["Resources"]["Pinned"]
    assert pinned["DeletionPolicy"] == pinned["UpdateReplacePolicy"] == "Retain"
    assert pinned["Properties"]["StateMachineRevisionId"] == {
        "Fn::GetAtt": ["Child", "StateMachineRevisionId"]
    }
    assert [(g.role, g.function) for g in result.report.grants] == [("Role", "Child")]
    assert "ChildVersion" not in result.template["Resources"]


def test_an_fn_if_of_children_is_pinned_branch_by_branch() -> None:
    other = _machine({"Done": {"Type": "Succeed"}})
    chosen = {"Fn::If": ["Blue", {"Ref": "Child"}, {"Fn::GetAtt": ["Other", "Arn"]}]}
    template = {
        "Conditions": {"Blue": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}},
        "Resources": {
            "Role": _role(),
            "Child": CHILD,
            "Other": other,
            "Parent": _machine({"A": _start(chosen)}),
        },
    }
    result = transform(template, CONTEXT)
    assert _task(result)["Parameters"]["StateMachineArn"] == {
        "Fn::If": ["Blue", {"Ref": "ChildVersion"}, {"Ref": "OtherVersion"}]
    }
    assert [(p.function, p.version) for p in result.report.pins] == [
        ("Child", "ChildVersion"),
        ("Other", "OtherVersion"),
    ]
    assert sorted(g.function for g in result.report.grants) == ["Child", "Other"]

    # A branch that names something outside the template leaves the whole Fn::If alone.
    outside = "arn:aws:states:us-east-1:123456789012:stateMachine:elsewhere"
    template["Resources"]["Parent"] = _machine(
        {"A": _start({"Fn::If": ["Blue", {"Ref": "Child"}, outside]})}
    )
    result = transform(template, CONTEXT)
    assert [w.code for w in result.report.warnings] == ["PV101"]
    assert "an Fn::If branch names no state machine" in result.report.warnings[0].message
    assert "ChildVersion" not in result.template["Resources"]


@pytest.mark.parametrize(
    ("child", "pinned"),
    [
        ({}, True),  # STANDARD when unset
        ({"StateMachineType": "STANDARD"}, True),
        ({"StateMachineType": "EXPRESS"}, False),
        ({"StateMachineType": {"Ref": "ChildType"}}, False),  # not known to be STANDARD
    ],
)
def test_a_definition_in_s3_pins_a_standard_child_only(child: dict[str, Any], pinned: bool) -> None:
    """PV143: the Task that uses a substituted state machine ARN is out of sight; only a
    STANDARD child is pinned (an EXPRESS one may be started with StartSyncExecution, which
    documents no version ARN)."""
    parent = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "DefinitionS3Location": {"Bucket": "definitions", "Key": "parent.asl.json"},
            "DefinitionSubstitutions": {"ChildArn": {"Ref": "Child"}},
        },
    }
    child_machine = _machine({"Done": {"Type": "Succeed"}}, **child)
    result = _run({"Role": _role(), "Child": child_machine, "Parent": parent})
    substitution = result.template["Resources"]["Parent"]["Properties"]["DefinitionSubstitutions"]
    path = "Resources.Parent.Properties.DefinitionSubstitutions.ChildArn"
    if pinned:
        assert substitution["ChildArn"] == {"Ref": "ChildVersion"}
        assert ("PV143", path) not in _warnings(result)
    else:
        assert substitution["ChildArn"] == {"Ref": "Child"}
        assert "ChildVersion" not in result.template["Resources"]
        assert ("PV143", path) in _warnings(result)


def _ecs_grant(definition: dict[str, Any]) -> str:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"TaskDefinition": {"Ref": "Web"}},
        "End": True,
    }
    result = _run({"Web": definition, "Parent": _machine({"A": task})})
    (grant,) = result.report.grants
    return str(grant.logical_id)


def test_an_ecs_grant_follows_a_generated_family_through_every_replacement() -> None:
    """Every ECS task definition change replaces it; without a literal Family,
    CloudFormation names the replacement's family anew, so the retained grant must be a new
    one each time (the old one still allows the old family's revisions)."""
    generated = {k: v for k, v in TASK_DEFINITION.items()}
    generated["Properties"] = {
        k: v for k, v in TASK_DEFINITION["Properties"].items() if k != "Family"
    }
    changed = {**generated, "Properties": {**generated["Properties"], "Memory": "1024"}}
    tagged = {**generated, "Properties": {**generated["Properties"], "Tags": [{"Key": "a"}]}}
    assert _ecs_grant(generated) != _ecs_grant(changed)
    assert _ecs_grant(generated) == _ecs_grant(tagged)  # Tags update in place
    # A literal Family: the family and its grant stay through a replacement.
    named_changed = {
        **TASK_DEFINITION,
        "Properties": {**TASK_DEFINITION["Properties"], "Memory": "1024"},
    }
    assert _ecs_grant(TASK_DEFINITION) == _ecs_grant(named_changed)


@pytest.mark.parametrize(
    ("resource", "field", "target", "pinned"),
    [
        ("arn:aws:states:::aws-sdk:sfn:startExecution", "StateMachineArn", "Child", "ChildVersion"),
        ("arn:aws:states:::aws-sdk:ecs:runTask", "TaskDefinition", "Web", "Web"),
        ("arn:aws:states:::aws-sdk:batch:submitJob", "JobDefinition", "Nightly", "Nightly"),
    ],
)
def test_the_sdk_integrations_are_pinned_like_the_optimised_ones(
    resource: str, field: str, target: str, pinned: str
) -> None:
    """aws-sdk:sfn:startExecution, aws-sdk:ecs:runTask and aws-sdk:batch:submitJob take the
    same ARN as the optimised integrations: never a Task left unpinned and unreported."""
    names = {"Child": "child", "Web": "web", "Nightly": "nightly"}
    task = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": {field: f"{names[target]}" if target != "Child" else {"Ref": "Child"}},
        "End": True,
    }
    resources = {
        "Child": _machine({"Done": {"Type": "Succeed"}}),
        "Web": TASK_DEFINITION,
        "Nightly": JOB_DEFINITION,
        "Parent": _machine({"A": task}),
    }
    result = _run(resources)
    assert _task(result)["Parameters"][field] == {"Ref": pinned}
    assert [p.function for p in result.report.pins] == [target]

"""Issue 12, items 2-7: shapes found on real templates and hostile requests. Each input is a
test with the answer the macro must give: pinned, left alone with a warning that says what,
or a failure naming the path. Never a stack trace, never a Python type name."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from pin_versions import Context, TransformError, transform
from support import ACCOUNT, REGION, run_macro

CONTEXT = Context(REGION, ACCOUNT, {})
PYTHON_TYPES = re.compile(r"\b(NoneType|dict|int|float|bool|str|tuple)\b")


def function(code: str = "return event") -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.13",
            "Handler": "index.handler",
            "Role": "arn:aws:iam::123456789012:role/lambda",
            "Code": {"ZipFile": f"def handler(event, context): {code}"},
        },
    }


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


def template(machine_properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    properties = {"RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]}, **machine_properties}
    resources = {
        "Hello": function(),
        "Other": function("return 2"),
        "MachineRole": copy.deepcopy(ROLE),
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": properties},
    }
    resources.update(extra.pop("resources", {}))
    return {"Resources": resources, **extra}


def task_definition(resource: Any) -> dict[str, Any]:
    return {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": resource, "End": True}}}


def warnings_of(result_template: dict[str, Any]) -> list[tuple[str, str, str]]:
    report = transform(result_template, CONTEXT).report
    return [(w.code, w.path, w.message) for w in report.warnings]


def failure(value: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(TransformError) as raised:
        transform(value, CONTEXT)
    return [(d.code, d.path, d.message) for d in raised.value.diagnostics]


STRICT = {"Metadata": {"PinVersions": {"Strict": True}}}


# --- item 2: Fn::If --------------------------------------------------------------------


def test_fn_if_with_a_branch_outside_the_template_is_left_alone_saying_which() -> None:
    resource = {
        "Fn::If": [
            "IsProd",
            {"Fn::GetAtt": ["Hello", "Arn"]},
            "arn:aws:lambda:us-east-1:123456789012:function:elsewhere",
        ]
    }
    value = template({"Definition": task_definition(resource)}, Conditions=_IS_PROD)
    result = transform(value, CONTEXT)
    assert result.template == value
    assert [(w.code, w.message) for w in result.report.warnings] == [
        ("PV101", "left alone: an Fn::If branch names no function of this template")
    ]


def test_fn_if_whose_branches_are_already_versions_is_left_alone_as_a_version() -> None:
    resource = {"Fn::If": ["IsProd", {"Ref": "HelloV"}, {"Ref": "AWS::NoValue"}]}
    version = {
        "Type": "AWS::Lambda::Version",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {"FunctionName": {"Ref": "Hello"}},
    }
    value = template(
        {"Definition": task_definition(resource)},
        Conditions=_IS_PROD,
        resources={"HelloV": version},
    )
    assert warnings_of(value) == [
        (
            "PV103",
            "Resources.Machine.Properties.Definition.States.A.Resource",
            "left alone: every Fn::If branch invokes a published version",
        )
    ]


def test_fn_if_inside_a_longer_value_says_so() -> None:
    resource = {
        "Fn::Join": [
            ":",
            [{"Fn::If": ["IsProd", {"Fn::GetAtt": ["Hello", "Arn"]}, "x"]}, "7"],
        ]
    }
    value = template({"Definition": task_definition(resource)}, Conditions=_IS_PROD)
    ((code, _, message),) = warnings_of(value)
    assert (code, message) == (
        "PV101",
        "left alone: an Fn::If inside a longer value cannot be pinned; make the whole value "
        "one Fn::If",
    )


_IS_PROD = {"IsProd": {"Fn::Equals": ["a", "a"]}}


def test_fn_if_in_a_substitution_of_a_definition_kept_in_s3_is_pinned_branch_by_branch() -> None:
    value = template(
        {
            "DefinitionS3Location": {"Bucket": "bucket", "Key": "machine.asl.json"},
            "DefinitionSubstitutions": {
                "WorkerArn": {
                    "Fn::If": [
                        "IsProd",
                        {"Fn::GetAtt": ["Hello", "Arn"]},
                        {"Fn::GetAtt": ["Other", "Arn"]},
                    ]
                }
            },
        },
        Conditions=_IS_PROD,
    )
    result = transform(value, CONTEXT)
    versions = {v.function: v.version for v in result.report.versions}
    substitution = result.template["Resources"]["Machine"]["Properties"]["DefinitionSubstitutions"]
    assert substitution == {
        "WorkerArn": {"Fn::If": ["IsProd", {"Ref": versions["Hello"]}, {"Ref": versions["Other"]}]}
    }
    assert [(p.path, p.function) for p in result.report.pins] == [
        ("DefinitionSubstitutions.WorkerArn", "Hello"),
        ("DefinitionSubstitutions.WorkerArn", "Other"),
    ]


def test_fn_if_with_a_skipped_function_is_left_alone_whole() -> None:
    resource = {
        "Fn::If": ["IsProd", {"Fn::GetAtt": ["Hello", "Arn"]}, {"Fn::GetAtt": ["Other", "Arn"]}]
    }
    value = template({"Definition": task_definition(resource)}, Conditions=_IS_PROD)
    value["Resources"]["Other"]["Metadata"] = {"PinVersions": {"Skip": True}}
    result = transform(value, CONTEXT)
    assert result.template == value
    assert [(w.code, w.message) for w in result.report.warnings] == [
        ("PV110", "left alone: function Other is skipped")
    ]


# --- item 3: silently unpinned Tasks ------------------------------------------------------


DUPLICATE_STATES = (
    '{"StartAt": "Hello", "States": {'
    '"Hello": {"Type": "Task", "Resource": "${Hello.Arn}", "Next": "Other"}, '
    '"Other": {"Type": "Task", "Resource": "${Other.Arn}", "End": true}, '
    '"Hello": {"Type": "Pass", "End": true}}}'
)


def test_duplicate_state_names_leave_the_state_machine_alone_and_say_so() -> None:
    value = template({"DefinitionString": {"Fn::Sub": DUPLICATE_STATES}})
    result = transform(value, CONTEXT)
    assert result.template == value  # nothing half-pinned
    assert result.report.pins == []
    assert [(w.code, w.path, w.message) for w in result.report.warnings] == [
        (
            "PV130",
            "Resources.Machine.Properties.DefinitionString",
            'not a definition the macro can walk (the definition has the key "Hello" twice in '
            "one JSON object; the macro cannot tell which one Step Functions reads (it rejects "
            "duplicate state names: DUPLICATE_STATE_NAME)); the state machine is left alone and "
            "Step Functions judges its definition",
        )
    ]
    strict = failure({**value, **STRICT})
    assert [(code, path) for code, path, _ in strict] == [
        ("PV905", "Resources.Machine.Properties.DefinitionString")
    ]


def test_definition_and_definition_string_together_fail() -> None:
    value = template(
        {
            "Definition": task_definition({"Fn::GetAtt": ["Hello", "Arn"]}),
            "DefinitionString": {"Fn::Sub": json.dumps(task_definition("${Other.Arn}"))},
        }
    )
    assert failure(value) == [
        (
            "PV920",
            "Resources.Machine.Properties",
            "has both Definition and DefinitionString; a state machine takes exactly one of "
            "Definition, DefinitionString, DefinitionS3Location (CloudFormation fails the "
            "resource otherwise): keep one",
        )
    ]


def test_sam_definition_and_definition_uri_together_fail() -> None:
    value = {
        "Resources": {
            "Machine": {
                "Type": "AWS::Serverless::StateMachine",
                "Properties": {
                    "Definition": task_definition("x"),
                    "DefinitionUri": "s3://bucket/key",
                },
            }
        }
    }
    ((code, path, message),) = failure(value)
    assert (code, path) == ("PV920", "Resources.Machine.Properties")
    assert message.startswith("has both Definition and DefinitionUri;")


def test_unclosed_sub_placeholder_fails_with_its_line_and_column() -> None:
    text = (
        '{"StartAt": "A", "States": {\n'
        '  "A": {"Type": "Task", "Resource": "${Hello.Arn", "Next": "B"},\n'
        '  "B": {"Type": "Task", "Resource": "${Other.Arn}", "End": true}}}'
    )
    value = template({"DefinitionString": {"Fn::Sub": text}})
    assert failure(value) == [
        (
            "PV921",
            "Resources.Machine.Properties.DefinitionString.Fn::Sub",
            'the ${ at line 2 column 38 (\'${Hello.Arn", "Next": "B\') does not start a '
            "variable name; CloudFormation rejects Fn::Sub variables whose names are not "
            "letters, digits, _, . and : (write ${! for a literal ${)",
        )
    ]


def test_an_escape_never_hides_the_placeholders_behind_it() -> None:
    text = (
        '{"Comment": "costs ${!", "StartAt": "A", "States": '
        '{"A": {"Type": "Task", "Resource": "${Hello.Arn}", "End": true}}}'
    )
    value = template({"DefinitionString": {"Fn::Sub": text}})
    result = transform(value, CONTEXT)
    assert [(p.path, p.function) for p in result.report.pins] == [
        ("DefinitionString.States.A.Resource", "Hello")
    ]


def _nested_join(depth: int, inner: Any) -> Any:
    value = inner
    for _ in range(depth):
        value = {"Fn::Join": ["", [value]]}
    return value


@pytest.mark.parametrize("depth", [40, 80])
def test_a_join_nested_too_deeply_is_said_to_be_too_deep(depth: int) -> None:
    definition = _nested_join(depth, json.dumps(task_definition("${Hello.Arn}")))
    value = template({"DefinitionString": definition})
    result = transform(value, CONTEXT)
    assert result.template == value
    ((code, path, message),) = [(w.code, w.path, w.message) for w in result.report.warnings]
    assert (code, path) == ("PV130", "Resources.Machine.Properties")
    assert "nested more than 32 deep" in message
    assert "names no function" not in message


def test_a_resource_value_nested_too_deeply_is_said_to_be_too_deep() -> None:
    resource = _nested_join(80, {"Fn::GetAtt": ["Hello", "Arn"]})
    value = template({"Definition": task_definition(resource)})
    ((code, _, message),) = warnings_of(value)
    assert code == "PV130" and "nested more than 32 deep" in message


@pytest.mark.parametrize("where", ["DefinitionString", "Definition"])
def test_a_join_nested_past_the_template_limit_is_refused(where: str) -> None:
    """900 Fn::Join (2,700 levels) are past transform.MAX_NESTING (256 levels): refused at
    once naming the resource, whatever the caller's stack (tests/test_nesting.py)."""
    task = task_definition("${Hello.Arn}")
    value = template(
        {"DefinitionString": _nested_join(900, json.dumps(task))}
        if where == "DefinitionString"
        else {"Definition": task_definition(_nested_join(900, {"Fn::GetAtt": ["Hello", "Arn"]}))}
    )
    ((code, path, message),) = failure(value)
    assert (code, path) == ("PV910", "Resources.Machine")
    assert message.startswith("nests objects and lists more than 256 levels deep")


# --- item 4: definitions that are not ASL enough to walk ---------------------------------


def test_definition_without_states_is_left_alone_with_a_warning() -> None:
    """SAM's own test input embedded_connectors_sfn_to.yaml has Definition: {StartAt: X}."""
    value = template({"Definition": {"StartAt": "MyLambda"}})
    result = transform(value, CONTEXT)
    assert result.template == value
    assert [(w.code, w.path, w.message) for w in result.report.warnings] == [
        (
            "PV130",
            "Resources.Machine.Properties.Definition",
            "not a definition the macro can walk (it has no States object); the state machine "
            "is left alone and Step Functions judges its definition",
        )
    ]
    ((code, _, message),) = failure({**value, **STRICT})
    assert code == "PV905" and message.endswith("(PV130)")


def test_other_machines_are_still_pinned_next_to_an_unwalkable_one() -> None:
    value = template({"Definition": {"StartAt": "X", "States": {"X": "not a state"}}})
    value["Resources"]["Good"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]},
            "Definition": task_definition({"Fn::GetAtt": ["Hello", "Arn"]}),
        },
    }
    result = transform(value, CONTEXT)
    assert [(p.state_machine, p.function) for p in result.report.pins] == [("Good", "Hello")]
    assert [(w.code, w.path) for w in result.report.warnings] == [
        ("PV130", "Resources.Machine.Properties.Definition.States.X")
    ]


def test_invalid_json_text_still_fails_with_its_line_and_column() -> None:
    value = template({"DefinitionString": '{"StartAt": "A", "States": {'})
    ((code, _, message),) = failure(value)
    assert code == "PV904" and message.startswith("not valid JSON after substitution at line 1")


# --- item 5: Fn::ForEach before AWS::LanguageExtensions ------------------------------------


def test_for_each_keys_are_left_alone_with_advice_on_the_order() -> None:
    loop = [
        "Name",
        ["A", "B"],
        {"Fn${Name}": function()},
    ]
    value = template({"Definition": task_definition({"Fn::GetAtt": ["Hello", "Arn"]})})
    value["Resources"]["Fn::ForEach::Workers"] = loop
    result = transform(value, CONTEXT)
    assert result.template["Resources"]["Fn::ForEach::Workers"] == loop
    assert [p.function for p in result.report.pins] == ["Hello"]
    assert [(w.code, w.path, w.message) for w in result.report.warnings] == [
        (
            "PV131",
            "Resources.Fn::ForEach::Workers",
            "left alone: AWS::LanguageExtensions has not expanded this loop yet, so the macro "
            "cannot see the resources it makes; list PinVersions after "
            "AWS::LanguageExtensions under Transform to pin them",
        )
    ]


# --- item 6: crashes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("depends_on", "path", "what"),
    [
        (None, "DependsOn", "null"),
        (5, "DependsOn", "the number 5"),
        (True, "DependsOn", "the boolean true"),
        ({"Ref": "X"}, "DependsOn", "an object with 1 key (Ref)"),
        (["MachineRole", 7], "DependsOn[1]", "the number 7"),
    ],
)
def test_depends_on_that_is_not_logical_ids_fails_naming_the_path(
    depends_on: Any, path: str, what: str
) -> None:
    # The role depends on Hello through a policy: the macro adds a separate policy resource
    # and a DependsOn to the state machine.
    value = template({"Definition": task_definition({"Fn::GetAtt": ["Hello", "Arn"]})})
    value["Resources"]["Machine"]["DependsOn"] = depends_on
    ((code, where, message),) = failure(value)
    assert (code, where) == ("PV922", f"Resources.Machine.{path}")
    assert message.startswith(f"is {what};")
    response = run_macro(value)
    assert response["status"] == "failure"
    assert "[PV922]" in response["errorMessage"]


@pytest.mark.parametrize("where", ["Description", "parameter"])
def test_a_lone_surrogate_fails_naming_where_it_is(where: str) -> None:
    value = template({"Definition": task_definition({"Fn::GetAtt": ["Hello", "Arn"]})})
    parameters: dict[str, Any] = {}
    if where == "Description":
        value["Resources"]["Hello"]["Properties"]["Description"] = "bad \ud800 text"
        expected = "Resources.Hello.Properties.Description"
    else:
        value["Parameters"] = {"Stage": {"Type": "String"}}
        value["Resources"]["Hello"]["Properties"]["Environment"] = {
            "Variables": {"STAGE": {"Ref": "Stage"}}
        }
        parameters = {"Stage": "bad \udc00"}
        expected = "Parameters.Stage (the value passed for it)"
    response = run_macro(value, parameters)
    assert response["status"] == "failure", "the surrogate must not reach CloudFormation"
    assert response["errorMessage"] == (
        f"{expected}: contains a lone UTF-16 surrogate (such as \\ud800), which is not "
        "Unicode text and cannot be encoded; remove it [PV923]"
    )


# --- item 7: messages -----------------------------------------------------------------


def test_a_sub_variable_that_is_an_object_with_two_keys_is_said_to_be_one() -> None:
    variables = {
        "fn": {"Fn::GetAtt": ["Hello", "Arn"], "Extra": "x"},
    }
    text = json.dumps(task_definition("${fn}"))
    value = template({"DefinitionString": {"Fn::Sub": [text, variables]}})
    assert warnings_of(value) == [
        (
            "PV101",
            "Resources.Machine.Properties.DefinitionString.States.A.Resource",
            "left alone: the Fn::Sub variable fn is an object with 2 keys (Fn::GetAtt, Extra), "
            "which CloudFormation rejects: a variable is a string or one intrinsic function",
        )
    ]


@pytest.mark.parametrize("resource", [None, 5, True, [1, 2], {}, {"A": 1, "B": 2}])
def test_no_message_names_a_python_type(resource: Any) -> None:
    value = template({"Definition": task_definition(resource)})
    for _, _, message in warnings_of(value):
        assert not PYTHON_TYPES.search(message), message


def test_a_state_machine_without_role_arn_is_said_to_have_none() -> None:
    value = template({"Definition": task_definition({"Fn::GetAtt": ["Hello", "Arn"]})})
    del value["Resources"]["Machine"]["Properties"]["RoleArn"]
    ((code, path, message),) = warnings_of(value)
    assert (code, path) == ("PV106", "Resources.Machine")
    assert message.startswith("has no RoleArn, so no execution role the macro can widen")


def test_error_message_is_capped_and_says_what_was_cut() -> None:
    name = "x" * 100_000
    value = template({"Definition": task_definition({"Fn::GetAtt": ["Hello", "Arn"]})})
    value["Metadata"] = {"PinVersions": {name: True}}
    response = run_macro(value)
    assert response["status"] == "failure"
    message = response["errorMessage"]
    assert len(message) <= 4096
    assert "characters cut]" in message
    assert message.endswith("[PV903]")


@pytest.mark.parametrize(
    ("sub", "rendered", "names"),
    [
        ("${!Literal}", "${Literal}", []),
        ("${!!V{${!!Bar}", "${!V{${!Bar}", []),
        ('"${!x", "${Hello.Arn}"', '"${x", "${Hello.Arn}"', ["Hello.Arn"]),
        ("a${AWS::Region}b${!", "a${AWS::Region}b${", ["AWS::Region"]),
    ],
)
def test_sub_escapes_render_as_cfn_lint_models_them(
    sub: str, rendered: str, names: list[str]
) -> None:
    """Every ${! renders ${ and an escape never hides a placeholder behind it."""
    from pin_versions.intrinsics import parse_sub, sub_syntax_error

    tokens = parse_sub(sub)
    text = "".join("${" + t.text + "}" if t.kind == "ref" else t.text for t in tokens)
    assert text == rendered
    assert [t.text for t in tokens if t.kind == "ref"] == names
    assert sub_syntax_error(sub) is None


# --- found by the property and fuzz suites after the issue 11 / issue 12 merges ------------


def test_a_pin_written_after_an_unclosed_escape_is_a_placeholder() -> None:
    """tests/regressions/unclosed-escape-state-name.json: a state named ``${!`` (an escape
    never closed before the next ``$``) and a literal ARN in JSONata ``Arguments``. The
    ARN becomes ``${HelloVersion<h>}``, a placeholder CloudFormation substitutes: the ``${!``
    renders ``${`` and does not run over it (docs/design.md, "Reading Fn::Sub")."""
    from pin_versions.intrinsics import parse_sub

    text = (
        '{"StartAt": "${!", "States": {"${!": {"Type": "Task", "QueryLanguage": "JSONata", '
        '"Resource": "arn:aws:states:::lambda:invoke", "Arguments": {"FunctionName": '
        '"arn:aws:lambda:us-east-1:123456789012:function:fn-hello", "Payload": '
        '"{% $states.input %}"}, "End": true}}}'
    )
    value = template({"DefinitionString": {"Fn::Sub": text}})
    value["Resources"]["Hello"]["Properties"]["FunctionName"] = "fn-hello"
    result = transform(value, CONTEXT)
    (version,) = (
        k for k, r in result.template["Resources"].items() if r["Type"] == "AWS::Lambda::Version"
    )
    assert version.startswith("HelloVersion")
    written = result.template["Resources"]["Machine"]["Properties"]["DefinitionString"]
    expected = text.replace(
        "arn:aws:lambda:us-east-1:123456789012:function:fn-hello", "${" + version + "}"
    )
    assert written == {"Fn::Sub": expected}
    assert [t.text for t in parse_sub(expected) if t.kind == "ref"] == [version]
    assert [(p.path, p.function) for p in result.report.pins] == [
        ("DefinitionString.States.${.Arguments.FunctionName", "Hello")  # the name rendered
    ]
    again = transform(copy.deepcopy(result.template), CONTEXT)
    assert again.template == result.template


_CHOSEN_HELLO = {
    "Fn::If": [
        "IsProd",
        function("return 1")["Properties"],
        function("return 2")["Properties"],
    ]
}


def test_a_function_whose_properties_is_an_fn_if_is_left_alone_saying_so() -> None:
    """tests/regressions/sam-properties-an-intrinsic.json: CloudFormation takes
    ``Properties: !If [...]`` (cfn-lint#73). The macro cannot read or stamp such a function,
    so the Tasks that invoke it are left alone; it used to write a Description next to the
    Fn::If, an object CloudFormation would refuse, which a second pass read differently."""
    states = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": {"Fn::GetAtt": ["Hello", "Arn"]}, "Next": "B"},
            "B": {"Type": "Task", "Resource": {"Fn::GetAtt": ["Other", "Arn"]}, "End": True},
        },
    }
    value = template({"Definition": states}, Conditions=_IS_PROD)
    value["Resources"]["Hello"]["Properties"] = copy.deepcopy(_CHOSEN_HELLO)
    result = transform(copy.deepcopy(value), CONTEXT)
    resources = result.template["Resources"]
    assert resources["Hello"] == value["Resources"]["Hello"]
    machine = resources["Machine"]["Properties"]["Definition"]["States"]
    assert machine["A"]["Resource"] == {"Fn::GetAtt": ["Hello", "Arn"]}
    assert [(p.path, p.function) for p in result.report.pins] == [
        ("Definition.States.B.Resource", "Other")
    ]
    assert [(w.code, w.path, w.message) for w in result.report.warnings] == [
        (
            "PV132",
            "Resources.Hello.Properties",
            "left alone: Properties is an Fn::If, so the macro cannot see or change the "
            "properties CloudFormation will choose; Tasks that invoke this function are left "
            "alone. Write the Fn::If inside each property instead of around them to have them "
            "pinned",
        ),
        (
            "PV132",
            "Resources.Machine.Properties.Definition.States.A.Resource",
            "left alone: the Properties of function Hello is an Fn::If, which the macro cannot "
            "read",
        ),
    ]
    again = transform(copy.deepcopy(result.template), CONTEXT)
    assert again.template == result.template
    strict = failure({**value, **STRICT})
    assert [(code, path) for code, path, _ in strict] == [
        ("PV905", "Resources.Hello.Properties"),
        ("PV905", "Resources.Machine.Properties.Definition.States.A.Resource"),
    ]


def test_a_state_machine_whose_properties_is_an_fn_if_is_left_alone_saying_so() -> None:
    chosen = {
        "Fn::If": [
            "IsProd",
            {
                "RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]},
                "Definition": task_definition({"Fn::GetAtt": ["Hello", "Arn"]}),
            },
            {
                "RoleArn": {"Fn::GetAtt": ["MachineRole", "Arn"]},
                "Definition": task_definition({"Fn::GetAtt": ["Other", "Arn"]}),
            },
        ]
    }
    value = template({}, Conditions=_IS_PROD)
    value["Resources"]["Machine"]["Properties"] = chosen
    result = transform(copy.deepcopy(value), CONTEXT)
    assert result.template == value
    assert [(w.code, w.path) for w in result.report.warnings] == [
        ("PV132", "Resources.Machine.Properties")
    ]
    assert "this state machine is left alone" in result.report.warnings[0].message


@pytest.mark.parametrize(
    "definition",
    [
        {"Definition": task_definition("${Fn}")},
        {"DefinitionS3Location": {"Bucket": "bucket", "Key": "machine.asl.json"}},
    ],
    ids=["definition", "s3"],
)
def test_definition_substitutions_chosen_by_fn_if_leave_the_machine_alone(
    definition: dict[str, Any],
) -> None:
    """Read as a mapping, ``DefinitionSubstitutions: !If [...]`` hid the function its
    ``${Fn}`` names, with no warning, and the macro's keys would have gone next to the
    Fn::If."""
    substitutions = {
        "Fn::If": [
            "IsProd",
            {"Fn": {"Fn::GetAtt": ["Hello", "Arn"]}},
            {"Fn": {"Fn::GetAtt": ["Other", "Arn"]}},
        ]
    }
    value = template({**definition, "DefinitionSubstitutions": substitutions}, Conditions=_IS_PROD)
    result = transform(copy.deepcopy(value), CONTEXT)
    assert result.template == value
    assert [(w.code, w.path, w.message) for w in result.report.warnings] == [
        (
            "PV105",
            "Resources.Machine.Properties.DefinitionSubstitutions",
            "DefinitionSubstitutions is an Fn::If, so the macro cannot see which values "
            "CloudFormation will choose and the definition's Tasks cannot be followed; write "
            "the Fn::If inside each value that differs to have them pinned",
        )
    ]


_HELLO = {"Fn::GetAtt": ["Hello", "Arn"]}
_OTHER = {"Fn::GetAtt": ["Other", "Arn"]}


@pytest.mark.parametrize(
    ("definition", "where", "why"),
    [
        (
            {"Fn::If": ["IsProd", task_definition(_HELLO), task_definition(_OTHER)]},
            "Definition",
            "it is an Fn::If, not an object with States",
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Fn::If": [
                            "IsProd",
                            task_definition(_HELLO)["States"]["A"],
                            task_definition(_OTHER)["States"]["A"],
                        ]
                    }
                },
            },
            "Definition.States.A",
            "it is an Fn::If, so the macro cannot tell its type",
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Type": {"Fn::If": ["IsProd", "Task", "Pass"]},
                        "Resource": _HELLO,
                        "End": True,
                    }
                },
            },
            "Definition.States.A.Type",
            "it is an Fn::If, so the macro cannot tell its type",
        ),
        (
            {
                "StartAt": "P",
                "States": {
                    "P": {
                        "Type": "Parallel",
                        "Branches": [
                            {"Fn::If": ["IsProd", task_definition(_HELLO), task_definition(_OTHER)]}
                        ],
                        "End": True,
                    }
                },
            },
            "Definition.States.P.Branches[0]",
            "it is an Fn::If, not an object with States",
        ),
    ],
    ids=["definition", "state", "type", "branch"],
)
def test_a_part_of_the_definition_chosen_by_fn_if_is_never_passed_over(
    definition: dict[str, Any], where: str, why: str
) -> None:
    """A state that is an ``Fn::If`` (or whose Type is) may be a Task: it used to be passed
    over as a state of no known type, its Task unpinned without a word. Now PV130."""
    value = template({"Definition": definition}, Conditions=_IS_PROD)
    result = transform(copy.deepcopy(value), CONTEXT)
    assert result.template == value
    assert [(w.code, w.path, w.message) for w in result.report.warnings] == [
        (
            "PV130",
            f"Resources.Machine.Properties.{where}",
            f"not a definition the macro can walk ({why}); the state machine is left alone "
            "and Step Functions judges its definition",
        )
    ]


def test_task_parameters_chosen_by_fn_if_are_said_to_be_unread() -> None:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"Fn::If": ["IsProd", {"FunctionName": _HELLO}, {"FunctionName": _OTHER}]},
        "End": True,
    }
    value = template({"Definition": {"StartAt": "A", "States": {"A": state}}}, Conditions=_IS_PROD)
    result = transform(copy.deepcopy(value), CONTEXT)
    assert result.template == value
    assert [(w.code, w.path, w.message) for w in result.report.warnings] == [
        (
            "PV102",
            "Resources.Machine.Properties.Definition.States.A.Parameters",
            "Parameters is an Fn::If, which the macro does not read; the macro cannot pin it",
        )
    ]

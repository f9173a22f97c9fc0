"""The public API: what `import pin_versions` offers the CLI, the bench and the tests."""

from __future__ import annotations

import copy
import importlib

import pytest

import pin_versions
from pin_versions import Context, Diagnostic, Result, TransformError, transform
from pin_versions.report import format_path

TEMPLATE = {
    "Resources": {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}}},
        "Machine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": "arn:aws:iam::123456789012:role/r",
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
    }
}


def test_transform_returns_a_result_with_the_pin() -> None:
    result = transform(TEMPLATE, Context("us-east-1", "123456789012", {}))
    assert isinstance(result, Result)
    task = result.template["Resources"]["Machine"]["Properties"]["Definition"]["States"]["A"]
    assert task["Resource"] == {"Ref": result.report.pins[0].version}
    assert TEMPLATE["Resources"]["Machine"]["Properties"]["Definition"]["States"]["A"][
        "Resource"
    ] == {"Fn::GetAtt": ["Fn", "Arn"]}


def test_transform_error_carries_diagnostics() -> None:
    with pytest.raises(TransformError) as caught:
        transform({"Resources": []})
    assert [type(d) for d in caught.value.diagnostics] == [Diagnostic]
    assert caught.value.diagnostics[0].code == "PV910"


def test_the_names_are_the_pipeline_s_own() -> None:
    module = importlib.import_module("pin_versions.transform")
    assert pin_versions.transform is module.transform  # not shadowed by the module
    assert set(pin_versions.__all__) <= set(dir(pin_versions))


def test_diagnostics_keep_their_path_as_a_tuple_until_formatted() -> None:
    template = copy.deepcopy(TEMPLATE)
    states = template["Resources"]["Machine"]["Properties"]["Definition"]["States"]
    states["A"]["Resource"] = "arn:aws:lambda:us-east-1:999999999999:function:elsewhere"
    result = transform(template, Context("us-east-1", "123456789012", {}))
    (warning,) = [w for w in result.report.warnings if w.code == "PV101"]
    parts = ("Resources", "Machine", "Properties", "Definition", "States", "A", "Resource")
    assert warning.parts == parts
    assert (
        warning.path
        == format_path(parts)
        == ("Resources.Machine.Properties.Definition.States.A.Resource")
    )
    assert Diagnostic.at("PV101", ("States", "B.c", 0), "m").path == 'States["B.c"][0]'
    assert Diagnostic.at("PV101", "Metadata.PinVersions", "m").parts is None

"""Logical IDs CloudFormation refuses (fuzz explore run, unicode_names): a resource named
``Hélló``, ``A.B``, ``A B``, ``${X}``, an emoji or ``Fn::Sub`` made the macro write Fn::Sub
placeholders such as ``${HéllóVersion...}`` that its own second pass refused (PV921).
CloudFormation takes only alphanumeric logical IDs (A-Za-z0-9, "Resources" section of the
CloudFormation User Guide), so the macro fails at once, naming the resource (PV924), whatever
kind of resource it is."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pin_versions.handler import lambda_handler
from pin_versions.inventory import valid_logical_id
from support import ROOT, load_path, macro_event

BAD_IDS = [
    "Hélló",
    "A.B",
    "A B",
    "${X}",
    "\U0001f600",
    "Fn::Sub",
    "AWS::Region",
    "A-B",
    "",
    "a" * 256,
]

# Between them, every kind of resource the macro reads or writes: Lambda and SAM functions,
# state machines (both), versions, aliases, roles, policies, ECS and Batch definitions.
GOLDEN = [
    "kinds-object",
    "kinds-sam",
    "existing-version",
    "alias-all-at-once-not-moved",
    "role-iam-policies",
    "sam-globals",
]


def _renamed(template: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    renamed = copy.deepcopy(template)
    renamed["Resources"] = {new if k == old else k: v for k, v in template["Resources"].items()}
    return renamed


def _answer(template: dict[str, Any]) -> dict[str, Any]:
    response = lambda_handler(macro_event(template), None)
    assert isinstance(response, dict)
    return response


@pytest.mark.parametrize("golden", GOLDEN)
def test_every_resource_with_a_logical_id_cloudformation_refuses_fails_naming_it(
    golden: str,
) -> None:
    template = load_path(ROOT / "tests" / "golden" / golden / "input.yaml")
    assert _answer(template)["status"] == "success"  # the template itself is fine
    for index, old in enumerate(sorted(template["Resources"])):
        new = BAD_IDS[index % len(BAD_IDS)]
        response = _answer(_renamed(template, old, new))
        assert response["status"] == "failure", (old, new)
        assert "fragment" not in response or not response["fragment"]
        message = response["errorMessage"]
        assert f"Resources.{new}: is not a logical ID CloudFormation takes" in message, message
        assert "[PV924]" in message and "alphanumeric (A-Za-z0-9)" in message


@pytest.mark.parametrize(
    "name", ["alias-logical-id-a-placeholder.json", "alias-logical-id-non-ascii.json"]
)
def test_the_earlier_fuzz_findings_with_such_ids_are_refused(name: str) -> None:
    """Two cases an earlier fuzz run kept as regressions (a state machine named ``${X}`` and
    ``Hélló`` with an alias): now refused with PV924 rather than transformed."""
    path: Path = ROOT / "tests" / "regressions" / "refused" / name
    found = json.loads(path.read_text(encoding="utf-8"))
    response = _answer(found["template"])
    assert response["status"] == "failure"
    assert response["errorMessage"].endswith("[PV924]"), response["errorMessage"]


def test_fn_for_each_loops_are_not_logical_ids() -> None:
    template = load_path(ROOT / "tests" / "golden" / "kinds-object" / "input.yaml")
    template["Resources"]["Fn::ForEach::Topics"] = [
        "Name",
        ["A", "B"],
        {"Topic${Name}": {"Type": "AWS::SNS::Topic"}},
    ]
    response = _answer(template)
    assert response["status"] == "success", response.get("errorMessage")


@pytest.mark.parametrize(
    ("logical_id", "valid"),
    [
        ("Hello", True),
        ("Hello2", True),
        ("2Hello", True),
        ("", False),
        ("Héllo", False),
        ("A_B", False),
        ("A.B", False),
        ("\uff21", False),
        ("\u0661", False),
        (7, False),
    ],
)
def test_valid_logical_id(logical_id: object, valid: bool) -> None:
    assert valid_logical_id(logical_id) is valid

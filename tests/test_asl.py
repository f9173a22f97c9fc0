"""The one ASL walk (pin_versions.asl) the macro and prune share."""

from __future__ import annotations

from typing import Any

import pytest

from pin_versions.asl import Unwalkable, is_jsonata, iter_tasks

NESTED: dict[str, Any] = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Task", "Resource": "a"},
        "P": {
            "Type": "Parallel",
            "Branches": [
                {"States": {"B": {"Type": "Task", "Resource": "b"}}},
                {"States": {"C": {"Type": "Pass"}, "D": {"Type": "Task", "Resource": "d"}}},
            ],
        },
        "M": {
            "Type": "Map",
            "ItemProcessor": {"States": {"E": {"Type": "Task", "Resource": "e"}}},
        },
        "Old": {"Type": "Map", "Iterator": {"States": {"F": {"Type": "Task", "Resource": "f"}}}},
        "G": {"Type": "Task", "Resource": "g"},
    },
}


def test_every_task_in_document_order_with_its_path() -> None:
    found = [(path, state["Resource"]) for path, state in iter_tasks(NESTED, ("Definition",))]
    assert found == [
        (("Definition", "States", "A"), "a"),
        (("Definition", "States", "P", "Branches", 0, "States", "B"), "b"),
        (("Definition", "States", "P", "Branches", 1, "States", "D"), "d"),
        (("Definition", "States", "M", "ItemProcessor", "States", "E"), "e"),
        (("Definition", "States", "Old", "Iterator", "States", "F"), "f"),
        (("Definition", "States", "G"), "g"),
    ]


def test_path_defaults_to_the_definition_root() -> None:
    assert next(path for path, _ in iter_tasks(NESTED)) == ("States", "A")


BROKEN = [
    ([], (), "it is not an object with States"),
    ({}, (), "it has no States object"),
    ({"States": []}, (), "States is not an object"),
    ({"States": {"A": 3}}, ("States", "A"), "the state is not an object"),
    (
        {"States": {"P": {"Type": "Parallel", "Branches": {}}}},
        ("States", "P", "Branches"),
        "Branches is not a list",
    ),
    (
        {"States": {"M": {"Type": "Map", "ItemProcessor": {"States": None}}}},
        ("States", "M", "ItemProcessor"),
        "it has no States object",
    ),
]


@pytest.mark.parametrize(("definition", "where", "why"), BROKEN)
def test_strict_walk_says_where_asl_cannot_be_walked(
    definition: Any, where: tuple[str | int, ...], why: str
) -> None:
    with pytest.raises(Unwalkable) as caught:
        list(iter_tasks(definition))
    assert (caught.value.path, caught.value.message) == (where, why)


@pytest.mark.parametrize(("definition", "where", "why"), BROKEN)
def test_lenient_walk_skips_what_cannot_be_walked(
    definition: Any, where: tuple[str | int, ...], why: str
) -> None:
    broken_inside = {
        "States": {
            "Z": {"Type": "Task", "Resource": "z"},
            "Inner": {"Type": "Parallel", "Branches": [definition]},
        }
    }
    assert [p for p, _ in iter_tasks(definition, strict=False)] == []
    assert [p for p, _ in iter_tasks(broken_inside, strict=False)] == [("States", "Z")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $states.input.f %}", True),
        ("  {%$f%}\n", True),
        ("{%%}", True),
        ("{% $f", False),
        ("$f %}", False),
        ("arn:aws:lambda:us-east-1:123456789012:function:f", False),
        ({"FunctionName": "{% $f %}"}, False),
        (None, False),
    ],
)
def test_is_jsonata(value: Any, expected: bool) -> None:
    assert is_jsonata(value) is expected

"""Templates nested hundreds of levels (fuzz explore run, deep_parallel and deep_intrinsics):
a first pass succeeded on a template its second pass refused (PV910), or answered with a
template too deep to encode, depending on how deep the caller's stack was. The macro takes
templates up to ``MAX_NESTING`` levels, refuses deeper ones at once (PV910 naming the
resource), and refuses an input its edits would take past the limit, so both passes agree."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import strategies
from pin_versions.transform import MAX_NESTING, deeper_than
from support import ROOT, load_path, macro_event
from test_properties import answer, check_case

BASE = load_path(ROOT / "tests" / "golden" / "sam-role-property" / "input.yaml")


def depth_of(value: Any) -> int:
    best, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            best = max(best, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return best


def _deep_description(joins: int) -> dict[str, Any]:
    template = copy.deepcopy(BASE)
    value: Any = "Says hello"
    for _ in range(joins):
        value = {"Fn::Join": ["", [value]]}
    template["Resources"]["Hello"]["Properties"]["Description"] = value
    return template


def _deep_parallel(levels: int) -> dict[str, Any]:
    template = copy.deepcopy(BASE)
    properties = template["Resources"]["Machine"]["Properties"]
    definition = properties["Definition"]
    for _ in range(levels):
        definition = {
            "StartAt": "P",
            "States": {"P": {"Type": "Parallel", "Branches": [definition], "End": True}},
        }
    properties["Definition"] = definition
    return template


def _fragment_depth(template: dict[str, Any]) -> int:
    return depth_of(macro_event(template)["fragment"])


def test_deepest_accepted_templates_pass_twice_with_every_invariant() -> None:
    # (MAX_NESTING - 6) // 3 Joins: the deepest whose stamped Description still fits.
    description = _deep_description((MAX_NESTING - 10) // 3)
    parallel = _deep_parallel((MAX_NESTING - 10) // 4)
    for template in (description, parallel):
        assert MAX_NESTING - 12 <= _fragment_depth(template) <= MAX_NESTING
        outcome = check_case(strategies.Case(template, {}, "deep"))
        assert outcome.ok, outcome.response.get("errorMessage")
        assert depth_of(outcome.fragment) <= MAX_NESTING


def test_an_input_the_edits_would_take_past_the_limit_is_refused_by_the_first_pass() -> None:
    # The stamp wraps the Description in one more Fn::Join: three levels deeper.
    joins = next(
        n for n in range(MAX_NESTING) if _fragment_depth(_deep_description(n)) >= MAX_NESTING - 1
    )
    template = _deep_description(joins)
    assert _fragment_depth(template) <= MAX_NESTING
    response = answer(macro_event(template))
    assert response["status"] == "failure"
    assert response["errorMessage"].startswith(
        f"Resources.Hello: with the macro's edits, nests objects and lists more than "
        f"{MAX_NESTING} levels deep"
    ), response["errorMessage"]
    assert response["errorMessage"].endswith("[PV910]")


@pytest.mark.parametrize("build", [_deep_description, _deep_parallel])
def test_a_deeper_input_is_refused_naming_the_resource(build: Any) -> None:
    levels = MAX_NESTING // 2  # 3 or 4 levels each: past the limit
    template = build(levels)
    assert _fragment_depth(template) > MAX_NESTING
    response = answer(macro_event(template))
    where = "Hello" if build is _deep_description else "Machine"
    assert response["status"] == "failure"
    assert response["errorMessage"].startswith(f"Resources.{where}: nests objects and lists")


def test_deeper_than_is_iterative() -> None:
    value: Any = "x"
    for _ in range(100_000):
        value = [value]
    assert deeper_than({"Resources": {"Deep": {"Properties": value}}}, 256)[0] == "Resources.Deep"
    assert deeper_than({"Outputs": value}, 256)[0] == "Outputs"
    # The deepest level seen, the template being level 1: Resources, A, B and the list.
    assert deeper_than({"Resources": {"A": {"B": [1]}}}, 4) == (None, 4)
    assert deeper_than({"Resources": {"A": {"B": [[1]]}}}, 4) == ("Resources.A", 5)

"""Hypothesis strategies: generated templates and mutations of real ones.

``cases()`` builds random but realistic templates from the shapes the golden cases show:
functions (literal or parameter names, Conditions, Descriptions, Skip, existing versions and
aliases), state machines in every definition form (``Definition`` object, ``DefinitionString``
plain, ``Fn::Sub`` with and without variables, CDK-style ``Fn::Join`` split at random points,
nested and with a delimiter, ``DefinitionS3Location``), random state trees (Task, Pass,
Choice, Wait, Parallel, Map with ``ItemProcessor`` or ``Iterator``) with unicode state names,
Tasks naming functions in every reference shape, roles of every attachment kind, and
``Metadata.PinVersions`` options.

``mutated_cases()`` takes real templates (the corpus, the golden inputs) and breaks them:
keys dropped, values of the wrong type, definitions truncated or made invalid, stray ``${``,
100 KB strings, nesting hundreds of levels deep, odd unicode, weird options.

Both give a ``Case``: a template and the parameter values CloudFormation sends with it.
"""

from __future__ import annotations

import copy
import csv
import itertools
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Any, TypeVar

from hypothesis import Phase, settings
from hypothesis import strategies as st

from support import ACCOUNT, CORPUS, REGION, load_path

T = TypeVar("T")

STATE_MACHINE = "AWS::StepFunctions::StateMachine"
SAM_STATE_MACHINE = "AWS::Serverless::StateMachine"
FUNCTION = "AWS::Lambda::Function"
SAM_FUNCTION = "AWS::Serverless::Function"
VERSION = "AWS::Lambda::Version"

# Definition forms of AWS::StepFunctions::StateMachine the generator writes.
FORMS = (
    "object",
    "plain",
    "sub",
    "sub-vars",
    "join",
    "join-nested",
    "join-delimiter",
    "s3",
    "sam",  # AWS::Serverless::StateMachine: Definition or DefinitionUri, Role or Policies
)

LAMBDA_ROLE = "service-role/AWSLambdaRole"
ROLE_ARN = "arn:aws:iam::123456789012:role/lambda"


def quota(examples: int) -> int:
    """``examples`` scaled by the hypothesis profile: x1 in ``ci`` (hypothesis' default of
    100 examples), x10 in ``explore`` (1,000)."""
    return max(1, examples * settings.default.max_examples // 100)


def budget(examples: int) -> settings:
    """Settings for a property or fuzz test: ``quota(examples)``, and no shrinking in CI.

    Shrinking a failing template takes minutes per test; CI shows the first failing case at
    once instead. ``HYPOTHESIS_PROFILE=shrink`` replays the same cases and shrinks.
    """
    phases = settings.default.phases
    if settings.get_current_profile_name() in ("ci", "ci-seeded"):
        phases = tuple(p for p in phases if p is not Phase.shrink)
    return settings(max_examples=quota(examples), phases=phases)


# Cases run in this process, by kind; conftest.py adds up the workers' and reports them.
CASES: Counter[str] = Counter()


@dataclass(frozen=True)
class Case:
    """A template and the ``templateParameterValues`` overrides sent with it."""

    template: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def __repr__(self) -> str:
        # Failure reports: what was drawn, and the template cut short (it may be 1 MB).
        try:
            text = json.dumps(self.template, ensure_ascii=False)
        except (RecursionError, TypeError, ValueError):
            text = "(too deep to print)"
        if len(text) > 6000:
            text = text[:6000] + f"... ({len(text)} characters)"
        return f"Case({self.label!r}, parameters={self.parameters!r}, template={text})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))  # hypothesis' pretty printer would print all of it


def pick(draw: st.DrawFn, options: Sequence[tuple[T, int]]) -> T:
    """One of ``options`` by weight; shrinks towards the first."""
    total = sum(weight for _, weight in options)
    number = draw(st.integers(0, total - 1))
    for value, weight in options:
        if number < weight:
            return value
        number -= weight
    raise AssertionError("unreachable")


@contextmanager
def deep_recursion() -> Iterator[None]:
    """Room for the tests' own copies and comparisons of templates nested hundreds of levels.

    The handler itself always runs with the default limit, as in Lambda.
    """
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, 50_000))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def deep_copy(value: T) -> T:
    with deep_recursion():
        return copy.deepcopy(value)


def one(draw: st.DrawFn, items: Sequence[T]) -> T:
    """An item by index: sampled_from would build a repr of big templates."""
    return items[draw(st.integers(0, len(items) - 1))]


def chance(draw: st.DrawFn, percent: int) -> bool:
    return draw(st.integers(0, 99)) < percent


# --- names ---------------------------------------------------------------------------------

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
logical_ids = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.text(_ALNUM, max_size=10),
)
function_names = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=24).map(
    lambda s: "fn-" + s
)

# Fragments that break naive string handling in JSON, Fn::Sub and the macro's own encodings.
TRICKY = (
    '"',
    "\\",
    "${",
    "${!",
    "$",
    "}",
    "{",
    "${Foo}",
    "${!Bar}",
    "\U0001f600",
    "\u2028",
    "é",
    "'",
    "/",
    ".",
    "[0]",
    " ",
    "\t",
    "{%",
    "%}",
    "\\u0041",
    "中",
    "\u200d",
    ":",
)
_plain_chars = st.characters(codec="utf-8", exclude_categories=("Cs", "Co"))
state_names = st.one_of(
    st.text(_ALNUM, min_size=1, max_size=8),
    st.text(_plain_chars, min_size=1, max_size=8),
    st.lists(
        st.one_of(st.sampled_from(TRICKY), st.text(_ALNUM, min_size=1, max_size=3)),
        min_size=1,
        max_size=4,
    ).map("".join),
)
plain_text = st.text(_plain_chars, max_size=20)


# --- values CloudFormation fills in ----------------------------------------------------------


@dataclass(frozen=True)
class Hole:
    """A value CloudFormation (or Step Functions) fills in, written per definition form.

    kind: ``getatt`` (name.attribute), ``ref`` (name), ``raw`` (any intrinsic in ``value``),
    ``subst`` (a ``DefinitionSubstitutions`` key ``name`` whose value is ``value``).
    """

    kind: str
    name: str = ""
    attribute: str = ""
    value: Any = None


@dataclass(frozen=True)
class Text:
    """A JSON string made of literal text and holes."""

    parts: tuple[str | Hole, ...]


@dataclass(frozen=True)
class Bare:
    """A hole outside any JSON string (``"Seconds": ${Wait}``)."""

    hole: Hole


def getatt(name: str, attribute: str = "Arn") -> Text:
    return Text((Hole("getatt", name, attribute),))


def ref(name: str) -> Text:
    return Text((Hole("ref", name),))


def literal(text: str) -> Text:
    return Text((text,))


def built_arn(function: str) -> Text:
    """``arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${F}``."""
    return Text(
        (
            "arn:",
            Hole("ref", "AWS::Partition"),
            ":lambda:",
            Hole("ref", "AWS::Region"),
            ":",
            Hole("ref", "AWS::AccountId"),
            ":function:",
            Hole("ref", function),
        )
    )


def hole_value(hole: Hole, getatt_string: bool = False) -> Any:
    """The hole as a template value (an intrinsic)."""
    if hole.kind == "getatt":
        if getatt_string:
            return {"Fn::GetAtt": f"{hole.name}.{hole.attribute}"}
        return {"Fn::GetAtt": [hole.name, hole.attribute]}
    if hole.kind == "ref":
        return {"Ref": hole.name}
    if hole.kind == "subst":
        return "${" + hole.name + "}"
    return hole.value


def escape_sub(text: str) -> str:
    return text.replace("${", "${!")


def sub_placeholder(hole: Hole) -> str | None:
    """How a hole is written inside an Fn::Sub string without variables, if it can be."""
    if hole.kind == "getatt":
        return "${" + f"{hole.name}.{hole.attribute}" + "}"
    if hole.kind == "ref":
        return "${" + hole.name + "}"
    if hole.kind == "subst":
        return "${!" + hole.name + "}"  # left for Step Functions to substitute
    return None


def text_value(draw: st.DrawFn, text: Text) -> Any:
    """A Text as a template value: a string, one intrinsic, an Fn::Sub or an Fn::Join."""
    parts = text.parts
    if all(isinstance(p, str) for p in parts):
        return "".join(p for p in parts if isinstance(p, str))
    if len(parts) == 1 and isinstance(parts[0], Hole):
        hole = parts[0]
        if hole.kind == "subst":
            return hole_value(hole)
        if hole.kind in ("getatt", "ref") and chance(draw, 15):
            return {"Fn::Sub": sub_placeholder(hole)}
        return hole_value(hole, getatt_string=chance(draw, 20))
    placeholders = [sub_placeholder(p) for p in parts if isinstance(p, Hole)]
    if all(p is not None for p in placeholders) and chance(draw, 60):
        return {
            "Fn::Sub": "".join(
                escape_sub(p) if isinstance(p, str) else str(sub_placeholder(p)) for p in parts
            )
        }
    return {"Fn::Join": ["", [p if isinstance(p, str) else hole_value(p) for p in parts]]}


# --- what one generated template holds -------------------------------------------------------


@dataclass
class Function:
    logical_id: str
    name: str | None  # the physical name when the request knows it
    condition: str | None
    versions: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


@dataclass
class World:
    """The template being generated, and the names it has used."""

    ids: Iterator[str]
    resources: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # overrides sent with the request
    conditions: dict[str, Any] = field(default_factory=dict)
    functions: list[Function] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def fresh(self) -> str:
        return next(self.ids)

    def parameter(self, name: str, default: str, kind: str = "String") -> str:
        self.parameters.setdefault(name, {"Type": kind, "Default": default})
        return name

    def condition(self) -> str:
        if not self.conditions:
            self.parameter("Env", "dev")
            self.conditions["IsProd"] = {"Fn::Equals": [{"Ref": "Env"}, "prod"]}
        return "IsProd"


def _unique_ids(draw: st.DrawFn) -> Iterator[str]:
    used = {"Env", "FunctionRole", "WaitSeconds", "ExternalArn", "ExternalRoleArn", "LambdaRole"}
    while True:
        name = draw(logical_ids)
        if name not in used and not name.startswith("AWS"):
            used.add(name)
            yield name


# --- functions ---------------------------------------------------------------------------------


def _function(draw: st.DrawFn, world: World, taken_names: set[str]) -> Function:
    logical_id = world.fresh()
    sam = chance(draw, 8)
    properties: dict[str, Any] = {"Runtime": "python3.13", "Handler": "index.handler"}
    if sam:
        properties["CodeUri"] = draw(st.sampled_from(["src/", "s3://bucket/key.zip"]))
    else:
        properties["Code"] = {
            "ZipFile": "def handler(event, context):\n    return " + repr(draw(plain_text))
        }
        if "LambdaRole" in world.resources and chance(draw, 70):
            properties["Role"] = {"Fn::GetAtt": ["LambdaRole", "Arn"]}
        else:
            properties["Role"] = pick(
                draw, [({"Ref": world.parameter("FunctionRole", ROLE_ARN)}, 3), (ROLE_ARN, 1)]
            )
    name: str | None = None
    naming = pick(draw, [("none", 5), ("literal", 3), ("parameter", 2), ("sub", 1)])
    if naming in ("literal", "parameter"):
        name = draw(function_names.filter(lambda n: n not in taken_names))
        taken_names.add(name)
        if naming == "literal":
            properties["FunctionName"] = name
        else:
            parameter = world.fresh()
            world.parameter(parameter, name if chance(draw, 70) else "placeholder-name")
            if world.parameters[parameter]["Default"] != name:
                world.values[parameter] = name
            properties["FunctionName"] = {"Ref": parameter}
    elif naming == "sub":
        properties["FunctionName"] = {"Fn::Sub": "${AWS::StackName}-" + logical_id.lower()}
    description = pick(
        draw,
        [("none", 4), ("text", 3), ("long", 1), ("stamped", 1), ("intrinsic", 1)],
    )
    if description == "text":
        properties["Description"] = draw(plain_text)
    elif description == "long":
        properties["Description"] = "d" * draw(st.integers(225, 256))
    elif description == "stamped":
        properties["Description"] = draw(plain_text) + " [pin 0123456789]"
    elif description == "intrinsic":
        properties["Description"] = {"Fn::Sub": "${AWS::StackName} " + escape_sub(draw(plain_text))}
    if chance(draw, 20):
        properties["Environment"] = {
            "Variables": {"STAGE": {"Ref": world.parameter("Env", "dev")}, "X": draw(plain_text)}
        }
    if chance(draw, 10):
        properties["Tags"] = [{"Key": "team", "Value": draw(plain_text)}]
    resource: dict[str, Any] = {"Type": SAM_FUNCTION if sam else FUNCTION}
    condition = world.condition() if chance(draw, 15) else None
    if condition:
        resource["Condition"] = condition
    if chance(draw, 6):
        resource["Metadata"] = {
            "PinVersions": {"Skip": draw(st.sampled_from([True, "true", False, "false"]))}
        }
    resource["Properties"] = properties
    world.resources[logical_id] = resource
    function = Function(logical_id, name, condition)

    versions = pick(draw, [(0, 12), (1, 2), (2, 1)])
    for _ in range(versions):
        version = world.fresh()
        owner = pick(
            draw,
            [({"Ref": logical_id}, 3), ({"Fn::GetAtt": [logical_id, "Arn"]}, 1)]
            + ([(name, 1)] if name else []),
        )
        entry: dict[str, Any] = {"Type": VERSION, "Properties": {"FunctionName": owner}}
        if chance(draw, 50):
            entry["DeletionPolicy"] = "Retain"
            entry["UpdateReplacePolicy"] = "Retain"
        if condition:
            entry["Condition"] = condition
        world.resources[version] = entry
        function.versions.append(version)
    if chance(draw, 10):
        alias = world.fresh()
        version_number: Any = (
            {"Fn::GetAtt": [function.versions[0], "Version"]} if function.versions else "$LATEST"
        )
        world.resources[alias] = {
            "Type": "AWS::Lambda::Alias",
            "Properties": {
                "FunctionName": {"Ref": logical_id},
                "FunctionVersion": version_number,
                "Name": "live",
            },
        }
        function.aliases.append(alias)
    return function


# --- Task targets ------------------------------------------------------------------------------


def _function_reference(draw: st.DrawFn, world: World, function: Function, arn_only: bool) -> Text:
    """A reference to an in-template function, in one of the shapes people write."""
    f = function.logical_id
    shapes: list[tuple[str, int]] = [("getatt", 8), ("ref", 2), ("built", 2)]
    if function.name:
        shapes += [("full-arn", 2), ("partial-arn", 1)]
        if not arn_only:
            shapes.append(("name", 2))
        shapes.append(("param-name", 1))
    shape = pick(draw, shapes)
    if shape == "getatt":
        return getatt(f)
    if shape == "ref":
        return ref(f)
    if shape == "built":
        return built_arn(f)
    assert function.name is not None
    if shape == "full-arn":
        return literal(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}")
    if shape == "partial-arn":
        return literal(f"{ACCOUNT}:function:{function.name}")
    if shape == "name":
        return literal(function.name)
    # A parameter whose value is the function's name (or ARN).
    parameter = world.fresh()
    value = (
        function.name
        if not arn_only
        else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}"
    )
    world.parameter(parameter, value)
    return ref(parameter)


def _qualified(draw: st.DrawFn, world: World, function: Function) -> Text:
    f = function.logical_id
    qualifier = draw(st.sampled_from(["7", "live", "$LATEST"]))
    shape = pick(draw, [("getatt", 3), ("version", 2), ("alias", 1), ("literal", 1)])
    if shape == "version" and function.versions:
        return ref(function.versions[0])
    if shape == "alias" and function.aliases:
        return ref(function.aliases[0])
    if shape == "literal" and function.name:
        return literal(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}:{qualifier}")
    return Text((Hole("getatt", f, "Arn"), ":" + qualifier))


def _external(draw: st.DrawFn, world: World) -> Text:
    shape = pick(
        draw, [("other-account", 2), ("other-region", 1), ("import", 2), ("if", 2), ("param", 2)]
    )
    if shape == "other-account":
        return literal(f"arn:aws:lambda:{REGION}:999999999999:function:other")
    if shape == "other-region":
        name = world.functions[0].name or "other"
        return literal(f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:{name}")
    if shape == "import":
        return Text(
            (Hole("raw", value={"Fn::ImportValue": draw(st.sampled_from(["shared-fn", "x-Arn"]))}),)
        )
    if shape == "if":
        first = draw(st.sampled_from(world.functions)).logical_id
        return Text(
            (
                Hole(
                    "raw",
                    value={
                        "Fn::If": [
                            world.condition(),
                            {"Fn::GetAtt": [first, "Arn"]},
                            {
                                "Ref": world.parameter(
                                    "ExternalArn",
                                    f"arn:aws:lambda:{REGION}:999999999999:function:x",
                                )
                            },
                        ]
                    },
                ),
            )
        )
    return ref(world.parameter("ExternalArn", f"arn:aws:lambda:{REGION}:999999999999:function:x"))


def _target(draw: st.DrawFn, world: World, arn_only: bool) -> Text:
    kind = pick(draw, [("function", 12), ("qualified", 2), ("external", 2)])
    function = draw(st.sampled_from(world.functions))
    if kind == "function":
        return _function_reference(draw, world, function, arn_only)
    if kind == "qualified":
        return _qualified(draw, world, function)
    return _external(draw, world)


def _invoke_resource(draw: st.DrawFn, suffix: str) -> Text:
    if chance(draw, 50):
        return literal(f"arn:aws:states:::{suffix}")
    return Text(("arn:", Hole("ref", "AWS::Partition"), f":states:::{suffix}"))


@dataclass
class Definer:
    """Builds one state machine's states; knows its substitution keys."""

    world: World
    substitutions: dict[str, Any] = field(default_factory=dict)
    tasks: int = 0
    use_substitutions: bool = True

    def substitute(self, draw: st.DrawFn, text: Text) -> Text:
        """The text behind a DefinitionSubstitutions key (reused for the same value)."""
        value = text_value(draw, text)
        for key, existing in self.substitutions.items():
            if existing == value and chance(draw, 80):
                return Text((Hole("subst", key, value=value),))
        key = draw(st.text(_ALNUM + "_", min_size=1, max_size=8).map(lambda s: "K" + s))
        if key in self.substitutions and self.substitutions[key] != value:
            key = f"{key}{len(self.substitutions)}"
        self.substitutions[key] = value
        return Text((Hole("subst", key, value=value),))

    def maybe_substitute(self, draw: st.DrawFn, text: Text) -> Text:
        if self.use_substitutions and chance(draw, 20):
            return self.substitute(draw, text)
        return text

    def task(self, draw: st.DrawFn) -> dict[str, Any]:
        self.tasks += 1
        world = self.world
        mode = pick(
            draw,
            [
                ("direct", 6),
                ("invoke", 5),
                ("token", 1),
                ("sdk", 1),
                ("jsonata", 2),
                ("dynamic", 1),
                ("qualifier", 1),
                ("other", 1),
            ],
        )
        state: dict[str, Any] = {"Type": "Task"}
        if mode == "direct":
            state["Resource"] = self.maybe_substitute(draw, _target(draw, world, arn_only=True))
        elif mode in ("invoke", "token", "sdk", "qualifier"):
            suffix = {
                "token": "lambda:invoke.waitForTaskToken",
                "sdk": "aws-sdk:lambda:invoke",
            }.get(mode, "lambda:invoke")
            state["Resource"] = self.maybe_substitute(draw, _invoke_resource(draw, suffix))
            target = self.maybe_substitute(draw, _target(draw, world, arn_only=False))
            parameters: dict[str, Any] = {"FunctionName": target}
            if mode == "token":
                parameters["Payload"] = {"TaskToken.$": "$$.Task.Token"}
            elif chance(draw, 40):
                # The same reference used again outside a target: a shared Sub variable or
                # substitution key must be left alone there.
                parameters["Payload"] = {"caller": target, "input.$": "$"}
            if mode == "qualifier":
                parameters["Qualifier"] = draw(st.sampled_from(["live", "7", "$LATEST"]))
            state["Parameters"] = parameters
        elif mode == "jsonata":
            state["QueryLanguage"] = "JSONata"
            state["Resource"] = self.maybe_substitute(draw, _invoke_resource(draw, "lambda:invoke"))
            target = self.maybe_substitute(draw, _target(draw, world, arn_only=False))
            state["Arguments"] = {"FunctionName": target, "Payload": "{% $states.input %}"}
        elif mode == "dynamic":
            state["Resource"] = _invoke_resource(draw, "lambda:invoke")
            shape = pick(draw, [("path", 2), ("jsonata-name", 1), ("jsonata-args", 1)])
            if shape == "path":
                state["Parameters"] = {"FunctionName.$": "$.function", "Payload.$": "$"}
            elif shape == "jsonata-name":
                state["QueryLanguage"] = "JSONata"
                state["Arguments"] = {"FunctionName": "{% $states.input.fn %}"}
            else:
                state["QueryLanguage"] = "JSONata"
                state["Arguments"] = "{% {'FunctionName': $states.input.fn} %}"
        else:
            state["Resource"] = literal(
                draw(
                    st.sampled_from(
                        [
                            "arn:aws:states:::sns:publish",
                            "arn:aws:states:::dynamodb:putItem",
                            f"arn:aws:states:{REGION}:{ACCOUNT}:activity:approve",
                            "arn:aws:states:::states:startExecution.sync:2",
                        ]
                    )
                )
            )
            state["Parameters"] = {"Message.$": "$"}
        if chance(draw, 20):
            state["Retry"] = [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2}]
        return state

    def machine(self, draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
        """``{StartAt, States}`` with 1..4 states, nesting up to three levels."""
        count = draw(st.integers(1, 4 if depth == 0 else 3))
        names = draw(st.lists(state_names, min_size=count, max_size=count, unique=True))
        states: dict[str, Any] = {}
        for index, name in enumerate(names):
            after = names[index + 1] if index + 1 < count else None
            kinds: list[tuple[str, int]] = [("Task", 8), ("Pass", 1), ("Wait", 1)]
            if after is not None:
                kinds.append(("Choice", 1))
            if depth < 3 and self.tasks < 12:
                kinds += [("Parallel", 2), ("Map", 2)]
            kind = pick(draw, kinds)
            state: dict[str, Any]
            if kind == "Task":
                state = self.task(draw)
            elif kind == "Pass":
                state = {"Type": "Pass", "Result": {"note": draw(plain_text)}}
            elif kind == "Wait":
                state = {"Type": "Wait", "Seconds": self.wait_seconds(draw)}
            elif kind == "Choice":
                state = {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.verdict", "StringEquals": draw(plain_text), "Next": after}
                    ],
                    "Default": after,
                }
            elif kind == "Parallel":
                branches = draw(st.integers(1, 3))
                state = {
                    "Type": "Parallel",
                    "Branches": [self.machine(draw, depth + 1) for _ in range(branches)],
                }
            else:
                state = {"Type": "Map", "ItemsPath": "$.items"}
                key = draw(st.sampled_from(["ItemProcessor", "Iterator"]))
                inner = self.machine(draw, depth + 1)
                if key == "ItemProcessor" and chance(draw, 40):
                    inner["ProcessorConfig"] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
                state[key] = inner
            if kind != "Choice":
                if after is None:
                    state["End"] = True
                else:
                    state["Next"] = after
            states[name] = state
        definition: dict[str, Any] = {"StartAt": names[0], "States": states}
        if depth == 0 and chance(draw, 30):
            definition["Comment"] = draw(state_names)
        return definition

    def wait_seconds(self, draw: st.DrawFn) -> Any:
        shape = pick(draw, [("number", 3), ("parameter", 1), ("substitution", 1)])
        if shape == "parameter":
            return Bare(Hole("ref", self.world.parameter("WaitSeconds", "5", "Number")))
        if shape == "substitution" and self.use_substitutions:
            key = "Wait"
            self.substitutions[key] = draw(st.integers(1, 60))
            return Bare(Hole("subst", key, value=self.substitutions[key]))
        return draw(st.integers(0, 3600))


# --- definition forms --------------------------------------------------------------------------


def _map_texts(value: Any, convert: Callable[[Text], Any]) -> Any:
    """``value`` with every Text replaced by ``convert(text)``; Bare holes kept."""
    if isinstance(value, Text):
        return convert(value)
    if isinstance(value, dict):
        return {k: _map_texts(v, convert) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_texts(v, convert) for v in value]
    return value


def _object_definition(draw: st.DrawFn, tree: Any) -> Any:
    """The tree as a Definition object: Texts become strings and intrinsics."""

    def convert(value: Any) -> Any:
        if isinstance(value, Text):
            return text_value(draw, value)
        if isinstance(value, Bare):
            hole = value.hole
            return hole.value if hole.kind == "subst" else hole_value(hole)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(tree)


Segment = str | Hole


def _segments(tree: Any, style: str, ensure_ascii: bool) -> list[Segment]:
    """The tree as JSON text with holes, in one of three layouts."""
    out: list[Segment] = []
    comma, colon = {"compact": (",", ":"), "spaced": (", ", ": "), "pretty": (",", ": ")}[style]

    def newline(level: int) -> None:
        if style == "pretty":
            out.append("\n" + "  " * level)

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=ensure_ascii)

    def walk(value: Any, level: int) -> None:
        if isinstance(value, Text):
            out.append('"')
            for part in value.parts:
                out.append(dumps(part)[1:-1] if isinstance(part, str) else part)
            out.append('"')
        elif isinstance(value, Bare):
            out.append(value.hole)
        elif isinstance(value, dict):
            out.append("{")
            for index, (key, item) in enumerate(value.items()):
                if index:
                    out.append(comma)
                newline(level + 1)
                out.append(dumps(key) + colon)
                walk(item, level + 1)
            newline(level)
            out.append("}")
        elif isinstance(value, list):
            out.append("[")
            for index, item in enumerate(value):
                if index:
                    out.append(comma)
                newline(level + 1)
                walk(item, level + 1)
            newline(level)
            out.append("]")
        else:
            out.append(dumps(value))

    walk(tree, 0)
    return _merge(out)


def _merge(segments: list[Any]) -> list[Any]:
    out: list[Any] = []
    for segment in segments:
        if isinstance(segment, str):
            if not segment:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += segment
                continue
        out.append(segment)
    return out


def _only_substitutions(
    draw: st.DrawFn, definer: Definer, tree: Any, keep: Callable[[Hole], bool]
) -> Any:
    """Texts with holes the form cannot write become DefinitionSubstitutions keys."""

    def convert(text: Text) -> Text:
        if all(isinstance(p, str) or keep(p) for p in text.parts):
            return text
        return definer.substitute(draw, text)

    return _map_texts(tree, convert)


def _sub_string(
    segments: list[Segment], variables: dict[str, Any], draw: st.DrawFn, shared: bool
) -> str:
    """Segments as an Fn::Sub string; holes with no placeholder become variables."""
    out: list[str] = []
    by_value: dict[str, str] = {}
    for segment in segments:
        if isinstance(segment, str):
            out.append(escape_sub(segment))
            continue
        placeholder = sub_placeholder(segment)
        as_variable = segment.kind == "raw" or (
            shared
            and segment.kind in ("getatt", "ref")
            and not segment.name.startswith("AWS::")
            and chance(draw, 50)
        )
        if placeholder is None or as_variable:
            value = hole_value(segment)
            key = json.dumps(value, sort_keys=True)
            name = by_value.get(key)
            if name is None:
                name = f"Var{len(by_value)}"
                by_value[key] = name
                variables[name] = value
            placeholder = "${" + name + "}"
        out.append(placeholder)
    return "".join(out)


def _split(draw: st.DrawFn, text: str) -> list[str]:
    """Literal text cut at random points, as CDK's token splitting leaves it."""
    if len(text) < 2:
        return [text]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(text) - 1), max_size=3))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _join_parts(draw: st.DrawFn, segments: list[Segment]) -> list[Any]:
    parts: list[Any] = []
    for segment in segments:
        if isinstance(segment, str):
            parts.extend(_split(draw, segment))
        elif segment.kind == "subst":
            parts.append("${" + segment.name + "}")
        else:
            parts.append(hole_value(segment, getatt_string=chance(draw, 10)))
    return parts


def _nest(draw: st.DrawFn, parts: list[Any]) -> list[Any]:
    """Random runs of parts wrapped in a nested Fn::Join or, where possible, an Fn::Sub."""
    for _ in range(draw(st.integers(1, 3))):
        if len(parts) < 2:
            break
        start = draw(st.integers(0, len(parts) - 2))
        end = draw(st.integers(start + 2, min(len(parts), start + 6)))
        run = parts[start:end]
        as_sub = all(isinstance(p, str) or set(p) & {"Ref", "Fn::GetAtt"} for p in run) and chance(
            draw, 50
        )
        if as_sub:
            text: list[str] = []
            for part in run:
                if isinstance(part, str):
                    text.append(escape_sub(part))
                elif "Ref" in part:
                    text.append("${" + part["Ref"] + "}")
                else:
                    args = part["Fn::GetAtt"]
                    text.append("${" + (args if isinstance(args, str) else ".".join(args)) + "}")
            wrapped: Any = {"Fn::Sub": "".join(text)}
        else:
            wrapped = {"Fn::Join": ["", run]}
        parts = [*parts[:start], wrapped, *parts[end:]]
    return parts


def _with_delimiter(draw: st.DrawFn, segments: list[Segment]) -> Any:
    """Pretty JSON joined with a newline delimiter, one line per part."""
    lines: list[list[Segment]] = [[]]
    for segment in segments:
        if isinstance(segment, str):
            pieces = segment.split("\n")
            for index, piece in enumerate(pieces):
                if index:
                    lines.append([])
                if piece:
                    lines[-1].append(piece)
        else:
            lines[-1].append(segment)
    parts: list[Any] = []
    for line in lines:
        if len(line) == 1 and isinstance(line[0], str):
            parts.append(line[0])
        elif not line:
            parts.append("")
        else:
            inner = _join_parts(draw, line)
            parts.append({"Fn::Join": ["", inner]})
    return {"Fn::Join": ["\n", parts]}


def _bare_to_substitutions(definer: Definer, tree: Any, keep: Callable[[Hole], bool]) -> Any:
    def convert(value: Any) -> Any:
        if isinstance(value, Bare) and not keep(value.hole):
            key = "Wait" + str(len(definer.substitutions))
            definer.substitutions[key] = hole_value(value.hole)
            return Bare(Hole("subst", key, value=definer.substitutions[key]))
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(tree)


def definition_property(draw: st.DrawFn, definer: Definer, form: str) -> dict[str, Any]:
    """The state machine's definition properties in ``form``."""
    if form == "s3":
        # The definition is out of sight; substitutions naming functions are pinned.
        substitutions: dict[str, Any] = {}
        for _ in range(draw(st.integers(1, 3))):
            target = _target(draw, definer.world, arn_only=False)
            key = f"Fn{len(substitutions)}"
            substitutions[key] = text_value(draw, target)
        if chance(draw, 30):
            substitutions["TableName"] = "orders"
        location: dict[str, Any] = {"Bucket": "bucket", "Key": "machine.asl.json"}
        return {"DefinitionS3Location": location, "DefinitionSubstitutions": substitutions}
    definer.use_substitutions = form not in ("sub", "sub-vars") or chance(draw, 50)
    tree = definer.machine(draw)
    style = draw(st.sampled_from(["compact", "spaced", "pretty"]))
    ensure_ascii = chance(draw, 30)
    properties: dict[str, Any] = {}
    if form == "object":
        properties["Definition"] = _object_definition(draw, tree)
    elif form == "plain":
        tree = _only_substitutions(draw, definer, tree, lambda h: h.kind == "subst")
        tree = _bare_to_substitutions(definer, tree, lambda h: h.kind == "subst")
        segments = _segments(tree, style, ensure_ascii)
        properties["DefinitionString"] = "".join(
            s if isinstance(s, str) else "${" + s.name + "}" for s in segments
        )
    elif form in ("sub", "sub-vars"):
        if form == "sub":
            tree = _only_substitutions(
                draw, definer, tree, lambda h: sub_placeholder(h) is not None
            )
        segments = _segments(tree, style, ensure_ascii)
        variables: dict[str, Any] = {}
        string = _sub_string(segments, variables, draw, shared=form == "sub-vars")
        properties["DefinitionString"] = {"Fn::Sub": [string, variables] if variables else string}
    else:
        if form == "join-delimiter":
            style = "pretty"
        segments = _segments(tree, style, ensure_ascii)
        if form == "join-delimiter":
            properties["DefinitionString"] = _with_delimiter(draw, segments)
        else:
            parts = _join_parts(draw, segments)
            if form == "join-nested":
                parts = _nest(draw, parts)
            properties["DefinitionString"] = {"Fn::Join": ["", parts]}
    if definer.substitutions:
        properties["DefinitionSubstitutions"] = dict(definer.substitutions)
    return properties


def _sam_machine(draw: st.DrawFn, definer: Definer) -> dict[str, Any]:
    """Properties of an AWS::Serverless::StateMachine (PinVersions listed before SAM)."""
    world = definer.world
    properties: dict[str, Any] = {}
    if chance(draw, 70):
        properties.update(definition_property(draw, definer, "object"))
    else:
        s3 = definition_property(draw, definer, "s3")
        properties["DefinitionUri"] = one(
            draw, ["statemachine/machine.asl.json", {"Bucket": "bucket", "Key": "machine.asl.json"}]
        )
        properties["DefinitionSubstitutions"] = s3["DefinitionSubstitutions"]
    if chance(draw, 40):
        role = _role_arn(draw, world)
        if role is not None:
            properties["Role"] = role
            return properties
    policies: list[Any] = []
    for _ in range(draw(st.integers(0, 2))):
        function = one(draw, world.functions)
        kind = pick(draw, [("invoke-template", 3), ("managed", 1), ("statement", 2), ("other", 1)])
        if kind == "invoke-template":
            name: Any = {"Ref": function.logical_id}
            if function.name and chance(draw, 30):
                name = function.name
            policies.append({"LambdaInvokePolicy": {"FunctionName": name}})
        elif kind == "managed":
            policies.append(one(draw, ["AWSLambdaRole", "AmazonS3ReadOnlyAccess"]))
        elif kind == "statement":
            policies.append({"Statement": [_statement(draw, world)]})
        else:
            policies.append({"DynamoDBCrudPolicy": {"TableName": "orders"}})
    if policies or chance(draw, 50):
        properties["Policies"] = policies if len(policies) != 1 or chance(draw, 70) else policies[0]
    return properties


# --- roles -------------------------------------------------------------------------------------


def _statement(draw: st.DrawFn, world: World) -> dict[str, Any]:
    """A statement that may or may not allow invoking every version of some function."""
    function = draw(st.sampled_from(world.functions))
    f = function.logical_id
    resources: list[tuple[Any, int]] = [
        ({"Fn::Sub": "${" + f + ".Arn}:*"}, 4),
        ({"Fn::Join": ["", [{"Fn::GetAtt": [f, "Arn"]}, ":*"]]}, 2),
        ({"Fn::Join": [":", [{"Fn::GetAtt": [f, "Arn"]}, "*"]]}, 1),
        ({"Fn::GetAtt": [f, "Arn"]}, 3),
        ("*", 1),
        (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*", 1),
    ]
    if function.name:
        resources.append((f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}:*", 1))
    statement: dict[str, Any] = {
        "Effect": pick(draw, [("Allow", 9), ("Deny", 1)]),
        "Action": pick(
            draw,
            [
                ("lambda:InvokeFunction", 6),
                (["lambda:InvokeFunction", "lambda:GetFunction"], 1),
                ("lambda:*", 1),
                ("lambda:GetFunction", 1),
            ],
        ),
        "Resource": pick(draw, resources),
    }
    if chance(draw, 10):
        statement["Condition"] = {"StringEquals": {"aws:RequestedRegion": REGION}}
    return statement


def _document(draw: st.DrawFn, world: World) -> dict[str, Any]:
    count = draw(st.integers(1, 2))
    return {"Version": "2012-10-17", "Statement": [_statement(draw, world) for _ in range(count)]}


def _role(draw: st.DrawFn, world: World) -> str:
    role = world.fresh()
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
    world.resources[role] = {"Type": "AWS::IAM::Role", "Properties": properties}
    kinds = draw(
        st.lists(
            st.sampled_from(
                [
                    "inline",
                    "policy",
                    "role-policy",
                    "managed",
                    "managed-arn",
                    "aws-managed",
                    "if-policies",
                ]
            ),
            max_size=2,
            unique=True,
        )
    )
    for kind in kinds:
        if kind == "inline":
            properties["Policies"] = [
                {
                    # Real templates often name inline policies with !Sub.
                    "PolicyName": one(
                        draw,
                        ["invoke", "PinVersionsInvoke", {"Fn::Sub": "${AWS::StackName}-invoke"}],
                    ),
                    "PolicyDocument": _document(draw, world),
                }
            ]
        elif kind == "if-policies" and "Policies" not in properties:
            properties["Policies"] = {
                "Fn::If": [
                    world.condition(),
                    [{"PolicyName": "x", "PolicyDocument": _document(draw, world)}],
                    {"Ref": "AWS::NoValue"},
                ]
            }
        elif kind in ("policy", "managed", "managed-arn", "role-policy"):
            policy = world.fresh()
            rtype = {"policy": "AWS::IAM::Policy", "role-policy": "AWS::IAM::RolePolicy"}.get(
                kind, "AWS::IAM::ManagedPolicy"
            )
            props: dict[str, Any] = {"PolicyDocument": _document(draw, world)}
            if kind == "role-policy":
                props["RoleName"] = {"Ref": role}
                props["PolicyName"] = "invoke"
            elif kind == "managed-arn":
                properties["ManagedPolicyArns"] = [{"Ref": policy}]
            else:
                props["Roles"] = [{"Ref": role}]
                if kind == "policy":
                    props["PolicyName"] = "invoke"
            entry: dict[str, Any] = {"Type": rtype, "Properties": props}
            if chance(draw, 10):
                entry["Condition"] = world.condition()
            world.resources[policy] = entry
        elif kind == "aws-managed":
            properties["ManagedPolicyArns"] = [
                draw(
                    st.sampled_from(
                        [
                            "arn:aws:iam::aws:policy/service-role/AWSLambdaRole",
                            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/" + LAMBDA_ROLE},
                            "arn:aws:iam::aws:policy/ReadOnlyAccess",
                        ]
                    )
                )
            ]
    world.roles.append(role)
    return role


def _role_arn(draw: st.DrawFn, world: World) -> Any:
    kind = pick(
        draw,
        [
            ("new", 6),
            ("shared", 2),
            ("functions'", 2),
            ("built", 1),
            ("external", 1),
            ("parameter", 1),
            ("none", 1),
        ],
    )
    if kind == "functions'" and "LambdaRole" in world.resources:
        # The functions' own role: an inline policy naming them would close a cycle.
        if "LambdaRole" not in world.roles:
            world.roles.append("LambdaRole")
        return {"Fn::GetAtt": ["LambdaRole", "Arn"]}
    if kind == "shared" and world.roles:
        return {"Fn::GetAtt": [draw(st.sampled_from(world.roles)), "Arn"]}
    if kind in ("new", "shared"):
        return {"Fn::GetAtt": [_role(draw, world), "Arn"]}
    if kind == "built":
        return {
            "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${"
            + _role(draw, world)
            + "}"
        }
    if kind == "external":
        return f"arn:aws:iam::{ACCOUNT}:role/machine"
    if kind == "parameter":
        return {"Ref": world.parameter("ExternalRoleArn", f"arn:aws:iam::{ACCOUNT}:role/machine")}
    return None


# --- whole templates ---------------------------------------------------------------------------


def _options(draw: st.DrawFn, world: World, machines: list[str]) -> dict[str, Any] | None:
    if not chance(draw, 35):
        return None
    boolean = st.sampled_from([True, False, "true", "false", "True"])
    options: dict[str, Any] = {}
    for key, percent in (("Strict", 15), ("WidenRoles", 30), ("DescriptionStamp", 30)):
        if chance(draw, percent):
            options[key] = draw(boolean)
    if chance(draw, 30):
        names = [f.logical_id for f in world.functions] + machines + ["NotAResource"]
        options["Exclude"] = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    return options


@st.composite
def cases(draw: st.DrawFn, form: str | None = None) -> Case:
    """A random realistic template; ``form`` fixes the first state machine's definition form."""
    world = World(_unique_ids(draw))
    if chance(draw, 25):
        world.resources["LambdaRole"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        }
    taken: set[str] = set()
    for _ in range(draw(st.integers(1, 4))):
        world.functions.append(_function(draw, world, taken))
    machines: list[str] = []
    for index in range(draw(st.integers(1, 3))):
        machine_form = form if form is not None and index == 0 else draw(st.sampled_from(FORMS))
        logical_id = world.fresh()
        definer = Definer(world)
        properties: dict[str, Any] = {}
        if machine_form == "sam":
            properties = _sam_machine(draw, definer)
        else:
            role = _role_arn(draw, world)
            if role is not None:
                properties["RoleArn"] = role
            properties.update(definition_property(draw, definer, machine_form))
        resource: dict[str, Any] = {
            "Type": SAM_STATE_MACHINE if machine_form == "sam" else STATE_MACHINE
        }
        if chance(draw, 10):
            resource["Condition"] = world.condition()
        if chance(draw, 8):
            resource["Metadata"] = {"PinVersions": {"Skip": True}}
        resource["Properties"] = properties
        world.resources[logical_id] = resource
        machines.append(logical_id)
    if chance(draw, 10):
        # The same definition deployed twice: one function, two machines.
        twin = world.fresh()
        world.resources[twin] = copy.deepcopy(world.resources[machines[0]])
        machines.append(twin)
    if chance(draw, 20):
        world.resources[world.fresh()] = {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": draw(plain_text)},
        }

    template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09"}
    sam = any(r["Type"].startswith("AWS::Serverless::") for r in world.resources.values())
    if sam and chance(draw, 50):
        # SAM merges Globals.Function into every function; the hash must see it too.
        template["Globals"] = {
            "Function": {"Timeout": draw(st.integers(1, 900)), "Runtime": "python3.13"}
        }
    options = _options(draw, world, machines)
    if options is not None:
        template["Metadata"] = {"PinVersions": options}
    if world.parameters:
        template["Parameters"] = world.parameters
    if world.conditions:
        template["Conditions"] = world.conditions
    order = list(world.resources.items())
    if chance(draw, 30):
        order = draw(st.permutations(order))
    template["Resources"] = dict(order)
    if chance(draw, 20):
        template["Outputs"] = {"Machine": {"Value": {"Ref": machines[0]}}}
    return Case(template, dict(world.values), form or "mixed")


# --- mutations of real templates ------------------------------------------------------------

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Base:
    """A real template to mutate."""

    name: str
    template: dict[str, Any]
    parameters: dict[str, Any]


GOLDEN = FilePath(__file__).resolve().parent / "golden"


@lru_cache(maxsize=1)
def real_templates() -> tuple[Base, ...]:
    """The corpus templates that load (MANIFEST.tsv, without companion ASL files) and the
    golden inputs with their parameters."""
    bases: list[Base] = []
    with (CORPUS / "MANIFEST.tsv").open(encoding="utf-8") as manifest:
        for row in csv.DictReader(manifest, delimiter="\t"):
            if "companion-asl" in row["form"].split(","):
                continue
            try:
                template = load_path(CORPUS / row["file"])
            except Exception:  # a few real templates do not load (see test_yaml_io.py)
                continue
            if isinstance(template, dict):
                bases.append(Base(f"corpus/{row['file']}", template, {}))
    for folder in sorted(p.parent for p in GOLDEN.glob("*/input.yaml")):
        params = folder / "params.json"
        values = json.loads(params.read_text(encoding="utf-8")) if params.exists() else {}
        bases.append(Base(f"golden/{folder.name}", load_path(folder / "input.yaml"), values))
    return tuple(bases)


def _slots(root: Any, limit: int = 4000) -> list[tuple[Any, str | int]]:
    """(container, key) of every value under ``root``, breadth first, at most ``limit``."""
    slots: list[tuple[Any, str | int]] = []
    queue: list[Any] = [root]
    while queue and len(slots) < limit:
        node = queue.pop(0)
        items: list[tuple[str | int, Any]]
        if isinstance(node, dict):
            items = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        for key, value in items:
            slots.append((node, key))
            queue.append(value)
    return slots


def _resources(template: dict[str, Any]) -> dict[str, Any]:
    resources = template.get("Resources")
    return resources if isinstance(resources, dict) else {}


def _of_types(template: dict[str, Any], types: tuple[str, ...]) -> list[str]:
    return [
        k for k, v in _resources(template).items() if isinstance(v, dict) and v.get("Type") in types
    ]


def _machines(template: dict[str, Any]) -> list[str]:
    return _of_types(template, (STATE_MACHINE, SAM_STATE_MACHINE))


def _functions(template: dict[str, Any]) -> list[str]:
    return _of_types(template, (FUNCTION, SAM_FUNCTION))


def _properties(template: dict[str, Any], logical_id: str) -> dict[str, Any] | None:
    resource = _resources(template).get(logical_id)
    if isinstance(resource, dict) and isinstance(resource.get("Properties"), dict):
        return resource["Properties"]
    return None


def _focus(draw: st.DrawFn, template: dict[str, Any]) -> Any:
    """A subtree to mutate: mostly state machines, functions and roles."""
    machines = _machines(template)
    others = _of_types(
        template, (FUNCTION, SAM_FUNCTION, "AWS::IAM::Role", "AWS::IAM::Policy", VERSION)
    )
    where = pick(draw, [("machine", 5), ("other", 2), ("anywhere", 2)])
    if where == "machine" and machines:
        return _resources(template)[one(draw, machines)]
    if where == "other" and others:
        return _resources(template)[one(draw, others)]
    return template


WRONG_VALUES: list[Callable[[Any], Any]] = [
    lambda old: None,
    lambda old: [],
    lambda old: {},
    lambda old: [old],
    lambda old: {"x": old},
    lambda old: 0,
    lambda old: -1,
    lambda old: 3.5,
    lambda old: True,
    lambda old: "",
    lambda old: "x",
    lambda old: str(old)[:20],
    lambda old: {"Ref": "Nowhere"},
    lambda old: {"Fn::GetAtt": ["Nowhere", "Arn"]},
    lambda old: {"Fn::Sub": ["${A}", {"A": old}]},
    lambda old: {"Fn::Join": ["", [old]]},
    lambda old: {"Fn::If": ["Cond", old, {"Ref": "AWS::NoValue"}]},
    lambda old: {"Fn::Sub": 7},
    lambda old: {"Fn::Join": "x"},
    lambda old: {"Fn::GetAtt": [1, 2]},
    lambda old: {"Ref": ["x"]},
]


def drop_key(draw: st.DrawFn, template: dict[str, Any]) -> str:
    dicts = [(c, k) for c, k in _slots(_focus(draw, template)) if isinstance(c[k], dict) and c[k]]
    if not dicts:
        return "drop: nothing"
    container, key = one(draw, dicts)
    target = container[key]
    dropped = one(draw, sorted(target, key=str))
    del target[dropped]
    return f"drop {key}.{dropped}"


def wrong_type(draw: st.DrawFn, template: dict[str, Any]) -> str:
    slots = _slots(_focus(draw, template))
    if not slots:
        template["Resources"] = None
        return "Resources None"
    container, key = one(draw, slots)
    index = draw(st.integers(0, len(WRONG_VALUES) - 1))
    container[key] = WRONG_VALUES[index](container[key])
    return f"wrong type {key} #{index}"


_INSERTS = [
    "${",
    "${!",
    "${Foo}",
    "${!Literal}",
    "${AWS::Region}",
    "${Foo.Arn}",
    "}",
    "{",
    '"',
    "\\",
    ",",
    "]",
    "\ue000",
    "\ue001",
    "\U000f0000",
    "\U0001f600",
    "\x00",
    "{% $x %}",
    "\\u",
    '"Resource": "${X}"',
    "null",
]


def _text_slots(value: Any, path: Path) -> list[Path]:
    """Paths of the literal strings a DefinitionString is built from."""
    if isinstance(value, str):
        return [path]
    found: list[Path] = []
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        args = value[key]
        if key == "Fn::Sub":
            if isinstance(args, str):
                found.append((*path, key))
            elif isinstance(args, list) and args and isinstance(args[0], str):
                found.append((*path, key, 0))
        elif (
            key == "Fn::Join"
            and isinstance(args, list)
            and len(args) == 2
            and isinstance(args[1], list)
        ):
            for index, part in enumerate(args[1]):
                found.extend(_text_slots(part, (*path, key, 1, index)))
    return found


def _get(root: Any, path: Path) -> Any:
    node = root
    for key in path:
        node = node[key]
    return node


def _set(root: Any, path: Path, value: Any) -> None:
    _get(root, path[:-1])[path[-1]] = value


def break_definition_text(draw: st.DrawFn, template: dict[str, Any]) -> str:
    slots: list[tuple[dict[str, Any], Path]] = []
    for machine in _machines(template):
        properties = _properties(template, machine)
        if properties is None:
            continue
        if "Definition" in properties and "DefinitionString" not in properties and chance(draw, 30):
            # A Definition object written out as text (intrinsics and all).
            properties["DefinitionString"] = json.dumps(properties.pop("Definition"))
        if "DefinitionString" in properties:
            slots.extend(
                (properties, p)
                for p in _text_slots(properties["DefinitionString"], ("DefinitionString",))
            )
    if not slots:
        return wrong_type(draw, template)
    properties, path = one(draw, slots)
    text = _get(properties, path)
    offset = draw(st.integers(0, len(text)))
    how = pick(draw, [("truncate", 2), ("insert", 4), ("replace", 1), ("comment", 1)])
    if how == "truncate":
        new = text[:offset]
    elif how == "insert":
        new = text[:offset] + one(draw, _INSERTS) + text[offset:]
    elif how == "replace":
        new = draw(
            st.sampled_from(
                [
                    "",
                    "{",
                    "[]",
                    "null",
                    "{}",
                    '{"States": 1}',
                    '{"StartAt": "A", "States": {"A": 7}}',
                ]
            )
        )
    else:
        # Valid JSON still, with a tricky comment in front.
        comment = json.dumps(draw(state_names))
        new = (
            text.replace("{", '{"Comment": ' + comment + ", ", 1) if text.startswith("{") else text
        )
    _set(properties, path, new)
    return f"definition text {how} at {offset}"


def huge_string(draw: st.DrawFn, template: dict[str, Any]) -> str:
    unit = draw(st.sampled_from(["x", "é", "\U0001f600", "${!x}", "ab\\", "\u2028"]))
    huge = unit * (100_000 // len(unit))
    machines = _machines(template)
    if machines and chance(draw, 60):
        properties = _properties(template, one(draw, machines))
        if properties is not None:
            if isinstance(properties.get("Definition"), dict):
                properties["Definition"]["Comment"] = huge
                return "huge Definition Comment"
            slots = _text_slots(properties.get("DefinitionString"), ("DefinitionString",))
            if slots:
                path = one(draw, slots)
                text = _get(properties, path)
                marker = text.find('"StartAt"')
                if marker >= 0:
                    new = text[:marker] + '"Comment": ' + json.dumps(huge) + ", " + text[marker:]
                else:
                    new = text + huge
                _set(properties, path, new)
                return "huge DefinitionString"
    strings = [(c, k) for c, k in _slots(_focus(draw, template)) if isinstance(c[k], str)]
    if not strings:
        return "huge: nothing"
    container, key = one(draw, strings)
    container[key] = container[key] + huge
    return f"huge {key}"


def _task_value(draw: st.DrawFn, template: dict[str, Any]) -> Any:
    functions = _functions(template)
    if functions:
        return {"Fn::GetAtt": [one(draw, functions), "Arn"]}
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:x"


def deep_parallel(draw: st.DrawFn, template: dict[str, Any]) -> str:
    """A definition of Parallel states nested hundreds of levels deep."""
    machines = _machines(template)
    if not machines:
        return wrong_type(draw, template)
    properties = _properties(template, one(draw, machines))
    if properties is None:
        return "deep: no properties"
    depth = draw(st.integers(200, 320))
    target = _task_value(draw, template)
    as_text = chance(draw, 50)
    for key in ("Definition", "DefinitionString", "DefinitionS3Location", "DefinitionUri"):
        properties.pop(key, None)
    if not as_text:
        node: dict[str, Any] = {
            "StartAt": "T",
            "States": {"T": {"Type": "Task", "Resource": target, "End": True}},
        }
        for _ in range(depth):
            node = {
                "StartAt": "P",
                "States": {"P": {"Type": "Parallel", "Branches": [node], "End": True}},
            }
        properties["Definition"] = node
        return f"deep Parallel object {depth}"
    head = '{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":['
    tail = "]}}}"
    inner_head = '{"StartAt":"T","States":{"T":{"Type":"Task","End":true,"Resource":"'
    inner_tail = '"}}}'
    if isinstance(target, dict):
        properties["DefinitionString"] = {
            "Fn::Join": ["", [head * depth + inner_head, target, inner_tail + tail * depth]]
        }
    else:
        properties["DefinitionString"] = (
            head * depth + inner_head + target + inner_tail + tail * depth
        )
    return f"deep Parallel text {depth}"


def deep_intrinsics(draw: st.DrawFn, template: dict[str, Any]) -> str:
    """Fn::Join (or Fn::If, Fn::Sub variables) nested hundreds of levels deep."""
    depth = draw(st.integers(30, 400))
    where = pick(draw, [("definition", 3), ("task", 2), ("function", 2), ("substitution", 1)])

    def wrap(value: Any) -> Any:
        kind = draw(st.sampled_from(["join", "if", "sub"]))
        for _ in range(depth):
            if kind == "join":
                value = {"Fn::Join": ["", [value]]}
            elif kind == "if":
                value = {"Fn::If": ["C", value, value if depth < 20 else "x"]}
            else:
                value = {"Fn::Sub": ["${V}", {"V": value}]}
        return value

    machines = _machines(template)
    if where == "function" or not machines:
        functions = _functions(template)
        if not functions:
            return wrong_type(draw, template)
        properties = _properties(template, one(draw, functions))
        if properties is None:
            return "deep: no properties"
        key = draw(st.sampled_from(["Description", "Environment", "Code", "FunctionName"]))
        properties[key] = wrap(properties.get(key, "x"))
        return f"deep {key}"
    properties = _properties(template, one(draw, machines))
    if properties is None:
        return "deep: no properties"
    if where == "definition" and "DefinitionString" in properties:
        properties["DefinitionString"] = wrap(properties["DefinitionString"])
        return f"deep DefinitionString {depth}"
    if where == "substitution" and isinstance(properties.get("DefinitionSubstitutions"), dict):
        subs = properties["DefinitionSubstitutions"]
        if subs:
            key = one(draw, sorted(subs))
            subs[key] = wrap(subs[key])
            return f"deep substitution {depth}"
    definition = properties.get("Definition")
    tasks = [s for s in _object_states(definition) if s.get("Type") == "Task"]
    if tasks:
        state = one(draw, tasks)
        state["Resource"] = wrap(_task_value(draw, template))
        return f"deep Task Resource {depth}"
    properties["DefinitionString"] = wrap(properties.get("DefinitionString", "{}"))
    return f"deep DefinitionString {depth}"


def _object_states(definition: Any) -> list[dict[str, Any]]:
    """Every state of a Definition object, at any depth."""
    found: list[dict[str, Any]] = []
    stack = [definition]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        states = node.get("States")
        if not isinstance(states, dict):
            continue
        for state in states.values():
            if not isinstance(state, dict):
                continue
            found.append(state)
            branches = state.get("Branches")
            if isinstance(branches, list):
                stack.extend(branches)
            stack.extend(state.get(k) for k in ("ItemProcessor", "Iterator"))
    return found


_ODD_TARGETS: list[Any] = [
    "\U000f0000",
    "\U000f0001",
    "arn:aws:lambda:us-east-1:123456789012:function:\U000f0000",
    "\ue000",
    "arn:aws:lambda:::function:",
    "arn:aws:lambda:us-east-1:123456789012:function:",
    ":function:x",
    "function:",
    "arn:aws:states:::lambda:invoke",
    "",
    7,
    None,
    ["x"],
    {"Ref": "AWS::NoValue"},
    {"Fn::GetAtt": ["Missing", "Arn"]},
    {"Fn::Sub": "${Missing.Arn}"},
    {"Fn::Sub": "${!Escaped}"},
    {"Fn::Join": [",", []]},
    {"Fn::Join": ["", [{"Ref": "AWS::Partition"}]]},
]


def retarget(draw: st.DrawFn, template: dict[str, Any]) -> str:
    """A Task of a Definition object pointed at an odd value."""
    tasks: list[dict[str, Any]] = []
    for machine in _machines(template):
        properties = _properties(template, machine)
        if properties is not None:
            tasks.extend(
                s for s in _object_states(properties.get("Definition")) if s.get("Type") == "Task"
            )
    if not tasks:
        return break_definition_text(draw, template)
    state = one(draw, tasks)
    functions = _functions(template)
    odd = list(_ODD_TARGETS)
    if functions:
        f = one(draw, functions)
        odd += [
            {"Fn::GetAtt": f"{f}.Arn"},
            {"Fn::Sub": "${" + f + ".Arn}:${" + f + ".Arn}"},
            {"Fn::Join": ["", [{"Fn::GetAtt": [f, "Arn"]}, ":", {"Fn::GetAtt": [f, "Arn"]}]]},
            {"Fn::Sub": ["${" + f + "}", {f: {"Ref": f}}]},
            {"Fn::Sub": ["${X}", {"X": {"Fn::Sub": ["${Y}", {"Y": {"Fn::GetAtt": [f, "Arn"]}}]}}]},
            {"Fn::GetAtt": [f, "Version"]},
        ]
    # A copy: a later mutation (wrong_type, drop_key) changes what it is given in place, and
    # changing _ODD_TARGETS itself made the strategy draw differently on replay
    # (FlakyStrategyDefinition in the explore profile).
    value = copy.deepcopy(one(draw, odd))
    parameters = state.get("Parameters")
    if isinstance(parameters, dict) and "FunctionName" in parameters and chance(draw, 50):
        parameters["FunctionName"] = value
        return "retarget FunctionName"
    state["Resource"] = value
    return "retarget Resource"


def unicode_names(draw: st.DrawFn, template: dict[str, Any]) -> str:
    """States (and sometimes logical IDs) renamed to odd unicode."""
    resources = _resources(template)
    if resources and chance(draw, 30):
        old = one(draw, sorted(resources))
        new = draw(
            st.sampled_from(
                ["Hélló", "A.B", "A B", "${X}", "\U0001f600", "a" * 300, "Fn::Sub", "AWS::Region"]
            )
        )
        template["Resources"] = {new if k == old else k: v for k, v in resources.items()}
        return f"logical ID {new!r}"
    renamed = 0
    for machine in _machines(template):
        properties = _properties(template, machine)
        if properties is None:
            continue
        stack = [properties.get("Definition")]
        while stack:
            node = stack.pop()
            if not isinstance(node, dict) or not isinstance(node.get("States"), dict):
                continue
            mapping = {name: draw(state_names) + str(i) for i, name in enumerate(node["States"])}
            node["States"] = {mapping[k]: v for k, v in node["States"].items()}
            start = node.get("StartAt")
            if isinstance(start, str) and start in mapping:
                node["StartAt"] = mapping[start]
            for state in node["States"].values():
                if isinstance(state, dict):
                    after = state.get("Next")
                    if isinstance(after, str) and after in mapping:
                        state["Next"] = mapping[after]
                    if isinstance(state.get("Branches"), list):
                        stack.extend(state["Branches"])
                    stack.extend(state.get(k) for k in ("ItemProcessor", "Iterator"))
            renamed += len(mapping)
    return f"renamed {renamed} states"


def duplicate_states(draw: st.DrawFn, template: dict[str, Any]) -> str:
    """The same states in two Parallel branches: duplicate names across branches."""
    for machine in _machines(template):
        properties = _properties(template, machine)
        if properties is None or not isinstance(properties.get("Definition"), dict):
            continue
        definition = properties["Definition"]
        inner = {"StartAt": definition.get("StartAt"), "States": definition.get("States")}
        properties["Definition"] = {
            "StartAt": "Twice",
            "States": {
                "Twice": {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [inner, deep_copy(inner)],
                }
            },
        }
        return f"duplicate states in {machine}"
    return break_definition_text(draw, template)


def structure(draw: st.DrawFn, template: dict[str, Any]) -> str:
    """Resources not a mapping, a resource not a mapping, Properties a list, odd Types."""
    how = pick(
        draw, [("resources", 1), ("resource", 2), ("properties", 2), ("type", 2), ("drop", 2)]
    )
    resources = _resources(template)
    if how == "resources" or not resources:
        template["Resources"] = draw(st.sampled_from([[], "x", None, 1, [resources], {}]))
        return "Resources odd"
    logical_id = one(draw, sorted(resources))
    if how == "resource":
        resources[logical_id] = draw(st.sampled_from([None, "x", [], 1, [resources[logical_id]]]))
    elif how == "properties" and isinstance(resources[logical_id], dict):
        old = resources[logical_id].get("Properties")
        resources[logical_id]["Properties"] = draw(st.sampled_from([[old], "x", None, 1, []]))
    elif how == "type" and isinstance(resources[logical_id], dict):
        resources[logical_id]["Type"] = draw(
            st.sampled_from(
                [
                    FUNCTION,
                    SAM_FUNCTION,
                    STATE_MACHINE,
                    SAM_STATE_MACHINE,
                    VERSION,
                    "AWS::IAM::Role",
                    1,
                    None,
                    ["x"],
                ]
            )
        )
    else:
        del resources[logical_id]
    return f"{how} {logical_id}"


_WEIRD_OPTIONS: list[Any] = [
    None,
    [],
    "Strict",
    1,
    {},
    {"Strict": "maybe"},
    {"Strict": None},
    {"Strict": 1},
    {"WidenRoles": []},
    {"Exclude": "Hello"},
    {"Exclude": [1, None]},
    {"Exclude": [["x"]]},
    {"Exclude": ["A" * 1000]},
    {"Unknown": 1},
    {"strict": True},
    {"Strict": True},
    {"Strict": "TRUE"},
    {"DescriptionStamp": "false"},
    {"WidenRoles": False, "Strict": False, "Exclude": []},
]


def weird_options(draw: st.DrawFn, template: dict[str, Any]) -> str:
    value = one(draw, _WEIRD_OPTIONS)
    where = pick(draw, [("template", 3), ("metadata", 1), ("resource", 2)])
    if where == "template":
        metadata = template.get("Metadata")
        if not isinstance(metadata, dict):
            metadata = template["Metadata"] = {}
        metadata["PinVersions"] = copy.deepcopy(value)
    elif where == "metadata":
        template["Metadata"] = draw(st.sampled_from([[], "x", None, 1]))
    else:
        resources = _resources(template)
        if not resources:
            return "options: no resources"
        resource = resources[one(draw, sorted(resources))]
        if isinstance(resource, dict):
            skip = draw(
                st.sampled_from(
                    [{"Skip": "yes"}, {"Skip": []}, "Skip", {"Other": 1}, {"Skip": True}, None, []]
                )
            )
            resource["Metadata"] = {"PinVersions": skip} if chance(draw, 80) else skip
    return f"options {where}"


def substitutions(draw: st.DrawFn, template: dict[str, Any]) -> str:
    machines = _machines(template)
    if not machines:
        return wrong_type(draw, template)
    properties = _properties(template, one(draw, machines))
    if properties is None:
        return "subs: no properties"
    functions = _functions(template)
    current = properties.get("DefinitionSubstitutions")
    how = pick(draw, [("odd", 1), ("add", 2), ("values", 2)])
    if how == "odd":
        properties["DefinitionSubstitutions"] = draw(st.sampled_from([[], "x", None, 1, [current]]))
    elif how == "add":
        subs = current if isinstance(current, dict) else {}
        key = draw(st.sampled_from(["Key", "A.B", "AWS::Region", "${X}", "", "Fn0", "ü"]))
        subs[key] = {"Fn::GetAtt": [functions[0], "Arn"]} if functions else "x"
        properties["DefinitionSubstitutions"] = subs
    elif isinstance(current, dict) and current:
        key = one(draw, sorted(current))
        current[key] = draw(
            st.sampled_from(
                [None, 1, [], {"Ref": key}, {"Fn::Sub": "${" + key + "}"}, "${" + key + "}"]
            )
        )
    return f"substitutions {how}"


def duplicate_machine(draw: st.DrawFn, template: dict[str, Any]) -> str:
    machines = _machines(template)
    if not machines:
        return structure(draw, template)
    machine = one(draw, machines)
    resources = _resources(template)
    resources[machine + "Copy"] = deep_copy(resources[machine])
    return f"copy {machine}"


def collide(draw: st.DrawFn, template: dict[str, Any]) -> str:
    """Resources already named like the versions the macro would add (and their a-f
    fallbacks): the new logical IDs must never collide."""
    from pin_versions import Context, transform

    try:
        result = transform(template, Context(REGION, ACCOUNT, {}))
    except Exception:  # a broken template: the handler's answer is checked elsewhere
        return "collide: nothing planned"
    created = [v.version for v in result.report.versions if v.created]
    resources = _resources(template)
    if not created:
        return "collide: no version"
    version = one(draw, created)
    taken = draw(st.integers(1, 7))  # 7: every name the macro would try is taken
    for suffix in ["", *"abcdef"][:taken]:
        resources[version + suffix] = {"Type": "AWS::SNS::Topic", "Properties": {}}
    return f"collide {version} x{taken}"


Mutator = Callable[[st.DrawFn, dict[str, Any]], str]

MUTATORS: list[Mutator] = [
    drop_key,
    wrong_type,
    break_definition_text,
    huge_string,
    deep_parallel,
    deep_intrinsics,
    retarget,
    unicode_names,
    duplicate_states,
    structure,
    weird_options,
    substitutions,
    duplicate_machine,
    collide,
]
_MUTATOR_WEIGHTS = [3, 4, 5, 1, 1, 1, 3, 2, 1, 2, 2, 2, 1, 1]
_WEIGHTED = list(zip(MUTATORS, _MUTATOR_WEIGHTS, strict=True))


_ODD_PARAMETER_VALUES: list[Any] = [
    ["a", "b"],
    1,
    None,
    True,
    {"x": 1},
    "",
    "${x}",
    "fn-\U000f0000",
]


@st.composite
def mutated_cases(draw: st.DrawFn, first: Mutator | None = None) -> Case:
    """A real template with one to three mutations, the first one ``first`` if given."""
    base = one(draw, real_templates())
    template = copy.deepcopy(base.template)
    parameters = dict(base.parameters)
    labels: list[str] = []
    for index in range(draw(st.integers(1, 3))):
        mutator = first if first is not None and index == 0 else pick(draw, _WEIGHTED)
        labels.append(mutator(draw, template))
    if chance(draw, 10):
        # CloudFormation sends lists for List<> parameters; other values must not crash it.
        declared = template.get("Parameters")
        names = sorted(declared) if isinstance(declared, dict) and declared else ["Unknown"]
        parameters[one(draw, names)] = copy.deepcopy(one(draw, _ODD_PARAMETER_VALUES))
        labels.append("parameter value")
    return Case(template, parameters, f"{base.name}: " + "; ".join(labels))


# --- malformed requests --------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)

_REQUEST_KEYS = [
    "region",
    "accountId",
    "fragment",
    "transformId",
    "params",
    "requestId",
    "templateParameterValues",
]


@st.composite
def malformed_requests(draw: st.DrawFn, template: dict[str, Any]) -> Any:
    """A macro request with keys missing or of the wrong type."""
    if chance(draw, 10):
        return draw(json_values)
    event: dict[str, Any] = {
        "region": REGION,
        "accountId": ACCOUNT,
        "fragment": copy.deepcopy(template),
        "transformId": f"{ACCOUNT}::PinVersions",
        "params": {},
        "requestId": "request",
        "templateParameterValues": {},
    }
    for key in draw(st.lists(st.sampled_from(_REQUEST_KEYS), min_size=1, max_size=3, unique=True)):
        if chance(draw, 40):
            del event[key]
        else:
            event[key] = draw(json_values)
    return event

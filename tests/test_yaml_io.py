"""pin_versions.local.yaml_io: CloudFormation JSON/YAML in and out."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pin_versions.local.yaml_io import (
    MAX_ALIAS_REFERENCES,
    TemplateLoadError,
    detect_format,
    dump_json,
    dump_yaml,
    load,
    load_file,
    load_with_lines,
    load_with_warnings,
)
from support import CORPUS

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
TEMPLATE_SUFFIXES = {".yaml", ".yml", ".json", ".template"}


def _yaml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def _value(snippet: str) -> Any:
    """Load `v: <snippet>` and return the value, so tables stay one line each."""
    return load(f"v: {snippet}")["v"]


# --- short-form tags --------------------------------------------------------------------------

SHORT_FORMS = [
    pytest.param("!Ref Bucket", {"Ref": "Bucket"}, id="ref"),
    pytest.param("!Ref AWS::Region", {"Ref": "AWS::Region"}, id="ref-pseudo"),
    pytest.param("!Ref 'yes'", {"Ref": "yes"}, id="ref-quoted"),
    pytest.param("!Ref 2012-10-17", {"Ref": "2012-10-17"}, id="ref-is-always-a-string"),
    pytest.param("!Condition IsProd", {"Condition": "IsProd"}, id="condition"),
    pytest.param("!GetAtt Fn.Arn", {"Fn::GetAtt": ["Fn", "Arn"]}, id="getatt-scalar"),
    pytest.param(
        "!GetAtt Db.Endpoint.Address",
        {"Fn::GetAtt": ["Db", "Endpoint.Address"]},
        id="getatt-scalar-splits-on-first-dot",
    ),
    pytest.param("!GetAtt [Fn, Arn]", {"Fn::GetAtt": ["Fn", "Arn"]}, id="getatt-sequence"),
    pytest.param(
        "!GetAtt [Fn, !Ref Attr]", {"Fn::GetAtt": ["Fn", {"Ref": "Attr"}]}, id="getatt-ref"
    ),
    pytest.param("!Base64 hello", {"Fn::Base64": "hello"}, id="base64"),
    pytest.param(
        "!Cidr [10.0.0.0/16, 6, 5]", {"Fn::Cidr": ["10.0.0.0/16", 6, 5]}, id="cidr-sequence"
    ),
    pytest.param(
        "!FindInMap [Map, !Ref AWS::Region, Ami]",
        {"Fn::FindInMap": ["Map", {"Ref": "AWS::Region"}, "Ami"]},
        id="findinmap",
    ),
    pytest.param("!GetAZs ''", {"Fn::GetAZs": ""}, id="getazs-empty"),
    pytest.param("!GetAZs", {"Fn::GetAZs": ""}, id="getazs-no-value"),
    pytest.param("!ImportValue Shared-Vpc", {"Fn::ImportValue": "Shared-Vpc"}, id="importvalue"),
    pytest.param(
        "!ImportValue {'Fn::Sub': '${Env}-Vpc'}",
        {"Fn::ImportValue": {"Fn::Sub": "${Env}-Vpc"}},
        id="importvalue-mapping",
    ),
    pytest.param("!Join [',', [a, b]]", {"Fn::Join": [",", ["a", "b"]]}, id="join"),
    pytest.param(
        "!Select [0, !GetAZs '']",
        {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
        id="select-getazs",
    ),
    pytest.param("!Split [',', 'a,b']", {"Fn::Split": [",", "a,b"]}, id="split"),
    pytest.param(
        "!Sub 'arn:${AWS::Partition}:s3'", {"Fn::Sub": "arn:${AWS::Partition}:s3"}, id="sub"
    ),
    pytest.param(
        "!Sub ['${A}-x', {A: !GetAtt Fn.Arn}]",
        {"Fn::Sub": ["${A}-x", {"A": {"Fn::GetAtt": ["Fn", "Arn"]}}]},
        id="sub-variables",
    ),
    pytest.param(
        "!Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}",
        {"Fn::Transform": {"Name": "AWS::Include", "Parameters": {"Location": "s3://b/k"}}},
        id="transform-mapping",
    ),
    pytest.param(
        "!And [!Condition A, !Not [!Condition B]]",
        {"Fn::And": [{"Condition": "A"}, {"Fn::Not": [{"Condition": "B"}]}]},
        id="and-not",
    ),
    pytest.param("!Equals [!Ref Env, prod]", {"Fn::Equals": [{"Ref": "Env"}, "prod"]}, id="equals"),
    pytest.param(
        "!If [IsProd, !Ref Big, !Ref AWS::NoValue]",
        {"Fn::If": ["IsProd", {"Ref": "Big"}, {"Ref": "AWS::NoValue"}]},
        id="if-ref",
    ),
    pytest.param(
        "!Or [!Condition A, !Condition B]",
        {"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]},
        id="or",
    ),
    pytest.param("!ToJsonString {a: 1}", {"Fn::ToJsonString": {"a": 1}}, id="tojsonstring"),
    pytest.param("!Length [a, b]", {"Fn::Length": ["a", "b"]}, id="length"),
    pytest.param("!Contains [[a], a]", {"Fn::Contains": [["a"], "a"]}, id="rule-function"),
    pytest.param("!ValueOfAll [a, b]", {"Fn::ValueOfAll": ["a", "b"]}, id="rule-function-2"),
    pytest.param(
        "!Join ['', [!Sub '${AWS::StackName}-', !Ref Suffix]]",
        {"Fn::Join": ["", [{"Fn::Sub": "${AWS::StackName}-"}, {"Ref": "Suffix"}]]},
        id="sub-inside-join",
    ),
]


@pytest.mark.parametrize(("snippet", "expected"), SHORT_FORMS)
def test_short_form_tags_become_long_form(snippet: str, expected: Any) -> None:
    assert _value(snippet) == expected


def test_short_forms_in_block_style() -> None:
    text = _yaml(
        """
        Value: !Join
          - ''
          - - !Sub |
              line ${A}
            - !GetAtt
              - Fn
              - Arn
        Body: !Transform
          Name: AWS::Include
          Parameters:
            Location: !Sub s3://${Bucket}/x.yaml
        """
    )
    assert load(text) == {
        "Value": {"Fn::Join": ["", [{"Fn::Sub": "line ${A}\n"}, {"Fn::GetAtt": ["Fn", "Arn"]}]]},
        "Body": {
            "Fn::Transform": {
                "Name": "AWS::Include",
                "Parameters": {"Location": {"Fn::Sub": "s3://${Bucket}/x.yaml"}},
            }
        },
    }


# --- scalars: YAML 1.1 as SafeLoader reads it, minus timestamps --------------------------------

SCALARS = [
    pytest.param("2012-10-17", "2012-10-17", id="date"),
    pytest.param("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", id="datetime"),
    pytest.param("2024-01-01 10:00:00", "2024-01-01 10:00:00", id="datetime-space"),
    pytest.param("'2010-09-09'", "2010-09-09", id="quoted-date"),
    pytest.param("1.0.3", "1.0.3", id="semver"),
    pytest.param("python3.12", "python3.12", id="runtime"),
    pytest.param("1.0", 1.0, id="float"),
    pytest.param("'1.0'", "1.0", id="quoted-float"),
    pytest.param("1e3", "1e3", id="no-yaml11-float-without-dot"),
    pytest.param("1.5e+3", 1500.0, id="float-exponent"),
    pytest.param("42", 42, id="int"),
    pytest.param("010", 8, id="yaml11-octal"),
    pytest.param("0x1F", 31, id="hex"),
    pytest.param("1_000", 1000, id="underscore"),
    pytest.param("'010'", "010", id="quoted-octal"),
    pytest.param("true", True, id="true"),
    pytest.param("yes", True, id="yes"),
    pytest.param("Off", False, id="off"),
    pytest.param("'yes'", "yes", id="quoted-yes"),
    pytest.param("y", "y", id="y-is-a-string-in-pyyaml"),
    pytest.param("~", None, id="tilde"),
    pytest.param("null", None, id="null"),
    pytest.param("", None, id="empty"),
    pytest.param("=", "=", id="equals-sign"),
    pytest.param("!!str 123", "123", id="explicit-str"),
    pytest.param("!!int '7'", 7, id="explicit-int"),
    pytest.param("café ☕", "café ☕", id="unicode"),
]


@pytest.mark.parametrize(("snippet", "expected"), SCALARS)
def test_scalars(snippet: str, expected: Any) -> None:
    value = _value(snippet)
    assert value == expected
    assert type(value) is type(expected)


def test_mapping_keys_are_the_text_as_written() -> None:
    # JSON keys are strings; SafeLoader would make these int, bool, float and None.
    text = "200: a\nyes: b\n1.0: c\n~: d\n'quoted': e\n"
    assert list(load(text)) == ["200", "yes", "1.0", "~", "quoted"]


def test_key_order_is_kept() -> None:
    text = "Z: 1\nA: 2\nM: {c: 1, b: 2, a: 3}\n"
    data = load(text)
    assert list(data) == ["Z", "A", "M"]
    assert list(data["M"]) == ["c", "b", "a"]


def test_top_level_need_not_be_a_mapping() -> None:
    assert load("- a\n- b\n") == ["a", "b"]
    assert load("just text") == "just text"
    assert load("") is None
    assert load("# only a comment\n") is None


# --- errors -------------------------------------------------------------------------------------

UNKNOWN_TAG_HINT = (
    " (CloudFormation knows only the short forms of its intrinsic functions, such as !Ref, "
    "!Sub and !GetAtt)"
)

ERRORS = [
    pytest.param(
        "A: !!python/object/apply:os.system [ls]\n",
        "t.yaml: line 1 column 4: found undefined tag !!python/object/apply:os.system",
        id="python-object-apply",
    ),
    pytest.param(
        "A: !!python/name:os.system ''\n",
        "t.yaml: line 1 column 4: found undefined tag !!python/name:os.system",
        id="python-name",
    ),
    pytest.param(
        "A: 1\nB:\n  C: !!binary aGk=\n",
        "t.yaml: line 3 column 6: found undefined tag !!binary",
        id="binary",
    ),
    pytest.param(
        "A: !!set {a, b}\n", "t.yaml: line 1 column 4: found undefined tag !!set", id="set"
    ),
    pytest.param(
        "A: !!timestamp 2012-10-17\n",
        "t.yaml: line 1 column 4: found undefined tag !!timestamp",
        id="explicit-timestamp",
    ),
    pytest.param(
        "Resources:\n  X:\n    Type: !Foo.Bar x\n",
        "t.yaml: line 3 column 11: found undefined tag !Foo.Bar" + UNKNOWN_TAG_HINT,
        id="undefined-local-tag",
    ),
    pytest.param(
        "A: !!str [1]\n",
        "t.yaml: line 1 column 4: tag !!str cannot be used on a sequence",
        id="scalar-tag-on-sequence",
    ),
    pytest.param(
        "A: !!int abc\n", "t.yaml: line 1 column 4: cannot read 'abc' as !!int", id="bad-int"
    ),
    pytest.param(
        "A: &a [1, *a]\n",
        "t.yaml: line 1 column 11: found recursive alias *a",
        id="recursive-alias",
    ),
    pytest.param(
        "A: &a\n  B: &b\n    C: *a\n",
        "t.yaml: line 3 column 8: found recursive alias *a",
        id="recursive-alias-nested",
    ),
    pytest.param("A: *nope\n", "t.yaml: line 1 column 4: found undefined alias 'nope'", id="alias"),
    pytest.param(
        "[a]: 1\n",
        "t.yaml: line 1 column 1: a mapping key must be a string, found a sequence",
        id="sequence-key",
    ),
    pytest.param(
        "!Ref K: 1\n",
        "t.yaml: line 1 column 1: a mapping key must be a string, found a !Ref tag",
        id="tagged-key",
    ),
    pytest.param(
        "A:\n\tB: 1\n",
        "t.yaml: line 2 column 1: while scanning for the next token,"
        " found character '\\t' that cannot start any token",
        id="tab",
    ),
    pytest.param(
        "A: [1, 2\nB: 3\n",
        "t.yaml: line 2 column 2: while parsing a flow sequence (line 1),"
        " expected ',' or ']', but got ':'",
        id="unclosed-flow",
    ),
    pytest.param(
        "A: 1\n---\nB: 2\n",
        "t.yaml: line 2 column 1: expected a single document in the stream (line 1),"
        " but found another document",
        id="two-documents",
    ),
    pytest.param(
        "A: 1\nB: \x07\n",
        "t.yaml: line 2 column 4: unacceptable character #x0007:"
        " special characters are not allowed",
        id="control-character",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_are_one_line_with_position(text: str, message: str) -> None:
    with pytest.raises(TemplateLoadError) as caught:
        load(text, "t.yaml")
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    line_column = message.split(": ")[1].split()
    assert (caught.value.line, caught.value.column) == (int(line_column[1]), int(line_column[3]))


NON_FINITE = (
    "is not a number CloudFormation accepts: JSON has no NaN or infinity; write the value as "
    "a string if it is meant as text"
)

# Issue 12 item 8: JSON that Python's reader takes but JSON has not, and tags CloudFormation
# does not know, are refused with the line and column (never read as a string or Fn::Bogus).
REFUSED = [
    pytest.param(
        '{\n  "Resources": {\n    "X": {"Type": "T", "Properties": {"N": NaN}}\n  }\n}\n',
        f"t.json: line 3 column 44: NaN {NON_FINITE}",
        id="json-nan",
    ),
    pytest.param(
        '{"Resources": {"X": {"Properties": {"A": "NaN", "B": -Infinity}}}}',
        f"t.json: line 1 column 54: -Infinity {NON_FINITE}",
        id="json-infinity-after-a-string-NaN",
    ),
    pytest.param(
        '{"Resources": {},\n "N": 1e999}',
        f"t.json: line 2 column 7: 1e999 {NON_FINITE}",
        id="json-overflow",
    ),
    pytest.param("A:\n  B: .nan\n", f"t.json: line 2 column 6: .nan {NON_FINITE}", id="yaml-nan"),
    pytest.param("A: [1, -.inf]\n", f"t.json: line 1 column 8: -.inf {NON_FINITE}", id="yaml-inf"),
    pytest.param(
        "Resources:\n  X:\n    Type: !Bogus x\n",
        "t.json: line 3 column 11: found undefined tag !Bogus" + UNKNOWN_TAG_HINT,
        id="bogus-tag",
    ),
    pytest.param(
        "A: !ForEach [N, [a], {X: 1}]\n",
        "t.json: line 1 column 4: found undefined tag !ForEach" + UNKNOWN_TAG_HINT,
        id="foreach-has-no-short-form",
    ),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_values_and_tags_cloudformation_does_not_have_are_refused(text: str, message: str) -> None:
    for reader in (load, load_with_lines, load_with_warnings):
        with pytest.raises(TemplateLoadError) as caught:
            reader(text, "t.json")
        assert str(caught.value) == message
    line, column = message.split(": ")[1].split()[1::2]
    assert (caught.value.line, caught.value.column) == (int(line), int(column))


def test_nan_inside_strings_and_keys_is_text() -> None:
    text = '{"Resources": {"NaN": {"Type": "Infinity", "P": "-Infinity NaN 1e999"}}}'
    assert load(text) == {"Resources": {"NaN": {"Type": "Infinity", "P": "-Infinity NaN 1e999"}}}
    assert load("A: NaN\nB: '.inf'\n") == {"A": "NaN", "B": ".inf"}


# --- aliases ------------------------------------------------------------------------------------


def test_small_alias_is_expanded_into_independent_copies() -> None:
    text = _yaml(
        """
        Common: &tags
          - {Key: team, Value: core}
        A: {Tags: *tags}
        B: {Tags: *tags}
        """
    )
    data = load(text)
    assert data["A"]["Tags"] == data["B"]["Tags"] == [{"Key": "team", "Value": "core"}]
    # A later rewrite of one resource must not edit the other through a shared object.
    assert data["A"]["Tags"] is not data["B"]["Tags"]
    assert data["A"]["Tags"][0] is not data["Common"][0]


def test_merge_key() -> None:
    text = _yaml(
        """
        Base: &base {Runtime: python3.12, Timeout: 3}
        Fn:
          <<: *base
          Timeout: 30
          Handler: app.handler
        """
    )
    data, lines = load_with_lines(text)
    assert data["Fn"] == {"Runtime": "python3.12", "Timeout": 30, "Handler": "app.handler"}
    assert lines[("Fn", "Timeout")] == 4
    assert lines[("Fn", "Runtime")] == 1  # where the merged value is written


def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_rejected() -> None:
    # Expanded cost: 10 for a1, 110 for a2, then 111 per *a2; the 8th *a2 on line 4 passes 1000.
    with pytest.raises(TemplateLoadError) as caught:
        load(_alias_bomb(9), "bomb.yaml")
    assert str(caught.value) == (
        "bomb.yaml: line 4 column 45: too many alias references (more than 1000 after expansion)"
    )


def test_alias_limit_counts_expanded_references() -> None:
    refs = "\n".join(["- *x"] * MAX_ALIAS_REFERENCES)
    assert len(load(f"x: &x 1\nl:\n{refs}\n")["l"]) == MAX_ALIAS_REFERENCES
    with pytest.raises(TemplateLoadError, match="too many alias references"):
        load(f"x: &x 1\nl:\n{refs}\n- *x\n")


# --- JSON ---------------------------------------------------------------------------------------


def test_json_is_read_with_json_semantics() -> None:
    text = '{"A": 1e3, "B": "2012-10-17", "C": {"Ref": "X"}, "D": [true, null]}'
    assert load(text) == {"A": 1000.0, "B": "2012-10-17", "C": {"Ref": "X"}, "D": [True, None]}
    assert detect_format(text) == "json"


def test_flow_yaml_that_is_not_json_falls_back_to_yaml() -> None:
    assert load("{A: !Ref B, C: yes}") == {"A": {"Ref": "B"}, "C": True}
    assert detect_format("{A: !Ref B}") == "yaml"
    assert detect_format("A: 1\n") == "yaml"
    assert detect_format('\ufeff  {"A": 1}') == "json"


def test_bom_is_ignored() -> None:
    assert load('\ufeff{"A": 1}') == {"A": 1}
    assert load("\ufeffA: 1\n") == {"A": 1}


def test_json_lines_with_tab_indentation() -> None:
    text = (
        '{\n\t"Resources": {\n\t\t"Fn": {\n\t\t\t"Type": "AWS::Lambda::Function"\n\t\t}\n\t}\n}\n'
    )
    data, lines = load_with_lines(text)
    assert data == {"Resources": {"Fn": {"Type": "AWS::Lambda::Function"}}}
    assert lines[("Resources", "Fn", "Type")] == 4


# --- line numbers -------------------------------------------------------------------------------

LINES_TEMPLATE = _yaml(
    """
    AWSTemplateFormatVersion: '2010-09-09'
    Resources:
      Hello:
        Type: AWS::Lambda::Function
        Properties:
          Runtime: python3.12

      Workflow:
        Type: AWS::StepFunctions::StateMachine
        Properties:
          RoleArn: !GetAtt Role.Arn
          DefinitionString: !Sub
            - |
              {"StartAt": "A"}
            - Fn: !GetAtt Hello.Arn
          Tags:
            - Key: a
              Value: b
            -   Key: c
    """
)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        pytest.param((), 1, id="root"),
        pytest.param(("AWSTemplateFormatVersion",), 1, id="first-key"),
        pytest.param(("Resources", "Hello", "Properties", "Runtime"), 6, id="nested-key"),
        pytest.param(("Resources", "Workflow"), 8, id="after-blank-line"),
        pytest.param(("Resources", "Workflow", "Properties", "RoleArn"), 11, id="getatt-key"),
        pytest.param(
            ("Resources", "Workflow", "Properties", "RoleArn", "Fn::GetAtt", 1), 11, id="getatt"
        ),
        pytest.param(
            ("Resources", "Workflow", "Properties", "DefinitionString"), 12, id="definitionstring"
        ),
        pytest.param(
            ("Resources", "Workflow", "Properties", "DefinitionString", "Fn::Sub", 0),
            13,
            id="sub-template",
        ),
        pytest.param(
            ("Resources", "Workflow", "Properties", "DefinitionString", "Fn::Sub", 1, "Fn"),
            15,
            id="sub-variable",
        ),
        pytest.param(("Resources", "Workflow", "Properties", "Tags", 1), 19, id="sequence-item"),
        pytest.param(("Resources", "Workflow", "Properties", "Tags", 1, "Key"), 19, id="item-key"),
        pytest.param(
            ("Resources", "Workflow", "Properties", "Tags", 0, "Value"), 18, id="second-key"
        ),
    ],
)
def test_load_with_lines(path: tuple[str | int, ...], line: int) -> None:
    data, lines = load_with_lines(LINES_TEMPLATE)
    assert data == load(LINES_TEMPLATE)
    assert lines[path] == line


def _paths(data: Any, path: tuple[str | int, ...] = ()) -> set[tuple[str | int, ...]]:
    found = {path}
    if isinstance(data, dict):
        for key, value in data.items():
            found |= _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found |= _paths(value, (*path, index))
    return found


def test_json_lines_match_yaml_lines() -> None:
    data = load(LINES_TEMPLATE)
    data_json, lines = load_with_lines(dump_json(data))
    assert data_json == data
    assert set(lines) == _paths(data)
    assert lines[("Resources", "Workflow", "Properties", "Tags", 1, "Key")] == 38


# --- load_file ----------------------------------------------------------------------------------


def test_load_file(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(b"\xef\xbb\xbfA: !Ref B\n")
    assert load_file(path) == {"A": {"Ref": "B"}}
    assert load_file(str(path)) == {"A": {"Ref": "B"}}


def test_load_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(TemplateLoadError, match=r"missing\.yaml: cannot read file: No such file"):
        load_file(missing)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"A: caf\xe9\n")
    with pytest.raises(TemplateLoadError) as caught:
        load_file(latin1)
    assert str(caught.value) == f"{latin1}: not UTF-8 (offset 6: invalid continuation byte)"
    broken = tmp_path / "broken.yaml"
    broken.write_text("A: !Nope.x 1\n", encoding="utf-8")
    with pytest.raises(TemplateLoadError) as caught:
        load_file(broken)
    assert str(caught.value) == (
        f"{broken}: line 1 column 4: found undefined tag !Nope.x{UNKNOWN_TAG_HINT}"
    )


# --- dump_yaml ----------------------------------------------------------------------------------

GOLDEN_INPUT = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Transform": ["AWS::Serverless-2016-10-31", "PinVersions"],
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
    "Resources": {
        "Hello": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Timeout": 30,
                "Code": {"ZipFile": "def handler(event, context):\n    return 'yes'\n"},
                "Environment": {"Variables": {"ENABLED": "true", "RATIO": "1.0", "EMPTY": ""}},
            },
        },
        "HelloVersion3f2a9c0b1d": {
            "Type": "AWS::Lambda::Version",
            "DeletionPolicy": "Retain",
            "Condition": "IsProd",
            "Properties": {"FunctionName": {"Ref": "Hello"}},
        },
        "Workflow": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "DefinitionString": {
                    "Fn::Sub": [
                        '{\n  "StartAt": "A",\n  "States": {"A": {"Resource": "${Fn}"}}\n}',
                        {"Fn": {"Fn::Join": [":", [{"Fn::GetAtt": ["Hello", "Arn"]}, "7"]]}},
                    ]
                },
                "Tracing": {"Fn::If": ["IsProd", {"Enabled": True}, {"Ref": "AWS::NoValue"}]},
                "UserData": {"Fn::Base64": {"Fn::Sub": "echo ${AWS::Region}"}},
                "Policy": {"Version": "2012-10-17", "Statement": []},
                "Odd": {"Fn::GetAtt": "Not.AList", "Ref": "two keys"},
                "Label": "café",
            },
        },
    },
}

GOLDEN_OUTPUT = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform:
  - AWS::Serverless-2016-10-31
  - PinVersions
Conditions:
  IsProd: !Equals
    - !Ref Env
    - prod
Resources:
  Hello:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Timeout: 30
      Code:
        ZipFile: |
          def handler(event, context):
              return 'yes'
      Environment:
        Variables:
          ENABLED: 'true'
          RATIO: '1.0'
          EMPTY: ''
  HelloVersion3f2a9c0b1d:
    Type: AWS::Lambda::Version
    DeletionPolicy: Retain
    Condition: IsProd
    Properties:
      FunctionName: !Ref Hello
  Workflow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt Role.Arn
      DefinitionString: !Sub
        - |-
          {
            "StartAt": "A",
            "States": {"A": {"Resource": "${Fn}"}}
          }
        - Fn: !Join
            - ':'
            - - !GetAtt Hello.Arn
              - '7'
      Tracing: !If
        - IsProd
        - Enabled: true
        - !Ref AWS::NoValue
      UserData:
        Fn::Base64: !Sub echo ${AWS::Region}
      Policy:
        Version: '2012-10-17'
        Statement: []
      Odd:
        Fn::GetAtt: Not.AList
        Ref: two keys
      Label: café
"""


def test_dump_yaml_golden() -> None:
    assert dump_yaml(GOLDEN_INPUT) == GOLDEN_OUTPUT
    assert load(GOLDEN_OUTPUT) == GOLDEN_INPUT


DUMP_CASES = [
    pytest.param({"A": {"Ref": "X"}}, "A: !Ref X\n", id="ref"),
    pytest.param({"A": {"Ref": "yes"}}, "A: !Ref yes\n", id="ref-tag-makes-it-a-string"),
    pytest.param({"A": {"Ref": "a: b"}}, "A: !Ref 'a: b'\n", id="ref-needs-quotes"),
    pytest.param({"A": {"Ref": 1}}, "A:\n  Ref: 1\n", id="ref-to-number-stays-long"),
    pytest.param({"A": {"Condition": "C"}}, "A: !Condition C\n", id="condition"),
    pytest.param(
        {"A": {"Condition": {"StringEquals": {"k": "v"}}}},
        "A:\n  Condition:\n    StringEquals:\n      k: v\n",
        id="iam-condition-stays-long",
    ),
    pytest.param({"A": {"Fn::GetAtt": ["F", "B.C"]}}, "A: !GetAtt F.B.C\n", id="getatt-dotted"),
    pytest.param(
        {"A": {"Fn::GetAtt": ["F.x", "Arn"]}},
        "A: !GetAtt\n  - F.x\n  - Arn\n",
        id="getatt-dotted-logical-id",
    ),
    pytest.param(
        {"A": {"Fn::GetAtt": ["F", {"Ref": "N"}]}},
        "A: !GetAtt\n  - F\n  - !Ref N\n",
        id="getatt-with-ref",
    ),
    pytest.param({"A": {"Fn::GetAtt": "F.Arn"}}, "A:\n  Fn::GetAtt: F.Arn\n", id="getatt-str"),
    pytest.param({"A": {"Fn::Sub": ""}}, "A: !Sub ''\n", id="sub-empty"),
    pytest.param({"A": {"Fn::Sub": "#x"}}, "A: !Sub '#x'\n", id="sub-comment-char"),
    pytest.param({"A": {"Fn::Select": []}}, "A: !Select []\n", id="empty-sequence"),
    pytest.param({"A": {"Fn::Base64": True}}, "A:\n  Fn::Base64: true\n", id="bool-stays-long"),
    pytest.param(
        {"A": {"Fn::Custom": "x"}}, "A:\n  Fn::Custom: x\n", id="unknown-function-stays-long"
    ),
    pytest.param(
        {"A": {"Fn::Base64": {"Fn::Sub": "x"}}},
        "A:\n  Fn::Base64: !Sub x\n",
        id="nested-short-form",
    ),
    pytest.param(
        {"A": {"Fn::Transform": {"Name": "M", "Parameters": {}}}},
        "A: !Transform\n  Name: M\n  Parameters: {}\n",
        id="mapping-value",
    ),
    pytest.param({"A": "a\nb"}, "A: |-\n  a\n  b\n", id="literal-strip"),
    pytest.param({"A": "a\nb\n\n"}, "A: |+\n  a\n  b\n\n...\n", id="literal-keep"),
    pytest.param({"A": "  a\nb\n"}, "A: |2\n    a\n  b\n", id="literal-indent-indicator"),
    pytest.param({"A": "a \nb"}, 'A: "a \\nb"\n', id="trailing-space-is-quoted"),
    pytest.param({"A": "a\r\nb"}, 'A: "a\\r\\nb"\n', id="crlf-is-quoted"),
    pytest.param({"A": "x" * 500}, f"A: {'x' * 500}\n", id="long-line-not-folded"),
    pytest.param({"a b " * 60: 1}, f"? '{'a b ' * 60}'\n: 1\n", id="long-key"),
]


@pytest.mark.parametrize(("data", "expected"), DUMP_CASES)
def test_dump_yaml_forms(data: Any, expected: str) -> None:
    assert dump_yaml(data) == expected
    assert load(expected) == data


AMBIGUOUS_STRINGS = [
    "true", "True", "yes", "No", "on", "OFF", "y", "n", "null", "Null", "~", "",
    "2012-10-17", "2024-01-01T00:00:00Z", "1.0", "010", "0x1F", "0o17", "1e3", "1_000",
    ".inf", ".NaN", "12:30:00", "=", "<<", "-1", "+1", ".5",
]  # fmt: skip


@pytest.mark.parametrize("value", AMBIGUOUS_STRINGS)
def test_dump_yaml_quotes_strings_that_read_as_other_types(value: str) -> None:
    text = dump_yaml({"A": value})
    assert text in (f"A: '{value}'\n", f'A: "{value}"\n')
    assert load(text) == {"A": value}


def test_dump_yaml_never_writes_anchors() -> None:
    shared = {"Key": "team", "Value": "core"}
    text = dump_yaml({"A": [shared], "B": [shared]})
    assert "&" not in text
    assert "*" not in text
    assert load(text) == {"A": [shared], "B": [shared]}


def test_dump_json() -> None:
    assert dump_json({"A": "café", "B": [1]}) == '{\n  "A": "café",\n  "B": [\n    1\n  ]\n}\n'


# --- round trips --------------------------------------------------------------------------------

json_text = st.text(st.characters(codec="utf-8"), max_size=12)
tricky_text = st.lists(
    st.sampled_from(list("ab :#-'\"{}[]!&*|>%@,?\n\t\r é0.1eyn~=<$\\")), max_size=10
)
strings = json_text | tricky_text.map("".join)
intrinsic_keys = st.sampled_from(["Ref", "Condition", "Fn::GetAtt", "Fn::Sub", "Fn::If", "X"])
leaves = (
    strings
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(intrinsic_keys | strings, inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(values)
def test_round_trip_property(value: Any) -> None:
    data = {"Resources": value}
    assert load(dump_yaml(data)) == data
    assert load(dump_json(data)) == data


def _templates(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in TEMPLATE_SUFFIXES)


CORPUS_FILES = _templates(CORPUS)
SAMPLE_FILES = _templates(SAMPLES)

# Real templates that do not load, with the exact error.
CORPUS_FAILURES = {
    "cfn-templates/CloudFormation/MacrosExamples/StringFunctions/string.yaml": (
        # a Rain pre-processor directive
        "line 35 column 18: found undefined tag !Rain::Embed" + UNKNOWN_TAG_HINT
    ),
}

# Real templates with a repeated key: they load (the last value wins, as in CloudFormation)
# and the reader says where.
CORPUS_DUPLICATES = {
    "sfn-examples/sam/app-dataquality-using-lambda/template.yaml": [
        'line 44 column 9: duplicate key "DataQualityUsingLambdaTopicArn" (first defined at '
        "line 37); the last value wins, as in CloudFormation"
    ],
    "sfn-workflows/cqrs/template.yaml": [
        'line 559 column 3: duplicate key "VPC" (first defined at line 185); the last value '
        "wins, as in CloudFormation"
    ],
    "sfn-workflows/sfn-dynamodb-batchwriteitem/template.yaml": [
        'line 6 column 1: duplicate key "AWSTemplateFormatVersion" (first defined at line 2); '
        "the last value wins, as in CloudFormation",
        'line 16 column 7: duplicate key "Handler" (first defined at line 13); the last value '
        "wins, as in CloudFormation",
    ],
}


@pytest.mark.parametrize(
    ("text", "expected", "warning"),
    [
        pytest.param(
            "Resources:\n  A: 1\n  B: 2\n  A: 3\n",
            {"Resources": {"A": 3, "B": 2}},
            't.yaml: line 4 column 3: duplicate key "A" (first defined at line 2); the last '
            "value wins, as in CloudFormation",
            id="duplicate-key",
        ),
        pytest.param(
            "{a: 1, b: 2, a: 3}\n",
            {"a": 3, "b": 2},
            't.yaml: line 1 column 14: duplicate key "a" (first defined at line 1); the last '
            "value wins, as in CloudFormation",
            id="duplicate-key-flow",
        ),
        pytest.param(
            '{\n  "a": 1,\n  "a": 2\n}\n',
            {"a": 2},
            't.yaml: line 3 column 3: duplicate key "a" (first defined at line 2); the last '
            "value wins, as in CloudFormation",
            id="duplicate-key-json",
        ),
    ],
)
def test_duplicate_keys_keep_the_last_value_and_warn(
    text: str, expected: Any, warning: str
) -> None:
    assert load(text, "t.yaml") == expected
    assert load_with_warnings(text, "t.yaml") == (expected, [warning])


def test_corpus_duplicates_are_reported() -> None:
    for name, warnings in CORPUS_DUPLICATES.items():
        path = CORPUS / name
        _, found = load_with_warnings(path.read_text(encoding="utf-8-sig"), name)
        assert found == [f"{name}: {w}" for w in warnings]


def test_corpus_is_present() -> None:
    assert len(CORPUS_FILES) >= 200, f"corpus not found under {CORPUS}"
    names = {p.relative_to(CORPUS).as_posix() for p in CORPUS_FILES}
    assert set(CORPUS_FAILURES) <= names


def _case(path: Path) -> Any:
    root, prefix = (CORPUS, "corpus") if path.is_relative_to(CORPUS) else (SAMPLES, "samples")
    return pytest.param(path, id=f"{prefix}/{path.relative_to(root).as_posix()}")


@pytest.mark.parametrize("path", [_case(p) for p in CORPUS_FILES + SAMPLE_FILES])
def test_round_trip(path: Path) -> None:
    # load(dump(load(t))) == load(t) for both formats, and every key/item has a line.
    is_corpus = path.is_relative_to(CORPUS)
    name = path.relative_to(CORPUS if is_corpus else SAMPLES).as_posix()
    text = path.read_text(encoding="utf-8-sig")
    if is_corpus and name in CORPUS_FAILURES:
        with pytest.raises(TemplateLoadError) as caught:
            load(text, name)
        assert str(caught.value) == f"{name}: {CORPUS_FAILURES[name]}"
        return
    data = load(text, name)
    assert load(dump_yaml(data)) == data
    assert load(dump_json(data)) == data
    data_again, lines = load_with_lines(text, name)
    assert data_again == data
    assert set(lines) == _paths(data)

"""The command line, run as users run it: the installed console script in a subprocess.

Covers every subcommand and exit code, JSON and YAML output (checked against the Lambda
handler's own answer), --parameter, local packaging, the explain/plan golden files in
tests/cli/, and the pre-commit hook and example GitHub Actions workflow that run it. Run
with UPDATE_GOLDEN=1 to rewrite the golden files, then review every line.

Packaging and the line map are also tested in-process, where a subprocess would add nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pin_versions import __version__
from pin_versions.local.packaging import LOCAL_BUCKET, content_hash, package
from pin_versions.local.processed import LineMap
from pin_versions.local.yaml_io import load
from support import ROOT, SAMPLES, load_path, run_macro

SCRIPT = Path(sys.executable).parent / "pin-versions"
GOLDEN = Path(__file__).parent / "cli"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# Every sample that is a template (machine.asl.json is a definition for S3, not a template).
SAMPLE_TEMPLATES = sorted(
    str(p.relative_to(ROOT))
    for p in [*SAMPLES.rglob("*.yaml"), *SAMPLES.rglob("*.json")]
    if "Resources" in load_path(p)
)

# The environment users have, minus what would change the output.
ENV = {k: v for k, v in os.environ.items() if k != "PIN_VERSIONS_DEBUG"}


def run(
    *args: str | Path, cwd: Path = ROOT, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    assert SCRIPT.exists(), f"{SCRIPT} is missing: pip install -e . --no-deps"
    return subprocess.run(
        [str(SCRIPT), *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=ENV,
        timeout=timeout,
        check=False,
    )


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stderr.splitlines()


def versions(template: dict[str, Any]) -> list[str]:
    return sorted(
        k for k, v in template["Resources"].items() if v.get("Type") == "AWS::Lambda::Version"
    )


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# --- entry points ---------------------------------------------------------------------------


def test_version_and_usage() -> None:
    result = run("--version")
    assert (result.returncode, result.stdout) == (0, f"pin-versions {__version__}\n")

    result = run()  # no subcommand: usage, exit 2
    assert result.returncode == 2
    assert "transform" in result.stderr and "exit codes:" in result.stderr


def test_module_entry_point() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pin_versions.cli", "--version"],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, f"pin-versions {__version__}\n")


# --- transform ------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", SAMPLE_TEMPLATES)
def test_transform_is_the_lambda_in_both_formats(sample: str) -> None:
    """Default format = the input's; the other one on request; both load to what the Lambda
    handler answers for the same template (YAML round trip included)."""
    is_json = sample.endswith(".json")
    default = run("transform", sample)
    other = run("transform", sample, "--format", "yaml" if is_json else "json")
    assert default.returncode == other.returncode == 0, default.stderr + other.stderr
    json_text, yaml_text = (
        (default.stdout, other.stdout) if is_json else (other.stdout, default.stdout)
    )
    assert json_text.startswith("{")
    assert not yaml_text.lstrip().startswith("{")

    expected = run_macro(load_path(ROOT / sample))
    assert expected["status"] == "success"
    assert json.loads(json_text) == expected["fragment"]
    assert load(yaml_text) == json.loads(json_text)
    assert "Transform" not in json.loads(json_text)


def test_output_file_written_only_on_success(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = run("transform", "samples/blue-green/day1.yaml", "-o", out, "--format", "json")
    assert (result.returncode, result.stdout) == (0, "")
    assert versions(json.loads(out.read_text(encoding="utf-8"))) == ["HelloVersionca4e740840"]

    bad = tmp_path / "bad.yaml"
    bad.write_text(INVALID_DEFINITION, encoding="utf-8")
    not_written = tmp_path / "never.json"
    assert run("transform", bad, "-o", not_written).returncode == 1
    assert not not_written.exists()


PARAMETER_TEMPLATE = """\
Transform: PinVersions
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/fn
      Code: {ZipFile: "def handler(e, c): return 1"}
      Environment: {Variables: {STAGE: !Ref Stage}}
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: arn:aws:iam::123456789012:role/machine
      Definition:
        StartAt: A
        States:
          A: {Type: Task, Resource: !GetAtt Fn.Arn, End: true}
"""


def test_parameter_changes_the_version_hash(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(PARAMETER_TEMPLATE, encoding="utf-8")
    default = run("transform", template, "--format", "json", "-q")
    explicit_default = run("transform", template, "--format", "json", "-q", "-p", "Stage=dev")
    prod = run("transform", template, "--format", "json", "-q", "--parameter", "Stage=prod")
    assert default.returncode == explicit_default.returncode == prod.returncode == 0
    first = versions(json.loads(default.stdout))
    assert first == versions(json.loads(explicit_default.stdout))
    assert len(first) == 1 and versions(json.loads(prod.stdout)) != first


# --- exit codes -----------------------------------------------------------------------------

STRICT = """\
Transform: PinVersions
Metadata:
  PinVersions: {Strict: true}
Resources:
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: arn:aws:iam::123456789012:role/machine
      Definition:
        StartAt: A
        States:
          A:
            Type: Task
            Resource: arn:aws:lambda:us-east-1:123456789012:function:elsewhere
            End: true
"""

INVALID_DEFINITION = """\
Transform: PinVersions
Resources:
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: arn:aws:iam::123456789012:role/machine
      DefinitionString: '{"StartAt": "A", "States": {'
"""


def test_macro_failure_exits_1_with_one_line_per_problem(tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text(STRICT, encoding="utf-8")
    (tmp_path / "invalid.yaml").write_text(INVALID_DEFINITION, encoding="utf-8")
    strict = run("transform", "strict.yaml", cwd=tmp_path)
    invalid = run("explain", "invalid.yaml", cwd=tmp_path)
    assert (strict.returncode, strict.stdout) == (1, "")
    assert errors(strict) == [
        "pin-versions: error: strict.yaml:14: Resources.Machine.Properties.Definition.States.A"
        ".Resource: Strict: left alone: names no function of this template (PV101) [PV905]"
    ]
    assert (invalid.returncode, invalid.stdout) == (1, "")
    assert errors(invalid) == [
        "pin-versions: error: invalid.yaml:7: Resources.Machine.Properties.DefinitionString: "
        "not valid JSON after substitution at line 1 column 29: Expecting property name "
        "enclosed in double quotes [PV904]"
    ]


def test_sam_failure_exits_1(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Api:\n"
        "    Type: AWS::Serverless::Api\n    Properties: {}\n",
        encoding="utf-8",
    )
    result = run("transform", "t.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert all(line.endswith("[PV912]") for line in errors(result)), result.stderr


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        pytest.param(
            {}, ["transform", "missing.yaml"], "missing.yaml: cannot read file", id="missing"
        ),
        pytest.param(
            {"t.yaml": "Resources:\n  A: [\n"},
            ["explain", "t.yaml"],
            "t.yaml: line 3 column 1: while parsing a flow node",
            id="invalid-yaml",
        ),
        pytest.param(
            {"t.yaml": "Transform: [AWS::LanguageExtensions, PinVersions]\nResources: {}\n"},
            ["transform", "t.yaml"],
            "t.yaml: Transform AWS::LanguageExtensions cannot run locally",
            id="unknown-transform",
        ),
        pytest.param(
            {"t.yaml": "- a list\n"}, ["transform", "t.yaml"], "not a template", id="list"
        ),
        pytest.param(
            {}, ["transform", "--format", "xml", "t.yaml"], "invalid choice: 'xml'", id="bad-option"
        ),
        pytest.param(
            {"t.yaml": PARAMETER_TEMPLATE},
            ["transform", "t.yaml", "-p", "Nope=1"],
            "--parameter Nope: the template declares no such parameter",
            id="unknown-parameter",
        ),
        pytest.param({}, ["transform", "t.yaml", "-p", "NoEquals"], "expected KEY=VALUE", id="kv"),
        pytest.param({}, ["plan", "only-one.yaml"], "required: NEW", id="plan-needs-two"),
        # Issue 12 item 8: each refused with its own clear line, exit 2.
        pytest.param(
            {"t.json": '{"Resources": {"T": {"Type": "AWS::SNS::Topic", "N": NaN}}}'},
            ["transform", "t.json"],
            "t.json: line 1 column 54: NaN is not a number CloudFormation accepts",
            id="json-nan",
        ),
        pytest.param(
            {"t.yaml": "Resources:\n  T:\n    Type: !Bogus x\n"},
            ["transform", "t.yaml"],
            "t.yaml: line 3 column 11: found undefined tag !Bogus",
            id="unknown-tag",
        ),
        pytest.param(
            {},
            ["transform", "t.yaml", "--region", "us-east-1; rm -rf"],
            "argument --region: not a region name such as us-east-1",
            id="bad-region",
        ),
        pytest.param(
            {},
            ["check", "t.yaml", "--region", "US-EAST-1"],
            "argument --region: not a region name",
            id="bad-region-check",
        ),
        pytest.param(
            {},
            ["prune", "--stack", "app", "--region", "nowhere"],
            "argument --region: not a region name",
            id="bad-region-prune",
        ),
    ],
)
def test_bad_usage_or_input_exits_2(
    tmp_path: Path, files: dict[str, str], args: list[str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = run(*args, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    error_lines = [line for line in errors(result) if line.startswith("pin-versions: error: ")]
    assert len(error_lines) == 1 and message in error_lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "region", ["us-east-1", "us-gov-west-1", "cn-north-1", "eu-isoe-west-1", "ap-southeast-7"]
)
def test_region_names_as_aws_spells_them_are_accepted(region: str) -> None:
    result = run("explain", "samples/blue-green/day1.yaml", "--region", region)
    assert result.returncode == 0, result.stderr
    assert f"  region {region}, account 123456789012 (no AWS call is made)\n" in result.stdout


def test_an_input_over_1_mb_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    from pin_versions.local.pipeline import MAX_INPUT_BYTES

    # 50 MB that would take minutes and gigabytes to parse: refused at once, by its size.
    big = tmp_path / "big.yaml"
    with big.open("w", encoding="utf-8") as stream:
        stream.write("Resources:\n")
        stream.write("  # padding\n" * (50 * 1024 * 1024 // 12))
    result = run("transform", big, timeout=10)
    assert (result.returncode, result.stdout) == (2, "")
    size = big.stat().st_size
    assert errors(result) == [
        f"pin-versions: error: {big}: {size:,} bytes, over CloudFormation's template size limit "
        "of 1,048,576 bytes (1 MB): CloudFormation would refuse it; split the stack (nested stacks)"
    ]
    # Exactly at the limit is read; one byte more is not. Standard input is bounded too.
    edge = "Resources: {}\n" + "#" * (MAX_INPUT_BYTES - 15) + "\n"
    assert len(edge.encode()) == MAX_INPUT_BYTES
    (tmp_path / "edge.yaml").write_text(edge, encoding="utf-8")
    assert run("transform", "edge.yaml", cwd=tmp_path).returncode == 0
    (tmp_path / "over.yaml").write_text(edge + "#", encoding="utf-8")
    over = run("transform", "over.yaml", cwd=tmp_path)
    assert over.returncode == 2 and "1,048,577 bytes, over" in over.stderr
    piped = run("transform", "-", stdin=edge + "#")
    assert piped.returncode == 2
    assert "-: more than 1,048,576 bytes, over CloudFormation's" in piped.stderr


@pytest.mark.parametrize(
    ("sample", "args", "expected"),
    [
        pytest.param("day1.yaml", ["-o", "out.json"], "json", id="yaml-to-json-by-extension"),
        pytest.param("day1.yaml", ["-o", "out.JSON"], "json", id="extension-any-case"),
        pytest.param("day1.json", ["-o", "out.yml"], "yaml", id="json-to-yml"),
        pytest.param("day1.json", ["-o", "out.yaml"], "yaml", id="json-to-yaml"),
        pytest.param("day1.yaml", ["-o", "out.template"], "yaml", id="other-suffix-keeps-input"),
        pytest.param("day1.json", ["-o", "out.txt"], "json", id="other-suffix-keeps-input-json"),
        pytest.param("day1.yaml", ["-o", "out.json", "--format", "yaml"], "yaml", id="format-wins"),
    ],
)
def test_output_format_follows_the_output_extension(
    tmp_path: Path, sample: str, args: list[str], expected: str
) -> None:
    source = tmp_path / sample
    day1 = load_path(SAMPLES / "blue-green" / "day1.yaml")
    source.write_text(
        json.dumps(day1)
        if sample.endswith(".json")
        else (SAMPLES / "blue-green" / "day1.yaml").read_text(),
        encoding="utf-8",
    )
    result = run("transform", sample, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / args[1]).read_text(encoding="utf-8")
    assert text.startswith("{") == (expected == "json")
    if expected == "json":
        assert versions(json.loads(text)) == ["HelloVersionca4e740840"]
    else:
        assert versions(load(text)) == ["HelloVersionca4e740840"]


def test_loader_warnings_on_stderr_unless_quiet(tmp_path: Path) -> None:
    (tmp_path / "dup.yaml").write_text(
        "Resources:\n  A: {Type: AWS::SNS::Topic}\n  A: {Type: AWS::SQS::Queue}\n",
        encoding="utf-8",
    )
    loud = run("transform", "dup.yaml", cwd=tmp_path)
    quiet = run("transform", "dup.yaml", "-q", cwd=tmp_path)
    assert loud.returncode == quiet.returncode == 0
    assert errors(loud) == [
        'pin-versions: warning: dup.yaml: line 3 column 3: duplicate key "A" (first defined at '
        "line 2); the last value wins, as in CloudFormation"
    ]
    assert quiet.stderr == "" and quiet.stdout == loud.stdout


def test_internal_error_is_one_line_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pin_versions.local import cli, pipeline

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(pipeline, "transform", broken)
    monkeypatch.delenv("PIN_VERSIONS_DEBUG", raising=False)
    assert cli.main(["transform", str(SAMPLES / "blue-green" / "day1.yaml")]) == 1
    assert capsys.readouterr().err == (
        "pin-versions: internal error: RuntimeError: boom "
        "(set PIN_VERSIONS_DEBUG=1 for the traceback)\n"
    )


# --- --pin and the Transform list -----------------------------------------------------------


def test_pin_runs_pinversions_when_the_template_does_not_list_it(tmp_path: Path) -> None:
    text = (SAMPLES / "blue-green" / "day1.yaml").read_text(encoding="utf-8")
    (tmp_path / "plain.yaml").write_text(text.replace("Transform: PinVersions\n", ""), "utf-8")
    without = run("transform", "plain.yaml", "--format", "json", cwd=tmp_path)
    with_pin = run("transform", "plain.yaml", "--format", "json", "--pin", cwd=tmp_path)
    assert versions(json.loads(without.stdout)) == []
    assert versions(json.loads(with_pin.stdout)) == ["HelloVersionca4e740840"]


# --- local packaging ------------------------------------------------------------------------

SAM_TEMPLATE = """\
Transform: [AWS::Serverless-2016-10-31, PinVersions]
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
  Gone:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: not-copied/
  Remote:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://bucket/remote.zip
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: A
        States:
          A: {Type: Task, Resource: !GetAtt Hello.Arn, Next: B}
          B: {Type: Task, Resource: !GetAtt Gone.Arn, Next: C}
          C: {Type: Task, Resource: !GetAtt Remote.Arn, End: true}
      Policies:
        - LambdaInvokePolicy: {FunctionName: !Ref Hello}
"""


def test_local_code_change_gives_a_new_version(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    code = tmp_path / "src" / "app.py"
    code.write_text("def handler(event, context):\n    return 'Approved'\n", encoding="utf-8")
    (tmp_path / "template.yaml").write_text(SAM_TEMPLATE, encoding="utf-8")

    before = run("transform", "template.yaml", "--format", "json", cwd=tmp_path)
    code.write_text("def handler(event, context):\n    return 'ThumbsUp'\n", encoding="utf-8")
    after = run("transform", "template.yaml", "--format", "json", cwd=tmp_path)
    assert before.returncode == after.returncode == 0, before.stderr

    old, new = json.loads(before.stdout), json.loads(after.stdout)
    assert old["Resources"]["Hello"]["Properties"]["Code"] == {
        "S3Bucket": LOCAL_BUCKET,
        "S3Key": hashlib.sha256(
            hashlib.sha256(b"def handler(event, context):\n    return 'Approved'\n")
            .hexdigest()
            .encode()
            + b"  app.py\n"
        ).hexdigest(),
    }
    hello = [v for v in versions(old) if v.startswith("Hello")]
    assert hello and hello != [v for v in versions(new) if v.startswith("Hello")]
    # Only Hello changed: the others keep their versions.
    assert [v for v in versions(old) if not v.startswith("Hello")] == [
        v for v in versions(new) if not v.startswith("Hello")
    ]
    assert new["Resources"]["Remote"]["Properties"]["Code"] == {
        "S3Bucket": "bucket",
        "S3Key": "remote.zip",
    }
    explained = run("explain", "template.yaml", "-q", cwd=tmp_path)
    assert explained.returncode == 0 and explained.stderr == ""
    key = new["Resources"]["Hello"]["Properties"]["Code"]["S3Key"]
    assert f"  packaged: Resources.Hello.Properties.CodeUri: src/ -> sha256 {key[:12]}\n" in (
        explained.stdout
    )
    assert "  packaged: Resources.Gone.Properties.CodeUri: not-copied/ -> sha256 " in (
        explained.stdout
    )
    assert ", a placeholder: not found\n" in explained.stdout
    # SAM made the DefinitionString; the lines are those of the Definition in the file.
    assert "  DefinitionString.States.A.Resource  25    function Hello  " in explained.stdout
    assert errors(after) == [
        "pin-versions: warning: template.yaml:14: Resources.Gone.Properties.CodeUri: not-copied/ "
        "does not exist (looked for not-copied); hashed by its name, so changes to its code "
        "cannot show as new versions"
    ]


def test_content_hash_is_sha256sum(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.txt").write_bytes(b"b")
    (tmp_path / "d" / "sub" / "a.txt").write_bytes(b"a")
    assert content_hash(tmp_path / "d" / "b.txt") == hashlib.sha256(b"b").hexdigest()
    # `find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum | sha256sum`
    listing = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in [("b.txt", b"b"), ("sub/a.txt", b"a")]
    )
    assert content_hash(tmp_path / "d") == hashlib.sha256(listing.encode()).hexdigest()
    first = content_hash(tmp_path / "d")
    (tmp_path / "d" / "sub" / "a.txt").rename(tmp_path / "d" / "sub" / "c.txt")
    assert content_hash(tmp_path / "d") != first  # a rename is a change too


def test_package_rewrites_local_paths_only(tmp_path: Path) -> None:
    (tmp_path / "code.zip").write_bytes(b"zip")
    (tmp_path / "machine.asl.json").write_text("{}", encoding="utf-8")
    digest = hashlib.sha256(b"zip").hexdigest()
    template: dict[str, Any] = {
        "Globals": {"Function": {"CodeUri": "code.zip"}},
        "Resources": {
            "Plain": {"Type": "AWS::Lambda::Function", "Properties": {"Code": "code.zip"}},
            "Inline": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"ZipFile": "x"}}},
            "Sam": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "a.b"}},
            "Sub": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": {"Bucket": "b", "Key": "k"}},
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionS3Location": "machine.asl.json"},
            },
        },
    }
    snapshot = json.dumps(template)
    result = package(template, tmp_path)
    assert json.dumps(template) == snapshot, "package mutated its input"
    resources = result.template["Resources"]
    assert result.template["Globals"]["Function"]["CodeUri"] == f"s3://{LOCAL_BUCKET}/{digest}"
    assert resources["Plain"]["Properties"]["Code"] == {"S3Bucket": LOCAL_BUCKET, "S3Key": digest}
    assert resources["Inline"] == template["Resources"]["Inline"]
    assert resources["Sam"] == template["Resources"]["Sam"]  # Globals gives it code
    assert resources["Sub"] == template["Resources"]["Sub"]
    assert resources["Machine"]["Properties"]["DefinitionS3Location"] == {
        "Bucket": LOCAL_BUCKET,
        "Key": hashlib.sha256(b"{}").hexdigest(),
    }
    assert result.notes == []


def test_line_map_uses_the_longest_prefix() -> None:
    text = (SAMPLES / "blue-green" / "day1.yaml").read_text(encoding="utf-8")
    lines = LineMap(text, "day1.yaml")
    task = "Resources.Workflow.Properties.DefinitionString.States.Hello.Resource"
    assert lines.line_of(task) == 60  # the line where the DefinitionString starts
    assert lines.line_of("Resources.Workflow") == 56
    assert lines.line_of("Resources.WorkflowRole") == 38
    assert lines.line_of("Resources.OnlySamMadeThis.Properties") is None
    sam = LineMap(SAM_TEMPLATE, "t.yaml")  # SAM's DefinitionString is the file's Definition
    assert sam.line_of("Resources.Machine.Properties.DefinitionString.States.B.Resource") == 26
    # Paths as keys (Diagnostic.parts, Pin.parts, a check's Finding) match without formatting.
    parts = ("Resources", "Workflow", "Properties", "DefinitionString", "States", "Hello")
    assert lines.line_of(parts) == 60
    assert lines.line_of(("Resources", "Workflow")) == 56
    assert lines.line_of(("Resources", "OnlySamMadeThis", "Properties")) is None
    sam_parts = ("Resources", "Machine", "Properties", "DefinitionString", "States", "B")
    assert sam.line_of((*sam_parts, "Resource")) == 26
    # A state name with a dot is one key, not two: the tuple keeps it so.
    states = ("Resources", "Machine", "Properties", "Definition", "States")
    assert sam.line_of((*states, "B.x")) == sam.line_of(states) != sam.line_of((*states, "B"))


# --- explain, plan, prune -------------------------------------------------------------------


def test_explain_golden() -> None:
    result = run("explain", "samples/blue-green/day1.yaml")
    assert (result.returncode, result.stderr) == (0, "")
    check_golden("explain-blue-green-day1.txt", result.stdout)


def test_plan_golden() -> None:
    result = run("plan", "samples/blue-green/day1.yaml", "samples/blue-green/day2.yaml")
    assert (result.returncode, result.stderr) == (0, "")
    check_golden("plan-blue-green-day1-day2.txt", result.stdout)


def test_explain_reads_standard_input() -> None:
    text = (SAMPLES / "s3-definition" / "template.yaml").read_text(encoding="utf-8")
    result = run("explain", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("-\n  transforms: PinVersions\n")
    assert "  PV105  Resources.Machine.Properties.DefinitionS3Location (line 63)\n" in (
        result.stdout
    )


def test_prune_is_wired() -> None:
    helped = run("prune", "--help")
    assert helped.returncode == 0 and "--stack NAME" in helped.stdout
    assert "--apply" in helped.stdout
    missing = run("prune")
    assert missing.returncode == 2 and "--stack" in missing.stderr


# --- check ----------------------------------------------------------------------------------

DAY1 = (SAMPLES / "blue-green" / "day1.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    """The 1-based line of the first line of ``text`` that starts with ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(needle))


def test_check_flags_unpinned_tasks_where_pinversions_is_not_listed(tmp_path: Path) -> None:
    text = DAY1.replace("Transform: PinVersions\n", "")
    (tmp_path / "day1.yaml").write_text(text, encoding="utf-8")
    result = run("check", "day1.yaml", cwd=tmp_path)
    line = _line_of(text, "      DefinitionString:")
    assert (result.returncode, result.stderr) == (1, ""), result.stderr
    assert result.stdout.splitlines() == [
        f"day1.yaml:{line}: W9101 Resources.Workflow.Properties.DefinitionString: Task "
        "States.Hello.Resource invokes Hello unqualified: an execution waiting through a "
        "deploy runs code it was not written for; add PinVersions to the template's Transform "
        "or invoke a version"
    ]


def test_check_passes_the_samples_and_skips_what_is_not_a_template() -> None:
    result = run("check", *SAMPLE_TEMPLATES, "samples/s3-definition/machine.asl.json")
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr
    # PinVersions' warnings (what it left alone) go to stderr, as with `transform`.
    assert all("[PV1" in line for line in errors(result)), result.stderr


def test_check_skips_yaml_and_json_that_are_not_templates(tmp_path: Path) -> None:
    files = {
        "config.yaml": "repos:\n  - repo: local\n",
        "manifests.yaml": "---\nkind: Service\n---\nkind: Deployment\n",  # several documents
        "chart.yaml": "name: {{ .Values.name }}\n",  # not YAML at all, and no Resources key
        "package.json": '{"name": "x", "scripts": {}}\n',
        "list.json": "[1, 2]\n",
        "resources.yaml": "Resources: [a, b]\n",  # Resources, but not a mapping
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = run("check", *files, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    own = run("check", ".pre-commit-hooks.yaml", "docs/github-actions.yml")
    assert (own.returncode, own.stdout, own.stderr) == (0, "", "")


NARROW_ROLE = DAY1.replace(
    "Resources:\n", "Metadata:\n  PinVersions: {WidenRoles: false}\n\nResources:\n", 1
)

HAND_PINNED = """\
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.13
      Handler: index.handler
      Role: arn:aws:iam::123456789012:role/fn
      Code: {ZipFile: "def handler(event, context): return 1"}
  FnVersion:
    Type: AWS::Lambda::Version
    Properties:
      FunctionName: !Ref Fn
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: arn:aws:iam::123456789012:role/machine
      Definition:
        StartAt: A
        States:
          A: {Type: Task, Resource: !Ref FnVersion, End: true}
"""


def test_check_reports_unsafe_pins_in_the_processed_output(tmp_path: Path) -> None:
    """WidenRoles: false leaves the role able to invoke only the unqualified function: the
    processed template has E9102 at the role, in the file the user wrote. A version pinned by
    hand without Retain is E9102 too, as cfn-lint with the plugin reports it."""
    (tmp_path / "narrow.yaml").write_text(NARROW_ROLE, encoding="utf-8")
    (tmp_path / "hand.yaml").write_text(HAND_PINNED, encoding="utf-8")
    result = run("check", "-q", "narrow.yaml", "hand.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, "")
    assert result.stdout.splitlines() == [
        f"narrow.yaml:{_line_of(NARROW_ROLE, '  WorkflowRole:')}: E9102 Resources.WorkflowRole: "
        "role WorkflowRole of Workflow does not allow lambda:InvokeFunction on every version of "
        "Hello (${Hello.Arn}:*); executions started before a deploy fail",
        f"hand.yaml:{_line_of(HAND_PINNED, '  FnVersion:')}: E9102 Resources.FnVersion: version "
        "FnVersion is invoked by Machine but has no DeletionPolicy: Retain; the next deploy "
        "deletes it under running executions",
    ]
    loud = run("check", "narrow.yaml", cwd=tmp_path)
    assert loud.stdout == result.stdout.split("hand.yaml")[0]
    assert [line for line in errors(loud) if "[PV107]" in line], loud.stderr


def test_check_reports_macro_failures_and_goes_on(tmp_path: Path) -> None:
    """A failing template is one line per problem with its code; an unreadable or broken
    template makes the exit code 2, after every other file was checked."""
    (tmp_path / "strict.yaml").write_text(STRICT, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("Resources:\n  A: [\n", encoding="utf-8")
    (tmp_path / "day1.yaml").write_text(DAY1.replace("Transform: PinVersions\n", ""), "utf-8")
    failing = run("check", "strict.yaml", cwd=tmp_path)
    assert (failing.returncode, failing.stderr) == (1, "")
    assert failing.stdout.splitlines() == [
        "strict.yaml:14: PV905 Resources.Machine.Properties.Definition.States.A.Resource: "
        "Strict: left alone: names no function of this template (PV101)"
    ]
    mixed = run("check", "missing.yaml", "broken.yaml", "strict.yaml", "day1.yaml", cwd=tmp_path)
    assert mixed.returncode == 2
    assert [line.split(":")[0] for line in mixed.stdout.splitlines()] == [
        "strict.yaml",
        "day1.yaml",
    ]
    assert errors(mixed) == [
        "pin-versions: error: missing.yaml: cannot read file: No such file or directory",
        "pin-versions: error: broken.yaml: line 3 column 1: while parsing a flow node, expected "
        "the node content, but found '<stream end>'",
    ]
    assert run("check").returncode == 2  # at least one file


# --- pre-commit and GitHub Actions ------------------------------------------------------------


def test_pre_commit_hook_runs_check_on_templates() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [hook["id"] for hook in hooks] == ["pin-versions-check"]
    hook = hooks[0]
    assert hook["entry"] == "pin-versions check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    matched = ["a.yaml", "b/c.yml", "d.json", "e.template", "cdk.out/S.template.json"]
    assert all(files.search(name) for name in matched)
    assert not any(files.search(name) for name in ["f.py", "g.yaml.bak", "h.toml"])
    # The snippet users copy names this hook.
    assert "- id: pin-versions-check" in (ROOT / "docs" / "integrations.md").read_text("utf-8")


WORKFLOW_PATH = ROOT / "docs" / "github-actions.yml"


def _workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW_PATH.read_text(encoding="utf-8"))
    return loaded


def _step(name: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = _workflow()["jobs"]["pin-versions"]["steps"]
    return next(step for step in steps if step.get("name", "").startswith(name))


def _run_step(
    name: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A `run:` step as GitHub runs it (bash -eo pipefail), with this venv's python,
    pin-versions and cfn-lint first on PATH in place of the `pip install` step."""
    step = _step(name)
    environment = {**ENV, **_workflow()["env"], **step.get("env", {}), **(env or {})}
    environment["PATH"] = f"{SCRIPT.parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflow_installs_transforms_and_lints_with_the_rules() -> None:
    workflow = _workflow()
    assert set(workflow[True]) == {"pull_request", "push"}  # YAML 1.1 reads `on` as true
    steps = workflow["jobs"]["pin-versions"]["steps"]
    uses = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    assert uses == ["actions/checkout", "actions/setup-python", "actions/upload-artifact"]
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-py"))
    assert setup["with"]["python-version"] == "3.13"
    assert "pip install" in _step("Install")["run"]
    assert "pin-versions check" in _step("Check")["run"]
    assert "pin-versions transform" in _step("Transform")["run"]
    lint = _step("cfn-lint")["run"]
    assert "import pin_versions.cfn_lint_rules as r; print(r.__path__[0])" in lint
    # The command the docs give is the one the workflow runs.
    command = 'cfn-lint --append-rules="$rules" processed.json'
    assert command in lint
    docs = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    assert command.replace("$rules", "$RULES") in docs


def test_workflow_steps_run_as_written(tmp_path: Path) -> None:
    """Transform and lint a template that uses the macro (clean), then one that does not:
    the lint step fails with W9101, so the documented --append-rules form loads the rules."""
    shutil.copy(SAMPLES / "blue-green" / "day1.yaml", tmp_path / "template.yaml")
    transformed = _run_step("Transform", tmp_path)
    assert transformed.returncode == 0, transformed.stderr
    assert json.loads((tmp_path / "processed.json").read_text(encoding="utf-8"))["Resources"]
    assert "Summary: 1 state machine, 1 target pinned" in (tmp_path / "explain.txt").read_text(
        encoding="utf-8"
    )
    linted = _run_step("cfn-lint", tmp_path)
    assert (linted.returncode, linted.stdout) == (0, ""), linted.stdout + linted.stderr

    (tmp_path / "template.yaml").write_text(DAY1.replace("Transform: PinVersions\n", ""), "utf-8")
    assert _run_step("Transform", tmp_path).returncode == 0
    unpinned = _run_step("cfn-lint", tmp_path)
    assert unpinned.returncode != 0 and "W9101" in unpinned.stdout, unpinned.stderr


def test_workflow_checks_the_templates_the_change_touches(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "old.yaml").write_text(DAY1.replace("Transform: PinVersions\n", ""), "utf-8")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    base = git("rev-parse", "HEAD")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "new.yaml").write_text(
        DAY1.replace("Transform: PinVersions\n", ""), "utf-8"
    )
    (tmp_path / "app" / "config.yml").write_text("key: value\n", encoding="utf-8")
    shutil.copy(SAMPLES / "cdk-join" / "template.json", tmp_path / "app" / "cdk.template.json")
    git("add", ".")
    git("commit", "-q", "-m", "change")

    changed = _run_step("Check", tmp_path, {"BASE": base})
    assert changed.returncode != 0
    # Only the changed template is reported; the old one (unpinned too) is not part of it.
    assert [line.split(":")[0] for line in changed.stdout.splitlines()] == ["app/new.yaml"]
    assert "W9101" in changed.stdout

    every = _run_step("Check", tmp_path, {"BASE": ""})  # a new branch: no base commit
    assert sorted(line.split(":")[0] for line in every.stdout.splitlines()) == [
        "app/new.yaml",
        "old.yaml",
    ]


# --- explain and plan for every target kind (issue 14) ---------------------------------------

KINDS_OBJECT = ROOT / "tests" / "golden" / "kinds-object" / "input.yaml"


def test_explain_says_what_pins_each_kind_and_which_grant() -> None:
    result = run("explain", str(KINDS_OBJECT))
    assert result.returncode == 0, result.stderr
    rows = {tuple(re.split(r"\s{2,}", line.strip())) for line in result.stdout.splitlines()}
    # What each Task calls and what it is pinned to (line numbers from the file).
    assert {
        (
            "Definition.States.StartChild.Parameters.StateMachineArn",
            "72",
            "state machine Child",
            "ChildVersion",
        ),
        (
            "Definition.States.RunWeb.Parameters.TaskDefinition",
            "87",
            "task definition Web",
            "Web (its revision)",
        ),
        (
            "Definition.States.SubmitNightly.Parameters.JobDefinition",
            "95",
            "job definition Nightly",
            "Nightly (its revision)",
        ),
    } <= rows
    # What is retained: a new state machine version, the revisions kept ACTIVE.
    assert {
        (
            "ChildVersion",
            "state machine version",
            "state machine Child",
            "new StateMachineVersion",
            "Retain",
            "Retain",
        ),
        (
            "Web",
            "task definition revision",
            "task definition Web",
            "its own revision, kept ACTIVE",
            "Retain",
            "Retain",
        ),
        (
            "Nightly",
            "job definition revision",
            "job definition Nightly",
            "its own revision, kept ACTIVE (ResourceRetentionPolicy.SkipDeregisterOnUpdate: true)",
            "Retain",
            "Retain",
        ),
    } <= rows
    # The grant of each kind, with its own actions (never lambda:InvokeFunction).
    grants = [line for line in result.stdout.splitlines() if "retained grant" in line]
    assert len(grants) == 4 and not any("lambda:" in line for line in grants)
    assert any(
        line.endswith(
            "states:StartExecution, states:DescribeExecution, states:StopExecution, "
            "events:PutTargets, events:PutRule, events:DescribeRule on state machine Child"
        )
        for line in grants
    )
    assert any(line.endswith("ecs:RunTask on task definition Web") for line in grants)
    assert any(line.endswith("batch:SubmitJob on job definition Nightly") for line in grants)


def test_plan_gives_each_kind_its_lifecycle_verdict(tmp_path: Path) -> None:
    """Day 2 changes the child and the task definition: the child's old version and the
    old revision are retained (safe); with the ECS retention removed by hand from the
    processed day 1, the old revision is deregistered (BROKEN)."""
    day1 = load(KINDS_OBJECT.read_text(encoding="utf-8"))
    day2 = json.loads(json.dumps(day1))
    day2["Resources"]["Child"]["Properties"]["Definition"]["States"]["Wait"]["Seconds"] = 9
    day2["Resources"]["Web"]["Properties"]["Cpu"] = "512"
    (tmp_path / "day1.json").write_text(json.dumps(day1))
    (tmp_path / "day2.json").write_text(json.dumps(day2))
    result = run("plan", "day1.json", "day2.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Verdicts: 4 safe, 0 broken, 0 not protected" in result.stdout
    assert "  ChildVersion  Child  replaces the one OLD published" in result.stdout
    assert "  ChildVersion  Child  UpdateReplacePolicy Retain: the old one stays" in result.stdout
    assert "task definition Web is replaced and retained" in result.stdout
    # The processed day 1 without the Retain PinVersions gave the task definition.
    out = run("transform", "day1.json", "-o", "processed.json", "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    processed = json.loads((tmp_path / "processed.json").read_text())
    for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
        processed["Resources"]["Web"].pop(policy)
    processed.pop("Transform", None)
    (tmp_path / "processed.json").write_text(json.dumps(processed))
    broken = run("plan", "processed.json", "day2.json", "--fail-on-broken", cwd=tmp_path)
    assert broken.returncode == 1
    assert "BROKEN         Web (Web; Parent): revision deregistered" in broken.stdout


def test_explain_and_plan_show_the_alias_and_its_shift(tmp_path: Path) -> None:
    """Issue 15: the alias, the version it shifts to, how (CANARY with its alarms), the
    callers moved to it; plan says the previous version keeps taking executions meanwhile."""
    source = ROOT / "tests" / "golden" / "alias-canary-alarms-eventbridge" / "input.yaml"
    explained = run("explain", str(source))
    assert explained.returncode == 0, explained.stderr
    assert (
        "  OrdersAliaslive: alias live of Orders (created), shifts to OrdersVersion (new): "
        "CANARY 10% for 10 minutes, then all, rolled back on alarm OrdersFailures, OrdersErrors"
    ) in explained.stdout
    assert "    callers moved to it: Resources.OrderPlaced.Properties.Targets[0].Arn" in (
        explained.stdout
    )
    planned = run("plan", str(source), str(source))
    assert planned.returncode == 0, planned.stderr
    assert "Aliases (issue 15)\n  OrdersAliaslive: live of Orders shifts to OrdersVersion: " in (
        planned.stdout
    )


# --- a review of explain and plan for issues 14 and 15 ---------------------------------------
# tests/cli/reviewed/: the templates the review reproduced each fault with.

REVIEWED = GOLDEN / "reviewed"


def _rows(text: str) -> set[tuple[str, ...]]:
    return {tuple(re.split(r"\s{2,}", line.strip())) for line in text.splitlines()}


def test_explain_shows_the_alias_a_moved_task_starts() -> None:
    """MoveCallers.StepFunctions: the processed Task starts Ref ChildAliaslive, not the
    version; the pins table says so (every Task the alias lists among its callers)."""
    result = run("explain", REVIEWED / "nested-alias.yaml")
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout)
    assert {
        (
            "Definition.States.A.Parameters.StateMachineArn",
            "43",
            "state machine Child",
            "ChildAliaslive (alias live, shifts to ChildVersion)",
        ),
        (
            "Definition.States.C.Parameters.StateMachineArn",
            "56",
            "state machine Child2",
            "Child2Aliaslive (alias live, shifts to Child2Version)",
        ),
    } <= rows
    assert "pinned to ChildVersion" not in result.stdout
    # ParentVersion is the alias's own: listed, and counted with the children's.
    assert (
        "ParentVersion",
        "state machine version",
        "state machine Parent",
        "new StateMachineVersion, ParentAliaslive shifts to it",
        "Retain",
        "Retain",
    ) in rows
    assert ", 3 new versions, 0 existing versions," in result.stdout


def test_explain_counts_and_lists_state_machine_versions() -> None:
    nested = run("explain", REVIEWED / "nested.yaml")
    assert nested.returncode == 0, nested.stderr
    assert {
        (
            "ChildVersion",
            "state machine version",
            "state machine Child",
            "new StateMachineVersion",
            "Retain",
            "Retain",
        ),
        (
            "Child2Version",
            "state machine version",
            "state machine Child2",
            "new StateMachineVersion",
            "Retain",
            "Retain",
        ),
    } <= _rows(nested.stdout)
    assert ", 2 new versions, 0 existing versions," in nested.stdout
    canary = run("explain", "samples/canary/template.yaml")
    assert canary.returncode == 0, canary.stderr
    rows = _rows(canary.stdout)
    assert next(r[:3] for r in rows if r[0].startswith("ChargeVersion")) == (
        "ChargeVersion70b088bac7",
        "Lambda version",
        "Charge",
    )
    assert (
        "OrdersVersion",
        "state machine version",
        "state machine Orders",
        "new StateMachineVersion, OrdersAliaslive shifts to it",
        "Retain",
        "Retain",
    ) in rows
    assert ", 2 new versions, 0 existing versions," in canary.stdout


def test_explain_reads_policies_from_what_sam_produced() -> None:
    """PinVersions before SAM: SAM writes ChildVersion (AutoPublishAlias) with the Retain
    policies PinVersions asked for; the table reads the template SAM produced."""
    result = run("explain", REVIEWED / "sam-apa-before.yaml")
    assert result.returncode == 0, result.stderr
    processed = run("transform", REVIEWED / "sam-apa-before.yaml", "--format", "json")
    version = json.loads(processed.stdout)["Resources"]["ChildVersion"]
    assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == ("Retain", "Retain")
    row = next(r for r in _rows(result.stdout) if r[0] == "ChildVersion")
    assert row[-2:] == ("Retain", "Retain")
    assert "none (deleted)" not in result.stdout


def test_plan_from_an_alias_back_to_versions() -> None:
    """The alias option removed: Parent's Tasks go from the aliases back to the versions,
    the aliases leave the template retained, and a Task that started an alias is judged:
    the alias is retained and its versions stay."""
    result = run("plan", REVIEWED / "nested-alias.yaml", REVIEWED / "nested.yaml")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "State machines whose pinned targets change: none" not in text
    assert {
        ("Definition.States.A.Parameters.StateMachineArn", "ChildAliaslive", "->", "ChildVersion"),
        (
            "Definition.States.C.Parameters.StateMachineArn",
            "Child2Aliaslive",
            "->",
            "Child2Version",
        ),
    } <= _rows(text)
    for alias in ("ChildAliaslive", "Child2Aliaslive", "ParentAliaslive"):
        assert (
            f"  {alias}: leaves the template, retained (DeletionPolicy Retain): it stays, "
            "routing to the versions it routes to now\n"
        ) in text
    assert "not judged" not in text
    assert (
        "  safe           ChildAliaslive (Child; Parent)\n"
        "                 alias ChildAliaslive is removed and retained: it keeps routing to "
        "the versions it routes to now; Role still allows it "
        "(RolePinVersionsInvokeChild1e6d9a560c)\n"
    ) in text
    assert "1 state machine retargeted" in text
    assert text.endswith("Verdicts: 5 safe, 0 broken, 0 not protected\n")


def test_plan_to_an_alias_and_an_alias_deleted(tmp_path: Path) -> None:
    """The other way (versions -> aliases), and an alias that leaves without Retain: a Task
    that starts it is broken."""
    forward = run("plan", REVIEWED / "nested.yaml", REVIEWED / "nested-alias.yaml")
    assert forward.returncode == 0, forward.stderr
    assert (
        "Definition.States.B.Parameters.StateMachineArn",
        "ChildVersion",
        "->",
        "ChildAliaslive",
    ) in _rows(forward.stdout)
    processed = run("transform", REVIEWED / "nested-alias.yaml", "--format", "json")
    old = json.loads(processed.stdout)
    del old["Resources"]["ChildAliaslive"]["DeletionPolicy"]
    (tmp_path / "old.json").write_text(json.dumps(old), encoding="utf-8")
    back = run("plan", tmp_path / "old.json", REVIEWED / "nested.yaml")
    assert back.returncode == 0, back.stderr
    assert (
        "  ChildAliaslive: leaves the template and is deleted: an execution or caller still "
        "starting it fails\n"
    ) in back.stdout
    assert "  BROKEN         ChildAliaslive (Child; Parent): alias deleted\n" in back.stdout


def test_plan_names_the_kinds_option_that_left_a_target_unpinned() -> None:
    result = run("plan", REVIEWED / "nested-off.yaml", REVIEWED / "nested.yaml")
    assert result.returncode == 0, result.stderr
    assert "add PinVersions to the Transform list" not in result.stdout
    assert (
        "(set Metadata.PinVersions.Kinds.StateMachine to true: while it is false PinVersions "
        "leaves every Task that calls a state machine alone; this deploy does: executions "
        "started after it are pinned)"
    ) in result.stdout
    same = run("plan", REVIEWED / "nested-off.yaml", REVIEWED / "nested-off.yaml")
    assert "this deploy does" not in same.stdout
    # Not in the Transform list at all: that is still the fix.
    text = (REVIEWED / "nested.yaml").read_text(encoding="utf-8")
    plain = run("plan", "-", REVIEWED / "nested.yaml", stdin=text.replace("Transform:", "#"))
    assert "(add PinVersions to the Transform list;" in plain.stdout


@pytest.mark.parametrize(
    ("old", "new", "verdict"),
    [
        (
            "ecs.yaml",
            "ecs-rename.yaml",
            "task definition TaskDef is replaced and retained; Role still allows it "
            "(RolePinVersionsInvokeTaskDef42cfd6c92d, retained)",
        ),
        (
            "nested.yaml",
            "nested-rename.yaml",
            "state machine Child is replaced and retained; ChildVersion is replaced, the old "
            "one retained (UpdateReplacePolicy: Retain); Role still allows it "
            "(RolePinVersionsInvokeChild1e6d9a560c, retained)",
        ),
    ],
)
def test_plan_names_the_grant_that_allows_a_replaced_target(
    old: str, new: str, verdict: str
) -> None:
    """A renamed family or state machine is another resource in NEW: NEW's grant allows
    the new one; what allows the old revision (or version) is OLD's grant, retained."""
    result = run("plan", REVIEWED / old, REVIEWED / new)
    assert result.returncode == 0, result.stderr
    assert f"                 {verdict}\n" in result.stdout
    new_grants = run("explain", REVIEWED / new).stdout
    old_grants = run("explain", REVIEWED / old).stdout
    grant = verdict.rsplit("(", 1)[1].split(",")[0]
    assert grant in old_grants and grant not in new_grants

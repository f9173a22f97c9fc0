"""The StackSet templates (issue 16): generated from template.yaml and
deploy/prune-schedule.yaml, transform-free, no local paths, clean under cfn-lint; the code zip
and its content key; the aws commands `make stackset` prints; and a deploy of the macro's
StackSet template on the embedded emulator whose deployed function then pins the blue-green
day-1 template. Nothing is sent to AWS.

The bundle here is built offline as `pip install --target` would build it (macro/Makefile
does it for real; tests/bundles.py): the files of the package its recipe ships, plus the
installed distributions that macro/requirements.txt needs, copied file by file from their
RECORD.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import shlex
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bundles import build_bundle
from pin_versions.local.packaging import package
from pin_versions.local.sam_local import translate
from pin_versions.local.stackset import (
    ARTIFACT_PREFIX,
    OPERATION_PREFERENCES,
    SOURCES,
    Artifact,
    Plan,
    StackSetError,
    artifact_bucket_template,
    bucket_name,
    capabilities,
    generate,
    main,
    package_bundle,
    stackset_template,
)
from support import ROOT, SAMPLES, _lint_json, lint_errors, load_path, macro_event, run_macro

MACRO, PRUNE = SOURCES
PREFIX = "acme-pv"
ORG = "o-abcdefghij"
TARGETS = ("ou-ab12-cdefgh34", "r-ab12")
PLAN = Plan(
    regions=("us-east-1", "eu-west-1"),
    bucket_prefix=PREFIX,
    organization_id=ORG,
    targets=TARGETS,
    parameters={"macro": {"MacroName": "PinVersions"}, "prune": {"StackName": "orders"}},
)


# --- the bundle, offline -------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each function's bundle, as its macro/Makefile recipe builds it: the macro's (the core
    alone) and the prune job's (the core and prune/)."""
    return {
        "macro": build_bundle(tmp_path_factory.mktemp("macro-bundle"), "MacroFunction"),
        "prune": build_bundle(tmp_path_factory.mktemp("prune-bundle"), "PruneFunction"),
    }


@pytest.fixture(scope="module")
def bundle(bundles: dict[str, Path]) -> Path:
    """The macro's bundle."""
    return bundles["macro"]


@pytest.fixture(scope="module")
def generated(
    bundles: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Artifact], dict[str, dict[str, Any]], Path, list[str]]:
    out = tmp_path_factory.mktemp("stackset")
    artifacts, written, bucket_path, lines = generate(ROOT, bundles, out, PLAN, ["macro", "prune"])
    templates = {name: template for name, (_, template, _) in written.items()}
    return artifacts, templates, bucket_path, lines


Generated = tuple[dict[str, Artifact], dict[str, dict[str, Any]], Path, list[str]]


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (k, *_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


# --- the templates -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["macro", "prune"])
def test_no_transform_no_sam_no_local_paths(generated: Generated, name: str) -> None:
    template = generated[1][name]
    assert "Transform" not in template
    types = {r["Type"] for r in template["Resources"].values()}
    assert not [t for t in types if t.startswith("AWS::Serverless::")]
    # The packagers find nothing left to upload, relative to the repository or anywhere.
    assert package(template, ROOT).packaged == {}
    strings = set(_strings(template))
    assert not strings & {"macro/", "../macro/", "LICENSE", "README.md"}
    # Nothing of the machine or account that generated it: every target fills these in.
    assert not [s for s in strings if "us-east-1" in s or "123456789012" in s]


@pytest.mark.parametrize("name", ["macro", "prune"])
def test_cfn_lint_finds_nothing(generated: Generated, name: str) -> None:
    template = generated[1][name]
    assert lint_errors(template) == []
    assert _lint_json(json.dumps(template, sort_keys=True)) == ()  # no warnings either


def test_the_artifact_bucket_template_passes_cfn_lint(generated: Generated) -> None:
    written = json.loads(generated[2].read_text(encoding="utf-8"))
    assert written == artifact_bucket_template()
    assert _lint_json(json.dumps(written, sort_keys=True)) == ()


def _source(source: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = load_path(ROOT / source.path)
    return loaded


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
def test_generated_from_the_source_so_they_cannot_drift(generated: Generated, source: Any) -> None:
    """Compared with the source as written (not only through SAM): same parameters,
    conditions and outputs; every resource of the source that is plain CloudFormation is
    there unchanged; the function has every property the source gives it."""
    template = generated[1][source.name]
    original = _source(source)
    assert template["Parameters"] == original["Parameters"]
    assert template.get("Conditions") == original.get("Conditions")
    assert template["Description"].split() == original["Description"].split()
    for logical_id, resource in original["Resources"].items():
        if not resource["Type"].startswith("AWS::Serverless::"):
            assert template["Resources"][logical_id] == resource, logical_id
    function = template["Resources"][source.function]
    assert function["Type"] == "AWS::Lambda::Function"
    sam_only = {"CodeUri", "Events", "EventInvokeConfig"}
    written = original["Resources"][source.function]["Properties"]
    for key, value in written.items():
        if key not in sam_only:
            assert function["Properties"][key] == value, key
    # And everything SAM makes of it, but the code's location, is what `sam deploy` deploys.
    packaged = copy.deepcopy(original)
    packaged["Resources"][source.function]["Properties"]["CodeUri"] = "s3://b/k.zip"
    sam = translate(packaged)
    assert set(template["Resources"]) == set(sam["Resources"])
    for logical_id, resource in sam["Resources"].items():
        if logical_id != source.function:
            assert template["Resources"][logical_id] == resource, logical_id
    expected = {k: v for k, v in sam["Resources"][source.function]["Properties"].items()}
    actual = dict(function["Properties"])
    assert actual.pop("Code") != expected.pop("Code")
    assert actual == expected
    assert template["Outputs"] == original["Outputs"] == sam["Outputs"]


def test_macro_template_has_the_macro_role_and_log_group(generated: Generated) -> None:
    template = generated[1]["macro"]
    macro = template["Resources"]["Macro"]
    assert macro == {
        "Type": "AWS::CloudFormation::Macro",
        "Properties": {
            "Name": {"Ref": "MacroName"},
            "Description": "Pins Step Functions Lambda targets to retained versions",
            "FunctionName": {"Fn::GetAtt": ["MacroFunction", "Arn"]},
        },
    }
    roles = {k for k, v in template["Resources"].items() if v["Type"].startswith("AWS::IAM::")}
    assert roles == {"MacroRole"}
    statements = [
        s
        for p in template["Resources"]["MacroRole"]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": ["MacroLogGroup", "Arn"]},
        }
    ]


def test_a_change_in_the_source_is_a_change_in_the_stackset_template(
    generated: Generated,
) -> None:
    artifact = generated[0]["macro"]
    source = _source(MACRO)
    source["Resources"]["MacroFunction"]["Properties"]["MemorySize"] = 2048
    source["Parameters"]["Extra"] = {"Type": "String", "Default": "x"}
    result = stackset_template(source, MACRO, bucket_prefix=PREFIX, artifact=artifact)
    assert result["Resources"]["MacroFunction"]["Properties"]["MemorySize"] == 2048
    assert result["Parameters"]["Extra"] == {"Type": "String", "Default": "x"}
    assert source["Resources"]["MacroFunction"]["Properties"]["CodeUri"] == "macro/"


@pytest.mark.parametrize("name", ["macro", "prune"])
def test_the_code_is_in_the_regions_bucket_under_its_content_hash(
    generated: Generated, name: str
) -> None:
    artifacts, templates, _, _ = generated
    artifact = artifacts[name]
    source = next(s for s in SOURCES if s.name == name)
    code = templates[name]["Resources"][source.function]["Properties"]["Code"]
    assert code == {
        "S3Bucket": {"Fn::Sub": "acme-pv-${AWS::Region}"},
        "S3Key": f"{ARTIFACT_PREFIX}/{artifact.sha256}.zip",
    }
    assert artifact.sha256 == hashlib.sha256(artifact.path.read_bytes()).hexdigest()
    assert artifact.path.name == f"{artifact.sha256}.zip"
    assert templates[name]["Metadata"]["PinVersions::StackSet"] == {
        "Source": source.path,
        "Version": "0.1.0",
        "CodeSha256": artifact.sha256,
    }
    assert "AWS::ServerlessRepo::Application" not in templates[name]["Metadata"]


def test_the_zip_is_reproducible_and_named_by_its_content(bundle: Path, tmp_path: Path) -> None:
    first = package_bundle(bundle, tmp_path / "a")
    touched = tmp_path / "touched"
    shutil.copytree(bundle, touched)
    os.utime(touched / "pin_versions" / "handler.py", (1e9, 1e9))  # timestamps do not count
    second = package_bundle(touched, tmp_path / "b")
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert "pin_versions/handler.py" in names
        assert any(n.startswith("aws_lambda_powertools/") for n in names)
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in archive.infolist()} == {0o100644}
    copy_dir = tmp_path / "changed"
    shutil.copytree(bundle, copy_dir)
    (copy_dir / "pin_versions" / "extra.py").write_text("X = 1\n", encoding="utf-8")
    assert package_bundle(copy_dir, tmp_path / "c").sha256 != first.sha256


# --- the commands --------------------------------------------------------------------------


def test_the_printed_commands(generated: Generated) -> None:
    artifacts, _, bucket_path, lines = generated
    out = bucket_path.parent
    caps = ["--capabilities", "CAPABILITY_IAM"]
    commands = [line for line in lines if not line.startswith("#")]
    prefs = ["--operation-preferences", OPERATION_PREFERENCES]

    def stack_set(name: str, parameter: str) -> list[str]:
        body = f"file://{out / (name + '-stackset.json')}"
        return [
            " ".join(
                [
                    "aws cloudformation create-stack-set --region us-east-1",
                    f"--stack-set-name pin-versions-{name} --template-body {body}",
                    "--permission-model SERVICE_MANAGED",
                    "--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false",
                    "--managed-execution Active=true",
                    *caps,
                    f"--parameters {parameter}",
                ]
            ),
            " ".join(
                [
                    "aws cloudformation create-stack-instances --region us-east-1",
                    f"--stack-set-name pin-versions-{name}",
                    "--deployment-targets OrganizationalUnitIds=ou-ab12-cdefgh34,r-ab12",
                    "--regions us-east-1 eu-west-1",
                    *prefs,
                ]
            ),
            " ".join(
                [
                    "aws cloudformation update-stack-set --region us-east-1",
                    f"--stack-set-name pin-versions-{name} --template-body {body}",
                    *prefs,
                    *caps,
                    f"--parameters {parameter}",
                ]
            ),
        ]

    assert commands == [
        *(
            f"aws cloudformation deploy --region {region} --stack-name pin-versions-artifacts "
            f"--template-file {bucket_path} --parameter-overrides BucketPrefix=acme-pv "
            f"OrganizationId={ORG}"
            for region in ("us-east-1", "eu-west-1")
        ),
        # Each function's own zip, under its own content hash, in every Region.
        *(
            f"aws s3 cp {artifacts[name].path} s3://acme-pv-{region}/{artifacts[name].key} "
            f"--region {region}"
            for name in ("macro", "prune")
            for region in ("us-east-1", "eu-west-1")
        ),
        *stack_set("macro", "ParameterKey=MacroName,ParameterValue=PinVersions"),
        *stack_set("prune", "ParameterKey=StackName,ParameterValue=orders"),
    ]
    assert (out / "commands.sh").read_text(encoding="utf-8") == "\n".join(lines) + "\n"


def test_delegated_admin_and_home_region(bundle: Path, tmp_path: Path) -> None:
    plan = Plan(
        regions=("eu-west-1",),
        bucket_prefix=PREFIX,
        organization_id=ORG,
        targets=("r-ab12",),
        home_region="us-east-1",
        delegated_admin=True,
    )
    _, _, _, lines = generate(ROOT, {"macro": bundle}, tmp_path, plan)
    stack_sets = [line for line in lines if " create-stack-" in line or " update-stack-" in line]
    assert len(stack_sets) == 3
    for line in stack_sets:
        words = shlex.split(line)
        assert words[words.index("--region") + 1] == "us-east-1"
        assert words[words.index("--call-as") + 1] == "DELEGATED_ADMIN"
    assert "--regions eu-west-1 " in stack_sets[1]


def _parameters_given(bundles: dict[str, Path], out: Path, values: dict[str, str]) -> list[str]:
    plan = Plan(
        regions=("us-east-1",),
        bucket_prefix=PREFIX,
        organization_id=ORG,
        targets=("r-ab12",),
        parameters={"prune": values},
    )
    _, _, _, lines = generate(ROOT, bundles, out, plan, ["prune"])
    words = shlex.split(next(line for line in lines if "create-stack-set" in line))
    return words[words.index("--parameters") + 1 :]


def test_parameter_values_are_shell_quoted_and_commas_use_the_json_form(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    cron = "cron(0 3 * * ? *)"
    given = _parameters_given(
        bundles, tmp_path, {"StackName": "orders", "ScheduleExpression": cron}
    )
    # In the template's parameter order, whatever order they were given in.
    assert given == [
        "ParameterKey=StackName,ParameterValue=orders",
        f"ParameterKey=ScheduleExpression,ParameterValue={cron}",
    ]
    # The CLI shorthand splits on commas: such a value goes as JSON.
    given = _parameters_given(bundles, tmp_path, {"ScheduleExpression": "x,y", "StackName": "o"})
    assert [json.loads(word) for word in given] == [
        [
            {"ParameterKey": "StackName", "ParameterValue": "o"},
            {"ParameterKey": "ScheduleExpression", "ParameterValue": "x,y"},
        ]
    ]


def test_capabilities_follow_the_iam_resources() -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {}}
    named = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r"}}
    assert capabilities({"Resources": {}}) == []
    assert capabilities({"Resources": {"R": role}}) == ["CAPABILITY_IAM"]
    assert capabilities({"Resources": {"R": role, "N": named}}) == ["CAPABILITY_NAMED_IAM"]


# --- bad input: one clear line, nothing half-written ---------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket_prefix": "Acme"}, "bucket prefix 'Acme': use lowercase letters"),
        ({"bucket_prefix": "a" * 49}, "is 49 characters: at most 48"),
        ({"regions": ("useast1",)}, "region 'useast1' is not a Region name"),
        ({"regions": ()}, "no Regions"),
        ({"regions": ("us-east-1", "us-east-1")}, "each Region once"),
        ({"home_region": "home"}, "home Region 'home' is not a Region name"),
        ({"organization_id": "123"}, "organization ID '123': expected o-"),
        ({"targets": ()}, "no deployment targets"),
        ({"targets": ("123456789012",)}, "deployment target '123456789012': expected an OU"),
        ({"parameters": {"macro": {"Nope": "x"}}}, "template.yaml declares no parameter Nope"),
        (
            {"parameters": {"macro": {"MacroName": "Pin Versions"}}},
            "template.yaml: parameter MacroName='Pin Versions' does not match [A-Za-z0-9_:-]+",
        ),
        (
            {"parameters": {"macro": {"LogLevel": "TRACE"}}},
            "parameter LogLevel='TRACE' is not one of DEBUG, INFO, WARNING, ERROR",
        ),
        (
            {"parameters": {"macro": {"LogRetentionInDays": "2"}}},
            "parameter LogRetentionInDays='2' is not one of 1, 3, 5,",
        ),
        (
            {"parameters": {"prune": {"StackName": "orders", "Keep": "-1"}}},
            "deploy/prune-schedule.yaml: parameter Keep='-1' is less than 0",
        ),
        (
            {"parameters": {"prune": {"StackName": "orders", "Keep": "many"}}},
            "parameter Keep='many' is not a number",
        ),
        (
            {"parameters": {"prune": {"StackName": "x" * 129}}},
            "is longer than 128 characters",
        ),
    ],
)
def test_bad_plans_are_one_clear_error(
    bundles: dict[str, Path], tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    fields = {
        "regions": ("us-east-1",),
        "bucket_prefix": PREFIX,
        "organization_id": ORG,
        "targets": ("r-ab12",),
        "parameters": {"prune": {"StackName": "orders"}},
        **change,
    }
    with pytest.raises(StackSetError) as caught:
        generate(ROOT, bundles, tmp_path / "out", Plan(**fields), ["macro", "prune"])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_the_prune_job_needs_the_stack_to_prune(bundles: dict[str, Path], tmp_path: Path) -> None:
    plan = Plan(regions=("us-east-1",), bucket_prefix=PREFIX, organization_id=ORG, targets=TARGETS)
    with pytest.raises(StackSetError, match="give a value for StackName"):
        generate(ROOT, bundles, tmp_path, plan, ["prune"])


def test_a_missing_bundle_is_an_error(bundle: Path, tmp_path: Path) -> None:
    plan = Plan(regions=("us-east-1",), bucket_prefix=PREFIX, organization_id=ORG, targets=TARGETS)
    with pytest.raises(StackSetError, match="not a directory"):
        generate(ROOT, {"macro": tmp_path / "missing"}, tmp_path / "out", plan)
    # The prune job's StackSet needs the prune job's own bundle, not the macro's.
    plan = Plan(
        regions=("us-east-1",),
        bucket_prefix=PREFIX,
        organization_id=ORG,
        targets=TARGETS,
        parameters={"prune": {"StackName": "orders"}},
    )
    with pytest.raises(StackSetError, match="build it with make -C macro build-PruneFunction"):
        generate(ROOT, {"macro": bundle}, tmp_path / "out", plan, ["macro", "prune"])


def test_each_stackset_has_its_own_zip(generated: Generated) -> None:
    """The macro's zip carries the core alone (what build-MacroFunction ships), the prune
    job's the core and prune/ (build-PruneFunction); each template names its own key."""
    artifacts, templates, _, _ = generated
    assert artifacts["macro"].key != artifacts["prune"].key
    with zipfile.ZipFile(artifacts["macro"].path) as archive:
        macro_names = set(archive.namelist())
    with zipfile.ZipFile(artifacts["prune"].path) as archive:
        prune_names = set(archive.namelist())
    assert "pin_versions/handler.py" in macro_names & prune_names
    assert not any(n.startswith("pin_versions/prune/") for n in macro_names)
    assert "pin_versions/prune/__init__.py" in prune_names
    for name, source in (("macro", MACRO), ("prune", PRUNE)):
        code = templates[name]["Resources"][source.function]["Properties"]["Code"]
        assert code["S3Key"] == artifacts[name].key


def test_a_source_without_a_packageable_function_is_an_error(generated: Generated) -> None:
    source = _source(MACRO)
    source["Resources"]["MacroFunction"]["Properties"]["CodeUri"] = "s3://b/k.zip"
    with pytest.raises(StackSetError, match="CodeUri must be a local path"):
        stackset_template(source, MACRO, bucket_prefix=PREFIX, artifact=generated[0]["macro"])


def test_bucket_names() -> None:
    assert bucket_name("acme-pv", "eu-west-1") == "acme-pv-eu-west-1"
    assert len(bucket_name("a" * 48, "ap-southeast-1")) == 63


def test_main_prints_the_commands_or_one_error_line(
    bundles: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--root", str(ROOT), "--bundle", str(bundles["macro"]), "--out", str(tmp_path)]
    org = ["--bucket-prefix", PREFIX, "--organization-id", ORG, "--targets", "r-ab12"]
    assert main([*base, *org, "--regions", "us-east-1"]) == 0
    out = capsys.readouterr().out
    assert "create-stack-set --region us-east-1 --stack-set-name pin-versions-macro" in out
    assert "PRUNE_STACK_NAME" in out and "pin-versions-prune" not in out
    prune = ["--prune-parameter", "StackName=o"]
    assert main([*base, *org, "--regions", "us-east-1", *prune]) == 2
    assert "build-PruneFunction" in capsys.readouterr().err
    prune += ["--prune-bundle", str(bundles["prune"])]
    assert main([*base, *org, "--regions", "us-east-1", *prune]) == 0
    assert "--stack-set-name pin-versions-prune" in capsys.readouterr().out
    assert main([*base, *org, "--regions", "mars"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "pin-versions stackset: region 'mars' is not a Region name (like eu-west-1)\n"
    )


# --- the artifact bucket -------------------------------------------------------------------


def test_the_bucket_lets_the_organization_read_the_code_and_nothing_else() -> None:
    template = artifact_bucket_template()
    bucket = template["Resources"]["ArtifactBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["BucketName"] == {"Fn::Sub": "${BucketPrefix}-${AWS::Region}"}
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    allow, deny = template["Resources"]["ArtifactBucketPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    assert allow == {
        "Sid": "OrganizationReadsTheCode",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "s3:GetObject",
        "Resource": {"Fn::Sub": "${ArtifactBucket.Arn}/pin-versions/*"},
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}},
    }
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# --- make stackset (dry run: make -n runs nothing but the sub-make's own -n) ---------------

MAKE_ENVIRONMENT = (
    *("REGIONS", "BUCKET_PREFIX", "ORGANIZATION_ID", "OU_IDS", "PRUNE_STACK_NAME"),
    *("MACRO_NAME", "PYTHON313", "STACKSET_OUT", "STACKSET_ARGS", "HOME_REGION"),
    *("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"),
)


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in MAKE_ENVIRONMENT},
    )


def _lines(stdout: str) -> list[str]:
    joined = stdout.replace("\\\n", " ")
    return [" ".join(line.split()) for line in joined.splitlines() if line.strip()]


def test_make_stackset_builds_the_bundle_then_generates() -> None:
    result = _make(
        "stackset",
        "REGIONS=us-east-1 eu-west-1",
        f"BUCKET_PREFIX={PREFIX}",
        f"ORGANIZATION_ID={ORG}",
        "OU_IDS=ou-ab12-cdefgh34 r-ab12",
        "PRUNE_STACK_NAME=orders",
    )
    assert result.returncode == 0, result.stderr
    bundle = str(ROOT / "build" / "stackset" / "bundle")
    prune_bundle = str(ROOT / "build" / "stackset" / "prune-bundle")
    lines = _lines(result.stdout)
    # (make -n also prints the venv's install first where .venv does not exist yet.)
    lines = lines[lines.index(f"rm -rf {bundle} {prune_bundle}") :]
    # macro/Makefile, as `sam build` runs it (printed by the sub-make's own dry run): each
    # function's own recipe into its own directory.
    assert any("compileall" in line for line in lines)
    assert any(f'--target "{bundle}"' in line for line in lines)
    assert any(f'--target "{prune_bundle}"' in line for line in lines)
    assert lines[-1] == (
        f".venv/bin/python -m pin_versions.stackset --bundle {bundle} --out build/stackset "
        f"--prune-bundle {prune_bundle} "
        f"--regions us-east-1 eu-west-1 --bucket-prefix {PREFIX} --organization-id {ORG} "
        "--targets ou-ab12-cdefgh34 r-ab12 --macro-parameter MacroName=PinVersions "
        "--prune-parameter StackName=orders"
    )


def test_make_stackset_says_what_it_needs() -> None:
    result = _make("stackset", "REGIONS=us-east-1")
    assert result.returncode != 0 and result.stdout == ""
    assert "make stackset needs" in result.stderr
    for name in ("BUCKET_PREFIX", "ORGANIZATION_ID", "OU_IDS"):
        assert name in result.stderr


def test_generated_files_are_ignored_by_git() -> None:
    for path in ("build/stackset/macro-stackset.json", "build/stackset/code/x.zip"):
        ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", path], check=False)
        assert ignored.returncode == 0, path


# --- deployed on the embedded emulator ------------------------------------------------------


def _upload(emu: Any, artifact: Artifact) -> None:
    s3 = emu.client("s3")
    bucket = bucket_name(PREFIX, emu.region)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=artifact.key, Body=artifact.path.read_bytes())


def test_deployed_stackset_template_runs_the_macro_that_pins_day1(generated: Generated) -> None:
    """The StackSet template deploys (code from the Region's bucket), and the deployed
    function's own zip, run as Lambda runs it, transforms the blue-green day-1 template into
    exactly what the macro gives in-process; the pinned stack then deploys."""
    from demo.emulator import emulator
    from demo.lambda_bundle import deployed_macro, macro_resources

    artifacts, templates, _, _ = generated
    artifact = artifacts["macro"]
    day1 = load_path(SAMPLES / "blue-green" / "day1.yaml")
    with emulator() as emu, macro_resources():
        _upload(emu, artifact)
        macro_stack = emu.deploy("pin-versions-macro", templates["macro"], {"MacroName": "Pins"})
        assert macro_stack.status == "CREATE_COMPLETE"
        assert macro_stack.transforms == ()
        name, handler = deployed_macro(emu, "pin-versions-macro")
        assert name == "Pins"
        function = emu.lambda_.get_function(
            FunctionName=emu.physical_id(macro_stack.stack_name, "MacroFunction")
        )
        configuration = function["Configuration"]
        assert configuration["Handler"] == "pin_versions.handler.lambda_handler"
        assert configuration["Runtime"] == "python3.13"
        assert configuration["MemorySize"] == 1024 and configuration["Timeout"] == 60
        assert configuration["CodeSha256"] == _lambda_code_sha(artifact)

        emu.macros[name] = handler
        day1_pins = {**day1, "Transform": "Pins"}
        app = emu.deploy("orders", day1_pins, {"WaitSeconds": "1"})
        assert app.status == "CREATE_COMPLETE"
        # The deployed code's own log line (Powertools, as configured by the function's
        # environment), not the in-process handler's.
        logged = [json.loads(line) for line in app.macro_logs if line.startswith("{")]
        transform = [entry for entry in logged if entry["message"] == "PinVersions transform"]
        assert [(e["service"], e["status"], e["pinned"]) for e in transform] == [
            ("pin-versions", "success", 1)
        ]
        in_process = run_macro(day1, {"WaitSeconds": "1"})
        assert app.template == in_process["fragment"]
        versions = [
            k for k, v in app.template["Resources"].items() if v["Type"] == "AWS::Lambda::Version"
        ]
        assert len(versions) == 1 and versions[0].startswith("HelloVersion")
        assert app.template["Resources"][versions[0]]["DeletionPolicy"] == "Retain"
        machine = emu.physical_id("orders", "Workflow")
        definition = json.loads(
            emu.stepfunctions.describe_state_machine(stateMachineArn=machine)["definition"]
        )
        assert definition["States"]["Hello"]["Resource"].endswith(":1")


def _lambda_code_sha(artifact: Artifact) -> str:
    # Lambda's CodeSha256: base64 of the zip's SHA-256 digest.
    import base64

    return base64.b64encode(hashlib.sha256(artifact.path.read_bytes()).digest()).decode()


def test_the_prune_stackset_template_deploys(generated: Generated) -> None:
    """With the default Apply=false, whose Fn::If leaves AWS::NoValue in the role's Policies.
    (moto has no AWS::Lambda::EventInvokeConfig model: it warns and skips that resource.)"""
    from demo.emulator import emulator

    artifacts, templates, _, _ = generated
    with emulator() as emu:
        _upload(emu, artifacts["prune"])
        deployed = emu.deploy("pin-versions-prune", templates["prune"], {"StackName": "orders"})
        assert deployed.status == "CREATE_COMPLETE"
        name = emu.physical_id("pin-versions-prune", "PruneFunction")
        configuration = emu.lambda_.get_function(FunctionName=name)["Configuration"]
        assert configuration["Handler"] == "pin_versions.prune.lambda_handler"
        assert configuration["Environment"]["Variables"]["STACK_NAME"] == "orders"
        role = emu.physical_id("pin-versions-prune", "PruneRole")
        policies = emu.iam.list_role_policies(RoleName=role)["PolicyNames"]
        assert sorted(policies) == ["PruneLogs", "PruneRead"]  # no PruneDelete in a dry run


def test_the_deployed_code_imports_only_from_its_bundle(bundle: Path, tmp_path: Path) -> None:
    """run_bundle is Lambda-like: the package comes from the zip, and a dependency missing
    from the zip is missing (no site-packages)."""
    from demo.lambda_bundle import BundleError, run_bundle

    artifact = package_bundle(bundle, tmp_path)
    day1 = load_path(SAMPLES / "blue-green" / "day1.yaml")
    event = macro_event(day1)
    handler = "pin_versions.handler.lambda_handler"
    invocation = run_bundle(artifact.path.read_bytes(), handler, event)
    assert invocation.response == run_macro(day1)
    assert "/pin_versions/handler.py" in invocation.module_file
    assert not invocation.module_file.startswith(str(ROOT))
    only_package = io.BytesIO()
    with zipfile.ZipFile(only_package, "w") as archive:
        for path in sorted((bundle / "pin_versions").rglob("*.py")):
            archive.write(path, path.relative_to(bundle).as_posix())
    with pytest.raises(BundleError, match="aws_lambda_powertools"):
        run_bundle(only_package.getvalue(), handler, event)


def test_the_bundle_recipe_gives_the_same_bytes_anywhere(tmp_path: Path) -> None:
    """macro/Makefile (dry run: the real build downloads Powertools): pip writes no
    timestamped bytecode, and compileall writes hash-based .pyc naming /var/task, not the
    build directory, so two checkouts build the same zip, hence the same S3 key."""
    commands = subprocess.run(
        [
            "make",
            "-n",
            "-C",
            str(ROOT / "macro"),
            "build-MacroFunction",
            f"ARTIFACTS_DIR={tmp_path}",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k not in MAKE_ENVIRONMENT},
    ).stdout
    pip = next(line for line in commands.splitlines() if " pip install " in line)
    assert "--no-compile" in pip.split()
    compile_line = next(line for line in commands.splitlines() if "compileall" in line)
    words = compile_line.split()
    assert "-f" in words and words[words.index("-d") + 1] == "/var/task"
    assert words[words.index("--invalidation-mode") + 1] == "unchecked-hash"


def test_an_upgrade_updates_the_function_and_keeps_the_version_hashes(
    generated: Generated, bundle: Path, tmp_path: Path
) -> None:
    """A new release is a new zip, a new key, a new template: updating the macro's stack
    (what update-stack-set does in each account) replaces the function's code, and the new
    code pins day 1 to the same version logical ID (the hash contract)."""
    from demo.emulator import emulator
    from demo.lambda_bundle import deployed_macro, macro_resources

    artifacts, templates, _, _ = generated
    artifact = artifacts["macro"]
    release = tmp_path / "release"
    shutil.copytree(bundle, release)
    (release / "pin_versions" / "RELEASE").write_text("next\n", encoding="utf-8")
    upgrade = package_bundle(release, tmp_path / "out")
    assert upgrade.key != artifact.key
    template = stackset_template(_source(MACRO), MACRO, bucket_prefix=PREFIX, artifact=upgrade)
    day1 = load_path(SAMPLES / "blue-green" / "day1.yaml")
    with emulator() as emu, macro_resources():
        _upload(emu, artifact)
        emu.deploy("pin-versions-macro", templates["macro"])
        name, before = deployed_macro(emu, "pin-versions-macro")
        emu.client("s3").put_object(
            Bucket=bucket_name(PREFIX, emu.region), Key=upgrade.key, Body=upgrade.path.read_bytes()
        )
        updated = emu.deploy("pin-versions-macro", template)
        assert (updated.operation, updated.status) == ("UPDATE", "UPDATE_COMPLETE")
        name_after, after = deployed_macro(emu, "pin-versions-macro")
        assert name == name_after == "PinVersions"
        function = emu.physical_id("pin-versions-macro", "MacroFunction")
        code_sha = emu.lambda_.get_function(FunctionName=function)["Configuration"]["CodeSha256"]
        assert code_sha == _lambda_code_sha(upgrade) != _lambda_code_sha(artifact)
        event = macro_event(day1)
        old, new = before(event, None), after(event, None)
        assert old == new
        assert "HelloVersionca4e740840" in new["fragment"]["Resources"]


def test_a_stack_without_a_macro_and_a_second_macro_of_the_same_name(
    generated: Generated,
) -> None:
    """Macro names are unique in an account and Region (AWS::CloudFormation::Macro, Name)."""
    from demo.emulator import DeployError, emulator
    from demo.lambda_bundle import deployed_macro, macro_resources

    artifacts, templates, _, _ = generated
    with emulator() as emu, macro_resources():
        _upload(emu, artifacts["macro"])
        macro = templates["macro"]
        log_group_only = {
            "Parameters": {"LogRetentionInDays": macro["Parameters"]["LogRetentionInDays"]},
            "Resources": {"MacroLogGroup": macro["Resources"]["MacroLogGroup"]},
        }
        emu.deploy("no-macro", log_group_only)
        with pytest.raises(DeployError, match="expected one AWS::CloudFormation::Macro, found 0"):
            deployed_macro(emu, "no-macro")
        emu.deploy("first", macro)
        with pytest.raises(DeployError, match="A macro named PinVersions already exists"):
            emu.deploy("second", macro)

"""template.yaml, which deploys the macro: valid SAM, valid CloudFormation after SAM's own
transform, and a role that can only write the macro's logs; its Serverless Application
Repository metadata, samconfig.toml, and the make targets that wrap sam (dry runs: the tests
never need sam)."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from pin_versions import __version__
from pin_versions.local.sam_local import translate
from support import ROOT, lint_errors, load_path

TEMPLATE = load_path(ROOT / "template.yaml")


def _processed() -> dict[str, Any]:
    packaged = dict(TEMPLATE)
    resources = {name: dict(res) for name, res in TEMPLATE["Resources"].items()}
    function = dict(resources["MacroFunction"])
    # What `sam package` leaves in CodeUri.
    function["Properties"] = {**function["Properties"], "CodeUri": "s3://bucket/macro.zip"}
    resources["MacroFunction"] = function
    packaged["Resources"] = resources
    return translate(packaged)


def test_sam_translates_it_and_cfn_lint_finds_no_error() -> None:
    processed = _processed()
    assert lint_errors(processed) == []
    function = processed["Resources"]["MacroFunction"]["Properties"]
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "pin_versions.handler.lambda_handler"
    macro = processed["Resources"]["Macro"]
    assert macro["Type"] == "AWS::CloudFormation::Macro"
    assert macro["Properties"]["Name"] == {"Ref": "MacroName"}
    assert TEMPLATE["Parameters"]["MacroName"]["Default"] == "PinVersions"
    log_group = processed["Resources"]["MacroLogGroup"]
    assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_the_macro_role_can_only_write_its_logs() -> None:
    processed = _processed()
    roles = {k: v for k, v in processed["Resources"].items() if v["Type"] == "AWS::IAM::Role"}
    assert list(roles) == ["MacroRole"]
    role = roles["MacroRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert statements == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": ["MacroLogGroup", "Arn"]},
        }
    ]
    others = [
        k
        for k, v in processed["Resources"].items()
        if v["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")
    ]
    assert others == []


def test_the_lambda_bundle_requires_only_powertools() -> None:
    lines = (ROOT / "macro" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    requirements = [line for line in lines if line.strip() and not line.startswith("#")]
    assert [r.split("==")[0] for r in requirements] == ["aws-lambda-powertools"]


def test_the_bundle_is_built_with_bytecode(tmp_path: Path) -> None:
    """macro/Makefile, as `sam build` runs it, with this interpreter standing in for
    python3.13 and no download (the dependencies are not what is tested here)."""
    assert TEMPLATE["Resources"]["MacroFunction"]["Metadata"]["BuildMethod"] == "makefile"
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
    ).stdout
    assert "compileall" in commands and "--invalidation-mode unchecked-hash" in commands
    assert "requirements.txt" in commands


# --- publishing: the Serverless Application Repository, samconfig.toml, make ---------------

SAR = TEMPLATE["Metadata"]["AWS::ServerlessRepo::Application"]


def test_sar_metadata_is_complete_and_valid() -> None:
    """Required fields and the constraints the SAM documentation gives for them (`sam publish`
    is not run here: it needs AWS)."""
    assert set(SAR) == {
        "Name",
        "Description",
        "Author",
        "SpdxLicenseId",
        "LicenseUrl",
        "ReadmeUrl",
        "Labels",
        "HomePageUrl",
        "SemanticVersion",
        "SourceCodeUrl",
    }
    # SAR takes this block literally: no intrinsic functions anywhere in it.
    assert all(isinstance(v, str) for k, v in SAR.items() if k != "Labels")
    assert SAR["Name"] == "pin-versions" and re.fullmatch(r"[a-zA-Z0-9\-]{1,140}", SAR["Name"])
    assert 1 <= len(SAR["Description"]) <= 256
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", SAR["Author"])
    assert len(SAR["Author"]) <= 127
    assert SAR["SpdxLicenseId"] == "Apache-2.0"
    labels = SAR["Labels"]
    assert isinstance(labels, list) and 1 <= len(labels) <= 10
    assert all(re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label) for label in labels)
    assert {"cloudformation", "macro", "step-functions", "lambda"} <= set(labels)
    for key in ("HomePageUrl", "SourceCodeUrl"):
        assert SAR[key].startswith("https://")


def test_sar_version_and_licence_agree_with_the_package() -> None:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        project = tomllib.load(stream)["project"]
    assert SAR["SemanticVersion"] == __version__ == project["version"]
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", SAR["SemanticVersion"])
    assert project["license"] == SAR["SpdxLicenseId"]


def test_sar_license_and_readme_are_files_sam_package_can_upload() -> None:
    base = (ROOT / "template.yaml").parent
    license_file = base / SAR["LicenseUrl"]
    readme = base / SAR["ReadmeUrl"]
    assert license_file.is_file() and readme.is_file()
    text = license_file.read_text(encoding="utf-8")
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in text
    assert readme.read_text(encoding="utf-8").startswith("# pin-versions")


def _samconfig() -> dict[str, Any]:
    with (ROOT / "samconfig.toml").open("rb") as stream:
        return tomllib.load(stream)


def test_samconfig_deploys_without_questions() -> None:
    config = _samconfig()
    assert config["version"] == 0.1
    default = config["default"]
    assert default["global"]["parameters"]["stack_name"] == "pin-versions-macro"
    build = default["build"]["parameters"]
    assert build == {"cached": True, "parallel": True, "use_container": False}
    deploy = default["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is False
    assert deploy["fail_on_empty_changeset"] is False
    assert deploy["parameter_overrides"] == "MacroName=PinVersions"
    assert "guided" not in deploy
    package = default["package"]["parameters"]
    assert package["output_template_file"] == "packaged.yaml"
    # sam refuses --s3-bucket when resolve_s3 is configured: make package passes one of them.
    assert not {"resolve_s3", "s3_bucket"} & set(package)
    assert default["publish"]["parameters"] == {"template_file": "packaged.yaml"}


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    """`make -n`: the commands, printed, never run (sam is not installed here)."""
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in MAKE_ENVIRONMENT},
    )


# What the environment must not decide here: the variables the targets read (make takes
# them from the environment too) and an outer make's flags (`make test` runs pytest).
MAKE_ENVIRONMENT = (
    *("STACK_NAME", "MACRO_NAME", "REGION", "S3_BUCKET", "SAM", "PYTHON313"),
    *("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"),
)


def _commands(stdout: str) -> list[str]:
    """One line per command: make -n prints continuation lines as they are written."""
    joined = stdout.replace("\\\n", " ")
    return [" ".join(line.split()) for line in joined.splitlines() if line.strip()]


def test_make_targets_wrap_sam_with_the_defaults() -> None:
    result = _make("build", "deploy", "package", "publish", "S3_BUCKET=sar-artifacts")
    assert result.returncode == 0, result.stderr
    assert _commands(result.stdout) == [
        "PYTHON=python3.13 sam build --template-file template.yaml",
        "sam deploy --stack-name pin-versions-macro --parameter-overrides MacroName=PinVersions",
        "sam package --s3-bucket sar-artifacts --output-template-file packaged.yaml",
        "sam publish --template packaged.yaml",
    ]


def test_make_variables_override_everything() -> None:
    result = _make(
        "build",
        "deploy",
        "package",
        "STACK_NAME=pv",
        "MACRO_NAME=PinV2",
        "REGION=eu-west-1",
        "SAM=/opt/sam/bin/sam",
        "PYTHON313=/usr/local/bin/python3.13",
    )
    assert result.returncode == 0, result.stderr
    assert _commands(result.stdout) == [
        "PYTHON=/usr/local/bin/python3.13 /opt/sam/bin/sam build --template-file template.yaml",
        "/opt/sam/bin/sam deploy --stack-name pv --region eu-west-1 "
        "--parameter-overrides MacroName=PinV2",
        # No bucket: sam's managed one (fine to deploy, not to publish).
        "/opt/sam/bin/sam package --region eu-west-1 --resolve-s3 "
        "--output-template-file packaged.yaml",
    ]


def test_make_publish_needs_a_bucket_the_repository_can_read() -> None:
    result = _make("publish")
    assert result.returncode != 0 and result.stdout == ""
    assert "make publish needs S3_BUCKET" in result.stderr
    assert "serverlessrepo.amazonaws.com" in result.stderr


def test_packaged_template_is_ignored_by_git() -> None:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "-q", "packaged.yaml"], check=False
    )
    assert result.returncode == 0

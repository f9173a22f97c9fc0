"""template.yaml, which deploys the macro: valid SAM, valid CloudFormation after SAM's own
transform, and a role that can only write the macro's logs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from pin_versions.sam_local import translate
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

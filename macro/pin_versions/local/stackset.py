"""StackSet templates for an AWS Organization: the macro and the prune job in every account and
region, from ``template.yaml`` and ``deploy/prune-schedule.yaml``. Command-line tooling: the
Lambda never imports this module. Nothing here talks to AWS.

A template can only use a macro of its own account and region, so an organization needs the
macro everywhere. CloudFormation StackSets with service-managed permissions deploy one
template to every account of the chosen OUs, and to every account added to them later
(auto-deployment). Two things keep ``template.yaml`` itself out of a StackSet:

- it uses the SAM transform, and StackSets' default execution role cannot process
  transforms or macros ("You can't provision nested stacks, transforms, or macros with the
  default execution role": AWS CloudFormation User Guide, *Configure a custom execution role
  template for StackSets*; the CreateStackSet API reference, ``Capabilities``: with
  service-managed permissions, macros, the ``AWS::Serverless`` transform included, need a
  custom execution role template, else "the StackSet operation fails");
- its ``CodeUri`` is a local path, and a StackSet instance reads nothing from the machine that
  created it: a Lambda function's code must be an S3 object in the function's own Region
  (the bucket may be in another account: Lambda API reference, ``FunctionCode.S3Bucket``).

So this module translates each source template with SAM's own translator, offline
(:func:`pin_versions.sam_local.translate`), and points the function at
``s3://<bucket prefix>-<region>/pin-versions/<sha256 of the zip>.zip``: one artifact bucket
per Region, named by a fixed rule, readable by every principal of the organization
(``aws:PrincipalOrgID``; :func:`artifact_bucket_template`). Everything else in the function,
role, log group, parameters and outputs is what SAM makes of the source, so the two cannot
drift (tests/test_stackset.py compares them).

``make stackset`` builds the bundle with ``macro/Makefile`` and runs ``python -m
pin_versions.stackset``, which writes the templates and the zip under ``build/stackset/`` and
prints the ``aws`` commands to run; docs/integrations.md ("Organizations") explains them.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import shlex
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from .packaging import is_local_path, package

__all__ = [
    "ARTIFACT_PREFIX",
    "SOURCES",
    "Artifact",
    "Plan",
    "Source",
    "StackSetError",
    "artifact_bucket_template",
    "bucket_name",
    "capabilities",
    "check_bucket_prefix",
    "commands",
    "generate",
    "main",
    "package_bundle",
    "stackset_template",
]

# Every object this tooling writes to an artifact bucket is under this prefix; the bucket
# policy grants the organization s3:GetObject on it and on nothing else.
ARTIFACT_PREFIX = "pin-versions"
# What `sam package` would have written; replaced by the per-Region location after SAM.
_PLACEHOLDER_BUCKET = "pin-versions-stackset-placeholder"
GENERATED_BY = "PinVersions::StackSet"
SAR_METADATA = "AWS::ServerlessRepo::Application"
SAM_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"

# S3 bucket names: 3 to 63 lowercase letters, digits, hyphens (no dots here: virtual-hosted
# TLS names break on dots). The Region is appended to the prefix, so the prefix must leave
# room for it.
_BUCKET_PREFIX = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")
# DeploymentTargets.OrganizationalUnitIds: an OU ("ou-") or the organization root ("r-").
_TARGET_ID = re.compile(r"(?:ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})")
_BUCKET_MAX = 63
# 63 less a hyphen and the longest Region names (14 characters: ap-southeast-1).
BUCKET_PREFIX_MAX = 48

# For create-stack-instances and update-stack-set: all Regions at once; in each, up to a
# quarter of the accounts at a time, and a stop once a tenth have failed. With the default
# STRICT_FAILURE_TOLERANCE mode the concurrency starts at the tolerance plus one account and
# drops with each failure, so a bad release stops early (CreateStackInstances API reference,
# StackSetOperationPreferences). The API's defaults (one account at a time, one Region after
# another, stop at the first failure) would take days for hundreds of accounts.
OPERATION_PREFERENCES = (
    "RegionConcurrencyType=PARALLEL,MaxConcurrentPercentage=25,FailureTolerancePercentage=10"
)


class StackSetError(Exception):
    """The inputs cannot give a StackSet template. The message is one line that says what to
    change."""


@dataclass(frozen=True, slots=True)
class Source:
    """One source template and the function in it whose code is the bundle.

    ``name`` names the output files (``<name>-stackset.json``) and, with ``pin-versions-``,
    the StackSet; ``path`` is relative to the repository root.
    """

    name: str
    path: str
    function: str
    stack_set: str


SOURCES: tuple[Source, ...] = (
    Source("macro", "template.yaml", "MacroFunction", "pin-versions-macro"),
    Source("prune", "deploy/prune-schedule.yaml", "PruneFunction", "pin-versions-prune"),
)


@dataclass(frozen=True, slots=True)
class Artifact:
    """The zipped bundle: where it was written, its sha256 (hex) and its S3 key."""

    path: Path
    sha256: str
    key: str


def _bundle_files(bundle: Path) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for folder, dirs, names in os.walk(bundle):
        dirs.sort()
        for name in names:
            full = Path(folder, name)
            files.append((full.relative_to(bundle).as_posix(), full))
    return sorted(files)


def package_bundle(bundle: Path, out_dir: Path) -> Artifact:
    """Zip the Lambda bundle (the directory ``macro/Makefile`` fills) reproducibly and name
    it by content.

    The zip holds the files in code-point order of their relative paths, each with a fixed
    timestamp (1980-01-01) and mode 0644, so the same bundle gives the same bytes, hence the
    same key, on every machine: an unchanged macro is never a new upload or a StackSet update.
    Writes ``out_dir/code/<sha256>.zip``. Raises StackSetError when ``bundle`` is not a
    directory or holds no files.
    """
    if not bundle.is_dir():
        raise StackSetError(f"{bundle}: not a directory (build the bundle first: make stackset)")
    files = _bundle_files(bundle)
    if not files:
        raise StackSetError(f"{bundle}: the bundle is empty")
    code_dir = out_dir / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    partial = code_dir / "bundle.zip.partial"
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative, full in files:
            info = zipfile.ZipInfo(relative, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, full.read_bytes())
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    final = code_dir / f"{digest}.zip"
    partial.replace(final)
    return Artifact(final, digest, f"{ARTIFACT_PREFIX}/{digest}.zip")


def check_bucket_prefix(prefix: str) -> None:
    """Raise StackSetError unless ``<prefix>-<region>`` is a valid bucket name in every
    Region: lowercase letters, digits and hyphens, at most BUCKET_PREFIX_MAX characters."""
    if not _BUCKET_PREFIX.fullmatch(prefix):
        raise StackSetError(
            f"bucket prefix {prefix!r}: use lowercase letters, digits and hyphens, starting "
            "and ending with a letter or digit"
        )
    if len(prefix) > BUCKET_PREFIX_MAX:
        raise StackSetError(
            f"bucket prefix {prefix!r} is {len(prefix)} characters: at most "
            f"{BUCKET_PREFIX_MAX}, so that <prefix>-<region> is a valid bucket name everywhere"
        )


def bucket_name(prefix: str, region: str) -> str:
    """The artifact bucket of one Region: ``<prefix>-<region>``. Raises StackSetError when
    the result is not a valid S3 bucket name."""
    check_bucket_prefix(prefix)
    if not _REGION.fullmatch(region):
        raise StackSetError(f"region {region!r} is not a Region name (like eu-west-1)")
    name = f"{prefix}-{region}"
    if len(name) > _BUCKET_MAX:
        raise StackSetError(
            f"bucket name {name!r} is {len(name)} characters; S3 allows {_BUCKET_MAX}: "
            "shorten the bucket prefix"
        )
    return name


def _bucket_sub(prefix: str) -> dict[str, str]:
    # The same rule as bucket_name, evaluated by CloudFormation in each target Region.
    return {"Fn::Sub": f"{prefix}-${{AWS::Region}}"}


def _function_of(template: Mapping[str, Any], source: Source) -> dict[str, Any]:
    resources = template.get("Resources")
    resource = resources.get(source.function) if isinstance(resources, dict) else None
    if not isinstance(resource, dict) or resource.get("Type") != SAM_FUNCTION:
        raise StackSetError(
            f"{source.path}: Resources.{source.function} must be an {SAM_FUNCTION} "
            "(the function whose code is the bundle)"
        )
    properties = resource.get("Properties")
    if not isinstance(properties, dict) or not is_local_path(properties.get("CodeUri")):
        raise StackSetError(
            f"{source.path}: Resources.{source.function}.Properties.CodeUri must be a local "
            "path (the directory the bundle is built from)"
        )
    return properties


def _local_paths(template: dict[str, Any]) -> list[str]:
    """Where a packager would still upload something: every local path left in the template."""
    return sorted(package(template, ".").packaged)


def stackset_template(
    template: Mapping[str, Any], source: Source, *, bucket_prefix: str, artifact: Artifact
) -> dict[str, Any]:
    """The transform-free StackSet template for one source template.

    SAM's translator (offline) turns the source into plain CloudFormation; the function's
    code becomes ``{"S3Bucket": {"Fn::Sub": "<prefix>-${AWS::Region}"}, "S3Key": <key>}``.
    What only ``sam build``/``sam publish`` read goes: the Serverless Application Repository
    block (``LicenseUrl``, ``ReadmeUrl``: local files) and the function's ``BuildMethod``.
    A ``PinVersions::StackSet`` metadata block records the source, the version and the code
    key. Never mutates ``template``. Raises StackSetError when the source does not have the
    expected function, or when a Transform or a local path would remain.
    """
    from .sam_local import translate  # the command line's dependency, imported late

    check_bucket_prefix(bucket_prefix)
    source_copy = copy.deepcopy(dict(template))
    _function_of(source_copy, source)["CodeUri"] = f"s3://{_PLACEHOLDER_BUCKET}/{artifact.key}"
    # No parameter values: every Ref stays a Ref, to be resolved in each target account.
    result = translate(source_copy)

    metadata = {k: v for k, v in (result.get("Metadata") or {}).items() if k != SAR_METADATA}
    metadata[GENERATED_BY] = {
        "Source": source.path,
        "Version": __version__,
        "CodeSha256": artifact.sha256,
    }
    result["Metadata"] = metadata

    function = result["Resources"][source.function]
    if function.get("Type") != LAMBDA_FUNCTION:
        raise StackSetError(f"{source.path}: SAM did not make {source.function} a function")
    function.pop("Metadata", None)  # BuildMethod: read by `sam build` only
    function["Properties"]["Code"] = {
        "S3Bucket": _bucket_sub(bucket_prefix),
        "S3Key": artifact.key,
    }

    if "Transform" in result:
        raise StackSetError(f"{source.path}: the translated template still has a Transform")
    left = _local_paths(result)
    if left:
        raise StackSetError(f"{source.path}: local paths remain at {', '.join(left)}")
    return result


def artifact_bucket_template() -> dict[str, Any]:
    """The artifact bucket of one Region, for a plain stack in the account that holds the code.

    Named ``<BucketPrefix>-<Region>`` (:func:`bucket_name`), versioned, encrypted (SSE-S3),
    ACLs off, every Block Public Access setting on, retained when its stack is deleted (the
    StackSet templates name its objects, and auto-deployment reads them whenever an account
    joins an OU). The policy lets every principal of one organization ``s3:GetObject`` under
    ``pin-versions/`` (``aws:PrincipalOrgID``: IAM User Guide, *AWS global condition context
    keys*) and refuses requests without TLS. If S3 judged that grant public, Block Public
    Access would make the policy's creation fail: the stack fails rather than exposing the
    bucket.
    """
    bucket = {"Ref": "ArtifactBucket"}
    bucket_arn = {"Fn::GetAtt": ["ArtifactBucket", "Arn"]}
    objects = {"Fn::Sub": f"${{ArtifactBucket.Arn}}/{ARTIFACT_PREFIX}/*"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "pin-versions artifact bucket of one Region: the Lambda code the pin-versions "
            "StackSets deploy, readable by the accounts of one AWS Organization."
        ),
        "Parameters": {
            "BucketPrefix": {
                "Type": "String",
                "Description": "The bucket is named <BucketPrefix>-<Region>.",
                "AllowedPattern": _BUCKET_PREFIX.pattern,
                "MinLength": 1,
                "MaxLength": BUCKET_PREFIX_MAX,
            },
            "OrganizationId": {
                "Type": "String",
                "Description": "The organization whose accounts may read the code (o-...).",
                "AllowedPattern": _ORGANIZATION_ID.pattern,
            },
        },
        "Resources": {
            "ArtifactBucket": {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BucketName": {"Fn::Sub": "${BucketPrefix}-${AWS::Region}"},
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                },
            },
            "ArtifactBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": bucket,
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "OrganizationReadsTheCode",
                                "Effect": "Allow",
                                "Principal": {"AWS": "*"},
                                "Action": "s3:GetObject",
                                "Resource": objects,
                                "Condition": {
                                    "StringEquals": {
                                        "aws:PrincipalOrgID": {"Ref": "OrganizationId"}
                                    }
                                },
                            },
                            {
                                "Sid": "TlsOnly",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [bucket_arn, {"Fn::Sub": "${ArtifactBucket.Arn}/*"}],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            },
                        ],
                    },
                },
            },
        },
        "Outputs": {"BucketName": {"Value": bucket}},
    }


_IAM_TYPES = {
    "AWS::IAM::AccessKey",
    "AWS::IAM::Group",
    "AWS::IAM::InstanceProfile",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::UserToGroupAddition",
}
_IAM_NAMES = ("RoleName", "UserName", "GroupName", "InstanceProfileName")


def capabilities(template: Mapping[str, Any]) -> list[str]:
    """The capabilities CreateStackSet needs for a transform-free template: CAPABILITY_IAM for
    IAM resources, CAPABILITY_NAMED_IAM when one has a custom name (CreateStackSet API
    reference, ``Capabilities``). CAPABILITY_AUTO_EXPAND is for macros, which these
    templates do not use."""
    iam = [
        resource
        for resource in (template.get("Resources") or {}).values()
        if isinstance(resource, dict) and resource.get("Type") in _IAM_TYPES
    ]
    if any(name in (r.get("Properties") or {}) for r in iam for name in _IAM_NAMES):
        return ["CAPABILITY_NAMED_IAM"]
    return ["CAPABILITY_IAM"] if iam else []


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``make stackset`` was asked for. Regions in the order given; the first is where
    the StackSets are created (their home Region) unless ``home_region`` says otherwise."""

    regions: tuple[str, ...]
    bucket_prefix: str
    organization_id: str
    targets: tuple[str, ...]  # OU IDs or the root ID
    parameters: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # by source
    home_region: str = ""
    delegated_admin: bool = False
    artifact_stack: str = "pin-versions-artifacts"

    @property
    def home(self) -> str:
        return self.home_region or self.regions[0]


def _check_plan(plan: Plan) -> None:
    if not plan.regions:
        raise StackSetError('no Regions: give at least one (REGIONS="us-east-1 eu-west-1")')
    if len(set(plan.regions)) != len(plan.regions):
        raise StackSetError(f"Regions {list(plan.regions)}: each Region once")
    for region in plan.regions:
        bucket_name(plan.bucket_prefix, region)
    if not _REGION.fullmatch(plan.home):
        raise StackSetError(f"home Region {plan.home!r} is not a Region name (like eu-west-1)")
    if not _ORGANIZATION_ID.fullmatch(plan.organization_id):
        raise StackSetError(
            f"organization ID {plan.organization_id!r}: expected o- and 10 to 32 lowercase "
            "letters or digits (aws organizations describe-organization)"
        )
    if not plan.targets:
        raise StackSetError("no deployment targets: give OU IDs (ou-...) or the root ID (r-...)")
    for target in plan.targets:
        if not _TARGET_ID.fullmatch(target):
            raise StackSetError(
                f"deployment target {target!r}: expected an OU ID (ou-...) or the root ID (r-...)"
            )


def _parameters_of(
    template: Mapping[str, Any], source: Source, given: Mapping[str, str]
) -> list[tuple[str, str]]:
    declared = template.get("Parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise StackSetError(
            f"{source.path} declares no parameter {', '.join(unknown)} "
            f"(it has: {', '.join(declared) or 'none'})"
        )
    missing = sorted(
        name
        for name, spec in declared.items()
        if isinstance(spec, dict) and "Default" not in spec and name not in given
    )
    if missing:
        raise StackSetError(f"{source.path}: give a value for {', '.join(missing)} (no default)")
    for name, value in given.items():
        problem = _constraint_problem(declared[name], value)
        if problem:
            raise StackSetError(f"{source.path}: parameter {name}={value!r} {problem}")
    return [(name, given[name]) for name in declared if name in given]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _constraint_problem(spec: Any, value: str) -> str:
    """What CloudFormation would refuse in a parameter value, checked here so that a wrong
    value fails before any upload: AllowedValues, AllowedPattern (the whole value must
    match; Python's re stands in for CloudFormation's Java patterns, which in these templates
    are plain character classes), MinLength/MaxLength, and for a Number, MinValue/MaxValue.
    "" when it is fine."""
    if not isinstance(spec, dict):
        return ""
    allowed = spec.get("AllowedValues")
    if isinstance(allowed, list) and value not in [str(v) for v in allowed]:
        return f"is not one of {', '.join(str(v) for v in allowed)}"
    pattern = spec.get("AllowedPattern")
    if isinstance(pattern, str) and not re.fullmatch(pattern, value):
        return f"does not match {pattern}"
    if isinstance(spec.get("MinLength"), int) and len(value) < spec["MinLength"]:
        return f"is shorter than {spec['MinLength']} characters"
    if isinstance(spec.get("MaxLength"), int) and len(value) > spec["MaxLength"]:
        return f"is longer than {spec['MaxLength']} characters"
    if spec.get("Type") == "Number":
        number = _number(value)
        if number is None:
            return "is not a number"
        if isinstance(spec.get("MinValue"), int | float) and number < spec["MinValue"]:
            return f"is less than {spec['MinValue']}"
        if isinstance(spec.get("MaxValue"), int | float) and number > spec["MaxValue"]:
            return f"is more than {spec['MaxValue']}"
    return ""


def _cli_parameters(values: Sequence[tuple[str, str]]) -> list[str]:
    # The CLI shorthand splits on commas: a value with one needs the JSON form.
    if any("," in value for _, value in values):
        return [json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in values])]
    return [f"ParameterKey={k},ParameterValue={v}" for k, v in values]


def _call_as(plan: Plan) -> list[str]:
    return ["--call-as", "DELEGATED_ADMIN"] if plan.delegated_admin else []


def commands(
    plan: Plan,
    artifact: Artifact,
    templates: Mapping[str, tuple[Source, dict[str, Any], Path]],
    artifact_template: Path,
) -> list[str]:
    """The ``aws`` commands that set the organization up, in order, one string each (shell
    quoted), with ``#`` comment lines between the steps. ``templates`` maps a source name to
    its Source, its StackSet template and the file it was written to."""
    lines: list[str] = [
        "# 1. The artifact bucket of each Region, in the account that holds the code",
        "#    (the management account or a delegated administrator).",
    ]
    for region in plan.regions:
        lines.append(
            shlex.join(
                [
                    *("aws", "cloudformation", "deploy", "--region", region),
                    *("--stack-name", plan.artifact_stack),
                    *("--template-file", str(artifact_template)),
                    "--parameter-overrides",
                    f"BucketPrefix={plan.bucket_prefix}",
                    f"OrganizationId={plan.organization_id}",
                ]
            )
        )
    lines.append("# 2. The code, under its content hash, in each Region's bucket.")
    for region in plan.regions:
        target = f"s3://{bucket_name(plan.bucket_prefix, region)}/{artifact.key}"
        lines.append(
            shlex.join(["aws", "s3", "cp", str(artifact.path), target, "--region", region])
        )
    step = 3
    for name, (source, template, path) in templates.items():
        values = _parameters_of(template, source, plan.parameters.get(name, {}))
        create = [
            *("aws", "cloudformation", "create-stack-set", "--region", plan.home),
            *("--stack-set-name", source.stack_set),
            *("--template-body", f"file://{path}"),
            *("--permission-model", "SERVICE_MANAGED"),
            *("--auto-deployment", "Enabled=true,RetainStacksOnAccountRemoval=false"),
            # Queue an update that meets a running auto-deployment instead of failing it.
            *("--managed-execution", "Active=true"),
            *_call_as(plan),
        ]
        caps = capabilities(template)
        if caps:
            create += ["--capabilities", *caps]
        if values:
            create += ["--parameters", *_cli_parameters(values)]
        instances = [
            *("aws", "cloudformation", "create-stack-instances", "--region", plan.home),
            *("--stack-set-name", source.stack_set),
            *("--deployment-targets", f"OrganizationalUnitIds={','.join(plan.targets)}"),
            *("--regions", *plan.regions),
            *("--operation-preferences", OPERATION_PREFERENCES),
            *_call_as(plan),
        ]
        update = [
            *("aws", "cloudformation", "update-stack-set", "--region", plan.home),
            *("--stack-set-name", source.stack_set),
            *("--template-body", f"file://{path}"),
            *("--operation-preferences", OPERATION_PREFERENCES),
            *_call_as(plan),
        ]
        if caps:
            update += ["--capabilities", *caps]
        if values:
            update += ["--parameters", *_cli_parameters(values)]
        lines += [
            f"# {step}. {source.stack_set}: the StackSet (once, in {plan.home}), then its "
            "instances in every account of the targets and every Region.",
            shlex.join(create),
            shlex.join(instances),
            "#    Upgrade (a new release): step 2, then this; it updates every instance.",
            shlex.join(update),
        ]
        step += 1
    return lines


def generate(
    root: Path, bundle: Path, out_dir: Path, plan: Plan, names: Iterable[str] = ("macro",)
) -> tuple[Artifact, dict[str, tuple[Source, dict[str, Any], Path]], Path, list[str]]:
    """Write the zip, the StackSet templates of the named sources and the artifact bucket
    template under ``out_dir``; return them with the commands. Raises StackSetError."""
    from .yaml_io import load

    _check_plan(plan)
    wanted = list(names)
    by_name = {source.name: source for source in SOURCES}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise StackSetError(f"unknown template {unknown[0]!r}: known are {', '.join(by_name)}")
    code_dirs = set()
    loaded: dict[str, tuple[Source, dict[str, Any]]] = {}
    for name in wanted:
        source = by_name[name]
        path = root / source.path
        template = load(path.read_text(encoding="utf-8"), str(path))
        code_uri = _function_of(template, source)["CodeUri"]
        code_dirs.add((path.parent / code_uri).resolve())
        _parameters_of(template, source, plan.parameters.get(name, {}))
        loaded[name] = (source, template)
    # One bundle serves every function: only if they all name the same code directory.
    if len(code_dirs) > 1:
        raise StackSetError(
            f"the templates' CodeUri name different directories ({sorted(map(str, code_dirs))})"
            ": one bundle cannot serve them"
        )
    artifact = package_bundle(bundle, out_dir)
    written: dict[str, tuple[Source, dict[str, Any], Path]] = {}
    for name, (source, template) in loaded.items():
        result = stackset_template(
            template, source, bucket_prefix=plan.bucket_prefix, artifact=artifact
        )
        target = out_dir / f"{name}-stackset.json"
        target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        written[name] = (source, result, target)
    bucket_path = out_dir / "artifact-bucket.json"
    bucket_path.write_text(json.dumps(artifact_bucket_template(), indent=2) + "\n", "utf-8")
    lines = commands(plan, artifact, written, bucket_path)
    (out_dir / "commands.sh").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return artifact, written, bucket_path, lines


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pin_versions.stackset",
        description="Write the StackSet templates of pin-versions (the macro, optionally the "
        "prune job) and the artifact bucket, zip the bundle, and print the aws commands that "
        "deploy them to an AWS Organization. Sends nothing to AWS.",
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository root")
    parser.add_argument("--bundle", type=Path, required=True, help="the built Lambda bundle")
    parser.add_argument("--out", type=Path, default=Path("build/stackset"))
    parser.add_argument("--regions", nargs="+", required=True, metavar="REGION")
    parser.add_argument("--home-region", default="", help="where the StackSets live")
    parser.add_argument("--bucket-prefix", required=True)
    parser.add_argument("--organization-id", required=True)
    parser.add_argument("--targets", nargs="+", required=True, metavar="OU_OR_ROOT_ID")
    parser.add_argument("--delegated-admin", action="store_true")
    parser.add_argument(
        "--macro-parameter", type=_key_value, action="append", default=[], metavar="KEY=VALUE"
    )
    parser.add_argument(
        "--prune-parameter",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with StackName=..., also the scheduled prune job",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 with the commands on stdout; 2 with one line on stderr when an input is wrong."""
    args = _parser().parse_args(argv)
    parameters = {"macro": dict(args.macro_parameter), "prune": dict(args.prune_parameter)}
    names = ["macro", "prune"] if args.prune_parameter else ["macro"]
    plan = Plan(
        regions=tuple(args.regions),
        bucket_prefix=args.bucket_prefix,
        organization_id=args.organization_id,
        targets=tuple(args.targets),
        parameters=parameters,
        home_region=args.home_region,
        delegated_admin=args.delegated_admin,
    )
    try:
        artifact, written, _, lines = generate(args.root, args.bundle, args.out, plan, names)
    except StackSetError as error:
        print(f"pin-versions stackset: {error}", file=sys.stderr)
        return 2
    for name, (_, _, path) in written.items():
        print(f"# wrote {path} ({name})")
    print(f"# wrote {artifact.path} (sha256 {artifact.sha256})")
    if "prune" not in written:
        print("# the prune job: add PRUNE_STACK_NAME=<stack to prune> for its StackSet")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

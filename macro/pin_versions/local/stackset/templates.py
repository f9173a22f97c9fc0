"""The StackSet templates: each source translated offline by SAM's own translator, its
function pointed at the zip in the Region's artifact bucket; the artifact bucket's template;
the IAM capabilities a template needs."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ... import __version__
from ..packaging import is_local_path, package
from .artifact import _bucket_sub, check_bucket_prefix
from .model import (
    _BUCKET_PREFIX,
    _ORGANIZATION_ID,
    _PLACEHOLDER_BUCKET,
    ARTIFACT_PREFIX,
    BUCKET_PREFIX_MAX,
    GENERATED_BY,
    LAMBDA_FUNCTION,
    SAM_FUNCTION,
    SAR_METADATA,
    Artifact,
    Source,
    StackSetError,
)


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
    from ..sam_local import translate  # the command line's dependency, imported late

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

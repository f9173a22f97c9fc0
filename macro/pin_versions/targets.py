"""The target-kind registry: what a Task can call, and how PinVersions pins it.

One ``TargetKind`` record per kind of thing a Step Functions Task invokes and the macro pins
(or keeps alive) across a deploy. Everything in the pipeline that says "function" generically
reads it from here: the ARN grammar (references.py), which Task fields name a target
(definition.py), what is created to pin it and how it is named and hashed (plan, rewrite.py,
hashing.py), the grant (iam.py) and the warning codes (report.py). Adding a kind (a nested
state machine, an ECS task definition, a Batch job definition: issue 14) is one record here
plus its tests; ``KINDS`` lists them in the order Tasks are matched against them.

A leaf module: standard library only, imports nothing of the package. Records are
NamedTuples, not dataclasses: dataclasses imports inspect, a few milliseconds of every
Lambda cold start.

AWS facts (Lambda, the one kind today):

- A Task names a function by its ARN in ``Resource`` (the "legacy" form), or through the
  ``arn:aws:states:::lambda:invoke`` optimised integration (``.waitForTaskToken`` too) or the
  ``aws-sdk:lambda:invoke`` SDK integration, whose ``FunctionName`` takes a name, a partial
  ARN (``123456789012:function:name``) or an ARN, optionally with ``:qualifier``, and whose
  ``Qualifier`` may pick a version or alias
  (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html,
  https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
- ``Ref`` of an ``AWS::Lambda::Function`` is its name, ``Fn::GetAtt F.Arn`` its ARN
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html).
- An ``AWS::Lambda::Version`` publishes a version of ``FunctionName``; it is immutable, any
  property update replaces it, and ``Retain`` keeps the old one when it is replaced or removed
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-version.html).
- Invoking a version needs ``lambda:InvokeFunction`` on the qualified ARN: ``F.Arn:*`` covers
  every version (https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html).
"""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

import re

from .kind_record import PUBLISH, RETAIN, PinResource, TargetKind

__all__ = [
    "LAMBDA",
    "PUBLISH",
    "RETAIN",
    "PinResource",
    "TargetKind",
    "kind_named",
    "kind_of_type",
    "kinds",
]

LAMBDA = TargetKind(
    name="lambda",
    noun="function",
    resource_types=frozenset({"AWS::Lambda::Function", "AWS::Serverless::Function"}),
    direct=True,
    integrations=re.compile(
        r"arn:[^:]+:states:::(?:aws-sdk:)?lambda:invoke(?:\.waitForTaskToken)?"
    ),
    name_field="FunctionName",
    qualifier_field="Qualifier",
    arn=re.compile(
        r"arn:(?P<p>[^:]+):lambda:(?P<r>[^:]*):(?P<a>[^:]*):function:(?P<n>[^:]+)(?::(?P<q>.+))?"
    ),
    partial_arn=re.compile(r"(?P<a>[^:]+):function:(?P<n>[^:]+)(?::(?P<q>.+))?"),
    plain_name=re.compile(r"(?P<n>[^:]+)(?::(?P<q>.+))?"),
    ref_attribute="Arn",
    alias_type="AWS::Lambda::Alias",
    pin=PinResource("AWS::Lambda::Version", "FunctionName", "Version", "Version"),
    # Every AWS::Lambda::Function property a version locks, known when this was written. A
    # test compares hashed | excluded with the schema cfn-lint ships, so that a property AWS
    # adds later gets a conscious decision. Unknown properties are hashed anyway.
    hashed_properties=frozenset(
        {
            "Architectures",
            "CapacityProviderConfig",
            "Code",
            "DeadLetterConfig",
            "Description",
            "DurableConfig",
            "Environment",
            "EphemeralStorage",
            "FileSystemConfigs",
            "FunctionName",
            "FunctionScalingConfig",
            "Handler",
            "ImageConfig",
            "KmsKeyArn",
            "Layers",
            "LoggingConfig",
            "MemorySize",
            "PackageType",
            "PublishToLatestPublished",
            "RecursiveLoop",
            "Role",
            "Runtime",
            "RuntimeManagementConfig",
            "SnapStart",
            "Timeout",
            "TracingConfig",
            "VpcConfig",
        }
    ),
    # What a version does not snapshot (SPEC 5). Every other property is hashed.
    excluded_properties=frozenset(
        {"Tags", "ReservedConcurrentExecutions", "CodeSigningConfigArn", "TenancyConfig"}
    ),
    # SAM properties that are not function configuration, or that SAM turns into other
    # resources (its role, events, alias, ...): a version does not snapshot them.
    sam_excluded_properties=frozenset(
        {
            "Tags",
            "ReservedConcurrentExecutions",
            "CodeSigningConfigArn",
            "TenancyConfig",
            "Policies",
            "PermissionsBoundary",
            "RolePath",
            "AssumeRolePolicyDocument",
            "AutoPublishAlias",
            "AutoPublishAliasAllProperties",
            "AutoPublishCodeSha256",
            "DeploymentPreference",
            "Events",
            "EventInvokeConfig",
            "FunctionUrlConfig",
            "ProvisionedConcurrencyConfig",
            "VersionDescription",
            "VersionDeletionPolicy",
            "PropagateTags",
            "Connectors",
        }
    ),
    grant_action="lambda:InvokeFunction",
    grant_resource="${{{}.Arn}}:*",
    warning_codes=("PV108", "PV109", "PV114", "PV117", "PV118", "PV119"),
)


def kind_of_type(resource_type: str) -> TargetKind | None:
    """The kind an in-template resource type is, or None when it is no target."""
    for kind in kinds():
        if resource_type in kind.resource_types:
            return kind
    return None


def kind_named(name: str) -> TargetKind:
    """The kind called ``name`` ("lambda"). Raises KeyError for an unknown name."""
    for kind in kinds():
        if kind.name == name:
            return kind
    raise KeyError(name)


_ALL: tuple[TargetKind, ...] = ()


def kinds() -> tuple[TargetKind, ...]:
    """Every kind, in the order a Task's Resource is matched against them: Lambda first,
    then the issue 14 kinds (built on first use: their patterns are compiled only by a
    request that reaches them; Lambda's are compiled at import, as before)."""
    global _ALL
    if not _ALL:
        from .target_kinds import OTHER_KINDS

        _ALL = (LAMBDA, *OTHER_KINDS)
    return _ALL


def __getattr__(name: str) -> tuple[TargetKind, ...]:
    """``KINDS``: every kind (``kinds()``), built on first use."""
    if name == "KINDS":
        return kinds()
    raise AttributeError(name)

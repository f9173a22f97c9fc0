"""The StackSet generator's names and types: the artifact prefix, the source templates, the
zipped bundle, what ``make stackset`` was asked for, and its one error."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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

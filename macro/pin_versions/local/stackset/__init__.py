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

The package: ``model`` (names, types), ``artifact`` (the zip, the bucket names),
``templates`` (the StackSet templates), ``commands`` (checks and ``aws`` commands),
``generate`` (writing it all, and the command line).
"""

from __future__ import annotations

from .artifact import bucket_name, check_bucket_prefix, package_bundle
from .commands import commands
from .generate import generate, main
from .model import (
    ARTIFACT_PREFIX,
    OPERATION_PREFERENCES,
    SOURCES,
    Artifact,
    Plan,
    Source,
    StackSetError,
)
from .templates import artifact_bucket_template, capabilities, stackset_template

__all__ = [
    "ARTIFACT_PREFIX",
    "OPERATION_PREFERENCES",
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

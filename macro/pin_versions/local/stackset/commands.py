"""The plan checked against the templates (Regions, organization, parameters and their
constraints) and the ``aws`` commands that deploy the StackSets, in order."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .artifact import bucket_name
from .model import (
    _ORGANIZATION_ID,
    _REGION,
    _TARGET_ID,
    OPERATION_PREFERENCES,
    Artifact,
    Plan,
    Source,
    StackSetError,
)
from .templates import capabilities


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
    artifacts: Mapping[str, Artifact],
    templates: Mapping[str, tuple[Source, dict[str, Any], Path]],
    artifact_template: Path,
) -> list[str]:
    """The ``aws`` commands that set the organization up, in order, one string each (shell
    quoted), with ``#`` comment lines between the steps. ``templates`` maps a source name to
    its Source, its StackSet template and the file it was written to; ``artifacts`` maps it
    to its zip (one per source, each under its own content hash)."""
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
    lines.append("# 2. The code of each function, under its content hash, in each Region's bucket.")
    for artifact in dict.fromkeys(artifacts[name] for name in templates):
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

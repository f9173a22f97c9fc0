"""The pipeline: options -> inventory -> plan -> apply. Pure: no I/O, no logging, no AWS.

The Lambda handler and the command line are two thin doors into ``transform``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .inventory import Context, build_inventory
from .options import read_options
from .plan import make_plan
from .report import Report, fail
from .rewrite import apply

# CloudFormation's limit for a processed template (passed as an S3 object).
MAX_TEMPLATE_BYTES = 1_048_576


@dataclass(frozen=True, slots=True)
class Result:
    template: dict[str, Any]
    report: Report


def transform(
    template: Any, context: Context | None = None, max_bytes: int | None = MAX_TEMPLATE_BYTES
) -> Result:
    """Pin every Lambda function the template's state machines invoke.

    Raises TransformError (with every problem found) and changes nothing when the template
    cannot be processed. Never mutates ``template``. ``max_bytes`` is the processed-template
    size limit to enforce (None: none).
    """
    if type(template) is not dict:
        raise fail("PV910", "", "the template must be a JSON object")
    context = context or Context()
    options = read_options(template)
    inventory = build_inventory(template, context, options)
    plan = make_plan(inventory, options)
    output = apply(template, plan)
    if max_bytes is not None and plan.report.pins:
        _check_size(template, output, max_bytes)
    return Result(output, plan.report)


def _size(template: dict[str, Any]) -> int:
    return len(json.dumps(template, separators=(",", ":"), ensure_ascii=False).encode())


def _check_size(template: dict[str, Any], output: dict[str, Any], max_bytes: int) -> None:
    """Only a template the macro grew can be the macro's fault; measure that one."""
    size = _size(output)
    if size > max_bytes:
        added = size - _size(template)
        raise fail(
            "PV909",
            "",
            f"the processed template would be {size:,} bytes (the macro adds {added:,}), over "
            f"CloudFormation's {max_bytes:,}-byte limit for processed templates; split the "
            "stack or exclude functions with Metadata.PinVersions.Exclude",
        )

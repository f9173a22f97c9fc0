"""The pipeline: options -> inventory -> plan -> apply. Pure: no I/O, no logging, no AWS.

The Lambda handler and the command line are two thin doors into ``transform``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .inventory import Context, build_inventory
from .options import read_options
from .plan import make_plan
from .report import Report, fail
from .rewrite import apply


@dataclass(frozen=True, slots=True)
class Result:
    template: dict[str, Any]
    report: Report


def transform(template: Any, context: Context | None = None) -> Result:
    """Pin every Lambda function the template's state machines invoke.

    Raises TransformError (with every problem found) and changes nothing when the template
    cannot be processed. Never mutates ``template``.
    """
    if type(template) is not dict:
        raise fail("PV910", "", "the template must be a JSON object")
    context = context or Context()
    options = read_options(template)
    inventory = build_inventory(template, context, options)
    plan = make_plan(inventory, options)
    return Result(apply(template, plan), plan.report)

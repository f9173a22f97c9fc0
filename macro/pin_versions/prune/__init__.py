"""``pin-versions prune``: delete the Lambda versions of a stack that nothing can still invoke.

PinVersions retains every version it publishes, because an execution that started before a
deploy still invokes the version its definition named. Those versions fill Lambda's regional
code storage, and deleting by count would break exactly those executions. Prune deletes a
version only when no state machine definition (current, of a running or redrivable execution,
or of a published state machine version), Lambda alias, provisioned concurrency configuration
or event source mapping names it, and it is not among the newest N. When any check fails, the
versions it could concern are kept. Nothing is deleted without ``--apply``.

A package beside the core (the macro's Lambda never imports it), in layers: ``model`` (facts
and decisions, data only); ``uses`` and ``rules`` are pure (``versions_named``,
``uses_of_definition``, ``plan``: facts in, decisions out); ``aws``, ``functions``,
``machines`` and ``collect`` gather the facts with boto3; ``reclaim`` deletes; ``render``
prints; ``command`` is the command line and the scheduled job's ``lambda_handler``. boto3 is
imported lazily, when clients are made. The scheduled job's bundle is this package and the
core (macro/Makefile, ``build-PruneFunction``). See docs/prune.md.
"""

from __future__ import annotations

from .aws import Clients, Outcome, PruneError, error_code, make_clients, parse_time
from .collect import collect
from .command import add_arguments, lambda_handler, main, region_name, run
from .machines import StateMachineResource
from .model import (
    DEFAULT_KEEP,
    DELETE,
    DELETE_ACTIONS,
    DELETED,
    EXPRESS_WINDOW,
    FAILED,
    FUNCTION,
    GRANT,
    GRANT_PREFIX,
    KEEP,
    PROVISIONED,
    READ_ACTIONS,
    REDRIVE_WINDOW,
    REQUIRED_ACTIONS,
    VERSION,
    Decision,
    Facts,
    FunctionFacts,
    Grant,
    RetainedFunction,
    Use,
    Version,
)
from .reclaim import apply, prune
from .render import count_decisions, format_table, permission_message, report, summary
from .rules import plan, reclaims
from .uses import parse_function_ref, uses_of_definition, versions_named

__all__ = [
    "DEFAULT_KEEP",
    "DELETE",
    "DELETED",
    "DELETE_ACTIONS",
    "EXPRESS_WINDOW",
    "FAILED",
    "FUNCTION",
    "GRANT",
    "GRANT_PREFIX",
    "KEEP",
    "PROVISIONED",
    "READ_ACTIONS",
    "REDRIVE_WINDOW",
    "REQUIRED_ACTIONS",
    "VERSION",
    "Clients",
    "Decision",
    "Facts",
    "FunctionFacts",
    "Grant",
    "Outcome",
    "PruneError",
    "RetainedFunction",
    "StateMachineResource",
    "Use",
    "Version",
    "add_arguments",
    "apply",
    "collect",
    "count_decisions",
    "error_code",
    "format_table",
    "lambda_handler",
    "main",
    "make_clients",
    "parse_function_ref",
    "parse_time",
    "permission_message",
    "plan",
    "prune",
    "reclaims",
    "region_name",
    "report",
    "run",
    "summary",
    "uses_of_definition",
    "versions_named",
]

"""``pin-versions prune``: delete the Lambda versions of a stack that nothing can still invoke.

PinVersions retains every version it publishes, because an execution that started before a
deploy still invokes the version its definition named. Those versions fill Lambda's regional
code storage, and deleting by count would break exactly those executions. Prune deletes a
version only when no state machine definition (current, of a running or redrivable execution,
or of a published state machine version), Lambda alias, provisioned concurrency configuration
or event source mapping names it, and it is not among the newest N. When any check fails, the
versions it could concern are kept. Nothing is deleted without ``--apply``.

The module has three layers: ``versions_named`` and ``plan`` are pure (facts in, decisions
out); ``collect`` gathers the facts with boto3; ``apply`` deletes. boto3 is imported lazily:
this package is also the macro's Lambda bundle, whose cold start must not pay for it.
See docs/prune.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

# Single source of truth for the IAM actions prune calls: the docs, the permission error
# message and deploy/prune-schedule.yaml (checked by a test) all follow this list.
READ_ACTIONS: tuple[str, ...] = (
    "cloudformation:DescribeStacks",
    "cloudformation:DetectStackResourceDrift",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
    "iam:GetRolePolicy",
    "iam:ListRolePolicies",
    "lambda:ListAliases",
    "lambda:ListEventSourceMappings",
    "lambda:ListProvisionedConcurrencyConfigs",
    "lambda:ListVersionsByFunction",
    "states:DescribeStateMachine",
    "states:DescribeStateMachineAlias",
    "states:DescribeStateMachineForExecution",
    "states:ListExecutions",
    "states:ListStateMachineAliases",
    "states:ListStateMachineVersions",
    "states:ListTagsForResource",
    "tag:GetResources",
)
DELETE_ACTIONS: tuple[str, ...] = (
    "iam:DeleteRolePolicy",
    "lambda:DeleteFunction",
    "lambda:DeleteProvisionedConcurrencyConfig",
)
REQUIRED_ACTIONS: frozenset[str] = frozenset(READ_ACTIONS + DELETE_ACTIONS)

DEFAULT_KEEP = 3
# Step Functions can redrive a FAILED, TIMED_OUT or ABORTED standard execution for 14 days,
# and a redrive runs the definition the execution started with.
REDRIVE_WINDOW = timedelta(days=14)
# Express executions cannot be listed and run for at most 5 minutes; after a stack change,
# wait twice that before trusting that no express execution runs an older definition.
EXPRESS_WINDOW = timedelta(minutes=10)
# ListExecutions is eventually consistent: an execution started just before a definition
# change may not be listed yet. After a change of a standard state machine (its resource or
# its stack), wait this long before trusting that every execution of the previous definition
# is listed. Tests set it to zero.
SETTLE_WINDOW = timedelta(minutes=5)
# The inline role policies PinVersions retains per (role, pinned function).
GRANT_PREFIX = "PinVersionsInvoke"
# Page size for list calls; None lets each service choose. Tests lower it to cross pages.
PAGE_SIZE: int | None = None

KEEP = "keep"
DELETE = "delete"
DELETED = "deleted"
FAILED = "failed"

_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
_ACTION_OF = {action.split(":", 1)[1]: action for action in REQUIRED_ACTIONS}
# Paginators with no page-size parameter (botocore refuses PageSize for them).
_UNSIZED_PAGINATORS = frozenset({"list_stack_resources"})
_REDRIVABLE_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
_FINISHED_STATUSES = frozenset({"SUCCEEDED"})  # cannot be redriven: nothing to keep


# ---------------------------------------------------------------------------------------
# Facts and decisions
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One published version (or $LATEST) as ListVersionsByFunction reports it."""

    number: str
    last_modified: datetime | None = None
    durable: bool = False
    # The version's Description carries PinVersions' stamp ("[pin <hash>]"): it was
    # published by a deploy of a template PinVersions processed.
    stamped: bool = False


@dataclass
class FunctionFacts:
    name: str
    versions: list[Version] = field(default_factory=list)
    # Failed checks of this function: its versions are all kept.
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Use:
    """Something that may invoke ``function`` at ``version``; None matches any."""

    function: str | None
    version: str | None
    reason: str


@dataclass
class Facts:
    functions: dict[str, FunctionFacts] = field(default_factory=dict)
    uses: list[Use] = field(default_factory=list)
    # Failed checks that could hide a use of any function's versions: nothing is deleted.
    errors: list[str] = field(default_factory=list)
    # What PinVersions retains and prune may reclaim (issue 11).
    grants: list[Grant] = field(default_factory=list)
    retained: dict[str, RetainedFunction] = field(default_factory=dict)
    # (function, version) of every provisioned concurrency configuration on a version.
    provisioned: list[tuple[str, str]] = field(default_factory=list)
    # (function, version) of every AWS::Lambda::Version that is a resource of the stack now.
    stack_versions: set[tuple[str, str]] = field(default_factory=set)
    # Failed checks of retained grants (the roles or the templates could not be read).
    grant_errors: list[str] = field(default_factory=list)
    # Failed checks that only leave something retained unreclaimed (reported, exit 1).
    reclaim_errors: list[str] = field(default_factory=list)


# What a row decides about. VERSION rows are the versions of the stack's functions; the
# others reclaim what PinVersions retains (issue 11): a retained grant, a function kept
# through a replacement, provisioned concurrency on a version that left the stack.
VERSION = "version"
GRANT = "grant"
FUNCTION = "function"
PROVISIONED = "provisioned"


@dataclass(frozen=True)
class Decision:
    function: str
    version: str  # a version number, $LATEST, or what a reclaim row is about
    decision: str  # keep, delete (dry run), deleted or failed (--apply)
    reason: str
    kind: str = VERSION
    # For GRANT rows: the role and its inline policy; for PROVISIONED rows: the version.
    target: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grant:
    """An inline role policy named PinVersionsInvoke* that is no resource of the stack now:
    PinVersions retained it when its Task left the template."""

    role: str
    policy: str
    functions: tuple[str, ...]  # the functions its statements allow invoking (F of F:*)


@dataclass(frozen=True)
class RetainedFunction:
    """A function tagged as created by the stack but no resource of it any more: kept
    through a replacement (UpdateReplacePolicy: Retain), with every version it had."""

    name: str
    stack: str
    logical_id: str


# ---------------------------------------------------------------------------------------
# Which versions a definition names (pure)
# ---------------------------------------------------------------------------------------

# A function reference as Lambda accepts it: name, partial ARN or ARN, optionally qualified.
_FUNCTION_REF = re.compile(
    r"^(?:arn:[^:]+:lambda:[^:]*:[^:]*:function:|[0-9]{12}:function:)?"
    r"(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[^:]+))?$"
)
_LAMBDA_ARN = re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:")
# Optimised integrations (lambda:invoke, .waitForTaskToken) and the SDK ones (aws-sdk:lambda:…)
_LAMBDA_INTEGRATION = re.compile(r"^arn:[^:]+:states:::(?:aws-sdk:)?lambda:")
# Anywhere in the text: conservative, catches versions passed in Payloads, Pass results, …
_VERSION_IN_TEXT = re.compile(r"function:([A-Za-z0-9_-]+):([0-9]+)")


def parse_function_ref(text: str) -> tuple[str, str | None] | None:
    """``(name, qualifier)`` of a Lambda name, partial ARN or ARN; None if it is none."""
    match = _FUNCTION_REF.match(text)
    if match is None:
        return None
    return match["name"], match["qualifier"]


def _is_jsonata(value: object) -> bool:
    return isinstance(value, str) and value.strip().startswith("{%")


def versions_named(definition: str) -> list[tuple[str | None, str | None, str]]:
    """Every ``(function, version, where)`` an ASL definition may invoke.

    ``function`` None means the definition picks the function at run time, ``version`` None
    that it picks the version at run time; both keep every version they could match. The
    structured walk finds ``Resource`` and ``FunctionName``/``Qualifier`` targets; the text
    scan adds any ``function:NAME:N`` found anywhere. Raises ValueError if not JSON.
    """
    found: list[tuple[str | None, str | None, str]] = []
    try:
        document = json.loads(definition)
    except ValueError as exc:
        raise ValueError(f"definition is not valid JSON: {exc}") from exc
    if isinstance(document, dict):
        _walk_states(document, "", found)
    for match in _VERSION_IN_TEXT.finditer(definition):
        found.append((match[1], match[2], "definition text"))
    return list(dict.fromkeys(found))


def _walk_states(machine: dict[str, Any], path: str, found: list[Any]) -> None:
    states = machine.get("States")
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = f"{path}States.{name}"
        _task_targets(state, here, found)
        branches = state.get("Branches")
        if isinstance(branches, list):
            for index, branch in enumerate(branches):
                if isinstance(branch, dict):
                    _walk_states(branch, f"{here}.Branches[{index}].", found)
        for key in ("ItemProcessor", "Iterator"):
            inner = state.get(key)
            if isinstance(inner, dict):
                _walk_states(inner, f"{here}.{key}.", found)


def _task_targets(state: dict[str, Any], here: str, found: list[Any]) -> None:
    resource = state.get("Resource")
    if not isinstance(resource, str):
        return
    if _LAMBDA_ARN.match(resource):
        ref = parse_function_ref(resource)
        if ref is not None and ref[1] is not None and ref[1].isdigit():
            found.append((ref[0], ref[1], f"{here}.Resource"))
        return
    if not _LAMBDA_INTEGRATION.match(resource):
        return
    for key in ("Parameters", "Arguments"):
        args = state.get(key)
        where = f"{here}.{key}"
        if _is_jsonata(args):
            found.append((None, None, where))
            continue
        if not isinstance(args, dict):
            continue
        function = args.get("FunctionName")
        if "FunctionName.$" in args or _is_jsonata(function):
            found.append((None, None, f"{where}.FunctionName"))
            continue
        if not isinstance(function, str):
            continue
        ref = parse_function_ref(function)
        if ref is None:
            continue
        name, qualifier = ref
        if qualifier is not None and qualifier.isdigit():
            found.append((name, qualifier, f"{where}.FunctionName"))
        explicit = _qualifier_text(args.get("Qualifier"))
        if "Qualifier.$" in args or _is_jsonata(explicit):
            found.append((name, None, f"{where}.Qualifier"))
        elif explicit is not None and explicit.isdigit():
            found.append((name, explicit, f"{where}.Qualifier"))
        elif explicit is not None and explicit != "$LATEST" and not _ALIAS.fullmatch(explicit):
            # Neither a version nor an alias name (3.5, -1): what it will invoke is unclear.
            found.append((name, None, f"{where}.Qualifier"))


# PinVersions' stamp in a function's Description (pin_versions.hashing), which each version
# published from it keeps.
_PIN_STAMP = re.compile(r"\[pin [0-9a-f]{10}\]")

# An alias name as Lambda accepts it (not only digits: that is a version).
_ALIAS = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9-_]+")


def _qualifier_text(value: object) -> str | None:
    """A Qualifier as text: ``3`` (a JSON number) is read as version 3, like ``"3"``; if the
    integration refused it instead, keeping version 3 only keeps more. None when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and value >= 0 else repr(value)
    return value if isinstance(value, str) else json.dumps(value)


def uses_of_definition(definition: str, reason: str) -> tuple[list[Use], list[str]]:
    """The uses a definition makes, and the error if it cannot be read."""
    try:
        named = versions_named(definition)
    except ValueError as exc:
        # Still honour what the text shows, but nothing may be deleted on its account.
        scanned = [Use(m[1], m[2], reason) for m in _VERSION_IN_TEXT.finditer(definition)]
        return scanned, [f"{reason}: {exc}"]
    uses: list[Use] = []
    for function, version, where in named:
        if function is None:
            uses.append(Use(None, None, f"{reason} picks a function at run time ({where})"))
        elif version is None:
            uses.append(Use(function, None, f"{reason} picks the version at run time ({where})"))
        else:
            uses.append(Use(function, version, reason))
    # One definition is one use of each version, however many states name it.
    return list(dict.fromkeys(uses)), []


# ---------------------------------------------------------------------------------------
# The plan (pure)
# ---------------------------------------------------------------------------------------


def plan(
    facts: Facts,
    *,
    keep: int = DEFAULT_KEEP,
    older_than_days: float | None = None,
    now: datetime | None = None,
    reclaim_functions: bool = False,
) -> list[Decision]:
    """Decide keep or delete for every version of every function in ``facts``, then for
    what PinVersions retained (grants, functions kept through a replacement, provisioned
    concurrency on versions that left the stack). Whole functions are deleted only with
    ``reclaim_functions``."""
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    if older_than_days is not None and older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    now = now or datetime.now(UTC)
    decisions: list[Decision] = []
    retained_rows = {
        name: _retained_function(facts, retained, reclaim_functions)
        for name, retained in facts.retained.items()
    }
    for name in sorted(facts.functions):
        function = facts.functions[name]
        failures = function.errors + facts.errors
        whole = retained_rows.get(name)
        if whole is not None:
            decisions.append(whole)
            if whole.decision == DELETE:
                continue  # its versions go with it
        if failures and not function.versions:
            decisions.append(Decision(name, "*", KEEP, _could_not_check(failures)))
            continue
        decisions.append(Decision(name, "$LATEST", KEEP, "$LATEST is never deleted"))
        published = sorted(
            (v for v in function.versions if v.number.isdigit()), key=lambda v: int(v.number)
        )
        newest = {v.number for v in published[max(0, len(published) - keep) :]} if keep else set()
        for version in published:
            decision, reason = _decide(
                name, version, facts.uses, failures, newest, keep, older_than_days, now
            )
            decisions.append(Decision(name, version.number, decision, reason))
    return decisions + reclaims(facts)


def _decide(
    name: str,
    version: Version,
    uses: Sequence[Use],
    failures: Sequence[str],
    newest: set[str],
    keep: int,
    older_than_days: float | None,
    now: datetime,
) -> tuple[str, str]:
    if failures:
        return KEEP, _could_not_check(failures)
    key = name.casefold()  # over-matching only keeps more, so compare case-insensitively
    reasons = [
        use.reason
        for use in uses
        if (use.function is None or use.function.casefold() == key)
        and (use.version is None or use.version == version.number)
    ]
    if version.durable:
        reasons.append("durable function version (durable executions are not checked)")
    if version.number in newest:
        reasons.append(f"among the newest {keep}")
    if reasons:
        return KEEP, _join_counted(reasons)
    if older_than_days is not None:
        if version.last_modified is None:
            return KEEP, "LastModified unknown (--older-than)"
        if now - version.last_modified < timedelta(days=older_than_days):
            stamp = version.last_modified.strftime("%Y-%m-%d")
            return KEEP, f"modified {stamp}, less than {older_than_days:g} days ago"
    return DELETE, "unused: nothing names it"


def _uses_of(facts: Facts, function: str, version: str | None = None) -> list[str]:
    """Why ``function`` (at ``version``, or any version when None) may still be invoked:
    definitions, executions, aliases, event source mappings. Provisioned concurrency and
    being a resource of the stack are not invokers and are not counted here."""
    key = function.casefold()
    return [
        use.reason
        for use in facts.uses
        if (use.function is None or use.function.casefold() == key)
        and (version is None or use.version is None or use.version == version)
        and use.reason != "provisioned concurrency"
        and not use.reason.startswith("resource ")
    ]


def _retained_function(
    facts: Facts, retained: RetainedFunction, reclaim_functions: bool
) -> Decision:
    name = retained.name
    origin = (
        f"retained, no longer a resource of its stack (was {retained.logical_id} of stack "
        f"{retained.stack})"
    )
    failures = facts.errors + facts.functions.get(name, FunctionFacts(name)).errors
    if failures:
        return Decision(name, "function", KEEP, _could_not_check(failures), FUNCTION)
    uses = _uses_of(facts, name)
    if uses:
        return Decision(
            name, "function", KEEP, f"{origin}; in use: {_join_counted(uses)}", FUNCTION
        )
    if not reclaim_functions:
        return Decision(
            name,
            "function",
            KEEP,
            f"{origin}, no version in use; --reclaim-functions deletes it",
            FUNCTION,
        )
    return Decision(name, "function", DELETE, f"{origin}, no version in use", FUNCTION)


def reclaims(facts: Facts) -> list[Decision]:
    """Retained grants and provisioned concurrency prune may reclaim (issue 11).

    A grant (a PinVersionsInvoke* inline policy no resource of the stack declares) goes when
    none of the functions it allows has a version in use; provisioned concurrency on a
    version goes when that version is no resource of the stack now and nothing invokes it.
    Any failed check keeps all of them.
    """
    decisions: list[Decision] = []
    for grant in facts.grants:
        label = f"grant {grant.role}/{grant.policy}"
        functions = ", ".join(grant.functions) or "no function"
        failures = facts.errors + facts.grant_errors
        if failures:
            decision = (KEEP, _could_not_check(failures))
        elif "*" in grant.functions or not grant.functions:
            decision = (KEEP, "retained grant whose functions prune cannot tell")
        else:
            uses = [u for f in grant.functions for u in _uses_of(facts, f)]
            if uses:
                decision = (KEEP, f"retained grant; in use: {_join_counted(uses)}")
            else:
                decision = (DELETE, "retained grant; no version of its function is in use")
        decisions.append(
            Decision(functions, label, *decision, kind=GRANT, target=(grant.role, grant.policy))
        )
    for function, version in sorted(set(facts.provisioned)):
        label = f"provisioned concurrency on {version}"
        failures = facts.errors + facts.functions.get(function, FunctionFacts(function)).errors
        if failures:
            decision = (KEEP, _could_not_check(failures))
        elif (function, version) in facts.stack_versions:
            decision = (KEEP, "the version is a resource of the stack")
        elif not _stamped(facts, function, version):
            # Not evidently a version a PinVersions deploy published: set up by hand,
            # perhaps on purpose. Only the owner can tell; prune leaves it.
            decision = (KEEP, "the version has no PinVersions stamp in its Description")
        elif uses := _uses_of(facts, function, version):
            decision = (KEEP, _join_counted(uses))
        else:
            decision = (DELETE, "the version left the stack and nothing invokes it (paid)")
        decisions.append(Decision(function, label, *decision, kind=PROVISIONED, target=(version,)))
    return decisions


def _stamped(facts: Facts, function: str, version: str) -> bool:
    listed = facts.functions.get(function)
    return listed is not None and any(v.number == version and v.stamped for v in listed.versions)


def _could_not_check(failures: Sequence[str]) -> str:
    # The first failure on the row keeps the table readable; all are printed after it.
    unique = list(dict.fromkeys(failures))
    more = f" (and {len(unique) - 1} more)" if len(unique) > 1 else ""
    return f"could not check: {unique[0]}{more}"


def _join_counted(reasons: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    return "; ".join(r if n == 1 else f"{r} (x{n})" for r, n in counts.items())


# ---------------------------------------------------------------------------------------
# Collection with boto3
# ---------------------------------------------------------------------------------------


class PruneError(Exception):
    """A failure that leaves nothing to decide (the stack itself cannot be read)."""


@dataclass
class Clients:
    cloudformation: Any
    stepfunctions: Any
    lambda_: Any
    iam: Any = None
    tagging: Any = None


def make_clients(region: str | None) -> Clients:
    """boto3 clients with adaptive retries, so throttling is waited out, not reported."""
    import boto3  # type: ignore[import-untyped,unused-ignore]
    from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

    config = Config(
        retries={"mode": "adaptive", "max_attempts": 10},
        user_agent_extra="pin-versions-prune",
    )
    session = boto3.session.Session(region_name=region)
    return Clients(
        cloudformation=session.client("cloudformation", config=config),
        stepfunctions=session.client("stepfunctions", config=config),
        lambda_=session.client("lambda", config=config),
        iam=session.client("iam", config=config),
        tagging=session.client("resourcegroupstaggingapi", config=config),
    )


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
        BotoCoreError,
        ClientError,
    )

    return (ClientError, BotoCoreError)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _denied_action(exc: BaseException) -> str | None:
    """The IAM action an access denial refused (operation names are unique across services)."""
    if error_code(exc) not in _DENIED_CODES:
        return None
    operation = str(getattr(exc, "operation_name", "") or "?")
    return _ACTION_OF.get(operation, operation)


def _describe(exc: BaseException) -> str:
    code = error_code(exc)
    operation = getattr(exc, "operation_name", "")
    message = str(exc)
    if code:
        # ClientError's text repeats the code and operation; keep the service's own words.
        response = getattr(exc, "response", {})
        detail = str(response.get("Error", {}).get("Message", "")) or message
        return f"{operation}: {code}: {detail}" if operation else f"{code}: {detail}"
    return f"{type(exc).__name__}: {message}"


@dataclass
class Outcome:
    decisions: list[Decision]
    errors: list[str]
    denied: list[str]


class _Collector:
    def __init__(self, clients: Clients, now: datetime) -> None:
        self.clients = clients
        self.now = now
        self.facts = Facts()
        self.denied: list[str] = []
        self.errors_caught = _aws_errors()

    # -- helpers ---------------------------------------------------------------------

    def _call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        return getattr(client, operation)(**kwargs)

    def _pages(self, client: Any, operation: str, **kwargs: Any) -> Iterator[Any]:
        if PAGE_SIZE is not None and operation not in _UNSIZED_PAGINATORS:
            kwargs["PaginationConfig"] = {"PageSize": PAGE_SIZE}
        yield from client.get_paginator(operation).paginate(**kwargs)

    def _token_pages(self, client: Any, operation: str, **kwargs: Any) -> Iterator[Any]:
        # For Step Functions list calls that botocore has no paginator for.
        token: str | None = None
        while True:
            args = dict(kwargs)
            if token:
                args["nextToken"] = token
            if PAGE_SIZE is not None:
                args["maxResults"] = PAGE_SIZE
            page = self._call(client, operation, **args)
            yield page
            token = page.get("nextToken")
            if not token:
                return

    def failed(self, exc: BaseException) -> str:
        action = _denied_action(exc)
        if action and action not in self.denied:
            self.denied.append(action)
        return _describe(exc)

    # -- the stack -------------------------------------------------------------------

    def stacks(self, stack: str) -> list[tuple[str, datetime | None, list[dict[str, Any]]]]:
        """``(name, last change, resources)`` of the stack and every nested stack."""
        found = []
        queue = [stack]
        seen: set[str] = set()
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            root = current == stack
            try:
                described = self._call(
                    self.clients.cloudformation, "describe_stacks", StackName=current
                )["Stacks"][0]
                resources = [
                    summary
                    for page in self._pages(
                        self.clients.cloudformation, "list_stack_resources", StackName=current
                    )
                    for summary in page.get("StackResourceSummaries", [])
                ]
            except self.errors_caught as exc:
                message = self.failed(exc)
                if root:
                    if error_code(exc) == "ValidationError" and "does not exist" in message:
                        raise PruneError(f"stack {stack} does not exist in this region") from exc
                    raise PruneError(f"cannot read stack {stack}: {message}") from exc
                self.facts.errors.append(f"nested stack {current}: {message}")
                continue
            changed = described.get("LastUpdatedTime") or described.get("CreationTime")
            found.append((described.get("StackName", current), changed, resources))
            for resource in resources:
                physical = resource.get("PhysicalResourceId")
                if resource.get("ResourceType") == "AWS::CloudFormation::Stack" and physical:
                    queue.append(physical)
        return found

    # -- Lambda ----------------------------------------------------------------------

    def versions(self, function: FunctionFacts) -> None:
        try:
            for page in self._pages(
                self.clients.lambda_, "list_versions_by_function", FunctionName=function.name
            ):
                for item in page.get("Versions", []):
                    function.versions.append(
                        Version(
                            number=str(item.get("Version", "")),
                            last_modified=parse_time(item.get("LastModified")),
                            durable=bool(item.get("DurableConfig")),
                            stamped=bool(_PIN_STAMP.search(str(item.get("Description") or ""))),
                        )
                    )
        except self.errors_caught as exc:
            function.versions.clear()
            function.errors.append(self.failed(exc))

    def lambda_aliases(self, function: FunctionFacts) -> None:
        try:
            for page in self._pages(
                self.clients.lambda_, "list_aliases", FunctionName=function.name
            ):
                for alias in page.get("Aliases", []):
                    label = f"alias {alias.get('Name')}"
                    self.facts.uses.append(
                        Use(function.name, str(alias.get("FunctionVersion")), label)
                    )
                    weights = (alias.get("RoutingConfig") or {}).get(
                        "AdditionalVersionWeights"
                    ) or {}
                    for version, weight in weights.items():
                        self.facts.uses.append(
                            Use(function.name, str(version), f"{label} (weight {weight:g})")
                        )
        except self.errors_caught as exc:
            function.errors.append(self.failed(exc))

    def provisioned(self, function: FunctionFacts) -> None:
        try:
            for page in self._pages(
                self.clients.lambda_,
                "list_provisioned_concurrency_configs",
                FunctionName=function.name,
            ):
                for config in page.get("ProvisionedConcurrencyConfigs", []):
                    ref = parse_function_ref(str(config.get("FunctionArn", "")))
                    if ref and ref[1] and ref[1].isdigit():
                        self.facts.uses.append(Use(ref[0], ref[1], "provisioned concurrency"))
                        self.facts.provisioned.append((function.name, ref[1]))
        except self.errors_caught as exc:
            function.errors.append(self.failed(exc))

    # -- what PinVersions retains (issue 11) ----------------------------------------

    def current_policy_names(self, stack_names: Sequence[str]) -> set[str] | None:
        """Every inline policy name the stacks' processed templates declare (AWS::IAM::Policy
        and the Policies of AWS::IAM::Role); None when one cannot be read or a name is not
        a plain string (then no retained grant can be told apart from a current one)."""
        names: set[str] = set()
        for stack in stack_names:
            try:
                body = self._call(
                    self.clients.cloudformation,
                    "get_template",
                    StackName=stack,
                    TemplateStage="Processed",
                ).get("TemplateBody")
                template = _template_body(body)
            except self.errors_caught as exc:
                self.facts.grant_errors.append(f"template of stack {stack}: {self.failed(exc)}")
                return None
            except (ValueError, ImportError) as exc:
                self.facts.grant_errors.append(f"template of stack {stack}: {exc}")
                return None
            resources = template.get("Resources") if isinstance(template, dict) else None
            for resource in (resources or {}).values():
                if not isinstance(resource, dict):
                    continue
                properties = resource.get("Properties") or {}
                declared: list[object] = []
                if resource.get("Type") == "AWS::IAM::Policy":
                    declared.append(properties.get("PolicyName"))
                elif resource.get("Type") == "AWS::IAM::Role":
                    policies = properties.get("Policies")
                    for policy in policies if isinstance(policies, list) else []:
                        declared.append(
                            policy.get("PolicyName") if isinstance(policy, dict) else None
                        )
                for name in declared:
                    if isinstance(name, str):
                        names.add(name)
                    elif GRANT_PREFIX in json.dumps(name):
                        # An intrinsic that may make a PinVersions name: unknown, keep all.
                        self.facts.grant_errors.append(
                            f"stack {stack}: policy name {json.dumps(name)[:80]} is not a "
                            "plain string"
                        )
                        return None
        return names

    def retained_grants(self, roles: Sequence[str], current: set[str]) -> None:
        """The PinVersionsInvoke* inline policies of the stack's roles that are no resource
        of the stack now, with the functions each allows invoking."""
        iam = self.clients.iam
        for role in roles:
            try:
                names = [
                    str(name)
                    for page in self._pages(iam, "list_role_policies", RoleName=role)
                    for name in page.get("PolicyNames", [])
                ]
                for policy in names:
                    if not policy.startswith(GRANT_PREFIX) or policy in current:
                        continue
                    document = self._call(
                        iam, "get_role_policy", RoleName=role, PolicyName=policy
                    ).get("PolicyDocument")
                    self.facts.grants.append(Grant(role, policy, _granted_functions(document)))
            except self.errors_caught as exc:
                self.facts.grant_errors.append(f"role {role}: {self.failed(exc)}")

    def retained_functions(self, stack_names: Sequence[str], current: set[str]) -> None:
        """Functions CloudFormation created in these stacks (their aws:cloudformation tags)
        that are no resource of them now: kept through a replacement."""
        try:
            for page in self._pages(
                self.clients.tagging,
                "get_resources",
                TagFilters=[{"Key": "aws:cloudformation:stack-name", "Values": list(stack_names)}],
                ResourceTypeFilters=["lambda:function"],
            ):
                for mapping in page.get("ResourceTagMappingList", []):
                    ref = parse_function_ref(str(mapping.get("ResourceARN", "")))
                    if ref is None or ref[1] is not None or ref[0] in current:
                        continue
                    tags = {t.get("Key"): t.get("Value") for t in mapping.get("Tags", [])}
                    self.facts.retained[ref[0]] = RetainedFunction(
                        ref[0],
                        str(tags.get("aws:cloudformation:stack-name", "?")),
                        str(tags.get("aws:cloudformation:logical-id", "?")),
                    )
        except self.errors_caught as exc:
            # Only these functions go unchecked (they are then simply not pruned): no other
            # decision depends on finding them.
            self.facts.reclaim_errors.append(f"functions tagged with the stack: {self.failed(exc)}")

    def event_source_mappings(self) -> None:
        # All mappings of the region, not per function: a filter on the unqualified name
        # is not documented to return mappings of its versions.
        try:
            for page in self._pages(self.clients.lambda_, "list_event_source_mappings"):
                for mapping in page.get("EventSourceMappings", []):
                    ref = parse_function_ref(str(mapping.get("FunctionArn", "")))
                    if ref and ref[1] and ref[1].isdigit():
                        uuid = mapping.get("UUID", "?")
                        self.facts.uses.append(Use(ref[0], ref[1], f"event source mapping {uuid}"))
        except self.errors_caught as exc:
            self.facts.errors.append(self.failed(exc))

    # -- Step Functions --------------------------------------------------------------

    def _definition(self, arn: str, reason: str) -> dict[str, Any]:
        described: dict[str, Any] = self._call(
            self.clients.stepfunctions, "describe_state_machine", stateMachineArn=arn
        )
        self._add_definition(str(described.get("definition", "")), reason)
        return described

    def _add_definition(self, definition: str, reason: str) -> None:
        uses, errors = uses_of_definition(definition, reason)
        self.facts.uses.extend(uses)
        self.facts.errors.extend(errors)

    def state_machine(self, machine: StateMachineResource) -> None:
        arn, name = machine.arn, machine.arn.split(":stateMachine:", 1)[-1]
        sfn = self.clients.stepfunctions
        try:
            described = self._definition(arn, f"current definition of {name}")
            express = described.get("type") == "EXPRESS"
            self._recent_change(machine, name, express)
            if not express:
                self._executions(arn, name)
                # Read again: a deploy during the listing may have started executions on a
                # definition neither the first read nor the listing saw.
                again = self._call(sfn, "describe_state_machine", stateMachineArn=arn)
                if again.get("definition") != described.get("definition"):
                    self._add_definition(
                        str(again.get("definition", "")), f"current definition of {name}"
                    )
            routes: dict[str, list[str]] = {}
            for page in self._token_pages(sfn, "list_state_machine_aliases", stateMachineArn=arn):
                for alias in page.get("stateMachineAliases", []):
                    alias_arn = str(alias.get("stateMachineAliasArn", ""))
                    detail = self._call(
                        sfn, "describe_state_machine_alias", stateMachineAliasArn=alias_arn
                    )
                    for route in detail.get("routingConfiguration", []):
                        target = str(route.get("stateMachineVersionArn", ""))
                        routes.setdefault(target, []).append(alias_arn.rsplit(":", 1)[-1])
            # Every published version, not only routed ones: a version ARN can be started
            # directly, so its definition stays live until the version is deleted.
            versions = [
                str(item.get("stateMachineVersionArn", ""))
                for page in self._token_pages(
                    sfn, "list_state_machine_versions", stateMachineArn=arn
                )
                for item in page.get("stateMachineVersions", [])
            ]
            for version_arn in dict.fromkeys(versions + list(routes)):
                label = f"state machine version {version_arn.split(':stateMachine:', 1)[-1]}"
                if version_arn in routes:
                    label += f" (alias {', '.join(sorted(routes[version_arn]))})"
                self._definition(version_arn, label)
        except self.errors_caught as exc:
            self.facts.errors.append(f"state machine {name}: {self.failed(exc)}")

    def _executions(self, arn: str, name: str) -> None:
        """Every execution that may still run: one pass over all of them, no status filter.

        Listing status by status lets an execution that changes status between two passes
        (fails during the RUNNING pass, is redriven before the FAILED pass) be in neither.
        In one unfiltered pass each execution is listed once, whatever it does meanwhile, and
        whatever status it is listed with, the rule keeps: only SUCCEEDED ones (never
        redriven) and those that stopped more than 14 days ago (no longer redrivable) are
        left out. A status that is stale (eventual consistency) can only be an earlier one.
        """
        horizon = self.now - REDRIVE_WINDOW
        for page in self._pages(self.clients.stepfunctions, "list_executions", stateMachineArn=arn):
            for execution in page.get("executions", []):
                status = str(execution.get("status", ""))
                if status in _FINISHED_STATUSES:
                    continue
                if status in _REDRIVABLE_STATUSES:
                    stopped = execution.get("stopDate")
                    if isinstance(stopped, datetime) and stopped < horizon:
                        continue
                    reason = f"redrivable {status} execution of {name}"
                elif status in ("RUNNING", "PENDING_REDRIVE"):
                    reason = f"running execution of {name}"
                else:  # a status this code does not know: it may still run
                    reason = f"{status or 'unknown status'} execution of {name}"
                described = self._call(
                    self.clients.stepfunctions,
                    "describe_state_machine_for_execution",
                    executionArn=execution["executionArn"],
                )
                self._add_definition(str(described.get("definition", "")), reason)

    def _recent_change(self, machine: StateMachineResource, name: str, express: bool) -> None:
        """A failed check when an execution of a previous definition could be missed.

        Express executions cannot be listed and last at most 5 minutes: after a change, wait
        EXPRESS_WINDOW. Standard ones are listed, but ListExecutions is eventually
        consistent: after a change, wait SETTLE_WINDOW. "A change" is the later of the
        stack's and the state machine resource's last update; an express state machine whose
        live definition differs from the stack's (changed outside CloudFormation, found by
        DetectStackResourceDrift) changed at a time prune cannot know, so it always fails.
        """
        window = EXPRESS_WINDOW if express else SETTLE_WINDOW
        kind = "express state machine" if express else "state machine"
        if express:
            drift = self._definition_drift(machine)
            if drift:
                self.facts.errors.append(
                    f"express state machine {name}: {drift}; prune cannot tell when it "
                    "changed, so an express execution of the previous definition may still "
                    "run; deploy the stack again (or make the template match) and run prune "
                    f"{int(EXPRESS_WINDOW.total_seconds() // 60)} minutes later"
                )
                return
        changed = [t for t in (machine.stack_changed, machine.resource_changed) if t is not None]
        if not changed or self.now - max(changed) < window:
            reason = (
                "its executions cannot be listed"
                if express
                else "executions started just before are not listed at once"
            )
            self.facts.errors.append(
                f"{kind} {name}: {reason} and it changed less than "
                f"{int(window.total_seconds() // 60)} minutes ago; run prune again later"
            )

    def _definition_drift(self, machine: StateMachineResource) -> str | None:
        """Why the live definition may differ from the stack's, or None when it does not."""
        try:
            drift = self._call(
                self.clients.cloudformation,
                "detect_stack_resource_drift",
                StackName=machine.stack,
                LogicalResourceId=machine.logical_id,
            ).get("StackResourceDrift", {})
        except self.errors_caught as exc:
            return f"its drift could not be checked ({self.failed(exc)})"
        status = drift.get("StackResourceDriftStatus")
        if status == "IN_SYNC":
            return None
        if status == "MODIFIED":
            paths = [
                str(d.get("PropertyPath", ""))
                for d in drift.get("PropertyDifferences", [])
                if str(d.get("PropertyPath", "")).startswith("/Definition")
            ]
            if not paths:
                return None  # other properties (tags, logging) changed: not what runs
            return f"its definition was changed outside CloudFormation ({', '.join(paths)})"
        return f"its drift status is {status or 'unknown'}"


@dataclass(frozen=True)
class StateMachineResource:
    """A state machine of the stack and when it, or its stack, last changed."""

    arn: str
    stack: str
    logical_id: str
    stack_changed: datetime | None
    resource_changed: datetime | None


def _template_body(body: object) -> object:
    """GetTemplate's TemplateBody as data: boto3 decodes JSON bodies itself; a YAML one
    (a stack without transforms keeps the text it was given) needs the YAML reader, which
    the command line has (the scheduled job's bundle may not: then ImportError)."""
    if not isinstance(body, str):
        return body
    try:
        return json.loads(body)
    except ValueError:
        from .yaml_io import TemplateLoadError, load

        try:
            return load(body, "processed template")
        except TemplateLoadError as exc:
            raise ValueError(str(exc)) from None


def _granted_functions(document: object) -> tuple[str, ...]:
    """The function names of ``arn:…:function:NAME:*`` (or any other Lambda ARN) that a
    policy document's Allow statements name; ``*`` when one names functions by a wildcard
    prune cannot resolve (then every function counts)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return ("*",)
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    found: list[str] = []
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict):
            continue
        resources = statement.get("Resource")
        for resource in [resources] if isinstance(resources, str) else resources or []:
            text = str(resource)
            if not _LAMBDA_ARN.match(text) and text != "*":
                continue
            name = text.split(":function:", 1)[-1].split(":", 1)[0] if text != "*" else "*"
            found.append(name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else "*")
    return tuple(dict.fromkeys(found))


def collect(clients: Clients, stack: str, now: datetime) -> tuple[Facts, list[str]]:
    """Gather every fact ``plan`` needs; returns the facts and the IAM actions denied.

    Versions are listed before anything that names them: a version published later is not
    in the list, so a deploy during the run can never get its new version deleted.
    """
    collector = _Collector(clients, now)
    stacks = collector.stacks(stack)
    functions: dict[str, FunctionFacts] = {}
    machines: list[StateMachineResource] = []
    roles: list[str] = []
    for stack_name, changed, resources in stacks:
        for resource in resources:
            kind = resource.get("ResourceType")
            physical = resource.get("PhysicalResourceId")
            if not physical:
                continue
            if kind == "AWS::Lambda::Function":
                functions.setdefault(physical, FunctionFacts(physical))
            elif kind == "AWS::StepFunctions::StateMachine":
                updated = resource.get("LastUpdatedTimestamp")
                machines.append(
                    StateMachineResource(
                        physical,
                        stack_name,
                        str(resource.get("LogicalResourceId", "")),
                        changed,
                        updated if isinstance(updated, datetime) else None,
                    )
                )
            elif kind == "AWS::IAM::Role":
                roles.append(physical)
            elif kind == "AWS::Lambda::Version":
                ref = parse_function_ref(physical)
                if ref and ref[1] and ref[1].isdigit():
                    logical = resource.get("LogicalResourceId")
                    collector.facts.stack_versions.add((ref[0], ref[1]))
                    collector.facts.uses.append(
                        Use(ref[0], ref[1], f"resource {logical} of stack {stack_name}")
                    )
    stack_names = [name for name, _, _ in stacks]
    if clients.tagging is not None:
        collector.retained_functions(stack_names, set(functions))
    for name in collector.facts.retained:
        functions.setdefault(name, FunctionFacts(name))
    collector.facts.functions = functions
    for function in functions.values():
        collector.versions(function)
    for machine in machines:
        collector.state_machine(machine)
    collector.event_source_mappings()
    for function in functions.values():
        collector.lambda_aliases(function)
        collector.provisioned(function)
    if clients.iam is not None:
        current = collector.current_policy_names(stack_names)
        if current is not None:
            collector.retained_grants(roles, current)
    return collector.facts, collector.denied


def _delete(decision: Decision, clients: Clients) -> None:
    """The one call that carries out a delete decision."""
    if decision.kind == VERSION:
        clients.lambda_.delete_function(FunctionName=decision.function, Qualifier=decision.version)
    elif decision.kind == FUNCTION:
        clients.lambda_.delete_function(FunctionName=decision.function)
    elif decision.kind == GRANT:
        role, policy = decision.target
        clients.iam.delete_role_policy(RoleName=role, PolicyName=policy)
    elif decision.kind == PROVISIONED:
        (version,) = decision.target
        clients.lambda_.delete_provisioned_concurrency_config(
            FunctionName=decision.function, Qualifier=version
        )
    else:  # pragma: no cover - every kind is above
        raise ValueError(decision.kind)


_ACTION_OF_KIND = {
    VERSION: "lambda:DeleteFunction",
    FUNCTION: "lambda:DeleteFunction",
    GRANT: "iam:DeleteRolePolicy",
    PROVISIONED: "lambda:DeleteProvisionedConcurrencyConfig",
}


def apply(decisions: Sequence[Decision], clients: Clients) -> tuple[list[Decision], list[str]]:
    """Carry out every delete decision; never raises, so the table is printed."""
    done: list[Decision] = []
    denied: list[str] = []
    errors = _aws_errors()
    for decision in decisions:
        if decision.decision != DELETE:
            done.append(decision)
            continue
        if decision.kind == VERSION and not decision.version.isdigit():
            # never $LATEST, never the whole function through a version row
            done.append(replace(decision, decision=FAILED, reason="not a version"))
            continue
        try:
            _delete(decision, clients)
        except errors as exc:
            if error_code(exc) in ("ResourceNotFoundException", "NoSuchEntity"):
                done.append(replace(decision, decision=DELETED, reason="already gone"))
                continue
            action = _ACTION_OF_KIND[decision.kind]
            if error_code(exc) in _DENIED_CODES and action not in denied:
                denied.append(action)
            done.append(replace(decision, decision=FAILED, reason=_describe(exc)))
        except Exception as exc:  # keep going: the table must still be printed
            done.append(replace(decision, decision=FAILED, reason=f"{type(exc).__name__}: {exc}"))
        else:
            done.append(replace(decision, decision=DELETED))
    return done, denied


def prune(
    clients: Clients,
    *,
    stack: str,
    keep: int = DEFAULT_KEEP,
    older_than_days: float | None = None,
    delete: bool = False,
    now: datetime | None = None,
    reclaim_functions: bool = False,
) -> Outcome:
    """Collect, plan and (with ``delete``) apply. Raises PruneError if the stack is unreadable."""
    now = now or datetime.now(UTC)
    facts, denied = collect(clients, stack, now)
    decisions = plan(
        facts,
        keep=keep,
        older_than_days=older_than_days,
        now=now,
        reclaim_functions=reclaim_functions,
    )
    errors = list(
        dict.fromkeys(
            facts.errors
            + [e for f in facts.functions.values() for e in f.errors]
            + facts.grant_errors
            + facts.reclaim_errors
        )
    )
    if delete:
        decisions, delete_denied = apply(decisions, clients)
        denied += [d for d in delete_denied if d not in denied]
    return Outcome(decisions, errors, denied)


# ---------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------

_HEADERS = ("function", "version", "decision", "reason")


def format_table(decisions: Sequence[Decision]) -> str:
    rows = [_HEADERS] + [(d.function, d.version, d.decision, d.reason) for d in decisions]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def count_decisions(
    decisions: Sequence[Decision], kinds: frozenset[str] = frozenset({VERSION})
) -> dict[str, int]:
    """How many rows of ``kinds`` got each decision ($LATEST rows are not counted)."""
    counts: dict[str, int] = {}
    for decision in decisions:
        if decision.version != "$LATEST" and decision.kind in kinds:
            counts[decision.decision] = counts.get(decision.decision, 0) + 1
    return counts


def _parts(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[k]} {k}" for k in (KEEP, DELETE, DELETED, FAILED) if k in counts)


def summary(decisions: Sequence[Decision], applied: bool) -> str:
    counts = count_decisions(decisions)
    functions = len({d.function for d in decisions if d.kind == VERSION})
    text = f"{sum(counts.values())} versions of {functions} functions: {_parts(counts) or 'none'}"
    reclaimed = count_decisions(decisions, frozenset({GRANT, FUNCTION, PROVISIONED}))
    if reclaimed:
        text += (
            f"; {sum(reclaimed.values())} retained by PinVersions (grants, replaced functions, "
            f"provisioned concurrency): {_parts(reclaimed)}"
        )
    if not applied and (counts.get(DELETE) or reclaimed.get(DELETE)):
        text += " (dry run: nothing was deleted; add --apply to delete)"
    return text


def permission_message(denied: Sequence[str]) -> str:
    reads = ", ".join(READ_ACTIONS)
    return (
        f"pin-versions prune: access denied ({', '.join(denied)}); prune needs the IAM actions "
        f"{reads}, and with --apply also {', '.join(DELETE_ACTIONS)}"
    )


def report(outcome: Outcome, applied: bool, out: TextIO, err: TextIO) -> int:
    """Print the table (always), then problems; returns the exit code."""
    print(format_table(outcome.decisions), file=out)
    print(summary(outcome.decisions, applied), file=out)
    failed = [d for d in outcome.decisions if d.decision == FAILED]
    for error in outcome.errors:
        print(f"pin-versions prune: check failed, kept what it could concern: {error}", file=err)
    if failed:
        print(f"pin-versions prune: {len(failed)} deletions failed", file=err)
    if outcome.denied:
        print(permission_message(outcome.denied), file=err)
    return 1 if outcome.errors or failed or outcome.denied else 0


# ---------------------------------------------------------------------------------------
# Command line and scheduled job
# ---------------------------------------------------------------------------------------


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _non_negative_days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


# Region names as AWS spells them: us-east-1, us-gov-west-1, cn-north-1, eu-isoe-west-1,
# ap-southeast-7 (the two-letter area, one or more words, a number).
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")


def region_name(text: str) -> str:
    """An AWS region name, checked by its shape (no AWS call: new regions pass)."""
    if not _REGION.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"not a region name such as us-east-1 or eu-west-2, got {text!r}"
        )
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, metavar="NAME", help="stack name or ID")
    parser.add_argument(
        "--region", type=region_name, help="AWS region (default: the usual boto3 lookup)"
    )
    parser.add_argument(
        "--keep",
        type=_non_negative_int,
        default=DEFAULT_KEEP,
        metavar="N",
        help=f"always keep the newest N versions of each function (default {DEFAULT_KEEP})",
    )
    parser.add_argument(
        "--older-than",
        type=_non_negative_days,
        dest="older_than",
        metavar="DAYS",
        help="only delete versions last modified more than DAYS days ago",
    )
    parser.add_argument(
        "--apply", action="store_true", help="delete (default: dry run, only print the plan)"
    )
    parser.add_argument(
        "--reclaim-functions",
        action="store_true",
        help="also delete whole functions kept through a replacement that nothing invokes "
        "(they carry the stack's aws:cloudformation tags but are no resource of it)",
    )


def run(args: argparse.Namespace) -> int:
    """The ``prune`` subcommand: 0 done, 1 something failed, 2 bad usage."""
    keep = getattr(args, "keep", DEFAULT_KEEP)
    older_than = getattr(args, "older_than", None)
    if keep < 0 or (older_than is not None and not older_than >= 0):
        print("pin-versions prune: --keep and --older-than must be 0 or more", file=sys.stderr)
        return 2
    applied = bool(getattr(args, "apply", False))
    try:
        clients = make_clients(getattr(args, "region", None))
    except _aws_errors() as exc:
        print(f"pin-versions prune: {exc} (pass --region)", file=sys.stderr)
        return 2
    try:
        outcome = prune(
            clients,
            stack=args.stack,
            keep=keep,
            older_than_days=older_than,
            delete=applied,
            reclaim_functions=bool(getattr(args, "reclaim_functions", False)),
        )
    except PruneError as exc:
        print(f"pin-versions prune: {exc}", file=sys.stderr)
        denied = _denied_in(exc)
        if denied:
            print(permission_message(denied), file=sys.stderr)
        return 1
    except _aws_errors() as exc:  # e.g. no credentials: nothing could be read
        print(f"pin-versions prune: {_describe(exc)}", file=sys.stderr)
        return 1
    return report(outcome, applied, sys.stdout, sys.stderr)


def _denied_in(exc: BaseException) -> list[str]:
    cause = exc.__cause__
    action = _denied_action(cause) if cause is not None else None
    return [action] if action else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pin-versions prune",
        description="Delete Lambda versions of a stack that no state machine, execution, "
        "alias, provisioned concurrency or event source mapping can still invoke.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Scheduled job (deploy/prune-schedule.yaml): settings from the environment.

    Prints the table to the log; raises after printing when anything failed, so the
    invocation counts as an error and alarms on the function's Errors metric fire.
    """
    stack = os.environ["STACK_NAME"]
    keep = int(os.environ.get("KEEP", str(DEFAULT_KEEP)))
    older = os.environ.get("OLDER_THAN_DAYS", "").strip()
    applied = os.environ.get("APPLY", "false").strip().lower() == "true"
    reclaim = os.environ.get("RECLAIM_FUNCTIONS", "false").strip().lower() == "true"
    outcome = prune(
        make_clients(None),
        stack=stack,
        keep=keep,
        older_than_days=float(older) if older else None,
        delete=applied,
        reclaim_functions=reclaim,
    )
    code = report(outcome, applied, sys.stdout, sys.stdout)
    counts = count_decisions(outcome.decisions)
    if code:
        raise RuntimeError(f"prune of {stack} finished with problems: {counts}")
    return {"stack": stack, "applied": applied, "counts": counts}


def parse_time(value: object) -> datetime | None:
    """Lambda's LastModified (``2024-05-01T12:00:00.000+0000``) as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    match = re.match(
        r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?$", value.strip()
    )
    if match is None:
        return None
    zone = match[2] or "Z"
    zone = "+00:00" if zone == "Z" else zone
    try:
        return datetime.fromisoformat(match[1] + zone)
    except ValueError:
        return None


if __name__ == "__main__":
    sys.exit(main())

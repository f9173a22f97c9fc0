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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

# Single source of truth for the IAM actions prune calls: the docs, the permission error
# message and deploy/prune-schedule.yaml (checked by a test) all follow this list.
READ_ACTIONS: tuple[str, ...] = (
    "cloudformation:DescribeStacks",
    "cloudformation:ListStackResources",
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
)
DELETE_ACTIONS: tuple[str, ...] = ("lambda:DeleteFunction",)
REQUIRED_ACTIONS: frozenset[str] = frozenset(READ_ACTIONS + DELETE_ACTIONS)

DEFAULT_KEEP = 3
# Step Functions can redrive a FAILED, TIMED_OUT or ABORTED standard execution for 14 days,
# and a redrive runs the definition the execution started with.
REDRIVE_WINDOW = timedelta(days=14)
# Express executions cannot be listed and run for at most 5 minutes; after a stack change,
# wait twice that before trusting that no express execution runs an older definition.
EXPRESS_WINDOW = timedelta(minutes=10)
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
_RUNNING_STATUSES = ("RUNNING", "PENDING_REDRIVE")
_REDRIVABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


# ---------------------------------------------------------------------------------------
# Facts and decisions
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One published version (or $LATEST) as ListVersionsByFunction reports it."""

    number: str
    last_modified: datetime | None = None
    durable: bool = False


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


@dataclass(frozen=True)
class Decision:
    function: str
    version: str
    decision: str  # keep, delete (dry run), deleted or failed (--apply)
    reason: str


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
        explicit = args.get("Qualifier")
        if "Qualifier.$" in args or _is_jsonata(explicit):
            found.append((name, None, f"{where}.Qualifier"))
        elif isinstance(explicit, str) and explicit.isdigit():
            found.append((name, explicit, f"{where}.Qualifier"))


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
) -> list[Decision]:
    """Decide keep or delete for every version of every function in ``facts``."""
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    if older_than_days is not None and older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    now = now or datetime.now(UTC)
    decisions: list[Decision] = []
    for name in sorted(facts.functions):
        function = facts.functions[name]
        failures = function.errors + facts.errors
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
    return decisions


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
        except self.errors_caught as exc:
            function.errors.append(self.failed(exc))

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

    def state_machine(self, arn: str, stack_changed: datetime | None) -> None:
        name = arn.split(":stateMachine:", 1)[-1]
        sfn = self.clients.stepfunctions
        try:
            described = self._definition(arn, f"current definition of {name}")
            if described.get("type") == "EXPRESS":
                self._express(name, stack_changed)
            else:
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
        horizon = self.now - REDRIVE_WINDOW
        for status in _RUNNING_STATUSES + _REDRIVABLE_STATUSES:
            for page in self._pages(
                self.clients.stepfunctions,
                "list_executions",
                stateMachineArn=arn,
                statusFilter=status,
            ):
                for execution in page.get("executions", []):
                    if status in _REDRIVABLE_STATUSES:
                        stopped = execution.get("stopDate")
                        if isinstance(stopped, datetime) and stopped < horizon:
                            continue
                        reason = f"redrivable {status} execution of {name}"
                    else:
                        reason = f"running execution of {name}"
                    described = self._call(
                        self.clients.stepfunctions,
                        "describe_state_machine_for_execution",
                        executionArn=execution["executionArn"],
                    )
                    self._add_definition(str(described.get("definition", "")), reason)

    def _express(self, name: str, stack_changed: datetime | None) -> None:
        if stack_changed is None or self.now - stack_changed < EXPRESS_WINDOW:
            self.facts.errors.append(
                f"express state machine {name}: its executions cannot be listed and its stack "
                f"changed less than {int(EXPRESS_WINDOW.total_seconds() // 60)} minutes ago; "
                "run prune again later"
            )


def collect(clients: Clients, stack: str, now: datetime) -> tuple[Facts, list[str]]:
    """Gather every fact ``plan`` needs; returns the facts and the IAM actions denied.

    Versions are listed before anything that names them: a version published later is not
    in the list, so a deploy during the run can never get its new version deleted.
    """
    collector = _Collector(clients, now)
    stacks = collector.stacks(stack)
    functions: dict[str, FunctionFacts] = {}
    machines: list[tuple[str, datetime | None]] = []
    for stack_name, changed, resources in stacks:
        for resource in resources:
            kind = resource.get("ResourceType")
            physical = resource.get("PhysicalResourceId")
            if not physical:
                continue
            if kind == "AWS::Lambda::Function":
                functions.setdefault(physical, FunctionFacts(physical))
            elif kind == "AWS::StepFunctions::StateMachine":
                machines.append((physical, changed))
            elif kind == "AWS::Lambda::Version":
                ref = parse_function_ref(physical)
                if ref and ref[1] and ref[1].isdigit():
                    logical = resource.get("LogicalResourceId")
                    collector.facts.uses.append(
                        Use(ref[0], ref[1], f"resource {logical} of stack {stack_name}")
                    )
    collector.facts.functions = functions
    for function in functions.values():
        collector.versions(function)
    for arn, changed in machines:
        collector.state_machine(arn, changed)
    collector.event_source_mappings()
    for function in functions.values():
        collector.lambda_aliases(function)
        collector.provisioned(function)
    return collector.facts, collector.denied


def apply(decisions: Sequence[Decision], clients: Clients) -> tuple[list[Decision], list[str]]:
    """Delete every version planned for deletion; never raises, so the table is printed."""
    done: list[Decision] = []
    denied: list[str] = []
    errors = _aws_errors()
    for decision in decisions:
        if decision.decision != DELETE:
            done.append(decision)
            continue
        if not decision.version.isdigit():  # never $LATEST, never the whole function
            done.append(Decision(decision.function, decision.version, FAILED, "not a version"))
            continue
        try:
            clients.lambda_.delete_function(
                FunctionName=decision.function, Qualifier=decision.version
            )
        except errors as exc:
            if error_code(exc) == "ResourceNotFoundException":
                done.append(Decision(decision.function, decision.version, DELETED, "already gone"))
                continue
            if error_code(exc) in _DENIED_CODES and "lambda:DeleteFunction" not in denied:
                denied.append("lambda:DeleteFunction")
            done.append(Decision(decision.function, decision.version, FAILED, _describe(exc)))
        except Exception as exc:  # keep going: the table must still be printed
            reason = f"{type(exc).__name__}: {exc}"
            done.append(Decision(decision.function, decision.version, FAILED, reason))
        else:
            done.append(Decision(decision.function, decision.version, DELETED, decision.reason))
    return done, denied


def prune(
    clients: Clients,
    *,
    stack: str,
    keep: int = DEFAULT_KEEP,
    older_than_days: float | None = None,
    delete: bool = False,
    now: datetime | None = None,
) -> Outcome:
    """Collect, plan and (with ``delete``) apply. Raises PruneError if the stack is unreadable."""
    now = now or datetime.now(UTC)
    facts, denied = collect(clients, stack, now)
    decisions = plan(facts, keep=keep, older_than_days=older_than_days, now=now)
    errors = list(
        dict.fromkeys(facts.errors + [e for f in facts.functions.values() for e in f.errors])
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


def count_decisions(decisions: Sequence[Decision]) -> dict[str, int]:
    """How many published versions got each decision ($LATEST rows are not counted)."""
    counts: dict[str, int] = {}
    for decision in decisions:
        if decision.version != "$LATEST":
            counts[decision.decision] = counts.get(decision.decision, 0) + 1
    return counts


def summary(decisions: Sequence[Decision], applied: bool) -> str:
    counts = count_decisions(decisions)
    parts = ", ".join(f"{counts[k]} {k}" for k in (KEEP, DELETE, DELETED, FAILED) if k in counts)
    functions = len({d.function for d in decisions})
    text = f"{sum(counts.values())} versions of {functions} functions: {parts or 'none'}"
    if not applied and counts.get(DELETE):
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
            clients, stack=args.stack, keep=keep, older_than_days=older_than, delete=applied
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
    outcome = prune(
        make_clients(None),
        stack=stack,
        keep=keep,
        older_than_days=float(older) if older else None,
        delete=applied,
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

"""boto3 access for prune: the clients, how AWS errors read (code, denied action, message),
and the paging and failure bookkeeping every fact reader shares. boto3 is imported when
clients are made, never at import time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import model
from .model import _ACTION_OF, _DENIED_CODES, _UNSIZED_PAGINATORS, Decision, Facts

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
    ecs: Any = None  # task definition revisions (issue 14); None: not checked
    batch: Any = None  # job definition revisions (issue 14); None: not checked


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
        ecs=session.client("ecs", config=config),
        batch=session.client("batch", config=config),
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
    # Not failures (the exit code stays 0): PV160, a state machine near its version quota.
    warnings: list[str] = field(default_factory=list)


class _Reader:
    """The clients, the facts gathered so far and the IAM actions denied; paging and
    failure helpers shared by the Lambda/IAM and Step Functions readers."""

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
        # Read through the module: tests lower it to cross pages.
        if model.PAGE_SIZE is not None and operation not in _UNSIZED_PAGINATORS:
            kwargs["PaginationConfig"] = {"PageSize": model.PAGE_SIZE}
        yield from client.get_paginator(operation).paginate(**kwargs)

    def _token_pages(self, client: Any, operation: str, **kwargs: Any) -> Iterator[Any]:
        # For Step Functions list calls that botocore has no paginator for.
        token: str | None = None
        while True:
            args = dict(kwargs)
            if token:
                args["nextToken"] = token
            if model.PAGE_SIZE is not None:
                args["maxResults"] = model.PAGE_SIZE
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

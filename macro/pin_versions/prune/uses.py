"""Which function versions a state machine definition names (pure): the Task targets of every
state, read through the core's ASL walk, and a scan of the text for anything the walk
cannot see."""

from __future__ import annotations

import json
import re
from typing import Any

from ..asl import Unwalkable, is_jsonata, iter_tasks
from ..report import format_path
from ..targets import LAMBDA
from .model import Use

# ---------------------------------------------------------------------------------------
# Which versions a definition names (pure)
# ---------------------------------------------------------------------------------------

# Optimised integrations (lambda:invoke, .waitForTaskToken) and every SDK one (aws-sdk:lambda:…,
# wider than the macro's invoke integrations: any of them may call a version, so prune keeps it)
_LAMBDA_INTEGRATION = re.compile(r"^arn:[^:]+:states:::(?:aws-sdk:)?lambda:")
# Anywhere in the text: conservative, catches versions passed in Payloads, Pass results, …
_VERSION_IN_TEXT = re.compile(r"function:([A-Za-z0-9_-]+):([0-9]+)")


def is_function_arn(text: str) -> bool:
    """Whether ``text`` is a Lambda function ARN (qualified or not), by the core's grammar."""
    return LAMBDA.arn.fullmatch(text) is not None


def parse_function_ref(text: str) -> tuple[str, str | None] | None:
    """``(name, qualifier)`` of a Lambda name, partial ARN or ARN; None if it is none.

    The core's grammar (``targets.LAMBDA.parse``), the one the macro resolves a Task's
    ``Resource`` and ``FunctionName`` with: the macro and prune agree on which function and
    which version (digits) or alias a value names."""
    return LAMBDA.parse(text)


def versions_named(definition: str) -> list[tuple[str | None, str | None, str]]:
    """Every ``(function, version, where)`` an ASL definition may invoke.

    ``function`` None means the definition picks the function at run time, ``version`` None
    that it picks the version at run time; both keep every version they could match. The
    structured walk finds ``Resource`` and ``FunctionName``/``Qualifier`` targets; the text
    scan adds any ``function:NAME:N`` found anywhere. Raises ValueError if not JSON.
    """
    found: list[tuple[str | None, str | None, str]] = []
    for path, state in _tasks(definition):
        _task_targets(state, format_path(path), found)
    for match in _VERSION_IN_TEXT.finditer(definition):
        found.append((match[1], match[2], "definition text"))
    return list(dict.fromkeys(found))


def _tasks(definition: str) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """``(path, state)`` of every Task of an ASL definition, by the core's ASL walk (States,
    Parallel Branches, Map ItemProcessor/Iterator): the macro and prune agree on which
    states are Tasks and where they are. Raises ValueError if not JSON or not walkable."""
    try:
        document = json.loads(definition)
    except ValueError as exc:
        raise ValueError(f"definition is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        return []
    try:
        return list(iter_tasks(document, ()))
    except Unwalkable as exc:
        where = format_path(exc.path) or "the definition"
        raise ValueError(f"definition cannot be walked at {where}: {exc.message}") from None


def _task_targets(state: dict[str, Any], here: str, found: list[Any]) -> None:
    resource = state.get("Resource")
    if not isinstance(resource, str):
        return
    if is_function_arn(resource):
        ref = parse_function_ref(resource)
        if ref is not None and ref[1] is not None and ref[1].isdigit():
            found.append((ref[0], ref[1], f"{here}.Resource"))
        return
    if not _LAMBDA_INTEGRATION.match(resource):
        return
    for key in ("Parameters", "Arguments"):
        args = state.get(key)
        where = f"{here}.{key}"
        if is_jsonata(args):
            found.append((None, None, where))
            continue
        if not isinstance(args, dict):
            continue
        function = args.get("FunctionName")
        if "FunctionName.$" in args or is_jsonata(function):
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
        if "Qualifier.$" in args or is_jsonata(explicit):
            found.append((name, None, f"{where}.Qualifier"))
        elif explicit is not None and explicit.isdigit():
            found.append((name, explicit, f"{where}.Qualifier"))
        elif explicit is not None and explicit != "$LATEST" and not _ALIAS.fullmatch(explicit):
            # Neither a version nor an alias name (3.5, -1): what it will invoke is unclear.
            found.append((name, None, f"{where}.Qualifier"))


# A state machine version ARN anywhere in a definition (a parent's startExecution Task pinned
# to a child version, a Pass state handing one on): conservative, like _VERSION_IN_TEXT.
_MACHINE_VERSION_IN_TEXT = re.compile(r":stateMachine:([A-Za-z0-9_-]+):([0-9]+)(?![A-Za-z0-9_-])")
# The Step Functions integrations that start another state machine (optimised, every
# wait pattern, and the SDK one): a run-time choice of StateMachineArn may name any version.
_START_EXECUTION = re.compile(r"^arn:[^:]+:states:::(?:aws-sdk:sfn:|states:)startExecution")


def machine_versions_named(definition: str) -> list[tuple[str | None, str | None, str]]:
    """Every ``(state machine, version, where)`` an ASL definition may start: each version
    ARN ``...:stateMachine:NAME:N`` in its text, and ``(None, None, where)`` for a
    ``startExecution`` Task that picks its ``StateMachineArn`` at run time (it could start
    any version). Raises ValueError if not JSON or not walkable, like ``versions_named``."""
    found: list[tuple[str | None, str | None, str]] = []
    for path, state in _tasks(definition):
        resource = state.get("Resource")
        if not (isinstance(resource, str) and _START_EXECUTION.match(resource)):
            continue
        for key in ("Parameters", "Arguments"):
            args = state.get(key)
            where = f"{format_path(path)}.{key}"
            if is_jsonata(args) or (
                isinstance(args, dict)
                and ("StateMachineArn.$" in args or is_jsonata(args.get("StateMachineArn")))
            ):
                found.append((None, None, where))
    for match in _MACHINE_VERSION_IN_TEXT.finditer(definition):
        found.append((match[1], match[2], "definition text"))
    return list(dict.fromkeys(found))


def machine_uses_of_definition(definition: str, reason: str) -> list[Use]:
    """The state machine versions a definition may start, as uses (``Use.function`` is the
    state machine's name). A definition that cannot be read is already a failed check of
    ``uses_of_definition``; its text scan still counts here."""
    try:
        named = machine_versions_named(definition)
    except ValueError:
        named = [
            (m[1], m[2], "definition text") for m in _MACHINE_VERSION_IN_TEXT.finditer(definition)
        ]
    uses: list[Use] = []
    for machine, version, where in named:
        if machine is None:
            uses.append(Use(None, None, f"{reason} picks a state machine at run time ({where})"))
        else:
            uses.append(Use(machine, version, reason))
    return list(dict.fromkeys(uses))


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

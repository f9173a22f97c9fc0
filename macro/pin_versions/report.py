"""What the transform tells its user: pins, role changes, warnings and errors.

Codes are a stable contract: documentation, the cfn-lint rules and users' CI filters refer to
them. Never renumber; retire a code by leaving it unused.
"""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

import json
import re
from typing import Any, NamedTuple

from .targets import LAMBDA

# Warnings: the transform succeeds and says what it left alone and why.
WARNINGS: dict[str, str] = {
    "PV101": "target is not a function of this template (external)",
    "PV102": "target is chosen at run time (dynamic)",
    "PV103": "target already invokes a published version",
    "PV104": "target invokes an alias or $LATEST, which can change under a running execution",
    "PV105": "definition is not visible to the macro",
    "PV106": "execution role is not in this template",
    "PV107": "execution role lacks permission and WidenRoles is false",
    "PV108": "function has several AWS::Lambda::Version resources",
    "PV109": "function already has one AWS::Lambda::Version, pinned to it",
    "PV110": "skipped by Metadata (Skip, Exclude, or a kind turned off in Kinds)",
    "PV111": "reference cannot be rewritten in place",
    "PV112": "Exclude names a resource that is not in the template",
    "PV113": "execution role policies cannot be edited",
    "PV114": "DescriptionStamp is false",
    "PV130": "definition is not ASL the macro can walk; state machine left alone",
    "PV131": "Fn::ForEach under Resources: PinVersions runs before AWS::LanguageExtensions",
    "PV132": "Properties is an intrinsic (Fn::If): the resource is left alone",
    # Day 2 (docs/design.md "Day 2"): PV115-PV129.
    "PV115": "target already invokes a version of a template function: protected, not rewritten",
    "PV116": "the role a Task invokes with is chosen at run time or is not in this template",
    "PV117": "an existing version is made to follow its function (stamped, replaced, retained)",
    "PV118": "a retained old version keeps its provisioned concurrency (paid capacity)",
    "PV119": "SAM will not retain the version it publishes",
    # Blue-green for the definition (issue 15, docs/design.md "Alias"): PV150-PV159.
    "PV150": "a caller moved to the alias has a role the macro cannot grant",
    "PV151": "an existing alias (SAM's AutoPublishAlias, or in the template) is reused",
    "PV152": "SAM's event sources stay on the unqualified ARN (PinVersions runs before SAM)",
    "PV153": "a caller names the state machine in a form the macro does not move",
    "PV154": "a grant on an alias ARN (which Step Functions never checks) is moved to the state "
    "machine ARN",
    "PV155": "a parent's Task is left on the child: its alias would make a circular dependency",
    "PV156": "a REST API caller moved to the alias takes effect at the API's next deployment",
    # Target kinds (issue 14, docs/design.md "More than Lambda: target kinds"): PV140-PV149.
    "PV140": "nested state machines start each other (a cycle): those Tasks are left alone",
    "PV141": "a child state machine's existing or SAM's version is the one its callers start",
    "PV142": "a retention setting written on a task or job definition was changed to Retain",
    "PV143": "a state machine named in the substitutions of a definition in S3 is left alone",
    # The local tooling (prune, plan): PV160-PV169 (issue 14).
    "PV160": "a state machine is near Step Functions' 1000-versions quota (prune)",
}

# Errors: the transform fails and changes nothing.
ERRORS: dict[str, str] = {
    "PV900": "internal error",
    "PV901": "malformed macro request",
    "PV902": "used through Fn::Transform",
    "PV903": "invalid PinVersions options",
    "PV904": "invalid state machine definition",
    "PV905": "Strict is true and some targets cannot be pinned",
    "PV906": "too many resources",
    "PV907": "logical ID too long",
    "PV908": "Description cannot take the stamp",
    "PV909": "processed template too large",
    "PV910": "invalid template structure",
    "PV911": "name collision",
    "PV912": "the SAM transform failed (command line only)",
    "PV920": "state machine has more than one definition property",
    "PV921": "Fn::Sub string CloudFormation would refuse",
    "PV922": "DependsOn is not a logical ID or a list of them",
    "PV923": "a string is not valid Unicode (lone surrogate)",
    "PV924": "a resource's logical ID is not alphanumeric or is over 255 characters",
    # Blue-green for the definition (issue 15): PV930-PV939.
    "PV930": "invalid Alias option",
    "PV931": "the alias's logical ID is taken by another resource",
    "PV932": "Alias set on a resource that is not a state machine",
    # Day 2: PV913-PV919.
    "PV913": "a reused version's Description cannot take the stamp",
}


# Compiled on first use through re's own cache: paths are formatted only for diagnostics, and
# an import-time compile is paid by every cold start.
_PLAIN_KEY = r"[^.\[\]\"\x00-\x1f\x7f]+"


def format_path(path: tuple[str | int, ...]) -> str:
    """``("Resources", "SM", "Branches", 0)`` -> ``Resources.SM.Branches[0]``. A key with a
    dot, a bracket, a quote or a control character (state names can have any) is written
    ``["a.b"]``, so that a path stays one unambiguous line."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif not re.fullmatch(_PLAIN_KEY, part):
            out.append(f"[{json.dumps(part)}]")
        else:
            out.append(f".{part}" if out else part)
    return "".join(out)


Path = tuple[str | int, ...]  # keys and list indexes from the template's root


class Diagnostic(NamedTuple):
    """A warning or an error: a stable code, a template path and one sentence.

    ``parts`` is the path as keys and indexes when the producer had it (every path into a
    definition does), so that an edge (the CLI's line numbers, a cfn-lint rule's path list)
    reads it without splitting ``path`` back; ``path`` is its formatted form
    (``format_path``), which the macro response and the report show."""

    code: str
    path: str
    message: str
    parts: Path | None = None

    @classmethod
    def at(cls, code: str, where: Path | str, message: str) -> "Diagnostic":
        """A diagnostic at ``where``: a path tuple (kept, and formatted) or text."""
        if isinstance(where, tuple):
            return cls(code, format_path(where), message, where)
        return cls(code, where, message)

    def __str__(self) -> str:
        prefix = f"{self.path}: " if self.path else ""
        return f"{prefix}{self.message} [{self.code}]"

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "path": self.path, "message": self.message}


class TransformError(Exception):
    """The transform cannot produce a template; carries every problem found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics


def fail(code: str, where: Path | str, message: str) -> TransformError:
    return TransformError([Diagnostic.at(code, where, message)])


class InternalError(TransformError):
    """A bug in the macro (PV900), with the resource it was processing so that the user can
    Exclude it; ``cause`` is the exception, for the log's stack trace."""

    def __init__(self, where: str, cause: BaseException) -> None:
        detail = shorten(f"{type(cause).__name__}: {cause}".splitlines()[0], 300)
        place = f" while processing {where}" if where else ""
        message = (
            f"internal error{place} ({detail}); this is a bug in the macro, please report it"
            + (
                f"; meanwhile list {where.split('.')[1]} in Metadata.PinVersions.Exclude"
                if where.startswith("Resources.")
                else ""
            )
        )
        super().__init__([Diagnostic("PV900", where, message)])
        self.cause = cause


MAX_ERRORS_IN_MESSAGE = 10
# CloudFormation shows errorMessage to a person (stack events, the console): a few KB at most.
MAX_MESSAGE_CHARS = 4096
MAX_DIAGNOSTIC_CHARS = 1000


def shorten(text: str, limit: int) -> str:
    """``text`` at most about ``limit`` characters: its head and tail, and how much was cut
    between them (a path or a message quoting a 100 KB option name stays readable)."""
    if len(text) <= limit:
        return text
    tail = limit // 4
    head = limit - tail
    return f"{text[:head]}...[{len(text) - head - tail:,} characters cut]...{text[-tail:]}"


def error_message(diagnostics: list[Diagnostic]) -> str:
    """One line for CloudFormation's console: the first problems, then a count. Each problem
    is at most MAX_DIAGNOSTIC_CHARS, the whole at most about MAX_MESSAGE_CHARS; what is cut
    is said."""
    shown = [shorten(str(d), MAX_DIAGNOSTIC_CHARS) for d in diagnostics[:MAX_ERRORS_IN_MESSAGE]]
    rest = len(diagnostics) - len(shown)
    if rest:
        shown.append(f"and {rest} more")
    # CloudFormation shows one line: a message quoting user text must not break it.
    text = "; ".join(shown).replace("\r", "\\r").replace("\n", "\\n")
    return shorten(text, MAX_MESSAGE_CHARS)


class Pin(NamedTuple):
    """One Task target rewritten to a version."""

    state_machine: str
    parts: tuple[str | int, ...]  # the target's template path: Resources.SM.Properties....
    function: str  # the target's logical ID (a function, state machine, task or job definition)
    version: str  # the pinning resource's logical ID
    kind: str = LAMBDA.name  # the target kind (targets.py)

    @property
    def path(self) -> str:
        """``DefinitionString.States.A.Resource``: formatted only when someone reads it."""
        return format_path(self.parts[3:])

    def to_json(self) -> dict[str, str]:
        row = {"path": self.path, "function": self.function, "version": self.version}
        if self.kind != LAMBDA.name:
            row["kind"] = self.kind  # Lambda rows stay as they were before issue 14
        return row


class VersionEntry(NamedTuple):
    function: str
    version: str
    hash: str | None  # the function's hash; None for an existing version that is the
    # macro's own (an earlier pass) and so already follows the function
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "version": self.version,
            "hash": self.hash,
            "created": self.created,
        }


class RoleEntry(NamedTuple):
    role: str
    functions: tuple[str, ...]  # pinned functions whose versions this role must allow
    added: tuple[str, ...]  # those this transform gave it (the others it already allowed,
    # or a PV107/PV113 warning on the role says what to add)

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "functions": list(self.functions), "added": list(self.added)}


class GrantEntry(NamedTuple):
    """A retained ``AWS::IAM::Policy`` that lets ``role`` invoke every version of
    ``function`` (docs/design.md, "Day 2")."""

    logical_id: str
    role: str
    function: str
    policy_name: str
    condition: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "logicalId": self.logical_id,
            "role": self.role,
            "function": self.function,
            "policyName": self.policy_name,
            "condition": self.condition,
        }


class AliasEntry(NamedTuple):
    """A state machine's alias and the version it shifts to (issue 15, ``Alias`` option).

    ``source``: ``created`` (added by the macro), ``sam`` (SAM's ``AutoPublishAlias``: set by
    the macro before SAM, or SAM's own), ``existing`` (an alias in the template, reused).
    ``callers``: template paths of the values moved to the alias (``Resources.Rule.Properties
    .Targets[0].Arn``); ``grants``: logical IDs of the retained policies that let callers'
    roles start it."""

    state_machine: str
    alias: str  # logical ID of the AWS::StepFunctions::StateMachineAlias
    name: str  # the alias name (its ARN's qualifier)
    version: str  # logical ID of the AWS::StepFunctions::StateMachineVersion it shifts to
    version_created: bool
    type: str  # CANARY | LINEAR | ALL_AT_ONCE
    percentage: int | None
    interval: int | None  # minutes
    alarms: tuple[Any, ...]
    source: str
    callers: tuple[str, ...]
    grants: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "stateMachine": self.state_machine,
            "alias": self.alias,
            "name": self.name,
            "version": self.version,
            "versionCreated": self.version_created,
            "type": self.type,
            "percentage": self.percentage,
            "interval": self.interval,
            "alarms": list(self.alarms),
            "source": self.source,
            "callers": list(self.callers),
            "grants": list(self.grants),
        }


class Report:
    """Pins, versions, role changes and warnings of one transform."""

    __slots__ = ("aliases", "grants", "pins", "roles", "state_machines", "versions", "warnings")

    def __init__(self) -> None:
        self.pins: list[Pin] = []
        self.versions: list[VersionEntry] = []
        self.roles: list[RoleEntry] = []
        self.grants: list[GrantEntry] = []
        self.warnings: list[Diagnostic] = []
        self.state_machines: list[str] = []
        self.aliases: list[AliasEntry] = []  # issue 15: shown only when there is one

    def warn(self, code: str, where: Path | str, message: str) -> None:
        """Add warning ``code`` at ``where`` (a path tuple, formatted here, or text)."""
        assert code in WARNINGS, code
        self.warnings.append(Diagnostic.at(code, where, message))

    def summary(self) -> dict[str, Any]:
        """Counts only: safe to log (no template content, no parameter values)."""
        codes: dict[str, int] = {}
        for warning in self.warnings:
            codes[warning.code] = codes.get(warning.code, 0) + 1
        return {
            "stateMachines": len(self.state_machines),
            "pinned": len(self.pins),
            "versionsCreated": sum(1 for v in self.versions if v.created),
            "versionsReused": sum(1 for v in self.versions if not v.created),
            "rolesWidened": sum(1 for r in self.roles if r.added),
            "warnings": dict(sorted(codes.items())),
        }

    def to_json(self) -> dict[str, Any]:
        machines: dict[str, list[dict[str, str]]] = {name: [] for name in self.state_machines}
        for pin in self.pins:
            machines.setdefault(pin.state_machine, []).append(pin.to_json())
        out = {
            "stateMachines": {name: {"pinned": pins} for name, pins in machines.items()},
            "versions": [v.to_json() for v in self.versions],
            "roles": [r.to_json() for r in self.roles],
            "grants": [g.to_json() for g in self.grants],
            "warnings": [w.to_json() for w in self.warnings],
        }
        if self.aliases:  # absent otherwise, so reports without the option are unchanged
            out["aliases"] = [a.to_json() for a in self.aliases]
        return out

"""The model of a plan: what the rewrite will do, decided before it does any of it.

Plain data (no planning logic): ``Plan`` holds the edits, versions, grants and report;
``Edit`` replaces a span of a container; ``VersionPlan`` is the version a function's Tasks
are pinned to; ``Use`` a role that invokes a function. rewrite.py reads these and imports
nothing else of the planner.
"""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

from typing import TYPE_CHECKING, Any, NamedTuple

from ..pieces import Container
from ..report import Diagnostic, Report

if TYPE_CHECKING:
    from ..inventory import Inventory
    from ..options import Options

MAX_LOGICAL_ID = 255
MAX_DESCRIPTION = 256
MAX_RESOURCES = 500

# Warnings that fail the transform when Strict is true.
STRICT_CODES = frozenset(
    {"PV101", "PV102", "PV104", "PV106", "PV108", "PV111", "PV113", "PV116", "PV119", "PV130"}
    | {"PV132", "PV140", "PV143"}
    # Alias (issue 15): a moved caller that may be denied, one left on the unqualified ARN.
    | {"PV150", "PV152", "PV153"}
)
GRANT_HASH_PREFIX = "pin-versions-grant/1\n"
MAX_POLICY_NAME = 128  # IAM inline policy names

Guard = tuple[tuple[str, bool], ...]  # conditions (name, value) an invoke happens under

Pos = int | tuple[int, int]  # offset in a string; (element, offset) in a Join list

# Resolutions a Task is left alone for, with the warning that says so.
LEFT_ALONE = {"external": "PV101", "version": "PV103", "mutable": "PV104", "unseen": "PV143"}


class Edit(NamedTuple):
    """Replace ``start``..``end`` of a container with text and intrinsics."""

    container: Container
    start: Pos
    end: Pos
    items: list[str | dict[str, Any]]


class VersionPlan:
    """The version a function's Tasks are pinned to."""

    __slots__ = ("condition", "created", "follows", "function", "hash", "ref", "version")

    def __init__(
        self,
        function: str,
        version: str,  # logical ID to Ref
        hash: str | None,  # None: an existing version that already follows F
        created: bool,
        condition: str | None,
        follows: bool = False,  # an existing version stamped so that it follows F
    ) -> None:
        self.function = function
        self.version = version
        self.hash = hash
        self.created = created
        self.condition = condition
        self.follows = follows
        self.ref = {"Ref": version}  # one object for every Task that names it


class Use(NamedTuple):
    """A role that invokes a function's versions: the Task's Credentials role or the state
    machine's role, under the conditions of the ``Fn::If`` branches that chose it."""

    machine: str
    role: str
    function: str
    guard: Guard
    sam_policies: bool  # the role SAM makes from the state machine's Policies


class Plan:
    """Everything the rewrite will do, decided before it does any of it."""

    __slots__ = (
        "alias_resources",
        "conditions",
        "depends_on",
        "descriptions",
        "edits",
        "grants",
        "kind_resources",
        "kind_updates",
        "replace_retain",
        "report",
        "retain",
        "sam_properties",
        "substitutions",
        "version_descriptions",
        "versions",
    )

    def __init__(self) -> None:
        self.edits: list[Edit] = []
        # state machine -> substitution key -> value, for placeholders added to plain strings
        self.substitutions: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, VersionPlan] = {}
        self.retain: list[str] = []  # existing versions that need Retain
        self.descriptions: dict[str, Any] = {}  # function -> new Description
        self.version_descriptions: dict[str, Any] = {}  # existing version -> stamped one
        # Retained grants: logical ID -> (resource placed after, AWS::IAM::Policy resource).
        self.grants: dict[str, tuple[str, dict[str, Any]]] = {}
        self.depends_on: dict[str, list[str]] = {}  # state machine -> grants it waits for
        self.replace_retain: list[str] = []  # targets that get UpdateReplacePolicy: Retain
        # SAM functions (before SAM): properties to set so that SAM's version follows.
        self.sam_properties: dict[str, dict[str, Any]] = {}
        self.conditions: dict[str, Any] = {}  # new template Conditions
        # Issue 14 kinds (plan/kinds.py): new resources, logical ID -> (resource placed
        # after, resource): state machine versions; and what is set on existing resources,
        # logical ID -> {"DeletionPolicy"/"UpdateReplacePolicy": ..., "Properties": {...}}.
        self.kind_resources: dict[str, tuple[str, dict[str, Any]]] = {}
        self.kind_updates: dict[str, dict[str, Any]] = {}
        # Logical IDs the Alias option adds (plan/aliases.py), counted by PV906.
        self.alias_resources: set[str] = set()
        self.report = Report()


class Unpinnable(Exception):
    """A target resolves to a function but cannot be rewritten in place."""


class PlanPart:
    """What the planner's parts (versions, grants) share: the template, the options, the
    plan they write into, the errors they collect (raised once by the planner) and the
    logical IDs in use."""

    def __init__(
        self,
        inventory: "Inventory",
        options: "Options",
        plan: Plan,
        errors: list[Diagnostic],
        taken: set[str],
    ) -> None:
        self.inventory = inventory
        self.options = options
        self.plan = plan
        self.report = plan.report
        self.errors = errors
        self.taken = taken  # logical IDs in use

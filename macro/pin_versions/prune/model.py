"""What prune decides about: the IAM actions it calls, its time windows, the facts it gathers
(versions, uses, grants, retained functions) and the decisions it makes. Data only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Single source of truth for the IAM actions prune calls: the docs, the permission error
# message and deploy/prune-schedule.yaml (checked by a test) all follow this list.
READ_ACTIONS: tuple[str, ...] = (
    "cloudformation:DescribeStacks",
    "cloudformation:DetectStackResourceDrift",
    "cloudformation:GetTemplate",
    "cloudformation:ListStackResources",
    "batch:DescribeJobDefinitions",
    "ecs:ListTaskDefinitions",
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
    "batch:DeregisterJobDefinition",
    "ecs:DeregisterTaskDefinition",
    "iam:DeleteRolePolicy",
    "lambda:DeleteFunction",
    "lambda:DeleteProvisionedConcurrencyConfig",
    "states:DeleteStateMachineVersion",
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
# Step Functions keeps at most 1000 versions of a state machine, and publishing one more fails
# until unused ones are deleted (PublishStateMachineVersion, AWS::StepFunctions::
# StateMachineVersion: https://docs.aws.amazon.com/step-functions/latest/apireference/
# API_PublishStateMachineVersion.html). PinVersions publishes one per deploy that changes a
# pinned child, so prune warns (PV160) from WARN_AT on, before a deploy fails.
MACHINE_VERSION_QUOTA = 1000
MACHINE_VERSION_WARN_AT = 900
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


@dataclass(frozen=True)
class MachineVersion:
    """One published state machine version, as ListStateMachineVersions reports it."""

    number: str  # the version number: the last part of its ARN
    arn: str
    created: datetime | None = None


@dataclass
class MachineFacts:
    """The published versions of one state machine of the stack."""

    name: str
    arn: str
    versions: list[MachineVersion] = field(default_factory=list)
    # Failed checks of this state machine: its versions are all kept.
    errors: list[str] = field(default_factory=list)


@dataclass
class Family:
    """One ECS family or Batch job definition name the stack holds a revision of."""

    service: str  # "ecs" or "batch"
    name: str
    current: set[str] = field(default_factory=set)  # revision ARNs that are stack resources
    active: list[str] = field(default_factory=list)  # every ACTIVE revision ARN
    errors: list[str] = field(default_factory=list)

    @property
    def what(self) -> str:
        return "task" if self.service == "ecs" else "job"


@dataclass
class RevisionFacts:
    families: dict[tuple[str, str], Family] = field(default_factory=dict)
    # (what: "task"/"job", name or None for any, revision or None for any, reason)
    uses: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)


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
    # State machine versions (issue 14): the stack's state machines, by name, and what may
    # still start each version (``Use.function`` is the state machine's name; None matches
    # any state machine, ``Use.version`` None any version).
    machines: dict[str, MachineFacts] = field(default_factory=dict)
    machine_uses: list[Use] = field(default_factory=list)
    # ECS task definition and Batch job definition revisions (issue 14, revisions.py).
    revisions: RevisionFacts = field(default_factory=lambda: RevisionFacts())


# What a row decides about. VERSION rows are the versions of the stack's functions; the
# others reclaim what PinVersions retains (issue 11): a retained grant, a function kept
# through a replacement, provisioned concurrency on a version that left the stack.
VERSION = "version"
GRANT = "grant"
FUNCTION = "function"
PROVISIONED = "provisioned"
MACHINE_VERSION = "state-machine-version"
REVISION = "revision"  # an ECS task definition or Batch job definition revision


@dataclass(frozen=True)
class Decision:
    function: str
    version: str  # a version number, $LATEST, or what a reclaim row is about
    decision: str  # keep, delete (dry run), deleted or failed (--apply)
    reason: str
    kind: str = VERSION
    # For GRANT rows: the role and its inline policy; for PROVISIONED rows: the version;
    # for MACHINE_VERSION rows: the version's ARN.
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

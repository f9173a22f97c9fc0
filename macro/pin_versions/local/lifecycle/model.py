"""The lifecycle's model: one side of a deploy (a processed template as CloudFormation would
hold it), the verdict on each Lambda target of OLD, and the resource types whose change
replaces a resource."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ...hashing import Conditions
from ...intrinsics import parse_sub, sub_args
from ...inventory import (
    IAM_ROLE,
    LAMBDA_FUNCTION,
    LAMBDA_VERSION,
    Context,
    Inventory,
    build_inventory,
)
from ...options import Options
from ...report import TransformError

Status = Literal["safe", "broken", "unprotected"]

# Properties whose change makes CloudFormation replace the resource: the createOnlyProperties
# of each resource provider schema (as cfn-lint ships them; a test compares the two).
CREATE_ONLY: dict[str, frozenset[str]] = {
    LAMBDA_FUNCTION: frozenset({"FunctionName", "PackageType", "TenancyConfig"}),
    LAMBDA_VERSION: frozenset(
        {
            "FunctionName",
            "Description",
            "CodeSha256",
            "ProvisionedConcurrencyConfig",
            "RuntimePolicy",
        }
    ),
    IAM_ROLE: frozenset({"Path", "RoleName"}),
    "AWS::IAM::Policy": frozenset(),
    "AWS::IAM::ManagedPolicy": frozenset({"ManagedPolicyName", "Description", "Path"}),
    "AWS::IAM::RolePolicy": frozenset({"PolicyName", "RoleName"}),
    # Issue 14's target kinds (cfn-lint's us-east-1 schemas, createOnlyProperties).
    "AWS::StepFunctions::StateMachine": frozenset({"StateMachineName", "StateMachineType"}),
    "AWS::StepFunctions::StateMachineVersion": frozenset(
        {"StateMachineArn", "StateMachineRevisionId", "Description"}
    ),
    "AWS::StepFunctions::StateMachineAlias": frozenset({"Name"}),
    "AWS::ECS::TaskDefinition": frozenset(
        {
            "Family",
            "ContainerDefinitions",
            "Cpu",
            "EnableFaultInjection",
            "ExecutionRoleArn",
            "InferenceAccelerators",
            "Memory",
            "NetworkMode",
            "PlacementConstraints",
            "ProxyConfiguration",
            "RequiresCompatibilities",
            "RuntimePlatform",
            "TaskRoleArn",
            "Volumes",
            "PidMode",
            "IpcMode",
            "EphemeralStorage",
        }
    ),
    "AWS::Batch::JobDefinition": frozenset({"JobDefinitionName"}),
}
_RETAIN = frozenset({"Retain", "RetainExceptOnCreate"})
_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")
_MANAGED_ARN = re.compile(r"arn:[^:]+:iam::aws:policy/(.+)")
_UNKNOWN = "\x01"  # a name nobody knows: matches only a wildcard


@dataclass(slots=True)
class Side:
    """One processed template and the values it was deployed with."""

    template: dict[str, Any]
    context: Context
    pin: bool = True  # PinVersions ran on it (its Transform list names it)
    inventory: Inventory | None = field(init=False, default=None)
    conditions: Conditions = field(init=False)
    resources: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.conditions = Conditions(self.template.get("Conditions"), self.context)
        # As CloudFormation deploys it: each Fn::If the parameters decide is its branch.
        self.template = _as_deployed(self.template, self.conditions)
        raw = self.template.get("Resources")
        raw = raw if isinstance(raw, dict) else {}
        self.resources = {k: v for k, v in raw.items() if isinstance(v, dict)}
        try:
            self.inventory = build_inventory(self.template, self.context, Options())
        except TransformError:
            self.inventory = None  # the pipeline reports a malformed template on its own

    def exists(self, logical_id: str) -> bool:
        """In the template, and not switched off by a condition the parameters decide."""
        resource = self.resources.get(logical_id)
        if resource is None:
            return False
        return self.conditions.value(resource.get("Condition")) is not False

    def type_of(self, logical_id: str) -> str | None:
        rtype = self.resources.get(logical_id, {}).get("Type")
        return rtype if isinstance(rtype, str) else None

    def properties(self, logical_id: str) -> dict[str, Any]:
        properties = self.resources.get(logical_id, {}).get("Properties")
        return properties if isinstance(properties, dict) else {}

    def resolved(self, value: Any) -> Any:
        from ...hashing import resolve_known_values

        return resolve_known_values(value, self.context, self.conditions)


_NO_VALUE = {"Ref": "AWS::NoValue"}
_DROP = object()


def _as_deployed(template: dict[str, Any], conditions: Conditions) -> dict[str, Any]:
    """A copy where every ``Fn::If`` whose condition the parameters decide is replaced by
    the branch it picks, and ``AWS::NoValue`` removes the key or item it stands for (what
    CloudFormation does). Undecided ones stay. Iterative: nesting depth is the user's."""

    def decide(node: Any) -> Any:
        while type(node) is dict and len(node) == 1 and isinstance(node.get("Fn::If"), list):
            branches = node["Fn::If"]
            chosen = conditions.value(branches[0]) if len(branches) == 3 else None
            if chosen is None:
                break
            node = branches[1 if chosen else 2]
        return _DROP if node == _NO_VALUE else node

    root: dict[str, Any] = {}
    stack: list[tuple[Any, dict[str, Any] | list[Any]]] = [(template, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            value = decide(value)
            if value is _DROP:
                continue
            if isinstance(value, (dict, list)):
                copy: dict[str, Any] | list[Any] = {} if isinstance(value, dict) else []
                stack.append((value, copy))
                value = copy
            if isinstance(target, dict):
                target[str(key)] = value
            else:
                target.append(value)
    return root


@dataclass(frozen=True, slots=True)
class Problem:
    reason: str  # deleted with its function, deleted by a replacement, not retained, ...
    detail: str
    fix: str


@dataclass(slots=True)
class Verdict:
    """What happens to one thing day-1 executions may invoke.

    kind: ``version`` (an AWS::Lambda::Version of the template), ``numbered`` (``F:3``,
    a version number written in the definition) or ``function`` (unqualified, or an alias).
    """

    target: str
    kind: str
    function: str  # the target's owner: a function, or (target_kind) a state machine, ...
    machines: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why it is safe, or what was not checked
    target_kind: str = "lambda"  # targets.py TargetKind.name of what it calls

    @property
    def status(self) -> Status:
        if self.problems:
            return "broken"
        return "unprotected" if self.kind == "function" else "safe"

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "targetKind": self.target_kind,
            "function": self.function,
            "stateMachines": self.machines,
            "roles": self.roles,
            "status": self.status,
            "problems": [
                {"reason": p.reason, "detail": p.detail, "fix": p.fix} for p in self.problems
            ],
            "notes": self.notes,
        }


@dataclass(slots=True)
class Lifecycle:
    verdicts: list[Verdict]
    notes: list[str]

    def broken(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "broken"]

    def to_json(self) -> dict[str, Any]:
        counts = {s: sum(v.status == s for v in self.verdicts) for s in _STATUSES}
        return {
            "verdicts": [v.to_json() for v in self.verdicts],
            "notes": self.notes,
            "summary": counts,
        }


_STATUSES: tuple[Status, ...] = ("safe", "broken", "unprotected")


def _every_version(arn: str) -> str:
    """``function:NAME:N`` or ``function:NAME`` -> ``function:NAME:*``."""
    head, marker, rest = arn.partition(":function:")
    return f"{head}{marker}{rest.split(':')[0]}:*"


def _plain(value: Any) -> str | None:
    """A resolved value as text: a string, or an ``Fn::Sub`` left with no placeholder."""
    if isinstance(value, str):
        return value
    sub = sub_args(value)
    if sub is not None and not sub[1] and all(t.kind != "ref" for t in parse_sub(sub[0])):
        return "".join(t.text for t in parse_sub(sub[0]))
    return None


def pin_fix(old: Side, new: Side, machines: list[str], owner: str, kind_name: str) -> str:
    """What makes PinVersions pin a target OLD left unqualified (``_pin_reason``), and
    whether NEW does it already (then only executions started before the deploy run
    unpinned)."""
    fix = _pin_reason(old, machines, owner, kind_name)
    if _pin_reason(new, machines, owner, kind_name) != fix:
        fix += "; this deploy does: executions started after it are pinned"
    return fix


def _pin_reason(side: Side, machines: list[str], owner: str, kind_name: str) -> str:
    """What makes PinVersions pin a target it left unqualified on ``side`` (OLD: the
    template day-1 executions run), the first reason that applies: PinVersions is not in
    the Transform list; the target's kind is turned off (``Metadata.PinVersions.Kinds.<Key>``,
    PV110); the state machine or target is in ``Metadata.PinVersions.Exclude`` or has
    ``Metadata.PinVersions.Skip``; else the warnings explain gives."""
    from ...options import collect_options, skipped_by_metadata
    from ...targets import kind_named

    if not side.pin:
        return "add PinVersions to the Transform list"
    options = collect_options(side.template, [])
    kind = kind_named(kind_name)
    if kind.name in options.disabled_kinds:
        return (
            f"set Metadata.PinVersions.Kinds.{kind.option_key} to true: while it is false "
            f"PinVersions leaves every Task that calls a {kind.noun} alone"
        )
    excluded = [name for name in [*machines, owner] if name in options.exclude]
    if excluded:
        return f"remove {', '.join(excluded)} from Metadata.PinVersions.Exclude"
    skipped = [
        name for name in [*machines, owner] if skipped_by_metadata(side.resources.get(name, {}))
    ]
    if skipped:
        return f"remove Metadata.PinVersions.Skip from {', '.join(skipped)}"
    return "pin-versions explain lists the warning that says why PinVersions left it"


def _display(arn: str) -> str:
    """An ARN for people: unknown names as <LogicalId>, unknown version numbers as <N>."""
    arn = re.sub(_UNKNOWN + r"V[A-Za-z0-9]+", "<N>", arn)
    return re.sub(_UNKNOWN + r"(?:N|gone)([A-Za-z0-9]+)", r"<\1>", arn)

"""The ``Alias`` option (issue 15): a state machine version and an alias that shifts new
executions to it gradually, read from ``Metadata.PinVersions.Alias`` (template-wide) or a
state machine's own ``Metadata.PinVersions.Alias`` (which wins; ``Alias: false`` opts one
state machine out).

Shape::

    Alias:
      Name: live                      # required; letters and digits (it is part of a logical ID)
      DeploymentPreference:           # optional; default {Type: ALL_AT_ONCE}
        Type: CANARY                  # CANARY | LINEAR | ALL_AT_ONCE
        Percentage: 10                # 1-99; CANARY and LINEAR only, and required there
        Interval: 10                  # minutes, 1-2100; CANARY and LINEAR only, and required
        Alarms: [OrdersErrors]        # 1-100 unique CloudWatch alarm *names* (or intrinsics)
      MoveCallers:                    # each false unless set
        EventBridge: true             # AWS::Events::Rule Targets[].Arn
        Scheduler: true               # AWS::Scheduler::Schedule Target.Arn
        Pipes: true                   # AWS::Pipes::Pipe Target
        ApiGateway: true              # REST Method / HTTP API Integration
        StepFunctions: true           # other state machines' startExecution Tasks

The fields and limits are the ``AWS::StepFunctions::StateMachineAlias`` resource's:
cfn-lint's schema of the resource (``DeploymentPreference``: Percentage 1-99, Interval
1-2100, Alarms 1-100 unique names of 1-256 characters; Name 1-80 characters) and its
resource provider (aws-cloudformation-resource-providers-stepfunctions,
``ResourceModelUtils.validateDeploymentPreference``: LINEAR and CANARY require Interval and
Percentage; a LINEAR shift may last at most 2100 minutes, ``ceil(100 / Percentage) *
Interval``; ALL_AT_ONCE reads neither). CloudWatch treats a nonexistent alarm, or an alarm
ARN given as a name, as OK, so a shift would never roll back
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-stepfunctions-statemachinealias-deploymentpreference.html):
an ARN is refused.

Every invalid field is one PV930 error naming its path and what to do; all are collected.
"""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

import math
import re
from typing import Any, NamedTuple

from .intrinsics import describe, intrinsic_name
from .report import Diagnostic

DEPLOYMENT_TYPES = ("CANARY", "LINEAR", "ALL_AT_ONCE")
CALLER_KINDS = ("EventBridge", "Scheduler", "Pipes", "ApiGateway", "StepFunctions")
MAX_NAME = 80
MAX_ALARMS = 100
MAX_ALARM_NAME = 256
PERCENTAGE_RANGE = (1, 99)
INTERVAL_RANGE = (1, 2100)  # minutes
MAX_LINEAR_MINUTES = 2100  # the resource provider's MAX_DEPLOYMENT_TIME_MINUTES
_NAME = r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*"
_KNOWN = ("Name", "DeploymentPreference", "MoveCallers")
_PREFERENCE_KNOWN = ("Type", "Percentage", "Interval", "Alarms")
CODE = "PV930"


class AliasOption(NamedTuple):
    """One state machine's alias, as the option asks for it (validated)."""

    name: str
    type: str = "ALL_AT_ONCE"
    percentage: int | None = None
    interval: int | None = None  # minutes
    alarms: tuple[Any, ...] = ()  # alarm names: strings or intrinsics (Ref Alarm)
    move_callers: frozenset[str] = frozenset()  # CALLER_KINDS asked for

    def deployment_preference(self, version_arn: Any) -> dict[str, Any]:
        """The alias's ``DeploymentPreference`` on ``version_arn`` (``{"Ref": version}``)."""
        preference: dict[str, Any] = {"StateMachineVersionArn": version_arn, "Type": self.type}
        if self.percentage is not None:
            preference["Percentage"] = self.percentage
        if self.interval is not None:
            preference["Interval"] = self.interval
        if self.alarms:
            preference["Alarms"] = list(self.alarms)
        return preference


class _Reader:
    def __init__(self, errors: list[Diagnostic]) -> None:
        self.errors = errors
        self.ok = True

    def bad(self, path: str, message: str) -> None:
        self.ok = False
        self.errors.append(Diagnostic(CODE, path, message))

    def unknown(self, raw: dict[Any, Any], known: tuple[str, ...], path: str) -> None:
        for key in raw:
            if key not in known:
                self.bad(
                    f"{path}.{key}", f"unknown field {key!r}; known fields are {', '.join(known)}"
                )

    def integer(self, value: Any, path: str, bounds: tuple[int, int], unit: str) -> int | None:
        low, high = bounds
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
            number = int(value)  # CloudFormation takes "10" for an Integer property
        if number is None:
            self.bad(path, f"is {describe(value)}; write a whole number of {unit}, {low}-{high}")
            return None
        if not low <= number <= high:
            self.bad(path, f"is {number}; it must be {low}-{high} {unit}")
            return None
        return number


def read_alias(value: Any, path: str, errors: list[Diagnostic]) -> AliasOption | None:
    """The option at ``path`` (``Metadata.PinVersions.Alias`` or a resource's), or None when
    it is invalid (each problem appended to ``errors`` as PV930)."""
    reader = _Reader(errors)
    if type(value) is not dict:
        reader.bad(
            path,
            f"is {describe(value)}; write a mapping such as {{Name: live, DeploymentPreference: "
            "{Type: CANARY, Percentage: 10, Interval: 10}}",
        )
        return None
    reader.unknown(value, _KNOWN, path)
    name = _read_name(reader, value.get("Name"), f"{path}.Name")
    preference = _read_preference(reader, value.get("DeploymentPreference"), path)
    callers = _read_callers(reader, value.get("MoveCallers"), f"{path}.MoveCallers")
    if not reader.ok or name is None or preference is None:
        return None
    kind, percentage, interval, alarms = preference
    return AliasOption(name, kind, percentage, interval, alarms, callers)


def _read_name(reader: _Reader, value: Any, path: str) -> str | None:
    if value is None:
        reader.bad(path, "is missing; name the alias, for example Name: live")
        return None
    if not isinstance(value, str) or intrinsic_name(value) is not None:
        reader.bad(path, f"is {describe(value)}; write the alias name as literal text")
        return None
    if not 1 <= len(value) <= MAX_NAME:
        reader.bad(path, f"is {len(value)} characters; an alias name is 1-{MAX_NAME}")
        return None
    if not re.fullmatch(_NAME, value):
        # AWS takes [A-Za-z0-9_.-]; the name is also part of the alias's logical ID
        # (<StateMachine>Alias<Name>, as SAM names it), which takes letters and digits only.
        reader.bad(
            path,
            f"is {value!r}; use letters and digits with at least one letter (the name is "
            "part of the alias's logical ID, <StateMachine>Alias<Name>)",
        )
        return None
    return value


def _read_preference(
    reader: _Reader, value: Any, path: str
) -> tuple[str, int | None, int | None, tuple[Any, ...]] | None:
    path = f"{path}.DeploymentPreference"
    if value is None:
        return "ALL_AT_ONCE", None, None, ()
    if type(value) is not dict:
        reader.bad(path, f"is {describe(value)}; write a mapping such as {{Type: ALL_AT_ONCE}}")
        return None
    if "StateMachineVersionArn" in value:
        reader.bad(
            f"{path}.StateMachineVersionArn",
            "is set by the macro (the state machine's own version); remove it",
        )
    reader.unknown(
        {k: v for k, v in value.items() if k != "StateMachineVersionArn"}, _PREFERENCE_KNOWN, path
    )
    alarms = _read_alarms(reader, value.get("Alarms"), f"{path}.Alarms")
    kind = value.get("Type")
    if kind is None:
        reader.bad(f"{path}.Type", f"is missing; write one of {', '.join(DEPLOYMENT_TYPES)}")
        return None
    if kind not in DEPLOYMENT_TYPES:
        shown = repr(kind)[:80] if isinstance(kind, str) else describe(kind)
        reader.bad(f"{path}.Type", f"is {shown}; write one of {', '.join(DEPLOYMENT_TYPES)}")
        return None
    percentage = interval = None
    for field, bounds, unit in (
        ("Percentage", PERCENTAGE_RANGE, "percent"),
        ("Interval", INTERVAL_RANGE, "minutes"),
    ):
        where = f"{path}.{field}"
        if kind == "ALL_AT_ONCE":
            if field in value:
                reader.bad(
                    where,
                    f"has no effect with Type ALL_AT_ONCE, which shifts every new execution at "
                    f"once; remove {field}, or use CANARY or LINEAR",
                )
            continue
        if field not in value:
            reader.bad(
                where,
                f"is missing; a {kind} deployment needs Percentage and Interval (for example "
                "Percentage: 10, Interval: 10)",
            )
            continue
        number = reader.integer(value[field], where, bounds, unit)
        if field == "Percentage":
            percentage = number
        else:
            interval = number
    if kind == "LINEAR" and percentage is not None and interval is not None:
        minutes = math.ceil(100 / percentage) * interval
        if minutes > MAX_LINEAR_MINUTES:
            reader.bad(
                path,
                f"a LINEAR shift of {percentage}% every {interval} minutes lasts {minutes} "
                f"minutes, over CloudFormation's {MAX_LINEAR_MINUTES}; raise Percentage or "
                "lower Interval",
            )
    if not reader.ok:
        return None
    return kind, percentage, interval, alarms


def _read_alarms(reader: _Reader, value: Any, path: str) -> tuple[Any, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        reader.bad(
            path,
            f"is {describe(value)}; write a list of 1-{MAX_ALARMS} CloudWatch alarm names",
        )
        return ()
    if len(value) > MAX_ALARMS:
        reader.bad(path, f"lists {len(value)} alarms; at most {MAX_ALARMS}")
    seen: set[str] = set()
    for index, alarm in enumerate(value):
        where = f"{path}[{index}]"
        chosen = intrinsic_name(alarm)
        if chosen is not None:
            _check_alarm_intrinsic(reader, alarm, chosen, where)
            continue
        if not isinstance(alarm, str) or not alarm:
            reader.bad(where, f"is {describe(alarm)}; write a CloudWatch alarm name")
            continue
        if alarm.startswith("arn:"):
            reader.bad(
                where,
                "is an alarm ARN; write the alarm's name (CloudWatch treats an unknown name, "
                "ARNs included, as OK, so the shift would never roll back)",
            )
        elif len(alarm) > MAX_ALARM_NAME:
            reader.bad(where, f"is {len(alarm)} characters; an alarm name is 1-{MAX_ALARM_NAME}")
        elif alarm in seen:
            reader.bad(where, f"lists {alarm!r} twice; list each alarm once")
        seen.add(alarm)
    return tuple(value)


def _check_alarm_intrinsic(reader: _Reader, alarm: Any, chosen: str, where: str) -> None:
    """``Ref Alarm`` (an ``AWS::CloudWatch::Alarm``'s Ref is its name) and other intrinsics
    pass; ``Fn::GetAtt Alarm.Arn`` is an ARN, refused like a literal one."""
    if chosen != "Fn::GetAtt":
        return
    target = alarm["Fn::GetAtt"]
    attribute = target.split(".", 1)[-1] if isinstance(target, str) else None
    if isinstance(target, list) and len(target) == 2:
        attribute = target[1]
    if attribute == "Arn":
        reader.bad(
            where,
            "is an alarm ARN (Fn::GetAtt ...Arn); write the alarm's name, for example "
            "!Ref the alarm (CloudWatch treats an ARN given as a name as OK, so the shift "
            "would never roll back)",
        )


def _read_callers(reader: _Reader, value: Any, path: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if type(value) is not dict:
        reader.bad(
            path,
            f"is {describe(value)}; write a mapping of caller kinds to true or false "
            f"({', '.join(CALLER_KINDS)})",
        )
        return frozenset()
    reader.unknown(value, CALLER_KINDS, path)
    chosen: set[str] = set()
    for key in CALLER_KINDS:
        if key not in value:
            continue
        flag = _as_bool(value[key])
        if flag is None:
            reader.bad(f"{path}.{key}", f"is {describe(value[key])}; write true or false")
        elif flag:
            chosen.add(key)
    return frozenset(chosen)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def read_resource_alias(
    resource: dict[str, Any], path: str, errors: list[Diagnostic]
) -> AliasOption | bool | None:
    """A resource's own ``Metadata.PinVersions.Alias``: the option, ``False`` for an explicit
    opt-out (``Alias: false``), ``True`` when it has none (the template-wide one applies), or
    None when it is invalid (PV930 appended)."""
    metadata = resource.get("Metadata")
    ours = metadata.get("PinVersions") if type(metadata) is dict else None
    if type(ours) is not dict or "Alias" not in ours:
        return True
    value = ours["Alias"]
    if _as_bool(value) is False:
        return False
    return read_alias(value, f"{path}.Metadata.PinVersions.Alias", errors)

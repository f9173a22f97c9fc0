"""SAM state machines' event sources and the Alias option (issue 15), before SAM runs: which
events SAM makes a role for, and the grant each such role needs when the events start the
alias (SAM's own grant is on the alias ARN, which Step Functions never checks:
aws/serverless-application-model#3720; role names from samtranslator
model/stepfunctions/events.py, ``_construct_role``)."""

from __future__ import annotations

from typing import Any

from ..report import Diagnostic
from .alias_grants import statement
from .alias_model import RETAIN, AliasPlan, MachineAlias, too_long
from .model import MAX_LOGICAL_ID, MAX_POLICY_NAME

# SAM event types that start the state machine through EventBridge, Scheduler or API Gateway.
SAM_EVENTS = {
    "EventBridgeRule": "EventBridge",
    "CloudWatchEvent": "EventBridge",
    "Schedule": "EventBridge",
    "ScheduleV2": "Scheduler",
    "Api": "ApiGateway",
}
# Those for which SAM makes the role <SM><Event>Role (a Schedule only without RoleArn).
_SAM_ROLE_EVENTS = frozenset({"EventBridgeRule", "CloudWatchEvent", "Schedule", "Api"})


def event_type(event: Any) -> str | None:
    kind = event.get("Type") if type(event) is dict else None
    return kind if isinstance(kind, str) else None


def sam_event_kind(event: Any) -> str | None:
    """The caller kind of a SAM event whose role SAM makes, else None."""
    kind = event_type(event)
    if kind is None or kind not in _SAM_ROLE_EVENTS:
        return None
    properties = event.get("Properties")
    if type(properties) is dict and "RoleArn" in properties:
        return None
    return SAM_EVENTS[kind]


def sam_event_grant(
    entry: MachineAlias, event: str, plan: AliasPlan, taken: set[str], errors: list[Diagnostic]
) -> None:
    """A retained grant for the role SAM makes for ``event``, on the state machine ARN
    narrowed to the alias."""
    machine = entry.resource.logical_id
    role = f"{machine}{event}Role"
    grant = f"{role}PinVersionsStart{machine}"
    if len(grant) > MAX_LOGICAL_ID:
        errors.append(too_long(grant, machine))
        return
    if grant in taken:
        return  # an earlier pass's grant (the macro applied to its own output)
    policy: dict[str, Any] = {"Type": "AWS::IAM::Policy", **RETAIN}
    if entry.resource.condition is not None:
        policy["Condition"] = entry.resource.condition
    policy["Properties"] = {
        "PolicyName": f"PinVersionsStart-{machine}"[:MAX_POLICY_NAME],
        "Roles": [{"Ref": role}],
        "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [statement(machine, entry.name)],
        },
    }
    plan.added.setdefault(machine, []).append((grant, policy))
    taken.add(grant)
    entry.grants.append(grant)

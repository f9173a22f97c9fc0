"""State machine versions: the ``AWS::StepFunctions::StateMachineVersion`` that pins a
child state machine a parent starts (issue 14), and that an alias routes to (issue 15).

The logical ID is fixed, ``<Machine>Version`` (SAM's name for a state machine's
``AutoPublishAlias`` version, so both converge on one resource), never a hash: the
resource's create handler fails (``StateMachineAlreadyExists``... "a version with the same
revision already exists") when the latest version already has the current revision, so a
hash-named version whose hash changed without a new revision would fail the deploy. With
``StateMachineRevisionId: !GetAtt M.StateMachineRevisionId`` it is replaced exactly when the
definition (or role, or logging, ...) changes, and ``Retain`` on both policies keeps the old
version for the executions still running on it. No ``Description``: every property is
create-only (a changing Description would force a replacement with nothing new to publish)
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachineversion.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..intrinsics import getatt_target, ref_target

VERSION_TYPE = "AWS::StepFunctions::StateMachineVersion"
SUFFIX = "Version"
FALLBACK_SUFFIX = "PinVersionsVersion"


def existing_version(resources: Mapping[str, Any], machine: str) -> str | None:
    """The in-template StateMachineVersion whose ``StateMachineArn`` is ``Ref machine`` (or
    ``Fn::GetAtt machine.Arn``), if any: SAM's, the user's, or an earlier pass's."""
    for logical_id, resource in resources.items():
        if type(resource) is not dict or resource.get("Type") != VERSION_TYPE:
            continue
        properties = resource.get("Properties")
        arn = properties.get("StateMachineArn") if type(properties) is dict else None
        if ref_target(arn) == machine or getatt_target(arn) == (machine, "Arn"):
            return str(logical_id)
    return None


def machine_version_id(resources: Mapping[str, Any], machine: str) -> tuple[str, bool]:
    """``(logical ID, must be created)`` of the version that pins ``machine``: an existing
    version of it (not created), else ``<machine>Version``, else, when another resource has
    that ID, ``<machine>PinVersionsVersion`` (the caller reports PV911 if that is taken too)."""
    existing = existing_version(resources, machine)
    if existing is not None:
        return existing, False
    wanted = f"{machine}{SUFFIX}"
    if wanted not in resources:
        return wanted, True
    return f"{machine}{FALLBACK_SUFFIX}", True


def machine_version_resource(machine: str, condition: str | None) -> dict[str, Any]:
    """The retained StateMachineVersion of ``machine``'s current revision, under its
    Condition, if any."""
    resource: dict[str, Any] = {
        "Type": VERSION_TYPE,
        # Executions started on this version still run it after a deploy replaces it.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
    }
    if condition is not None:
        resource["Condition"] = condition
    resource["Properties"] = {
        "StateMachineArn": {"Ref": machine},
        "StateMachineRevisionId": {"Fn::GetAtt": [machine, "StateMachineRevisionId"]},
    }
    return resource

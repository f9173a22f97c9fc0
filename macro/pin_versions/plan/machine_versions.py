"""The retained ``AWS::StepFunctions::StateMachineVersion`` of a state machine (contract for
issues 14 and 15: the nested-state-machine kind pins a child to it, and the Alias option
points an alias at it).

AWS facts this relies on:

- A ``StateMachineVersion`` publishes the state machine's current revision; its create
  handler fails (``StateMachineAlreadyExists``-style conflict) when the latest version already
  has that revision, so the version gets a *fixed* logical ID and
  ``StateMachineRevisionId: !GetAtt SM.StateMachineRevisionId``: a new revision changes that
  property and replaces the version, nothing else does. SAM does the same for
  ``AutoPublishAlias`` (samtranslator/model/stepfunctions/generators.py,
  ``_construct_version``: logical ID ``<SM>Version``, Retain on both policies).
- ``Ref`` of a ``StateMachineVersion`` is the version ARN
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachineversion.html).
- No ``Description``: a changing Description forces a replacement with nothing new to publish.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATE_MACHINE_VERSION = "AWS::StepFunctions::StateMachineVersion"


def _refs(value: Any, machine: str) -> bool:
    """``{"Ref": machine}`` or ``{"Fn::GetAtt": [machine, "Arn"]}``: the state machine's ARN."""
    if type(value) is not dict or len(value) != 1:
        return False
    if value.get("Ref") == machine:
        return True
    getatt = value.get("Fn::GetAtt")
    if isinstance(getatt, str):
        getatt = getatt.split(".", 1)
    return isinstance(getatt, list) and getatt == [machine, "Arn"]


def existing_machine_version(resources: Mapping[str, Any], machine: str) -> str | None:
    """The logical ID of an in-template ``StateMachineVersion`` of ``machine`` (its
    ``StateMachineArn`` is ``Ref machine``), preferring ``<machine>Version``; None if none."""
    preferred = f"{machine}Version"
    found: list[str] = []
    for logical_id, resource in resources.items():
        if type(resource) is not dict or resource.get("Type") != STATE_MACHINE_VERSION:
            continue
        properties = resource.get("Properties")
        if type(properties) is dict and _refs(properties.get("StateMachineArn"), machine):
            found.append(logical_id)
    if preferred in found:
        return preferred
    return found[0] if found else None


def machine_version_id(resources: Mapping[str, Any], machine: str) -> tuple[str, bool]:
    """The logical ID of ``machine``'s version, and whether it must be created: an existing
    ``StateMachineVersion`` of it (SAM's, the user's) is reused; else ``<machine>Version``,
    or ``<machine>PinVersionsVersion`` when another resource holds that ID."""
    existing = existing_machine_version(resources, machine)
    if existing is not None:
        return existing, False
    preferred = f"{machine}Version"
    if preferred not in resources:
        return preferred, True
    return f"{machine}PinVersionsVersion", True


def machine_version_resource(machine: str, condition: str | None) -> dict[str, Any]:
    """The retained ``StateMachineVersion`` resource of ``machine`` (under its Condition)."""
    resource: dict[str, Any] = {
        "Type": STATE_MACHINE_VERSION,
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "StateMachineArn": {"Ref": machine},
            "StateMachineRevisionId": {"Fn::GetAtt": [machine, "StateMachineRevisionId"]},
        },
    }
    if condition is not None:
        resource["Condition"] = condition
    return resource

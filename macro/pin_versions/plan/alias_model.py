"""The Alias option's plan data (issue 15): ``AliasPlan`` (what rewrite.apply_aliases
writes), ``MachineAlias`` (one state machine's alias while it is planned), and the small
readers the alias planner and the caller planner share."""

from __future__ import annotations

from typing import Any

from ..alias_options import AliasOption
from ..inventory import Resource
from ..report import Diagnostic, Path
from .model import MAX_LOGICAL_ID

STATE_MACHINE_ALIAS = "AWS::StepFunctions::StateMachineAlias"
START_ACTION = "states:StartExecution"
QUALIFIER_KEY = "states:StateMachineQualifier"
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


class AliasPlan:
    """What rewrite.apply_aliases does: values set at template paths, attributes and
    properties merged into resources, resources added after their owner, DependsOn added."""

    __slots__ = ("added", "attributes", "depends_on", "properties", "swaps", "values")

    def __init__(self) -> None:
        self.values: list[tuple[Path, Any]] = []  # template path -> new value
        self.attributes: dict[str, dict[str, Any]] = {}  # logical ID -> resource attributes
        self.properties: dict[str, dict[str, Any]] = {}  # logical ID -> properties to set
        self.added: dict[str, list[tuple[str, dict[str, Any]]]] = {}  # owner -> new resources
        self.depends_on: dict[str, list[str]] = {}
        # parent state machine -> (child version, child alias): the parent's definition
        # properties, as the planner wrote them, start the alias instead of the version.
        self.swaps: dict[str, list[tuple[str, str]]] = {}


class MachineAlias:
    """One state machine's alias while it is planned."""

    def __init__(self, resource: Resource, option: AliasOption) -> None:
        self.resource = resource
        self.option = option
        self.alias = ""
        self.name = option.name
        self.callers: list[str] = []
        self.grants: list[str] = []
        # The DeploymentPreference of a reused alias (SAM's, the template's), as written:
        # the report shows what the alias does, not what the option asked for.
        self.preference: Any = None


def too_long(logical_id: str, machine: str) -> Diagnostic:
    """PV907: a logical ID the alias needs is over CloudFormation's limit."""
    return Diagnostic(
        "PV907",
        f"Resources.{machine}",
        f"the logical ID {logical_id} would be over CloudFormation's {MAX_LOGICAL_ID} "
        "characters; shorten the state machine's logical ID",
    )


def refs(value: Any, logical_id: str) -> bool:
    """``Ref X`` or ``Fn::GetAtt X.Arn``."""
    if type(value) is not dict or len(value) != 1:
        return False
    if value.get("Ref") == logical_id:
        return True
    getatt = value.get("Fn::GetAtt")
    if isinstance(getatt, str):
        getatt = getatt.split(".", 1)
    return isinstance(getatt, list) and getatt == [logical_id, "Arn"]


def routes_to(properties: dict[str, Any], version: str) -> bool:
    preference = properties.get("DeploymentPreference")
    if type(preference) is dict and is_ref(preference.get("StateMachineVersionArn"), version):
        return True
    routing = properties.get("RoutingConfiguration")
    return isinstance(routing, list) and any(
        type(r) is dict and is_ref(r.get("StateMachineVersionArn"), version) for r in routing
    )


def is_ref(value: Any, logical_id: str) -> bool:
    return type(value) is dict and len(value) == 1 and value.get("Ref") == logical_id


def listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def as_bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")

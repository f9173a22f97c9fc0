"""The Alias option's plan data (issue 15): ``AliasPlan`` (what rewrite.apply_aliases
writes), ``MachineAlias`` (one state machine's alias while it is planned), and the small
readers the alias planner and the caller planner share."""

from __future__ import annotations

import re
from typing import Any

from ..alias_options import AliasOption
from ..intrinsics import intrinsic_name
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

    def new_ids(self) -> set[str]:
        """Logical IDs of the resources this plan adds (for the resource limit)."""
        return {new_id for new in self.added.values() for new_id, _ in new}


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


def get_at(node: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and key < len(node) else None
        else:
            node = node.get(key) if type(node) is dict else None
    return node


def sub_pattern(machine: str) -> str:
    return r"\$\{" + re.escape(machine) + r"(?:\.Arn)?\}"


def retarget(value: Any, machine: str, alias: str) -> Any | None:
    """``value`` with every reference to ``machine``'s ARN made a reference to ``alias``
    (``Ref``, ``Fn::GetAtt .Arn``, ``${SM}`` in ``Fn::Sub``, inside ``Fn::Join`` parts and
    ``Fn::Sub`` variables); None when it names ``machine`` nowhere."""
    if refs(value, machine):
        return {"Ref": alias}
    name = intrinsic_name(value)
    if name == "Fn::Sub":
        args = value["Fn::Sub"]
        if isinstance(args, str):
            text, changed = re.subn(sub_pattern(machine), "${" + alias + "}", args)
            return {"Fn::Sub": text} if changed else None
        if isinstance(args, list) and len(args) == 2 and isinstance(args[0], str):
            variables = args[1] if type(args[1]) is dict else {}
            text, changed = re.subn(sub_pattern(machine), "${" + alias + "}", args[0])
            new_vars = dict(variables)
            for key, var in variables.items():
                moved = retarget(var, machine, alias)
                if moved is not None:
                    new_vars[key] = moved
                    changed += 1
            return (
                {"Fn::Sub": [text, new_vars if type(args[1]) is dict else args[1]]}
                if (changed)
                else None
            )
        return None
    if name == "Fn::Join":
        args = value["Fn::Join"]
        if isinstance(args, list) and len(args) == 2 and isinstance(args[1], list):
            parts = [retarget(p, machine, alias) for p in args[1]]
            if any(p is not None for p in parts):
                joined = [
                    new if new is not None else old for new, old in zip(parts, args[1], strict=True)
                ]
                return {"Fn::Join": [args[0], joined]}
    return None

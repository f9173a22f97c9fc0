"""Other state machines' ``startExecution`` Tasks moved to a child's alias (issue 15,
``MoveCallers.StepFunctions``): in object definitions when planning, and, in every
definition form, the child's version (what the nested-state-machine kind pins a Task to)
swapped for the alias when the plan is applied. A parent the child (transitively) starts is
left alone: the alias would close a circular dependency (PV155)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

from ..inventory import Inventory
from ..report import Path, Report, format_path
from .alias_model import AliasPlan, MachineAlias, retarget


class Callers(Protocol):
    """What the parents' planner uses of alias_callers.Callers (named here, not imported:
    that module imports this one)."""

    inventory: Inventory
    plan: AliasPlan
    report: Report
    versions: dict[str, str]
    alias_owners: dict[str, str]
    kind_grants: bool

    def grant(
        self,
        entry: MachineAlias,
        caller: str,
        resource: dict[str, Any],
        role_field: tuple[str | int, ...],
        role_path: Path,
    ) -> None: ...


class Parents:
    """Moves parents' Tasks for ``Callers`` (its plan, report, grants)."""

    def __init__(self, callers: Callers) -> None:
        self.callers = callers
        self._edges: dict[str, set[str]] | None = None  # machine -> machines it names

    def move(self, entry: MachineAlias, version: str) -> None:
        """Other state machines' ``startExecution`` Tasks start the alias: in an object
        ``Definition``, the Task's ``StateMachineArn`` naming the child (or its version) is
        moved here; in every definition form, a reference to the child's version (what the
        nested-state-machine kind pins a Task to) is swapped when the plan is applied."""
        child = entry.resource.logical_id
        for parent in self.callers.inventory.state_machines.values():
            if parent.logical_id == child or parent.skip:
                continue
            self.callers.plan.swaps.setdefault(parent.logical_id, []).append((version, entry.alias))
            # Tasks the nested-state-machine kind pinned to the child's version (any form):
            # the swap makes them start the alias. (Pins are planned before aliases.)
            for pin in self.callers.report.pins:
                if pin.kind == "state-machine" and (pin.state_machine, pin.function) == (
                    parent.logical_id,
                    child,
                ):
                    where = format_path(pin.parts)
                    if where not in entry.callers:
                        entry.callers.append(where)
            definition = parent.properties.get("Definition")
            if type(definition) is not dict:
                continue
            base: Path = ("Resources", parent.logical_id, "Properties", "Definition")
            moved_any = False
            for path, value in _start_execution_targets(definition, base):
                moved = retarget(value, child, entry.alias)
                if moved is None:
                    moved = retarget(value, version, entry.alias)
                if moved is None:
                    continue
                if self._reaches(child, parent.logical_id):
                    self.callers.report.warn(
                        "PV155",
                        path,
                        f"left as written: {child} also starts {parent.logical_id}, so starting "
                        f"alias {entry.alias} here would make a circular dependency "
                        "(the alias needs the child's version, which needs the child)",
                    )
                    continue
                self.callers.plan.values.append((path, moved))
                if format_path(path) not in entry.callers:
                    entry.callers.append(format_path(path))
                moved_any = True
            if moved_any and not self.callers.kind_grants:
                key = "Role" if parent.sam else "RoleArn"
                if parent.sam and key not in parent.properties:
                    continue  # SAM makes the role from Policies: it has no Ref to grant
                self.callers.grant(
                    entry,
                    parent.logical_id,
                    parent.resource,
                    (key,),
                    ("Resources", parent.logical_id, "Properties", key),
                )

    def _reaches(self, start: str, goal: str) -> bool:
        """Does state machine ``start``'s definition lead to ``goal`` (directly or through
        other state machines, their versions or aliases)? Each definition is read once."""
        if self._edges is None:
            owners = {machine: machine for machine in self.callers.inventory.state_machines}
            owners.update({version: machine for machine, version in self.callers.versions.items()})
            owners.update(self.callers.alias_owners)
            self._edges = {
                machine.logical_id: {
                    owners[name]
                    for key in ("Definition", "DefinitionString", "DefinitionSubstitutions")
                    for name in _referenced(machine.properties.get(key))
                    if name in owners
                }
                for machine in self.callers.inventory.state_machines.values()
            }
        seen: set[str] = set()
        pending = [start]
        while pending:
            machine = pending.pop()
            if machine == goal:
                return True
            if machine in seen:
                continue
            seen.add(machine)
            pending.extend(self._edges.get(machine, ()))
        return False


def _referenced(value: Any) -> Iterator[str]:
    """Logical IDs a value names: ``Ref``, ``Fn::GetAtt``, ``${X}``/``${X.Attr}`` in
    ``Fn::Sub`` strings."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif type(node) is dict:
            if len(node) == 1:
                ((key, argument),) = node.items()
                if key == "Ref" and isinstance(argument, str):
                    yield argument
                elif key == "Fn::GetAtt":
                    target = argument.split(".", 1)[0] if isinstance(argument, str) else None
                    if isinstance(argument, list) and argument:
                        target = argument[0]
                    if isinstance(target, str):
                        yield target
                elif key == "Fn::Sub":
                    text = argument[0] if isinstance(argument, list) and argument else argument
                    if isinstance(text, str):
                        for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                            yield name.split(".", 1)[0]
            stack.extend(node.values())


_START_EXECUTION = r"arn:[^:]+:states:::states:startExecution(?:\.sync(?::2)?|\.waitForTaskToken)?"


def _start_execution_targets(definition: Any, base: Path) -> Iterator[tuple[Path, Any]]:
    """(path, value) of every ``StateMachineArn`` of a ``startExecution`` Task (any
    variant) in an object definition, nested states (Parallel branches, Map processors)
    included; ``Parameters`` (JSONPath) and ``Arguments`` (JSONata)."""
    stack: list[tuple[Any, Path]] = [(definition, base)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(node))
            continue
        if type(node) is not dict:
            continue
        resource = node.get("Resource")
        if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), str):
            resource = resource["Fn::Sub"].replace("${AWS::Partition}", "aws")
        task = node.get("Type") == "Task" and isinstance(resource, str)
        if task and re.fullmatch(_START_EXECUTION, str(resource)):
            for field in ("Parameters", "Arguments"):
                holder = node.get(field)
                if type(holder) is dict and "StateMachineArn" in holder:
                    yield (*path, field, "StateMachineArn"), holder["StateMachineArn"]
        stack.extend((value, (*path, key)) for key, value in node.items())


def swap_version(value: Any, version: str, alias: str) -> Any:
    """``value`` (a definition property as the planner wrote it) with every ``Ref`` of
    ``version`` and every ``${version}`` in an ``Fn::Sub`` made the alias (the value itself
    when none is there)."""
    if type(value) is dict:
        if value == {"Ref": version}:
            return {"Ref": alias}
        if len(value) == 1 and isinstance(value.get("Fn::Sub"), str):
            text = value["Fn::Sub"].replace("${" + version + "}", "${" + alias + "}")
            return {"Fn::Sub": text} if text != value["Fn::Sub"] else value
        out = {key: swap_version(item, version, alias) for key, item in value.items()}
        return out if any(out[k] is not value[k] for k in value) else value
    if isinstance(value, list):
        items = [swap_version(item, version, alias) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value

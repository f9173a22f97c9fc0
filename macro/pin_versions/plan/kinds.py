"""Pinning the issue 14 target kinds (targets.py, target_kinds.py): a Task that starts an
in-template state machine is rewritten to the child's ``StateMachineVersion``
(machine_versions.py); one that runs an ECS task definition or submits a Batch job
definition is rewritten to ``Ref`` of it (the revision ARN), and that resource is kept
alive across updates (Retain on both policies, Batch ``ResourceRetentionPolicy``). Grants go
through ``Grants`` (the same retained per-(role, target) policies as Lambda).

Nested state machines form a graph: ``machine_order`` plans children before parents, and
finds the cycles (A starts B starts A, written with literal ARNs: with ``Ref`` CloudFormation
itself rejects the circular dependency), whose Tasks are left unpinned with PV140: pinning
them would make each version depend on the other's definition.
"""

from __future__ import annotations

from typing import Any

from ..definition import Target
from ..intrinsics import getatt_target, intrinsic_name, ref_target
from ..inventory import Inventory, Resource
from ..options import Options
from ..references import Leaf, resolve
from ..report import Diagnostic, Pin
from ..targets import PUBLISH, TargetKind, kind_named
from .grants import Grants
from .machine_versions import existing_version, machine_version_id, machine_version_resource
from .model import LEFT_ALONE, Plan, PlanPart, Unpinnable, VersionPlan
from .retarget import MachineEdits, Retarget


class KindPins(PlanPart):
    """Plans the targets of every kind but Lambda into the shared ``plan``."""

    def __init__(
        self,
        inventory: Inventory,
        options: Options,
        plan: Plan,
        errors: list[Diagnostic],
        taken: set[str],
        retarget: Retarget,
        grants: Grants,
    ) -> None:
        super().__init__(inventory, options, plan, errors, taken)
        self.retarget = retarget
        self.grants = grants
        self.planned: dict[str, VersionPlan | None] = {}  # target -> what its Tasks Ref
        self.cycles: set[tuple[str, str]] = set()  # (parent, child) Task edges in a cycle

    def pin(self, view: MachineEdits, target: Target) -> None:
        """Pin one target of a kind other than Lambda, or say why it is left alone."""
        kind = kind_named(target.kind)
        machine = view.machine
        resolution = target.resolution
        code = LEFT_ALONE.get(resolution.kind)
        moved = _moved_to_alias(self.inventory, self.options, target, kind)
        if resolution.kind == "mutable" and moved is not None:
            # A Task the Alias option moved to the child's alias (a second pass): as asked.
            self.grants.kind_uses(machine, target, moved, kind)
            return
        if code is not None:
            self.report.warn(code, target.path, f"left alone: {resolution.reason}")
            if resolution.kind == "version" and kind.strategy == PUBLISH:
                self._protect(view, target, kind, resolution.function)
            return
        if resolution.kind == "conditional":
            self._pin_conditional(view, target, kind)
            return
        logical_id = resolution.function
        if resolution.kind != "function" or logical_id is None:
            return
        if not self._pinnable(view, target, kind, logical_id):
            return
        entry = self.inventory.state_machines.get(logical_id) or self.inventory.others[logical_id]
        planned = self._planned(kind, entry)
        if planned is None:
            return
        try:
            edits = self.retarget.edits_for(view, target.pieces, planned, 0, target.items)
        except Unpinnable as why:
            self.report.warn("PV111", target.path, f"left alone: {why}")
            return
        self.plan.edits.extend(edits)
        self.report.pins.append(
            Pin(machine.logical_id, target.path, logical_id, planned.version, kind.name)
        )
        self.grants.kind_uses(machine, target, logical_id, kind)

    def _pinnable(self, view: MachineEdits, target: Target, kind: TargetKind, name: str) -> bool:
        """Can the Tasks naming ``name`` be pinned? Else the warning says why."""
        entry = self.inventory.state_machines.get(name) or self.inventory.others.get(name)
        if entry is None:
            return False
        if entry.skip:
            self.report.warn("PV110", target.path, f"left alone: {kind.noun} {name} is skipped")
            return False
        if (view.machine.logical_id, name) in self.cycles:
            self.report.warn(
                "PV140",
                target.path,
                f"left alone: {view.machine.logical_id} and {name} start each other (a cycle "
                "of nested state machines); pinning would make each version wait for the "
                "other's: pin this Task yourself or break the cycle",
            )
            return False
        if target.note:
            self.report.warn("PV111", target.path, f"left alone: {target.note}")
            return False
        return True

    def _pin_conditional(self, view: MachineEdits, target: Target, kind: TargetKind) -> None:
        """An ``Fn::If`` whose branches name resources of the kind: each branch is pinned
        (the Fn::If keeps its condition), as Lambda's ``Planner._pin_conditional``."""
        names = target.resolution.functions
        if not all(self._pinnable(view, target, kind, name) for name in names):
            return
        planned: dict[str, VersionPlan] = {}
        for name in names:
            entry = self.inventory.state_machines.get(name) or self.inventory.others[name]
            plan = self._planned(kind, entry)
            if plan is None:
                return  # an error (PV911) says why
            planned[name] = plan
        inventory = self.inventory

        def rebuild(value: Any) -> dict[str, Any]:
            from ..resolution_kinds import classify_target

            condition, *branches = value["Fn::If"]
            out: list[Any] = [condition]
            for branch in branches:
                if intrinsic_name(branch) == "Fn::If":
                    out.append(rebuild(branch))
                    continue
                named = classify_target(kind, resolve(branch, inventory), inventory)
                plan = planned.get(named.function or "") if named.kind == "function" else None
                out.append(plan.ref if plan is not None else branch)
            return {"Fn::If": out}

        first = planned[names[0]]
        try:
            edits = self.retarget.edits_for(view, target.pieces, first, 0, target.items, rebuild)
        except Unpinnable as why:
            self.report.warn("PV111", target.path, f"left alone: {why}")
            return
        self.plan.edits.extend(edits)
        machine = view.machine
        for name, plan in planned.items():
            self.report.pins.append(
                Pin(machine.logical_id, target.path, name, plan.version, kind.name)
            )
            self.grants.kind_uses(machine, target, name, kind)

    def _protect(
        self, view: MachineEdits, target: Target, kind: TargetKind, version: str | None
    ) -> None:
        """A Task the user already pinned to an in-template StateMachineVersion of an
        in-template state machine: left as written, but the version is retained and follows
        the machine's revision (PV141 when it did not), and the role may start the machine.
        SAM's ``<SM>Version`` (``AutoPublishAlias``, not in the template before SAM runs) is
        SAM's to keep: only the role's grant, as on the pass that pinned the Task to it."""
        from ..resolution_kinds import sam_published_machine

        sam = sam_published_machine(kind, version or "", self.inventory)
        sam_entry = self.inventory.state_machines.get(sam or "")
        if sam_entry is not None:
            if not sam_entry.skip:
                self.grants.kind_uses(view.machine, target, sam_entry.logical_id, kind)
            return
        resource = self.inventory.resources.get(version or "")
        properties = resource.get("Properties") if type(resource) is dict else None
        arn = properties.get("StateMachineArn") if type(properties) is dict else None
        machine = ref_target(arn) or (getatt_target(arn) or ("", ""))[0]
        entry = self.inventory.state_machines.get(machine)
        if version is None or entry is None or entry.skip:
            return
        _reuse(self, machine, version)
        _retain_on_replace(self.plan, entry)
        self.grants.kind_uses(view.machine, target, machine, kind)

    def _planned(self, kind: TargetKind, entry: Resource) -> VersionPlan | None:
        logical_id = entry.logical_id
        if logical_id not in self.planned:
            if kind.strategy == PUBLISH:
                self.planned[logical_id] = self._machine_version(entry)
            else:
                self.planned[logical_id] = self._keep_revisions(kind, entry)
        return self.planned[logical_id]

    def _machine_version(self, child: Resource) -> VersionPlan | None:
        """The StateMachineVersion a child's callers start: SAM's (``AutoPublishAlias``,
        PinVersions before SAM), an existing one made retained, or a new one."""
        name = child.logical_id
        where = f"Resources.{name}"
        alias = child.properties.get("AutoPublishAlias") if child.sam else None
        if alias is not None and existing_version(self.inventory.resources, name) is None:
            version = f"{name}Version"
            self.report.warn(
                "PV141",
                f"{where}.Properties.AutoPublishAlias",
                f"SAM publishes {version} (AutoPublishAlias) with a fixed logical ID, the "
                "child's revision and Retain; the Tasks that start it are pinned to it",
            )
            return VersionPlan(name, version, None, False, child.condition)
        _retain_on_replace(self.plan, child)
        version, created = machine_version_id(self.inventory.resources, name)
        if created:
            if version in self.taken:
                self.errors.append(
                    Diagnostic(
                        "PV911",
                        f"Resources.{version}",
                        f"is the logical ID of the version that pins {name}, and "
                        f"{name}Version is taken too; rename one of them",
                    )
                )
                return None
            self.taken.add(version)
            self.plan.kind_resources[version] = (
                name,
                machine_version_resource(name, child.condition),
            )
            return VersionPlan(name, version, None, True, child.condition)
        _reuse(self, name, version)
        return VersionPlan(name, version, None, False, child.condition)

    def _keep_revisions(self, kind: TargetKind, entry: Resource) -> VersionPlan:
        """ECS, Batch: the Task names ``Ref`` of the resource (its revision ARN), and the
        revision outlives the update that replaces or supersedes it."""
        resource = entry.resource
        update: dict[str, Any] = {}
        where = f"Resources.{entry.logical_id}"
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            current = resource.get(policy)
            if current == "Retain":
                continue
            update[policy] = "Retain"
            if current is not None:
                self.report.warn(
                    "PV142",
                    f"{where}.{policy}",
                    f"was {current!r}; set to Retain so that the revision running executions "
                    f"use stays ACTIVE when a deploy replaces the {kind.noun}",
                )
        properties: dict[str, Any] = {}
        for key, wanted in kind.retention_properties:
            current = entry.properties.get(key)
            merged = dict(current) if type(current) is dict else {}
            merged.update(wanted)
            if merged != current:
                properties[key] = merged
                if current is not None:
                    self.report.warn(
                        "PV142",
                        f"{where}.Properties.{key}",
                        f"was {current!r}; set to {merged!r} so that an update keeps the "
                        f"revision running executions use ACTIVE",
                    )
        if properties:
            update["Properties"] = properties
        if update:
            self.plan.kind_updates[entry.logical_id] = update
        return VersionPlan(entry.logical_id, entry.logical_id, None, False, entry.condition)


def _moved_to_alias(
    inventory: Inventory, options: Options, target: Target, kind: TargetKind
) -> str | None:
    """The state machine whose alias a Task starts, when the alias is the one the Alias
    option manages for it (``<SM>Alias<Name>`` on ``<SM>Version``) and the option moves
    state machine callers to it (``MoveCallers.StepFunctions``); else None."""
    if kind.alias_type is None:
        return None
    leaves = [i for i in target.items if isinstance(i, Leaf) and i.kind == "resource"]
    alias = leaves[0].ref if len(leaves) == 1 else ""
    if inventory.types.get(alias) != kind.alias_type:
        return None
    preference = _properties(inventory, alias).get("DeploymentPreference")
    version = (
        ref_target(preference.get("StateMachineVersionArn")) if type(preference) is dict else None
    )
    child = ref_target(_properties(inventory, version or "").get("StateMachineArn"))
    entry = inventory.state_machines.get(child or "")
    if entry is None:
        return None
    from .aliases import alias_option_of

    option = alias_option_of(entry, options, [])
    if option is None or "StepFunctions" not in option.move_callers:
        return None
    return child if alias == f"{child}Alias{option.name}" else None


def _properties(inventory: Inventory, logical_id: str) -> dict[str, Any]:
    resource = inventory.resources.get(logical_id)
    properties = resource.get("Properties") if type(resource) is dict else None
    return properties if type(properties) is dict else {}


def _retain_on_replace(plan: Plan, child: Resource) -> None:
    """A replaced state machine takes its versions with it: retain the old one."""
    resource = child.resource  # as Versions.plan_replace_retain does for functions
    lacking = resource.get("UpdateReplacePolicy") != "Retain" or (
        "DeletionPolicy" not in resource and not child.sam
    )
    if lacking and child.logical_id not in plan.replace_retain:
        plan.replace_retain.append(child.logical_id)


def _reuse(part: PlanPart, machine: str, version: str) -> None:
    """An existing StateMachineVersion of ``machine``: retained on both policies and
    following the machine's revision (``StateMachineRevisionId``), when it is not."""
    resource = part.inventory.resources[version]
    properties = resource.get("Properties")
    update: dict[str, Any] = {}
    for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
        if resource.get(policy) != "Retain":
            update[policy] = "Retain"
    if type(properties) is dict and "StateMachineRevisionId" not in properties:
        update["Properties"] = {
            "StateMachineRevisionId": {"Fn::GetAtt": [machine, "StateMachineRevisionId"]}
        }
    if update:
        part.plan.kind_updates[version] = update
        part.report.warn(
            "PV141",
            f"Resources.{version}",
            f"{machine} already has this version; the Tasks that start {machine} are "
            "pinned to it, and it is made to follow the state machine's revision and is "
            "retained (StateMachineRevisionId, DeletionPolicy and UpdateReplacePolicy)",
        )

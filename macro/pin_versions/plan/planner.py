"""The planner: decide everything before writing anything. It walks the state machines
(definition.analyse), and for each target asks ``Versions`` for its version, ``Retarget``
for the edits and ``Grants`` to record who invokes it; ``finish`` then plans descriptions,
retention, grants, limits and strictness, and raises every problem at once.

The plan refers to places in the *input* template; ``rewrite`` applies it to a copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..asl import mentions
from ..definition import Target, analyse
from ..intrinsics import intrinsic_name
from ..inventory import Inventory, Resource
from ..options import Options
from ..references import Leaf, resolve
from ..report import (
    Diagnostic,
    Pin,
    TransformError,
    VersionEntry,
)
from ..resolution import Resolution, classify
from ..targets import LAMBDA, kinds
from .grants import Grants
from .model import (
    LEFT_ALONE,
    MAX_RESOURCES,
    STRICT_CODES,
    Edit,
    Plan,
    Unpinnable,
)
from .retarget import MachineEdits, Retarget, targets_of
from .versions import Versions

if TYPE_CHECKING:
    from .kinds import KindPins

# The Task Resource of a nested state machine (targets.py, state-machine kind).
_START_EXECUTION = ":startExecution"  # states:startExecution and aws-sdk:sfn:startExecution


class Planner:
    """Runs ``machines()`` (one state machine's edits at a time), then ``finish()`` (the
    Plan, or TransformError with every problem). ``current`` names the resource being
    planned, for an internal error's message."""

    def __init__(
        self, inventory: Inventory, options: Options, errors: list[Diagnostic] | None = None
    ) -> None:
        self.inventory = inventory
        self.options = options
        self.plan = Plan()
        self.report = self.plan.report
        # Problems found so far (the caller's, e.g. invalid options, come first): all
        # raised together by finish().
        self.errors: list[Diagnostic] = errors if errors is not None else []
        self.taken = set(inventory.resources)  # logical IDs in use
        self.machine_list: list[Resource] = []  # state machines planned, in template order
        self.pinned: dict[str, list[str]] = {}  # state machine -> functions pinned in it
        self.protected: set[str] = set()  # functions whose user-pinned versions are protected
        self.current = ""  # the resource being planned, for an internal error's message
        self.versions = Versions(inventory, options, self.plan, self.errors, self.taken)
        self.retarget = Retarget(inventory, self.plan)
        self.grants = Grants(inventory, options, self.plan, self.errors, self.taken)
        self._kind_pins: KindPins | None = None  # plan/kinds.py, imported when needed

    def machines(self) -> Iterator[list[Edit]]:
        """Plan one state machine at a time and hand over its edits: its analysis is
        dropped as soon as they are planned, so memory holds one definition's pieces, not
        the template's. ``finish`` decides the rest once every machine is planned."""
        inventory = self.inventory
        report = self.report
        for name in sorted(self.options.exclude - set(inventory.resources)):
            report.warn("PV112", "Metadata.PinVersions.Exclude", f"{name} is not a resource")
        for code, path, message in inventory.notes:
            report.warn(code, path, message)
        # kinds() imports the other kinds' records: only when the option names one.
        for kind in kinds() if self.options.disabled_kinds else ():
            if kind.name in self.options.disabled_kinds:
                report.warn(
                    "PV110",
                    f"Metadata.PinVersions.Kinds.{kind.option_key}",
                    f"turned off: Tasks that call a {kind.noun} are left alone, unpinned",
                )
        machines = list(inventory.state_machines.values())
        if any(mentions(m.properties, _START_EXECUTION) for m in machines):
            # Children before the parents that start them, cycles found (plan/kinds.py).
            from .machine_order import machine_order

            machines, self.kind_pins.cycles = machine_order(inventory, machines)
        for machine in machines:
            if machine.skip and intrinsic_name(machine.properties) is not None:
                continue  # PV132, noted while reading
            if machine.skip:
                report.warn(
                    "PV110",
                    f"Resources.{machine.logical_id}",
                    "state machine skipped; its Tasks are left as they are",
                )
                continue
            self.current = f"Resources.{machine.logical_id}"
            report.state_machines.append(machine.logical_id)
            self.machine_list.append(machine)
            try:
                self._plan_machine(machine)
            except TransformError as error:
                # This machine cannot be planned; the others still are, so that one failure
                # reports every problem (finish raises them all). Its edits are dropped.
                self.errors.extend(error.diagnostics)
                self.plan.edits = []
            edits, self.plan.edits = self.plan.edits, []
            yield edits

    @property
    def kind_pins(self) -> KindPins:
        """plan/kinds.py, imported on first use: a Lambda-only template never needs it."""
        if self._kind_pins is None:
            from .kinds import KindPins

            parts = (self.inventory, self.options, self.plan, self.errors, self.taken)
            self._kind_pins = KindPins(*parts, self.retarget, self.grants)
        return self._kind_pins

    def _plan_machine(self, machine: Resource) -> None:
        """Plan one state machine's targets into ``plan.edits``. Raises TransformError when
        its definition is invalid (PV904, PV920, PV921)."""
        inventory = self.inventory
        report = self.report
        analysed = analyse(machine, inventory)
        for code, path, message in analysed.notes:
            report.warn(code, path, message)
        view = MachineEdits(analysed, targets_of(analysed, inventory))
        for target in view.targets:
            if target.kind != LAMBDA.name:
                self.kind_pins.pin(view, target)
                continue
            if target.resolution.kind == "conditional":
                self._pin_conditional(view, target)
                continue
            if target.resolution.kind == "version" and self._protect(machine, target):
                continue
            function = self._pinnable(target)
            version = self.versions.version(function) if function is not None else None
            if version is None:
                continue
            pin = self.retarget.pin(view, target, version)
            if pin is not None:
                report.pins.append(pin)
                self.pinned.setdefault(machine.logical_id, []).append(version.function)
                self.grants.invokers(machine, target, version.function)
        self.retarget.drop_unused(view)

    def finish(self) -> Plan:
        """Versions, descriptions, roles, limits and strictness, once every machine is
        planned. Raises TransformError with every problem found."""
        report = self.report
        self.current = ""
        # Versions nobody ended up using are not added.
        for function in list(self.plan.versions):
            if function not in self.protected and not any(
                function in fs for fs in self.pinned.values()
            ):
                del self.plan.versions[function]
        for plan in self.plan.versions.values():
            report.versions.append(
                VersionEntry(plan.function, plan.version, plan.hash, plan.created)
            )
            if plan.created or plan.follows:
                self.versions.plan_description(plan)
        self.versions.plan_replace_retain(self.protected)
        self.grants.report_outside()
        self.grants.plan_grants()
        _check_limits(self.inventory, self.plan, self.errors)
        _check_strict(self.options, self.plan, self.errors)
        if self.errors:
            raise TransformError(self.errors)
        return self.plan

    def _pinnable(self, target: Target) -> str | None:
        report = self.report
        resolution = target.resolution
        code = LEFT_ALONE.get(resolution.kind)
        if code is not None:
            report.warn(code, target.path, f"left alone: {resolution.reason}")
            return None
        function = resolution.function
        if resolution.kind != "function" or function is None:
            return None
        chosen = intrinsic_name(self.inventory.functions[function].properties)
        if chosen is not None:
            report.warn(
                "PV132",
                target.path,
                f"left alone: the Properties of function {function} is an {chosen}, which "
                "the macro cannot read",
            )
            return None
        if self.inventory.functions[function].skip:
            report.warn("PV110", target.path, f"left alone: function {function} is skipped")
            return None
        if len(self.inventory.versions.get(function, [])) > 1:
            versions = ", ".join(self.inventory.versions[function])
            report.warn(
                "PV108",
                target.path,
                f"left alone: {function} has several versions ({versions}); pin this Task "
                "to one of them yourself",
            )
            return None
        if target.note:
            report.warn("PV111", target.path, f"left alone: {target.note}")
            return None
        return function

    def _pin_conditional(self, view: MachineEdits, target: Target) -> None:
        """An Fn::If whose branches name functions: each branch is pinned to its function's
        version (created under the function's own Condition, as any version), and the
        Fn::If keeps its condition."""
        functions = target.resolution.functions
        for function in functions:
            if self._pinnable(target._replace(resolution=Resolution("function", function))) is None:
                return  # its warning says why; the whole Fn::If is left as it is
        versions = {f: self.versions.version(f) for f in functions}
        planned = {f: v for f, v in versions.items() if v is not None}
        if len(planned) != len(functions):
            return  # an error (PV907, PV911) says why
        name_allowed = target.field != "Resource"

        def rebuild(value: Any) -> dict[str, Any]:
            condition, *branches = value["Fn::If"]
            out: list[Any] = [condition]
            for branch in branches:
                if intrinsic_name(branch) == "Fn::If":
                    out.append(rebuild(branch))
                    continue
                resolution = classify(
                    resolve(branch, self.inventory), self.inventory, name_allowed=name_allowed
                )
                version = planned.get(resolution.function or "")
                pinned = resolution.kind == "function" and version is not None
                out.append(version.ref if pinned and version is not None else branch)
            return {"Fn::If": out}

        try:
            first = planned[functions[0]]
            edits = self.retarget.edits_for(view, target.pieces, first, 0, target.items, rebuild)
        except Unpinnable as why:
            self.report.warn("PV111", target.path, f"left alone: {why}")
            return
        self.plan.edits.extend(edits)
        machine = view.machine.logical_id
        for function, version in planned.items():
            self.report.pins.append(Pin(machine, target.path, function, version.version))
            self.pinned.setdefault(machine, []).append(function)
            self.grants.invokers(view.machine, target, function)

    def _protect(self, machine: Resource, target: Target) -> bool:
        """A Task that already names a version of a template function (CDK
        ``fn.currentVersion``, ``${F.Arn}:${V.Version}``, SAM ``F.Version``, ``F:7``): left
        as written, but protected like a pinned one (SPEC 5): the version is retained on
        both policies (and made to follow F when it is F's only version), F outlives a
        replacement, and the roles that invoke it may invoke ``${F.Arn}:*``."""
        inventory = self.inventory
        function = target.resolution.function
        version: str | None = None
        sam_version = False
        for item in target.items:
            if isinstance(item, Leaf) and item.kind in ("version", "version-number"):
                version = item.ref
            elif isinstance(item, Leaf) and item.kind == "sam-version":
                function, sam_version = item.ref, True
        if function is None and version is not None:
            function = next((f for f, vs in inventory.versions.items() if version in vs), None)
        if function is None or inventory.functions[function].skip:
            return False
        where = target.path
        if version is not None and len(inventory.versions.get(function, [])) > 1:
            self.versions.plan_retain(version)
        elif version is not None or sam_version:
            self.versions.version(function)
        self.protected.add(function)
        named = version or "a published version"
        self.report.warn(
            "PV115",
            where,
            f"left as written: it invokes {named} of {function}; that version is retained and "
            f"the roles that invoke it may invoke every version of {function}",
        )
        self.grants.invokers(machine, target, function)
        return True


def _check_limits(inventory: Inventory, plan: Plan, errors: list[Diagnostic]) -> None:
    """PV906 when what pinning adds takes the template over CloudFormation's limit."""
    created = sum(1 for v in plan.versions.values() if v.created)
    created += len(plan.grants) + len(plan.kind_resources)
    created += len(plan.alias_resources - set(plan.kind_resources))
    total = len(inventory.resources) + created
    if created and total > MAX_RESOURCES:
        errors.append(
            Diagnostic(
                "PV906",
                "Resources",
                f"the template has {len(inventory.resources)} resources and pinning "
                f"adds {created}: {total}, over CloudFormation's {MAX_RESOURCES}; "
                "split the stack or exclude functions with Metadata.PinVersions.Exclude",
            )
        )


def _check_strict(options: Options, plan: Plan, errors: list[Diagnostic]) -> None:
    """Strict: each warning of STRICT_CODES is a PV905 failure."""
    if not options.strict:
        return
    for warning in plan.report.warnings:
        if warning.code in STRICT_CODES:
            errors.append(
                Diagnostic("PV905", warning.path, f"Strict: {warning.message} ({warning.code})")
            )

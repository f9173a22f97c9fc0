"""Decide everything before writing anything: which versions to add or reuse, which
placeholder or intrinsic each target becomes, what each role gains, and every warning.

The plan refers to places in the *input* template; ``rewrite`` applies it to a copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from .definition import DefinitionView, Target, analyse
from .dependencies import Dependencies
from .hashing import (
    EXCLUDED_PROPERTIES,
    SAM_EXCLUDED_PROPERTIES,
    stamp_text,
    strip_stamp,
    unstamp_intrinsic,
    version_hash,
)
from .iam import POLICY_NAME, Coverage, invoke_statement, role_of, statement_for_user
from .intrinsics import intrinsic_name, sub_placeholder_names
from .inventory import Inventory, Resource, made_by_serverless_framework
from .options import Options
from .pieces import Container, Opaque, Piece, render, render_or_slot
from .references import Item, Leaf, Resolution, classify, resolve, resolve_pieces
from .report import Diagnostic, Pin, Report, RoleEntry, TransformError, VersionEntry, format_path

MAX_LOGICAL_ID = 255
MAX_DESCRIPTION = 256
MAX_RESOURCES = 500

# Warnings that fail the transform when Strict is true.
STRICT_CODES = frozenset({"PV101", "PV102", "PV104", "PV106", "PV108", "PV111", "PV113", "PV130"})

Pos = int | tuple[int, int]  # offset in a string; (element, offset) in a Join list


class Edit(NamedTuple):
    """Replace ``start``..``end`` of a container with text and intrinsics."""

    container: Container
    start: Pos
    end: Pos
    items: list[str | dict[str, Any]]


class VersionPlan:
    """The version a function's Tasks are pinned to."""

    __slots__ = ("condition", "created", "function", "hash", "ref", "version")

    def __init__(
        self,
        function: str,
        version: str,  # logical ID to Ref
        hash: str | None,  # None when the version was already in the template
        created: bool,
        condition: str | None,
    ) -> None:
        self.function = function
        self.version = version
        self.hash = hash
        self.created = created
        self.condition = condition
        self.ref = {"Ref": version}  # one object for every Task that names it


class Plan:
    """Everything the rewrite will do, decided before it does any of it."""

    __slots__ = (
        "conditions",
        "depends_on",
        "descriptions",
        "edits",
        "policies",
        "policy_resources",
        "report",
        "retain",
        "sam_policies",
        "substitutions",
        "versions",
    )

    def __init__(self) -> None:
        self.edits: list[Edit] = []
        # state machine -> substitution key -> value, for placeholders added to plain strings
        self.substitutions: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, VersionPlan] = {}
        self.retain: list[str] = []  # existing versions that need Retain
        self.descriptions: dict[str, Any] = {}  # function -> new Description
        self.policies: dict[str, dict[str, Any]] = {}  # role -> new inline policy
        # Policies that cannot be inline (the role would depend on its own function): role ->
        # (logical ID, AWS::IAM::Policy resource), and the machines that must wait for them.
        self.policy_resources: dict[str, tuple[str, dict[str, Any]]] = {}
        self.depends_on: dict[str, list[str]] = {}
        # SAM state machines without a Role: a policy document for their Policies.
        self.sam_policies: dict[str, Any] = {}
        self.conditions: dict[str, Any] = {}  # new template Conditions
        self.report = Report()


class Unpinnable(Exception):
    """A target resolves to a function but cannot be rewritten in place."""


class Planner:
    def __init__(self, inventory: Inventory, options: Options) -> None:
        self.inventory = inventory
        self.options = options
        self.plan = Plan()
        self.report = self.plan.report
        self.errors: list[Diagnostic] = []
        self.taken = set(inventory.resources)  # logical IDs in use
        self.planned: set[str] = set()  # functions whose version has been decided
        self.machine_list: list[Resource] = []  # state machines planned, in template order
        self.pinned: dict[str, list[str]] = {}  # state machine -> functions pinned in it
        self.dependencies = Dependencies(inventory.resources)
        self.current = ""  # the resource being planned, for an internal error's message

    # --- the whole plan ------------------------------------------------------------------

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
        for machine in inventory.state_machines.values():
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
            view = analyse(machine, inventory)
            for code, path, message in view.notes:
                report.warn(code, path, message)
            for target in self._targets(view):
                if target.resolution.kind == "conditional":
                    self._pin_conditional(view, target)
                    continue
                function = self._pinnable(target)
                version = self._version(function) if function is not None else None
                if version is None:
                    continue
                pin = self._pin(view, target, version)
                if pin is not None:
                    report.pins.append(pin)
                    self.pinned.setdefault(machine.logical_id, []).append(version.function)
            self._drop_unused(view)
            edits, self.plan.edits = self.plan.edits, []
            yield edits

    def _drop_unused(self, view: DefinitionView) -> None:
        """A Sub variable or substitution key the rewrite left without a use goes too: no
        unused placeholder is left behind (SPEC 6)."""
        for (kind, _, name), (container, replaced) in view.consumed.items():
            assert container is not None
            if kind == "subref":
                uses = self._written(view, container)[name]
                mapping = (*container.path[:-1], 1)
            else:
                uses = self._uses(view)[name]
                mapping = (*view.path[:-1], "DefinitionSubstitutions")
            if replaced >= uses:
                self.plan.edits.append(Edit(Container("mapping", mapping, name), 0, 0, []))

    def finish(self) -> Plan:
        """Versions, descriptions, roles, limits and strictness, once every machine is
        planned. Raises TransformError with every problem found."""
        report = self.report
        self.current = ""
        # Versions nobody ended up using are not added.
        for function in list(self.plan.versions):
            if not any(function in fs for fs in self.pinned.values()):
                del self.plan.versions[function]
        for plan in self.plan.versions.values():
            report.versions.append(
                VersionEntry(plan.function, plan.version, plan.hash, plan.created)
            )
            if plan.created:
                self._plan_description(plan)
        self._plan_roles(self.machine_list, self.pinned)
        self._check_limits()
        self._check_strict()
        if self.errors:
            raise TransformError(self.errors)
        return self.plan

    # --- targets ---------------------------------------------------------------------------

    def _targets(self, view: DefinitionView) -> list[Target]:
        if view.form != "s3" or not view.substitutions:
            return view.targets
        # The definition is out of sight: its substitution values are the targets.
        targets: list[Target] = []
        base = (*view.path[:-1], "DefinitionSubstitutions")
        for key, value in view.substitutions.items():
            path = (*base, key)
            items = resolve(value, self.inventory)
            resolution = classify(items, self.inventory, name_allowed=True)
            if resolution.kind not in ("function", "conditional"):
                continue
            pieces = render_or_slot(value, path)
            content = [(p, 0, len(p.text)) for p in pieces]
            targets.append(Target(path, "DefinitionSubstitutions", content, items, resolution))
        view.targets = targets
        return targets

    def _pinnable(self, target: Target) -> str | None:
        report = self.report
        resolution = target.resolution
        code = _LEFT_ALONE.get(resolution.kind)
        if code is not None:
            report.warn(code, format_path(target.path), f"left alone: {resolution.reason}")
            return None
        function = resolution.function
        if resolution.kind != "function" or function is None:
            return None
        if self.inventory.functions[function].skip:
            report.warn(
                "PV110", format_path(target.path), f"left alone: function {function} is skipped"
            )
            return None
        if len(self.inventory.versions.get(function, [])) > 1:
            versions = ", ".join(self.inventory.versions[function])
            report.warn(
                "PV108",
                format_path(target.path),
                f"left alone: {function} has several versions ({versions}); pin this Task "
                "to one of them yourself",
            )
            return None
        if target.note:
            report.warn("PV111", format_path(target.path), f"left alone: {target.note}")
            return None
        return function

    # --- versions --------------------------------------------------------------------------

    def _version(self, function: str) -> VersionPlan | None:
        """The version ``function``'s Tasks are pinned to, planned when first needed."""
        if function not in self.planned:
            self.planned.add(function)
            self._plan_version(function)
        return self.plan.versions.get(function)

    def _plan_version(self, function: str) -> None:
        inventory = self.inventory
        resource = inventory.functions[function]
        existing = inventory.versions.get(function, [])
        if resource.sam and not existing:
            alias = self.inventory.function_properties(resource).get("AutoPublishAlias")
            if alias is not None:
                # SAM publishes a version of its own (F.Version): a second one in the same
                # deploy would fail, so pin to SAM's.
                self.report.warn(
                    "PV109",
                    f"Resources.{function}.Properties.AutoPublishAlias",
                    f"SAM publishes {function}.Version; its Tasks are pinned to it (SAM makes a "
                    "new version when the code changes, or any property with "
                    "AutoPublishAliasAllProperties)",
                )
                self.plan.versions[function] = VersionPlan(
                    function, f"{function}.Version", None, False, resource.condition
                )
                return
        if existing:
            version = existing[0]
            if not self._ours(function, version):
                self.report.warn(
                    "PV109",
                    f"Resources.{version}",
                    _existing_version_message(function, version, inventory.resources[version]),
                )
            self.plan.versions[function] = VersionPlan(
                function, version, None, False, resource.condition
            )
            version_resource = inventory.resources[version]
            if (
                version_resource.get("DeletionPolicy") != "Retain"
                or version_resource.get("UpdateReplacePolicy") != "Retain"
            ):
                self.plan.retain.append(version)
            return
        digest = self._hash(resource)
        logical_id = self._fresh_id(function, digest)
        if logical_id is None:
            return
        self.plan.versions[function] = VersionPlan(
            function, logical_id, digest, True, resource.condition
        )

    def _hash(self, resource: Resource) -> str:
        excluded = SAM_EXCLUDED_PROPERTIES if resource.sam else EXCLUDED_PROPERTIES
        return version_hash(
            self.inventory.function_properties(resource),
            self.inventory.context,
            excluded,
            self.inventory.template.get("Conditions"),
        )

    def _ours(self, function: str, version: str) -> bool:
        """A version an earlier pass of this macro added (same hash, same name)."""
        resource = self.inventory.functions[function]
        return version == f"{function}Version{self._hash(resource)}"

    def _fresh_id(self, function: str, digest: str) -> str | None:
        path = f"Resources.{function}"
        for extra in ("", "a", "b", "c", "d", "e", "f"):
            logical_id = f"{function}Version{digest}{extra}"
            if logical_id not in self.taken:
                break
        else:
            self.errors.append(
                Diagnostic(
                    "PV911",
                    path,
                    "no free logical ID for its version; rename the "
                    f"resources named {function}Version{digest}*",
                )
            )
            return None
        if len(logical_id) > MAX_LOGICAL_ID:
            room = MAX_LOGICAL_ID - (len(logical_id) - len(function))
            self.errors.append(
                Diagnostic(
                    "PV907",
                    path,
                    f"its version's logical ID would be {len(logical_id)} characters, over "
                    f"CloudFormation's {MAX_LOGICAL_ID}; shorten the function's logical ID to at "
                    f"most {room} characters",
                )
            )
            return None
        self.taken.add(logical_id)
        return logical_id

    def _plan_description(self, version: VersionPlan) -> None:
        if not self.options.description_stamp:
            self.report.warn(
                "PV114",
                f"Resources.{version.function}.Properties.Description",
                "not stamped: a deploy where only this function's configuration hash changes "
                "may fail with 'A version for this Lambda function exists'",
            )
            return
        assert version.hash is not None
        resource = self.inventory.functions[version.function]
        current = self.inventory.function_properties(resource).get("Description")
        stamp = stamp_text(version.hash)
        path = f"Resources.{version.function}.Properties.Description"
        if current is None:
            new: Any = stamp
        elif isinstance(current, str):
            base = strip_stamp(current)
            new = f"{base} {stamp}" if base else stamp
            if len(new) > MAX_DESCRIPTION:
                self.errors.append(
                    Diagnostic(
                        "PV908",
                        path,
                        f"is {len(base)} characters and the version stamp needs "
                        f"{len(stamp) + 1} more, over Lambda's {MAX_DESCRIPTION}; shorten it "
                        f"to at most {MAX_DESCRIPTION - len(stamp) - 1} characters or set "
                        "Metadata.PinVersions.DescriptionStamp to false",
                    )
                )
                return
        else:
            base_value = unstamp_intrinsic(current)
            new = {"Fn::Join": ["", [current if base_value is None else base_value, f" {stamp}"]]}
        if new != resource.properties.get("Description"):
            self.plan.descriptions[version.function] = new

    # --- rewriting one target ------------------------------------------------------------

    def _pin(self, view: DefinitionView, target: Target, version: VersionPlan) -> Pin | None:
        try:
            edits = self._edits(view, target.pieces, version, 0, target.items)
        except Unpinnable as why:
            self.report.warn("PV111", format_path(target.path), f"left alone: {why}")
            return None
        self.plan.edits.extend(edits)
        return Pin(view.machine.logical_id, target.path, version.function, version.version)

    def _edits(
        self,
        view: DefinitionView,
        content: list[tuple[Piece, int, int]],
        version: VersionPlan,
        depth: int,
        items: list[Item] | None = None,
        rebuild: Callable[[Any], dict[str, Any]] | None = None,
    ) -> list[Edit]:
        """The edits that make ``content`` invoke ``version``; with ``rebuild``, the edits
        that replace the Fn::If it holds with ``rebuild(that Fn::If)``."""
        if not content:
            raise Unpinnable("the value is empty")
        if depth > 8:
            raise Unpinnable("the reference is nested too deeply")
        new = version.ref
        if len(content) == 1 and content[0][0].is_hole:
            piece = content[0][0]
            if (
                rebuild is None
                and items is not None
                and len(items) == 1
                and isinstance(items[0], Leaf)
                and items[0].kind in ("fn-arn", "fn-name")
                and (
                    (piece.kind == "value" and intrinsic_name(piece.value) in ("Ref", "Fn::GetAtt"))
                    or (piece.kind == "subref" and piece.name not in piece.container.variables)
                )
            ):
                # !GetAtt F.Arn, !Ref F, ${F.Arn}, ${F}: the hole itself becomes the version.
                return [self._replace(view, content, [new])]
            shared = self._nested(view, piece)
            if shared is not None:
                key, nested = shared
                if key in view.rewritten:
                    return []  # another Task of this definition already rewrote that value
                edits = self._edits(view, nested, version, depth + 1, None, rebuild)
                view.rewritten.add(key)
                return edits
            if rebuild is not None:
                if intrinsic_name(piece.value) != "Fn::If":
                    raise Unpinnable("the Fn::If is built by another intrinsic function")
                new = rebuild(piece.value)
            return [self._replace(view, content, [new])]
        if rebuild is not None:
            raise Unpinnable("the Fn::If is only part of the value")
        last = content[-1][0]
        if (
            version.created
            and len(content) > 1
            and last.is_hole
            and last.container.kind in ("sub", "join")
            and resolve_pieces([last], self.inventory, view.substitutions)
            == [Leaf("fn-name", version.function)]
        ):
            # arn:...:function:${F} gains :${V.Version}, in the form it was written.
            end = _end(last, len(last.text))
            insert: list[str | dict[str, Any]] = [
                ":",
                {"Fn::GetAtt": [version.version, "Version"]},
            ]
            self._check_sub_names(last.container, version.version)
            return [Edit(last.container, end, end, insert)]
        return [self._replace(view, content, [new])]

    def _pin_conditional(self, view: DefinitionView, target: Target) -> None:
        """An Fn::If whose branches name functions: each branch is pinned to its function's
        version (created under the function's own Condition, as any version), and the
        Fn::If keeps its condition."""
        functions = target.resolution.functions
        for function in functions:
            if self._pinnable(target._replace(resolution=Resolution("function", function))) is None:
                return  # its warning says why; the whole Fn::If is left as it is
        versions = {f: self._version(f) for f in functions}
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
            edits = self._edits(view, target.pieces, first, 0, target.items, rebuild)
        except Unpinnable as why:
            self.report.warn("PV111", format_path(target.path), f"left alone: {why}")
            return
        self.plan.edits.extend(edits)
        machine = view.machine.logical_id
        for function, version in planned.items():
            self.report.pins.append(Pin(machine, target.path, function, version.version))
            self.pinned.setdefault(machine, []).append(function)

    def _direct_leaf(self, view: DefinitionView, piece: Piece) -> Leaf | None:
        if piece.kind == "subref" and piece.name in piece.container.variables:
            return None
        items = resolve_pieces([piece], self.inventory, view.substitutions)
        return items[0] if len(items) == 1 and isinstance(items[0], Leaf) else None

    def _nested(
        self, view: DefinitionView, piece: Piece
    ) -> tuple[tuple[str, int, str], list[tuple[Piece, int, int]]] | None:
        """The value to edit instead of ``piece`` when that value is there for targets only,
        with a key naming it (several Tasks may share it; it is rewritten once)."""
        container = piece.container
        if piece.kind == "value":
            if container.kind != "slot" or self._direct_leaf(view, piece) is not None:
                return None
            try:
                pieces = render(piece.value, container.path)
            except Opaque:
                return None
            return ("slot", id(container), ""), [(p, 0, len(p.text)) for p in pieces]
        if piece.kind == "subref" and piece.name in container.variables:
            written = self._written(view, container)[piece.name]
            targets = self._placeholder_targets(view)[("subref", id(container), piece.name)]
            if written != max(targets, 1):
                return None
            path = (*container.path[:-1], 1, piece.name)
            pieces = render_or_slot(container.variables[piece.name], path)
            return ("var", id(container), piece.name), [(p, 0, len(p.text)) for p in pieces]
        if piece.kind == "subst" and view.substitutions is not None:
            if (
                self._uses(view)[piece.name]
                != self._placeholder_targets(view)[("subst", 0, piece.name)]
            ):
                return None
            path = (*view.path[:-1], "DefinitionSubstitutions", piece.name)
            pieces = render_or_slot(view.substitutions[piece.name], path)
            return ("subst", 0, piece.name), [(p, 0, len(p.text)) for p in pieces]
        return None

    def _uses(self, view: DefinitionView) -> Counter[str]:
        """How often each substitution key is used in the definition."""
        if view.uses is not None:
            return view.uses
        counts: Counter[str] = Counter()
        seen: set[int] = set()
        pieces = list(view.all_pieces)
        for target in view.targets:
            pieces.extend(p for p, _, _ in target.pieces)
        for piece in pieces:
            if piece.kind == "subst" and id(piece) not in seen:
                seen.add(id(piece))
                counts[piece.name] += 1
        view.uses = counts
        return counts

    def _written(self, view: DefinitionView, container: Container) -> Counter[str]:
        """How often each placeholder is written in a Sub string: parsed once per string."""
        counts = view.written.get(id(container))
        if counts is None:
            counts = view.written[id(container)] = Counter(
                sub_placeholder_names(str(container.value))
            )
        return counts

    def _placeholder_targets(self, view: DefinitionView) -> Counter[tuple[str, int, str]]:
        """Pinnable targets whose whole value is one placeholder: a substitution key
        ``("subst", 0, name)`` or a Sub variable ``("subref", id(container), name)``."""
        if view.target_uses is None:
            counts: Counter[tuple[str, int, str]] = Counter()
            for target in view.targets:
                if target.resolution.kind not in ("function", "conditional") or target.note:
                    continue
                if len(target.pieces) == 1 and target.pieces[0][0].kind in ("subst", "subref"):
                    piece = target.pieces[0][0]
                    scope = id(piece.container) if piece.kind == "subref" else 0
                    counts[(piece.kind, scope, piece.name)] += 1
            view.target_uses = counts
        return view.target_uses

    def _replace(
        self,
        view: DefinitionView,
        content: list[tuple[Piece, int, int]],
        items: list[str | dict[str, Any]],
    ) -> Edit:
        container = content[0][0].container
        if any(p.container is not container for p, _, _ in content):
            raise Unpinnable("the reference spans several intrinsic functions")
        for piece, lo, hi in content:
            partial = lo > 0 or hi < len(piece.text)
            if piece.kind == "delim" or (piece.kind == "escape" and partial):
                raise Unpinnable("the reference spans a delimiter or an escape")
        first, lo, _ = content[0]
        last, _, hi = content[-1]
        start, end = _start(first, lo), _end(last, hi)
        if isinstance(start, tuple) and (start[1] < 0 or (isinstance(end, tuple) and end[1] < 0)):
            raise Unpinnable("the reference spans a Fn::Join delimiter")
        if container.kind == "sub":
            for item in items:
                if isinstance(item, dict):
                    self._check_sub_names(container, str(item.get("Ref", "")))
        if container.kind == "value" and (start != 0 or end != len(container.value)):
            raise Unpinnable("only part of the string names the function")
        for piece, _, _ in content:
            # A variable or key whose every use is replaced is removed afterwards.
            if piece.kind == "subst" or (
                piece.kind == "subref" and piece.name in piece.container.variables
            ):
                key = (piece.kind, id(piece.container), piece.name)
                view.consumed[key] = (piece.container, view.consumed.get(key, (None, 0))[1] + 1)
        if container.kind == "plain" and view.substitutions is not None:
            # The user already relies on substitutions: add one more key. Without them, the
            # string becomes an Fn::Sub (see rewrite), which keeps every other ${ literal.
            items = [self._placeholder(view, i) if isinstance(i, dict) else i for i in items]
        return Edit(container, start, end, items)

    def _check_sub_names(self, container: Container, name: str) -> None:
        if name in container.variables:
            raise Unpinnable(f"the Fn::Sub already has a variable named {name}")

    def _placeholder(self, view: DefinitionView, value: dict[str, Any]) -> str:
        """A new DefinitionSubstitutions key for ``value``, as ``${Key}``."""
        machine = view.machine.logical_id
        added = self.plan.substitutions.setdefault(machine, {})
        existing = view.substitutions or {}
        base = str(value.get("Ref", "PinVersions"))
        key, n = base, 1
        while (key in existing and existing[key] != value) or (
            key in added and added[key] != value
        ):
            n += 1
            key = f"{base}{n}"
        added[key] = value
        return "${" + key + "}"

    # --- roles -------------------------------------------------------------------------------

    def _plan_roles(self, machines: list[Resource], pinned: dict[str, list[str]]) -> None:
        inventory = self.inventory
        coverage = Coverage(inventory)
        by_role: dict[str, set[str]] = {}
        machines_by_role: dict[str, list[str]] = {}
        for machine in machines:
            functions = sorted(set(pinned.get(machine.logical_id, [])))
            if not functions:
                continue
            if machine.sam and "Role" not in machine.properties:
                self._plan_sam_policies(machine, functions, coverage)
                continue
            role_key = "Role" if machine.sam else "RoleArn"
            role_value = machine.properties.get(role_key)
            if role_value is None:
                self.report.warn(
                    "PV106",
                    f"Resources.{machine.logical_id}",
                    f"has no {role_key}, so no execution role the macro can widen (CloudFormation "
                    f"requires {role_key}); give it a role that allows every version: "
                    f"{statement_for_user(functions)}",
                )
                continue
            role = role_of(role_value, inventory)
            if role is None:
                self.report.warn(
                    "PV106",
                    f"Resources.{machine.logical_id}.Properties.{role_key}",
                    "the execution role is not in this template; make sure it allows "
                    f"every version: {statement_for_user(functions)}",
                )
                continue
            by_role.setdefault(role, set()).update(functions)
            machines_by_role.setdefault(role, []).append(machine.logical_id)

        for role in sorted(by_role):
            functions = sorted(by_role[role])
            missing = [f for f in functions if not coverage.role_covers(role, f)]
            if missing and not self.options.widen_roles:
                self.report.warn(
                    "PV107",
                    f"Resources.{role}",
                    f"does not allow every version of {', '.join(missing)}; add "
                    f"{statement_for_user(missing)}",
                )
                missing = []
            if missing and not self._add_policy(role, missing, machines_by_role[role]):
                missing = []
            self.report.roles.append(RoleEntry(role, tuple(functions), tuple(missing)))

    def _plan_sam_policies(
        self, machine: Resource, functions: list[str], coverage: Coverage
    ) -> None:
        """A SAM state machine without a Role: SAM makes one from its Policies."""
        policies = machine.properties.get("Policies")
        where = f"Resources.{machine.logical_id}.Properties.Policies"
        missing = [f for f in functions if not coverage.sam_policies_cover(policies, f)]
        if missing and not self.options.widen_roles:
            self.report.warn(
                "PV107",
                where,
                f"do not allow every version of {', '.join(missing)}; add "
                f"{statement_for_user(missing)}",
            )
            missing = []
        if missing and policies is not None and not isinstance(policies, (list, str, dict)):
            self.report.warn(
                "PV113",
                where,
                f"is not something the macro can add to; add {statement_for_user(missing)}",
            )
            missing = []
        # SAM names the role it makes from Policies <StateMachine>Role.
        role = f"{machine.logical_id}Role"
        if missing:
            entries = [(f, self.inventory.functions[f].condition) for f in missing]
            document = {"Statement": [invoke_statement(entries)]}
            self.plan.sam_policies[machine.logical_id] = self._while_any(role, entries, document)
        self.report.roles.append(RoleEntry(role, tuple(functions), tuple(missing)))

    def _add_policy(self, role: str, functions: list[str], machines: list[str]) -> bool:
        inventory = self.inventory
        entries = [(f, inventory.functions[f].condition) for f in functions]
        document = {"Version": "2012-10-17", "Statement": [invoke_statement(entries)]}
        all_conditional = all(c is not None for _, c in entries)
        if any(self.dependencies.reaches(f, role) for f in functions):
            # An inline policy naming F.Arn would make the role depend on F, which already
            # depends on the role: a cycle. A policy resource of its own closes no loop.
            if all_conditional:
                self.report.warn(
                    "PV113",
                    f"Resources.{role}",
                    "its functions depend on it and are all conditional; add "
                    f"{statement_for_user(functions)}",
                )
                return False
            self._add_policy_resource(role, document, machines)
            return True
        properties = inventory.resources[role].get("Properties", {})
        policies = properties.get("Policies", []) if type(properties) is dict else None
        if not isinstance(policies, list):
            self.report.warn(
                "PV113",
                f"Resources.{role}.Properties.Policies",
                f"is not a list the macro can add to; add {statement_for_user(functions)}",
            )
            return False
        # Policy names written with !Sub cannot clash with ours; only literal ones can.
        names = {
            p["PolicyName"]
            for p in policies
            if type(p) is dict and isinstance(p.get("PolicyName"), str)
        }
        name, n = POLICY_NAME, 1
        while name in names:
            n += 1
            name = f"{POLICY_NAME}{n}"
        policy = {"PolicyName": name, "PolicyDocument": document}
        self.plan.policies[role] = self._while_any(role, entries, policy)
        return True

    def _add_policy_resource(
        self, role: str, document: dict[str, Any], machines: list[str]
    ) -> None:
        logical_id, n = f"{role}{POLICY_NAME}", 1
        while logical_id in self.taken:
            n += 1
            logical_id = f"{role}{POLICY_NAME}{n}"
        self.taken.add(logical_id)
        resource: dict[str, Any] = {"Type": "AWS::IAM::Policy"}
        condition = self.inventory.resources[role].get("Condition")
        if isinstance(condition, str):
            resource["Condition"] = condition  # it can only exist where its role does
        resource["Properties"] = {
            "PolicyName": POLICY_NAME,
            "Roles": [{"Ref": role}],
            "PolicyDocument": document,
        }
        self.plan.policy_resources[role] = (logical_id, resource)
        # The state machines must not start invoking the new versions before they may.
        for machine in machines:
            self.plan.depends_on.setdefault(machine, []).append(logical_id)

    def _while_any(
        self, role: str, entries: list[tuple[str, str | None]], policy: dict[str, Any]
    ) -> Any:
        """``policy``, dropped with its functions when every one of them is conditional: an
        empty Resource list is an invalid policy."""
        if any(c is None for _, c in entries):
            return policy
        conditions = sorted({c for _, c in entries if c is not None})
        condition = conditions[0] if len(conditions) == 1 else self._any_condition(role, conditions)
        return {"Fn::If": [condition, policy, {"Ref": "AWS::NoValue"}]}

    def _any_condition(self, role: str, conditions: list[str]) -> str:
        existing = self.inventory.template.get("Conditions")
        taken = set(existing) if type(existing) is dict else set()
        name, n = f"{role}PinVersionsInvoke", 1
        while name in taken or name in self.plan.conditions:
            n += 1
            name = f"{role}PinVersionsInvoke{n}"
        operands: list[Any] = [{"Condition": c} for c in conditions]
        while len(operands) > 10:  # Fn::Or takes 2 to 10 conditions
            operands = [
                {"Fn::Or": operands[i : i + 10]} if len(operands[i : i + 10]) > 1 else operands[i]
                for i in range(0, len(operands), 10)
            ]
        self.plan.conditions[name] = {"Fn::Or": operands}
        return name

    # --- limits and strictness ---------------------------------------------------------------

    def _check_limits(self) -> None:
        created = sum(1 for v in self.plan.versions.values() if v.created)
        created += len(self.plan.policy_resources)
        total = len(self.inventory.resources) + created
        if created and total > MAX_RESOURCES:
            self.errors.append(
                Diagnostic(
                    "PV906",
                    "Resources",
                    f"the template has {len(self.inventory.resources)} resources and pinning "
                    f"adds {created}: {total}, over CloudFormation's {MAX_RESOURCES}; "
                    "split the stack or exclude functions with Metadata.PinVersions.Exclude",
                )
            )

    def _check_strict(self) -> None:
        if not self.options.strict:
            return
        for warning in self.report.warnings:
            if warning.code in STRICT_CODES:
                self.errors.append(
                    Diagnostic("PV905", warning.path, f"Strict: {warning.message} ({warning.code})")
                )


def _existing_version_message(function: str, version: str, resource: dict[str, Any]) -> str:
    if made_by_serverless_framework(function, version, resource):
        return (
            f"{function} already has this version, made by the Serverless Framework; its Tasks "
            "are pinned to it, and it is retained on delete and on replacement. The framework "
            "publishes a new version only when the code changes (CodeSha256), not when only "
            "the configuration does"
        )
    return f"{function} already has this version; its Tasks are pinned to it"


# Resolutions a Task is left alone for, with the warning that says so.
_LEFT_ALONE = {"external": "PV101", "version": "PV103", "mutable": "PV104"}


def _start(piece: Piece, lo: int) -> Pos:
    if piece.container.kind == "join":
        if piece.kind == "value":
            return (piece.index, 0)
        return (piece.index, piece.start + (lo if piece.kind == "text" else 0))
    return piece.start + (lo if piece.kind == "text" else 0)


def _end(piece: Piece, hi: int) -> Pos:
    if piece.container.kind == "join":
        if piece.kind == "value":
            return (piece.index, 1)
        return (piece.index, piece.start + hi if piece.kind == "text" else piece.end)
    return piece.start + hi if piece.kind == "text" else piece.end

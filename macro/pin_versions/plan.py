"""Decide everything before writing anything: which versions to add or reuse, which
placeholder or intrinsic each target becomes, what each role gains, and every warning.

The plan refers to places in the *input* template; ``rewrite`` applies it to a copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from .definition import Credentials, DefinitionView, Target, analyse
from .dependencies import Dependencies
from .hashing import (
    EXCLUDED_PROPERTIES,
    SAM_EXCLUDED_PROPERTIES,
    Conditions,
    identity_hash,
    resolve_known_values,
    stamp_text,
    strip_stamp,
    unstamp_intrinsic,
    version_hash,
)
from .iam import (
    POLICY_NAME,
    Coverage,
    invoke_statement,
    role_of,
    role_of_items,
    statement_for_user,
)
from .intrinsics import intrinsic_name, sub_placeholder_names
from .inventory import Inventory, Resource, made_by_serverless_framework
from .options import Options
from .pieces import Container, Opaque, Piece, render, render_or_slot
from .references import Item, Leaf, Resolution, classify, resolve, resolve_pieces
from .report import (
    Diagnostic,
    GrantEntry,
    Pin,
    Report,
    RoleEntry,
    TransformError,
    VersionEntry,
    format_path,
)
from .targets import LAMBDA

MAX_LOGICAL_ID = 255
MAX_DESCRIPTION = 256
MAX_RESOURCES = 500

# Warnings that fail the transform when Strict is true.
STRICT_CODES = frozenset(
    {"PV101", "PV102", "PV104", "PV106", "PV108", "PV111", "PV113", "PV116", "PV119", "PV130"}
)
GRANT_HASH_PREFIX = "pin-versions-grant/1\n"
MAX_POLICY_NAME = 128  # IAM inline policy names

Guard = tuple[tuple[str, bool], ...]  # conditions (name, value) an invoke happens under

Pos = int | tuple[int, int]  # offset in a string; (element, offset) in a Join list


class Edit(NamedTuple):
    """Replace ``start``..``end`` of a container with text and intrinsics."""

    container: Container
    start: Pos
    end: Pos
    items: list[str | dict[str, Any]]


class VersionPlan:
    """The version a function's Tasks are pinned to."""

    __slots__ = ("condition", "created", "follows", "function", "hash", "ref", "version")

    def __init__(
        self,
        function: str,
        version: str,  # logical ID to Ref
        hash: str | None,  # None: an existing version that already follows F
        created: bool,
        condition: str | None,
        follows: bool = False,  # an existing version stamped so that it follows F
    ) -> None:
        self.function = function
        self.version = version
        self.hash = hash
        self.created = created
        self.condition = condition
        self.follows = follows
        self.ref = {"Ref": version}  # one object for every Task that names it


class Use(NamedTuple):
    """A role that invokes a function's versions: the Task's Credentials role or the state
    machine's role, under the conditions of the ``Fn::If`` branches that chose it."""

    machine: str
    role: str
    function: str
    guard: Guard
    sam_policies: bool  # the role SAM makes from the state machine's Policies


class Plan:
    """Everything the rewrite will do, decided before it does any of it."""

    __slots__ = (
        "conditions",
        "depends_on",
        "descriptions",
        "edits",
        "grants",
        "replace_retain",
        "report",
        "retain",
        "sam_properties",
        "substitutions",
        "version_descriptions",
        "versions",
    )

    def __init__(self) -> None:
        self.edits: list[Edit] = []
        # state machine -> substitution key -> value, for placeholders added to plain strings
        self.substitutions: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, VersionPlan] = {}
        self.retain: list[str] = []  # existing versions that need Retain
        self.descriptions: dict[str, Any] = {}  # function -> new Description
        self.version_descriptions: dict[str, Any] = {}  # existing version -> stamped one
        # Retained grants: logical ID -> (resource placed after, AWS::IAM::Policy resource).
        self.grants: dict[str, tuple[str, dict[str, Any]]] = {}
        self.depends_on: dict[str, list[str]] = {}  # state machine -> grants it waits for
        self.replace_retain: list[str] = []  # functions that get UpdateReplacePolicy: Retain
        # SAM functions (before SAM): properties to set so that SAM's version follows.
        self.sam_properties: dict[str, dict[str, Any]] = {}
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
        self.protected: set[str] = set()  # functions whose user-pinned versions are protected
        self.uses: list[Use] = []  # every role that invokes a pinned or protected function
        self.outside: dict[tuple[str, str], list[str]] = {}  # (code, path) -> functions
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
                if target.resolution.kind == "version" and self._protect(machine, target):
                    continue
                function = self._pinnable(target)
                version = self._version(function) if function is not None else None
                if version is None:
                    continue
                pin = self._pin(view, target, version)
                if pin is not None:
                    report.pins.append(pin)
                    self.pinned.setdefault(machine.logical_id, []).append(version.function)
                    self._invokers(machine, target, version.function)
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
            if function not in self.protected and not any(
                function in fs for fs in self.pinned.values()
            ):
                del self.plan.versions[function]
        for plan in self.plan.versions.values():
            report.versions.append(
                VersionEntry(plan.function, plan.version, plan.hash, plan.created)
            )
            if plan.created or plan.follows:
                self._plan_description(plan)
        self._plan_replace_retain()
        self._report_outside()
        self._plan_grants()
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
            properties = self.inventory.function_properties(resource)
            if properties.get("AutoPublishAlias") is not None:
                self._plan_sam_version(resource, properties)
                return
        if existing:
            version = existing[0]
            digest = self._hash(resource)
            follows = not self._ours(function, version)
            if follows:
                self._plan_follow(function, version, digest)
            self.plan.versions[function] = VersionPlan(
                function, version, digest if follows else None, False, resource.condition, follows
            )
            self._plan_retain(version)
            return
        digest = self._hash(resource)
        logical_id = self._fresh_id(function, digest)
        if logical_id is None:
            return
        self.plan.versions[function] = VersionPlan(
            function, logical_id, digest, True, resource.condition
        )

    def _plan_retain(self, version: str) -> None:
        resource = self.inventory.resources[version]
        if (
            resource.get("DeletionPolicy") != "Retain"
            or resource.get("UpdateReplacePolicy") != "Retain"
        ) and version not in self.plan.retain:
            self.plan.retain.append(version)

    def _plan_sam_version(self, resource: Resource, properties: dict[str, Any]) -> None:
        """SAM ``AutoPublishAlias`` (PinVersions before SAM): SAM publishes ``F.Version``;
        a second version in the same deploy would fail, so pin to SAM's, and make it follow
        F: SAM hashes only Code, Environment (parameters unresolved) and MemorySize unless
        ``AutoPublishAliasAllProperties`` is true, which with F's Description stamped makes
        any hash change a new version. SAM passes F's DeletionPolicy and UpdateReplacePolicy
        to the version (samtranslator ``_construct_version``); without a DeletionPolicy it
        uses ``VersionDeletionPolicy``, else Retain (Delete for CapacityProviderConfig)."""
        function = resource.logical_id
        where = f"Resources.{function}"
        wanted: dict[str, Any] = {}
        if properties.get("AutoPublishAliasAllProperties") not in (True, "true", "True"):
            wanted["AutoPublishAliasAllProperties"] = True
        deletion = resource.resource.get("DeletionPolicy")
        if deletion is None and (
            properties.get("VersionDeletionPolicy", "Retain") != "Retain"
            or "CapacityProviderConfig" in properties
        ):
            wanted["VersionDeletionPolicy"] = "Retain"
        if deletion is not None and deletion != "Retain":
            self.report.warn(
                "PV119",
                f"{where}.DeletionPolicy",
                f"SAM gives {function}.Version the function's DeletionPolicy {deletion}: the "
                "next deploy that publishes a new version deletes the one running executions "
                "invoke; remove DeletionPolicy or set it to Retain",
            )
        if wanted:
            self.plan.sam_properties[function] = wanted
        self.report.warn(
            "PV109",
            f"{where}.Properties.AutoPublishAlias",
            f"SAM publishes {function}.Version; its Tasks are pinned to it, and it is made to "
            "follow every change of the function (AutoPublishAliasAllProperties, Description "
            "stamp, UpdateReplacePolicy Retain)",
        )
        self.plan.versions[function] = VersionPlan(
            function, f"{function}.Version", self._hash(resource), False, resource.condition, True
        )

    def _plan_follow(self, function: str, version: str, digest: str) -> None:
        """An existing version whose logical ID need not change with F's configuration
        (fixed, or a generator's hash blind to parameter values): stamp its Description
        with F's hash. Description updates replace an AWS::Lambda::Version (AWS docs,
        AWS::Lambda::Version, "Update requires: Replacement"), so every hash change
        publishes a new version; UpdateReplacePolicy Retain keeps the old one."""
        resource = self.inventory.resources[version]
        path = f"Resources.{version}.Properties.Description"
        properties = resource.get("Properties")
        current = properties.get("Description") if type(properties) is dict else None
        new = self._stamped(current, digest, path, "PV913")
        if new is not None and new != current:
            self.plan.version_descriptions[version] = new
        maker = (
            ", made by the Serverless Framework"
            if made_by_serverless_framework(function, version, resource)
            else ""
        )
        self.report.warn(
            "PV117",
            f"Resources.{version}",
            f"{function} already has this version{maker}; its Tasks are pinned to it, and it is "
            "made to follow the function: its Description carries the function's hash, so a "
            "change replaces it and keeps the old one (UpdateReplacePolicy Retain)",
        )
        if type(properties) is dict and properties.get("ProvisionedConcurrencyConfig"):
            self.report.warn(
                "PV118",
                f"Resources.{version}.Properties.ProvisionedConcurrencyConfig",
                "each replaced version is retained with its provisioned concurrency, which "
                "is billed until released; release it on retained versions (prune) or put "
                "the provisioned concurrency on an alias",
            )

    def _stamped(self, current: Any, digest: str, path: str, code: str) -> Any:
        """``current`` with the stamp of ``digest``; None (and an error) when too long."""
        stamp = stamp_text(digest)
        if current is None:
            return stamp
        if isinstance(current, str):
            base = strip_stamp(current)
            new = f"{base} {stamp}" if base else stamp
            if len(new) > MAX_DESCRIPTION:
                self.errors.append(
                    Diagnostic(
                        code,
                        path,
                        f"is {len(base)} characters and the version stamp needs "
                        f"{len(stamp) + 1} more, over Lambda's {MAX_DESCRIPTION}; shorten it "
                        f"to at most {MAX_DESCRIPTION - len(stamp) - 1} characters or set "
                        "Metadata.PinVersions.DescriptionStamp to false",
                    )
                )
                return None
            return new
        base_value = unstamp_intrinsic(current)
        return {"Fn::Join": ["", [current if base_value is None else base_value, f" {stamp}"]]}

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
        base = f"{function}{LAMBDA.pin.suffix}{self._hash(resource)}"
        # _fresh_id appends a letter when the plain ID was taken.
        return version == base or (len(version) == len(base) + 1 and version[:-1] == base)

    def _fresh_id(self, function: str, digest: str) -> str | None:
        path = f"Resources.{function}"
        for extra in ("", "a", "b", "c", "d", "e", "f"):
            logical_id = f"{function}{LAMBDA.pin.suffix}{digest}{extra}"
            if logical_id not in self.taken:
                break
        else:
            self.errors.append(
                Diagnostic(
                    "PV911",
                    path,
                    "no free logical ID for its version; rename the "
                    f"resources named {function}{LAMBDA.pin.suffix}{digest}*",
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
        path = f"Resources.{version.function}.Properties.Description"
        new = self._stamped(current, version.hash, path, "PV908")
        if new is not None and new != resource.properties.get("Description"):
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
            self._invokers(view.machine, target, function)

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

    # --- user-pinned versions ----------------------------------------------------------------

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
        where = format_path(target.path)
        if version is not None and len(inventory.versions.get(function, [])) > 1:
            self._plan_retain(version)
        elif version is not None or sam_version:
            self._version(function)
        self.protected.add(function)
        named = version or "a published version"
        self.report.warn(
            "PV115",
            where,
            f"left as written: it invokes {named} of {function}; that version is retained and "
            f"the roles that invoke it may invoke every version of {function}",
        )
        self._invokers(machine, target, function)
        return True

    # --- roles ---------------------------------------------------------------------------

    def _invokers(self, machine: Resource, target: Target, function: str) -> None:
        """Record every role that invokes ``function`` at ``target``: the Task's Credentials
        role when it has one, else the state machine's (SPEC 7)."""
        credentials = target.credentials
        if credentials is not None:
            self._credential_uses(machine, credentials, function)
            return
        if machine.sam and "Role" not in machine.properties:
            # SAM makes the role from Policies and names it <StateMachine>Role.
            self.uses.append(
                Use(machine.logical_id, f"{machine.logical_id}Role", function, (), True)
            )
            return
        key = "Role" if machine.sam else "RoleArn"
        value = machine.properties.get(key)
        path = f"Resources.{machine.logical_id}.Properties.{key}"
        if value is None:
            # No role at all: say so at the resource, not at a RoleArn that is not there.
            self.outside.setdefault(("PV106", f"Resources.{machine.logical_id}"), []).append(
                function
            )
            return
        for role, guard in self._role_branches(value, None, ()):
            if role is None:
                self.outside.setdefault(("PV106", _branch_path(path, guard)), []).append(function)
            else:
                self.uses.append(Use(machine.logical_id, role, function, guard, False))

    def _credential_uses(self, machine: Resource, credentials: Credentials, function: str) -> None:
        path = format_path(credentials.path)
        if credentials.dynamic:
            self.outside.setdefault(("PV116", path), []).append(function)
            return
        for role, guard in self._role_branches(credentials.value, credentials.items, ()):
            if role is None:
                self.outside.setdefault(("PV116", _branch_path(path, guard)), []).append(function)
            else:
                self.uses.append(Use(machine.logical_id, role, function, guard, False))

    def _role_branches(
        self, value: Any, items: list[Item] | None, guard: Guard
    ) -> list[tuple[str | None, Guard]]:
        """The roles a role ARN may be, each with the conditions that choose it (None: a
        role outside the template). ``Fn::If`` branches are followed; ``AWS::NoValue`` is
        no role."""
        branches = value.get("Fn::If") if type(value) is dict and len(value) == 1 else None
        if isinstance(branches, list) and len(branches) == 3 and isinstance(branches[0], str):
            condition = branches[0]
            return self._role_branches(
                branches[1], None, (*guard, (condition, True))
            ) + self._role_branches(branches[2], None, (*guard, (condition, False)))
        if value == {"Ref": "AWS::NoValue"}:
            return []
        role = role_of(value, self.inventory) if value is not None else None
        if role is None and items is not None:
            role = role_of_items(items, self.inventory)
        return [(role, guard)]

    def _report_outside(self) -> None:
        for (code, path), functions in self.outside.items():
            names = sorted(set(functions))
            if code == "PV106" and ".Properties." not in path:
                key = (
                    "Role"
                    if self.inventory.resources[path[len("Resources.") :]]
                    .get("Type", "")
                    .startswith("AWS::Serverless::")
                    else "RoleArn"
                )
                message = (
                    f"has no {key}, so no execution role the macro can widen (CloudFormation "
                    f"requires {key}); give it a role that allows every version: "
                    f"{statement_for_user(names)}"
                )
            elif code == "PV106":
                message = (
                    "the execution role is not in this template; make sure it allows every "
                    f"version: {statement_for_user(names)}"
                )
            else:
                message = (
                    "the Task invokes with this role, which is chosen at run time or is not in "
                    f"this template; make sure it allows every version: {statement_for_user(names)}"
                )
            self.report.warn(code, path, message)

    def _plan_replace_retain(self) -> None:
        """Pinned functions outlive a replacement (a rename replaces a function, and
        deleting a function deletes every version of it): UpdateReplacePolicy Retain. Not
        DeletionPolicy: deleting the stack still deletes its functions (docs/design.md), so
        a function without one gets ``DeletionPolicy: Delete`` (the default, written out:
        cfn-lint W3011 wants both policies). Not on a SAM function: SAM would pass it to
        the version it publishes."""
        functions = set(self.plan.versions) | self.protected
        for function in sorted(functions):
            resource = self.inventory.functions[function].resource
            if resource.get("UpdateReplacePolicy") != "Retain" or (
                "DeletionPolicy" not in resource and not self.inventory.functions[function].sam
            ):
                self.plan.replace_retain.append(function)

    def _plan_grants(self) -> None:
        """One retained AWS::IAM::Policy per (role, function) that some role lacks."""
        inventory = self.inventory
        coverage = Coverage(inventory)
        by_pair: dict[tuple[str, str], list[Use]] = {}
        for use in self.uses:
            by_pair.setdefault((use.role, use.function), []).append(use)
        by_role: dict[str, tuple[set[str], list[str]]] = {}
        for (role, function), uses in sorted(by_pair.items()):
            functions, added = by_role.setdefault(role, (set(), []))
            functions.add(function)
            sam_machine = next((u.machine for u in uses if u.sam_policies), None)
            if sam_machine is not None:
                policies = inventory.state_machines[sam_machine].properties.get("Policies")
                covered = coverage.sam_policies_cover(policies, function)
            else:
                covered = coverage.role_covers(role, function)
            if covered:
                continue
            if not self.options.widen_roles:
                where = (
                    f"Resources.{sam_machine}.Properties.Policies"
                    if sam_machine is not None
                    else f"Resources.{role}"
                )
                self.report.warn(
                    "PV107",
                    where,
                    f"does not allow every version of {function}; add "
                    f"{statement_for_user([function])}",
                )
                continue
            self._add_grant(role, function, uses, sam_machine)
            added.append(function)
        for role in sorted(by_role):
            functions, added = by_role[role]
            self.report.roles.append(RoleEntry(role, tuple(sorted(functions)), tuple(added)))

    def _grant_id(self, role: str, function: str) -> tuple[str, str]:
        """Logical ID and PolicyName of the grant of ``role`` on ``function``. Both follow
        the function's physical name identity (its resolved FunctionName, or "generated"),
        so a rename, which replaces the function, gives a new grant and leaves the old one
        retained, still naming the old function."""
        properties = self.inventory.function_properties(self.inventory.functions[function])
        name = properties.get("FunctionName")
        if name is None:
            identity: Any = "generated"
        else:
            conditions = Conditions(
                self.inventory.template.get("Conditions"), self.inventory.context
            )
            identity = {"name": resolve_known_values(name, self.inventory.context, conditions)}
        digest = identity_hash(GRANT_HASH_PREFIX, [role, function, identity])
        room = MAX_LOGICAL_ID - len(POLICY_NAME) - len(digest)
        logical_id = f"{role[: room // 2]}{POLICY_NAME}{function[: room - room // 2]}{digest}"
        if len(role) + len(function) <= room:
            logical_id = f"{role}{POLICY_NAME}{function}{digest}"
        shown = function[: MAX_POLICY_NAME - len(POLICY_NAME) - len(digest) - 2]
        return logical_id, f"{POLICY_NAME}-{shown}-{digest}"

    def _add_grant(
        self, role: str, function: str, uses: list[Use], sam_machine: str | None
    ) -> None:
        inventory = self.inventory
        logical_id, policy_name = self._grant_id(role, function)
        existing = inventory.resources.get(logical_id)
        if logical_id in self.taken and not (
            type(existing) is dict and existing.get("Type") == "AWS::IAM::Policy"
        ):
            self.errors.append(
                Diagnostic(
                    "PV911",
                    f"Resources.{logical_id}",
                    f"is the logical ID of the grant of {role} on {function}; rename it",
                )
            )
            return
        condition = self._grant_condition(logical_id, role, function, uses, sam_machine)
        self.report.grants.append(GrantEntry(logical_id, role, function, policy_name, condition))
        if existing is None:  # else an earlier pass of the macro added it: keep it as it is
            self.taken.add(logical_id)
            resource: dict[str, Any] = {
                "Type": "AWS::IAM::Policy",
                # Executions started before a deploy that stops invoking F still invoke
                # F's retained versions: the grant outlives its Task (docs/design.md, Day 2).
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
            }
            if condition is not None:
                resource["Condition"] = condition
            resource["Properties"] = {
                "PolicyName": policy_name,
                "Roles": [{"Ref": role}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [invoke_statement([(function, None)])],
                },
            }
            after = role if role in inventory.resources else (sam_machine or role)
            self.plan.grants[logical_id] = (after, resource)
        # The state machines must not start invoking the new versions before they may.
        for machine in sorted({u.machine for u in uses}):
            own = inventory.state_machines[machine].condition
            if condition not in (None, own):
                continue  # a DependsOn on a resource that may not exist would fail
            if self.dependencies.reaches(function, machine) or self.dependencies.reaches(
                role, machine
            ):
                continue  # it would close a cycle
            current = inventory.state_machines[machine].resource.get("DependsOn", [])
            if not isinstance(current, (str, list)):
                continue  # not a DependsOn CloudFormation takes: left for it to reject
            waits = self.plan.depends_on.setdefault(machine, [])
            if logical_id not in waits:
                waits.append(logical_id)

    def _grant_condition(
        self, logical_id: str, role: str, function: str, uses: list[Use], sam_machine: str | None
    ) -> str | None:
        """The condition the grant exists under: its role's and its function's, and the
        ``Fn::If`` branches that choose the role (any of them). A new condition named like
        the grant when more than one name is needed."""
        inventory = self.inventory
        conjuncts: list[Any] = []
        role_resource = inventory.resources.get(sam_machine or role)
        role_condition = role_resource.get("Condition") if type(role_resource) is dict else None
        for own in (role_condition, inventory.functions[function].condition):
            if isinstance(own, str) and {"Condition": own} not in conjuncts:
                conjuncts.append({"Condition": own})
        guards = sorted({u.guard for u in uses})
        if () not in guards:
            alternatives = [_all_of([_literal(c, v) for c, v in g]) for g in guards]
            conjuncts.append(_any_of(alternatives))
        if not conjuncts:
            return None
        if len(conjuncts) == 1 and "Condition" in conjuncts[0]:
            single: str = conjuncts[0]["Condition"]
            return single
        existing = inventory.template.get("Conditions")
        taken = set(existing) if type(existing) is dict else set()
        name, n = logical_id, 1
        while name in taken or name in self.plan.conditions:
            n += 1
            name = f"{logical_id}{n}"
        self.plan.conditions[name] = _all_of(conjuncts)
        return name

    # --- limits and strictness ---------------------------------------------------------------

    def _check_limits(self) -> None:
        created = sum(1 for v in self.plan.versions.values() if v.created)
        created += len(self.plan.grants)
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


def _literal(condition: str, value: bool) -> dict[str, Any]:
    ref = {"Condition": condition}
    return ref if value else {"Fn::Not": [ref]}


def _all_of(operands: list[Any]) -> Any:
    return operands[0] if len(operands) == 1 else {"Fn::And": _chunked("Fn::And", operands)}


def _any_of(operands: list[Any]) -> Any:
    return operands[0] if len(operands) == 1 else {"Fn::Or": _chunked("Fn::Or", operands)}


def _chunked(function: str, operands: list[Any]) -> list[Any]:
    """Fn::And and Fn::Or take 2 to 10 conditions: nest longer lists."""
    while len(operands) > 10:
        operands = [
            {function: operands[i : i + 10]} if len(operands[i : i + 10]) > 1 else operands[i]
            for i in range(0, len(operands), 10)
        ]
    return operands


def _branch_path(path: str, guard: Guard) -> str:
    """The path of a role ARN, with the Fn::If branch that chose it."""
    for _, value in guard:
        path = f"{path}.Fn::If[{1 if value else 2}]"
    return path


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

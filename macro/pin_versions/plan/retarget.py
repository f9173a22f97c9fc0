"""Retargeting: the edits that make each Task target invoke its version, in the form the
definition was written (a hole replaced, ``:${V.Version}`` appended, a shared Sub variable or
substitution rewritten once, a new substitution key), and the placeholders left unused.

Per-definition bookkeeping lives in ``MachineEdits``, the planner's own structure: nothing
is written into definition.py's ``DefinitionView``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ..definition import DefinitionView, Target
from ..intrinsics import intrinsic_name, sub_placeholder_names
from ..inventory import Inventory
from ..pieces import Container, Opaque, Piece, render, render_or_slot
from ..references import Item, Leaf, resolve, resolve_pieces
from ..report import (
    Pin,
)
from ..resolution import Resolution, classify
from ..targets import LAMBDA, TargetKind, kind_of_type
from .model import (
    Edit,
    Plan,
    Pos,
    Unpinnable,
    VersionPlan,
)


class MachineEdits:
    """One state machine's targets as the planner sees them, and what retargeting them has
    counted and done so far."""

    __slots__ = (
        "all_pieces",
        "consumed",
        "machine",
        "path",
        "rewritten",
        "substitutions",
        "target_uses",
        "targets",
        "uses",
        "written",
    )

    def __init__(self, view: DefinitionView, targets: list[Target]) -> None:
        self.machine = view.machine
        self.path = view.path
        self.substitutions = view.substitutions
        self.all_pieces = view.all_pieces
        self.targets = targets
        # How often each substitution key is used, counted when first needed.
        self.uses: Counter[str] | None = None
        # Pinnable targets that are one whole placeholder, by placeholder.
        self.target_uses: Counter[tuple[str, int, str]] | None = None
        self.written: dict[int, Counter[str]] = {}  # Sub string -> placeholder counts
        # Shared values (substitutions, Sub variables) already rewritten for a Task.
        self.rewritten: set[tuple[str, int, str]] = set()
        # Placeholders replaced by a rewrite: (kind, container, name) -> (container, count).
        self.consumed: dict[tuple[str, int, str], tuple[Container | None, int]] = {}


def substitution_values(
    view: DefinitionView, inventory: Inventory
) -> list[tuple[tuple[str | int, ...], list[Item], Resolution]]:
    """``(path, items, resolution)`` of each ``DefinitionSubstitutions`` value of a definition
    kept in S3 (``DefinitionS3Location`` / SAM ``DefinitionUri``), whatever it resolves to:
    the definition itself is out of sight, so what it invokes is what these values name.
    ``[]`` for any other form, or without substitutions. The planner pins the ``function``
    ones (``targets_of``); the local checks read every one (local/checks.py)."""
    if view.form != "s3" or not view.substitutions:
        return []
    base = (*view.path[:-1], "DefinitionSubstitutions")
    found: list[tuple[tuple[str | int, ...], list[Item], Resolution]] = []
    for key, value in view.substitutions.items():
        items = resolve(value, inventory)
        found.append(((*base, key), items, classify(items, inventory, name_allowed=True)))
    return found


def targets_of(view: DefinitionView, inventory: Inventory) -> list[Target]:
    """The view's targets; for a definition in S3, its substitution values that name
    functions (``substitution_values``)."""
    if view.form != "s3" or not view.substitutions:
        return view.targets
    targets: list[Target] = []
    for path, items, resolution in substitution_values(view, inventory):
        kind = LAMBDA
        if resolution.kind == "other":
            kind, resolution = _other_kind_value(items, inventory)
        if resolution.kind not in ("function", "conditional"):
            continue
        if kind.name in inventory.disabled_kinds:
            continue
        value = view.substitutions[str(path[-1])]
        pieces = render_or_slot(value, path)
        content = [(p, 0, len(p.text)) for p in pieces]
        targets.append(
            Target(
                path,
                "DefinitionSubstitutions",
                content,
                items,
                resolution,
                kind=kind.name,
                # The definition is out of sight: a state machine may be started with .sync.
                integration=".sync" if kind is not LAMBDA else "",
            )
        )
    return targets


def _other_kind_value(items: list[Item], inventory: Inventory) -> tuple[TargetKind, Resolution]:
    """A substitution value of a definition in S3 that is ``Ref``/``Fn::GetAtt`` of a state
    machine, task definition or job definition of the template: its kind and resolution
    (``other`` when it names none)."""
    if len(items) == 1 and isinstance(items[0], Leaf) and items[0].kind == "resource":
        kind = kind_of_type(inventory.types.get(items[0].ref.partition(".")[0], ""))
        if kind is not None and kind is not LAMBDA:
            from ..resolution_kinds import classify_target

            resolution = classify_target(kind, items, inventory)
            if resolution.kind == "function":
                return kind, resolution
    return LAMBDA, Resolution("other")


class Retarget:
    """Plans the edits of one definition at a time into ``plan.edits``."""

    def __init__(self, inventory: Inventory, plan: Plan) -> None:
        self.inventory = inventory
        self.plan = plan
        self.report = plan.report

    def pin(self, view: MachineEdits, target: Target, version: VersionPlan) -> Pin | None:
        try:
            edits = self.edits_for(view, target.pieces, version, 0, target.items)
        except Unpinnable as why:
            self.report.warn("PV111", target.path, f"left alone: {why}")
            return None
        self.plan.edits.extend(edits)
        return Pin(view.machine.logical_id, target.path, version.function, version.version)

    def edits_for(
        self,
        view: MachineEdits,
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
                edits = self.edits_for(view, nested, version, depth + 1, None, rebuild)
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

    def drop_unused(self, view: MachineEdits) -> None:
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

    def _direct_leaf(self, view: MachineEdits, piece: Piece) -> Leaf | None:
        if piece.kind == "subref" and piece.name in piece.container.variables:
            return None
        items = resolve_pieces([piece], self.inventory, view.substitutions)
        return items[0] if len(items) == 1 and isinstance(items[0], Leaf) else None

    def _nested(
        self, view: MachineEdits, piece: Piece
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

    def _uses(self, view: MachineEdits) -> Counter[str]:
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

    def _written(self, view: MachineEdits, container: Container) -> Counter[str]:
        """How often each placeholder is written in a Sub string: parsed once per string."""
        counts = view.written.get(id(container))
        if counts is None:
            counts = view.written[id(container)] = Counter(
                sub_placeholder_names(str(container.value))
            )
        return counts

    def _placeholder_targets(self, view: MachineEdits) -> Counter[tuple[str, int, str]]:
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
        view: MachineEdits,
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

    def _placeholder(self, view: MachineEdits, value: dict[str, Any]) -> str:
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

"""What a definition scan finds, and what the object and text scans share: the view of one
state machine's definition (``DefinitionView``), its Task targets (``Target``) and their
``Credentials``, and turning a Task's values into targets (``Scan``)."""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

from typing import Any, NamedTuple

from .asl import is_jsonata
from .intrinsics import intrinsic_name
from .inventory import Inventory, Resource
from .pieces import (
    Path,
    Piece,
)
from .references import Item
from .resolution import Resolution, classify
from .targets import LAMBDA, TargetKind, kinds


class Credentials(NamedTuple):
    """A Task's ``Credentials.RoleArn``: Step Functions invokes with that role, not the
    state machine's. ``value`` is the template value when the role is one placeholder or
    intrinsic (it may be ``Fn::If``), ``items`` what it resolves to; ``dynamic`` says why
    the role is chosen at run time (``RoleArn.$``, JSONata), when it is."""

    path: Path
    value: Any
    items: list[Item]
    dynamic: str = ""


class Target(NamedTuple):
    """A place in a definition that names the function a Task invokes."""

    path: Path  # template path of the value
    field: str  # "Resource" or "FunctionName"
    pieces: list[tuple[Piece, int, int]]  # the value's content: piece, rendered lo, hi
    items: list[Item]
    resolution: Resolution
    note: str = ""  # why the content could not be located, when it could not
    credentials: Credentials | None = None  # the Task's own role, when it has one
    kind: str = LAMBDA.name  # the target kind (targets.TargetKind.name)
    integration: str = ""  # its integration's suffix (".sync", ...), for the grant


class DefinitionView:
    """One state machine's definition, as far as the macro can see it."""

    __slots__ = (
        "all_pieces",
        "form",
        "machine",
        "notes",
        "path",
        "substitutions",
        "targets",
    )

    def __init__(
        self,
        machine: Resource,
        form: str,  # "object", "string", "s3", "none", "opaque", "unwalkable"
        path: Path,  # template path of Definition / DefinitionString
        substitutions: dict[str, Any] | None,
    ) -> None:
        self.machine = machine
        self.form = form
        self.path = path
        self.substitutions = substitutions
        self.targets: list[Target] = []
        self.all_pieces: list[Piece] = []  # placeholders, for counting their uses
        # Left alone, with the reason: (code, path, message).
        self.notes: list[tuple[str, Path | str, str]] = []


def function_name_field(
    state_path: Path, state: dict[str, Any], kind: TargetKind = LAMBDA
) -> tuple[Path, Any, str | None, str | None]:
    """``(path, value, dynamic_reason, qualifier)`` of the field the integration names its
    target in (``FunctionName`` for Lambda: targets.TargetKind.name_field)."""
    field = kind.name_field
    for key in ("Parameters", "Arguments"):
        if key not in state:
            continue
        args = state[key]
        where = (*state_path, key)
        if is_jsonata(args):
            return where, None, f"{key} is a JSONata expression", None
        chosen = intrinsic_name(args)
        if chosen is not None:
            # CloudFormation chooses the object: read as one, it would name no FunctionName.
            return where, None, f"{key} is an {chosen}, which the macro does not read", None
        if type(args) is not dict:
            continue
        qualifier_field = kind.qualifier_field
        qualifier = (
            args.get(qualifier_field, args.get(f"{qualifier_field}.$")) if qualifier_field else None
        )
        qualifier_text = qualifier if isinstance(qualifier, str) else None
        if f"{field}.$" in args:
            return (*where, f"{field}.$"), None, f"{field}.$ is read at run time", None
        if field in args:
            value = args[field]
            if is_jsonata(value):
                return (*where, field), None, f"{field} is a JSONata expression", None
            return (*where, field), value, None, qualifier_text
    if kind is LAMBDA:
        return state_path, None, f"the {kind.name}:invoke integration names no {field}", None
    return state_path, None, f"the integration names no {field}", None


class Scan:
    """What object and text scans share: turning a Task's values into targets."""

    def __init__(self, view: DefinitionView, inventory: Inventory) -> None:
        self.view = view
        self.inventory = inventory
        self.credentials: Credentials | None = None  # of the Task being scanned

    def content(self, path: Path, value: Any) -> tuple[list[tuple[Piece, int, int]], str]:
        raise NotImplementedError

    def items_of(self, path: Path, value: Any) -> list[Item]:
        raise NotImplementedError

    def raw_value(self, path: Path, value: Any) -> Any:
        """The template value behind a definition value that is one placeholder or
        intrinsic (None when it is text mixed with placeholders)."""
        raise NotImplementedError

    def scan_credentials(self, state_path: Path, state: dict[str, Any]) -> Credentials | None:
        credentials = state.get("Credentials")
        where = (*state_path, "Credentials")
        if is_jsonata(credentials):
            return Credentials(where, None, [], "Credentials is a JSONata expression")
        if type(credentials) is not dict:
            return None
        if "RoleArn.$" in credentials:
            return Credentials((*where, "RoleArn.$"), None, [], "RoleArn.$ is read at run time")
        if "RoleArn" not in credentials:
            return None
        path, value = (*where, "RoleArn"), credentials["RoleArn"]
        if is_jsonata(value):
            return Credentials(path, None, [], "RoleArn is a JSONata expression")
        return Credentials(path, self.raw_value(path, value), self.items_of(path, value))

    def scan_task(self, state_path: Path, state: dict[str, Any]) -> None:
        self.credentials = self.scan_credentials(state_path, state)
        resource_path = (*state_path, "Resource")
        resource = state.get("Resource")
        if resource is None:
            return
        resource_items = self.items_of(resource_path, resource)
        resolution = classify(resource_items, self.inventory, name_allowed=False)
        if resolution.kind == "other":
            self.scan_other_kinds(state_path, state, resource_items)
            return
        if LAMBDA.name in self.inventory.disabled_kinds:
            return  # Metadata.PinVersions.Kinds.LambdaFunction: false
        if resolution.kind == "integration":
            path, value, dynamic, qualifier = function_name_field(state_path, state)
            if dynamic is not None:
                self.note("PV102", path, f"{dynamic}; the macro cannot pin it")
                return
            items = self.items_of(path, value)
            resolution = classify(items, self.inventory, name_allowed=True)
            if qualifier is not None and resolution.kind == "function":
                kind = "version" if qualifier.isdigit() else "mutable"
                resolution = Resolution(
                    kind, resolution.function, f"Qualifier {qualifier!r} is set"
                )
            self.add_target(path, LAMBDA.name_field, value, items, resolution)
        else:
            self.add_target(resource_path, "Resource", resource, resource_items, resolution)

    def scan_other_kinds(self, state_path: Path, state: dict[str, Any], items: list[Item]) -> None:
        """A Task whose Resource is no Lambda: is it the integration of another kind
        (targets.py), and which of the template's resources does it name?"""
        if not items or not any(isinstance(i, str) and ":states:::" in i for i in items):
            return  # no service integration: the common case, decided without the kinds
        from .resolution_kinds import classify_target, integration_of

        for kind in kinds()[1:]:
            suffix = integration_of(items, kind)
            if suffix is None:
                continue
            if kind.name in self.inventory.disabled_kinds:
                return  # Metadata.PinVersions.Kinds.<Key>: false: left as it is
            path, value, dynamic, _ = function_name_field(state_path, state, kind)
            if dynamic is not None:
                self.note("PV102", path, f"{dynamic}; the macro cannot pin it")
                return
            target_items = self.items_of(path, value)
            resolution = classify_target(kind, target_items, self.inventory)
            self.add_target(path, kind.name_field, value, target_items, resolution, kind, suffix)
            return

    def add_target(
        self,
        path: Path,
        field_name: str,
        value: Any,
        items: list[Item],
        resolution: Resolution,
        kind: TargetKind = LAMBDA,
        integration: str = "",
    ) -> None:
        if resolution.kind == "other":
            return
        pieces: list[tuple[Piece, int, int]] = []
        note = ""
        if resolution.kind in ("function", "conditional"):
            pieces, note = self.content(path, value)
        self.view.targets.append(
            Target(
                path,
                field_name,
                pieces,
                items,
                resolution,
                note,
                self.credentials,
                kind.name,
                integration,
            )
        )

    def note(self, code: str, path: Path, message: str) -> None:
        self.view.notes.append((code, path, message))


def piece_value(piece: Piece, view: DefinitionView) -> Any:
    """The template value a piece stands for: an intrinsic, a Sub variable's value, a
    substitution's value, or ``${X}`` as the intrinsic it means."""
    if piece.kind == "value":
        return piece.value
    if piece.kind == "subst":
        return (view.substitutions or {}).get(piece.name)
    if piece.kind == "subref":
        variables = piece.container.variables
        if piece.name in variables:
            return variables[piece.name]
        logical_id, dot, attribute = piece.name.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]} if dot else {"Ref": piece.name}
    return piece.text

"""State machine definitions: every Task that invokes Lambda, in every definition form.

Text forms (``DefinitionString`` as a string, ``Fn::Sub`` or ``Fn::Join``) are rendered into
pieces; each hole (an intrinsic, a placeholder) becomes a sentinel in a *skeleton* string that
``json.loads`` parses in C. Targets are then found in the parsed tree and mapped back to the
pieces they came from, so that a rewrite edits the source in place. ``Definition`` objects
are walked directly.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from .asl import Unwalkable, is_jsonata, iter_tasks
from .intrinsics import describe, intrinsic_name
from .inventory import Inventory, Resource
from .pieces import (
    Opaque,
    Path,
    Piece,
    TooDeep,
    render,
    render_or_slot,
    split_substitutions,
)
from .references import Item, Resolution, classify, resolve_pieces
from .report import Diagnostic, TransformError, fail
from .targets import LAMBDA

OPEN, CLOSE, BARE = "\ue000", "\ue001", "\ue002"
_SENTINEL = re.compile("\ue000([0-9]+)\ue001")
_RESERVED_ESCAPE = re.compile(r"\\u[eE]00[0-2]")
_JSON_STRING_OR_SENTINEL = re.compile(r'"(?:[^"\\]|\\.)*"|\ue000[0-9]+\ue001', re.DOTALL)


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


DEFINITION_PROPERTIES = ("Definition", "DefinitionString", "DefinitionS3Location")
SAM_DEFINITION_PROPERTIES = ("Definition", "DefinitionUri")


def definition_property(machine: Resource) -> str | None:
    """The property that holds the definition. Raises TransformError (PV920) when there are
    several: CloudFormation's StateMachine handler fails such a resource ("only one of
    Definition, DefinitionString, DefinitionS3Location"), SAM refuses Definition with
    DefinitionUri, and the macro cannot tell which one the user meant to pin."""
    properties = machine.properties
    names = SAM_DEFINITION_PROPERTIES if machine.sam else DEFINITION_PROPERTIES
    present = [name for name in names if name in properties]
    if len(present) > 1:
        raise fail(
            "PV920",
            f"Resources.{machine.logical_id}.Properties",
            f"has both {' and '.join(present)}; a state machine takes exactly one of "
            f"{', '.join(names)} (CloudFormation fails the resource otherwise): keep one",
        )
    return present[0] if present else None


def analyse(machine: Resource, inventory: Inventory) -> DefinitionView:
    """The definition's targets; a definition the macro cannot walk as ASL (no ``States``,
    a state that is not an object, duplicate keys, nesting too deep) gives a view with no
    targets and a PV130 note: the macro is not an ASL validator, Step Functions judges it."""
    try:
        return _analyse(machine, inventory)
    except Unwalkable as why:
        view = DefinitionView(machine, "unwalkable", why.path, None)
        view.notes.append(
            (
                "PV130",
                why.path,
                f"not a definition the macro can walk ({why}); the state machine is left "
                "alone and Step Functions judges its definition",
            )
        )
        return view
    except TooDeep as why:
        view = DefinitionView(machine, "unwalkable", (), None)
        where = ("Resources", machine.logical_id, "Properties")
        view.notes.append(
            (
                "PV130",
                where,
                f"not a definition the macro can walk ({why}); the state machine is left alone",
            )
        )
        return view


def _analyse(machine: Resource, inventory: Inventory) -> DefinitionView:
    base: Path = ("Resources", machine.logical_id, "Properties")
    properties = machine.properties
    raw_subs = properties.get("DefinitionSubstitutions")
    substitutions = raw_subs if type(raw_subs) is dict else None
    prop = definition_property(machine)
    if prop is None:
        return DefinitionView(machine, "none", base, substitutions)
    path = (*base, prop)
    value = properties[prop]
    if prop in ("DefinitionS3Location", "DefinitionUri"):
        view = DefinitionView(machine, "s3", path, substitutions)
        view.notes.append(
            (
                "PV105",
                path,
                "the definition lives outside the template; only DefinitionSubstitutions "
                "values that name functions of this template are pinned",
            )
        )
        return view
    if raw_subs is not None and substitutions is None:
        view = DefinitionView(machine, "opaque", path, None)
        view.notes.append(
            (
                "PV105",
                (*base, "DefinitionSubstitutions"),
                "DefinitionSubstitutions is not a mapping; the definition cannot be read",
            )
        )
        return view
    if prop == "Definition":
        if type(value) is not dict:
            return _opaque(machine, path, substitutions, "Definition is not an object")
        view = DefinitionView(machine, "object", path, substitutions)
        _ObjectScan(view, inventory).run(value)
        return view
    try:
        pieces = render(value, path, standalone=False)
    except TooDeep:
        raise
    except Opaque:
        why = (
            "DefinitionString is built by an intrinsic function"
            if intrinsic_name(value)
            else f"DefinitionString is {describe(value)}, not a string"
        )
        return _opaque(machine, path, substitutions, why)
    view = DefinitionView(machine, "string", path, substitutions)
    _TextScan(view, inventory, pieces).run()
    return view


def _opaque(
    machine: Resource, path: Path, substitutions: dict[str, Any] | None, why: str
) -> DefinitionView:
    view = DefinitionView(machine, "opaque", path, substitutions)
    view.notes.append(("PV105", path, f"{why}; its Tasks cannot be seen"))
    return view


def _invalid_json(path: Path, message: str) -> TransformError:
    return TransformError([Diagnostic.at("PV904", path, message)])


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when it repeats a key: json.loads would keep the last one
    silently, and a Task hidden behind it would stay unpinned."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _function_name_field(
    state_path: Path, state: dict[str, Any]
) -> tuple[Path, Any, str | None, str | None]:
    """``(path, value, dynamic_reason, qualifier)`` of the field the integration names its
    target in (``FunctionName`` for Lambda: targets.TargetKind.name_field)."""
    kind = LAMBDA
    field = kind.name_field
    for key in ("Parameters", "Arguments"):
        if key not in state:
            continue
        args = state[key]
        where = (*state_path, key)
        if is_jsonata(args):
            return where, None, f"{key} is a JSONata expression", None
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
    return state_path, None, f"the {kind.name}:invoke integration names no {field}", None


# --- scanning ------------------------------------------------------------------------


class _Scan:
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
        if resolution.kind == "integration":
            path, value, dynamic, qualifier = _function_name_field(state_path, state)
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

    def add_target(
        self, path: Path, field_name: str, value: Any, items: list[Item], resolution: Resolution
    ) -> None:
        if resolution.kind == "other":
            return
        pieces: list[tuple[Piece, int, int]] = []
        note = ""
        if resolution.kind in ("function", "conditional"):
            pieces, note = self.content(path, value)
        self.view.targets.append(
            Target(path, field_name, pieces, items, resolution, note, self.credentials)
        )

    def note(self, code: str, path: Path, message: str) -> None:
        self.view.notes.append((code, path, message))


class _ObjectScan(_Scan):
    """A ``Definition`` object: values are strings or intrinsics in place."""

    def run(self, definition: dict[str, Any]) -> None:
        keys = frozenset(self.view.substitutions or ())
        # Pieces of every string with a placeholder, by path: target values reuse them, so
        # each placeholder is one piece whether it is counted or rewritten.
        self.by_path: dict[Path, list[Piece]] = {}
        if keys:
            for path, pieces in _object_pieces(definition, self.view.path, keys):
                self.by_path[path] = pieces
                self.view.all_pieces.extend(pieces)
        for state_path, state in iter_tasks(definition, self.view.path):
            self.scan_task(state_path, state)

    def _pieces(self, path: Path, value: Any) -> list[Piece]:
        cached = self.by_path.get(path)
        if cached is not None:
            return cached
        keys = frozenset(self.view.substitutions or ())
        return split_substitutions(render_or_slot(value, path), keys)

    def items_of(self, path: Path, value: Any) -> list[Item]:
        return resolve_pieces(self._pieces(path, value), self.inventory, self.view.substitutions)

    def content(self, path: Path, value: Any) -> tuple[list[tuple[Piece, int, int]], str]:
        return [(p, 0, len(p.text)) for p in self._pieces(path, value)], ""

    def raw_value(self, path: Path, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        pieces = self._pieces(path, value)
        return _piece_value(pieces[0], self.view) if len(pieces) == 1 else value


def _object_pieces(
    value: Any, path: Path, keys: frozenset[str]
) -> Iterator[tuple[Path, list[Piece]]]:
    """The pieces of every string and Sub with a placeholder in a Definition object."""
    stack: list[tuple[Any, Path]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if "${" in node:
                yield where, split_substitutions(render(node, where), keys)
        elif type(node) is dict:
            if "Fn::Sub" in node and len(node) == 1:
                try:
                    yield where, split_substitutions(render(node, where), keys)
                    continue
                except Opaque:
                    pass
            stack.extend((v, (*where, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(node))


class _TextScan(_Scan):
    """A DefinitionString: rendered to a skeleton, parsed once, mapped back to pieces."""

    def __init__(self, view: DefinitionView, inventory: Inventory, pieces: list[Piece]) -> None:
        super().__init__(view, inventory)
        keys = frozenset(view.substitutions or ())
        self.pieces = split_substitutions(pieces, keys)
        # Only placeholders are ever counted: keep the holes, not every line of text.
        view.all_pieces = [p for p in self.pieces if p.is_hole]
        self.holes: list[int] = []  # hole number -> piece index
        self.resolved: dict[int, list[Item]] = {}
        self.tree: Any = None
        # Literal values located so far: where they may be, how many Tasks name them.
        self.literal_candidates: dict[tuple[str, str], list[int]] = {}
        self.literal_paths: dict[tuple[str, str], list[Path]] | None = None
        self.starts: list[int] = []  # skeleton offset of each piece
        self.ends: list[int] = []
        self.skeleton = ""

    def build(self, bare: frozenset[int]) -> str:
        parts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        holes: list[int] = []
        offset = 0
        for index, piece in enumerate(self.pieces):
            if piece.is_hole:
                number = len(holes)
                holes.append(index)
                if number in bare:
                    text = f'"{BARE}{number}{CLOSE}"'
                    starts.append(offset + 1)
                    ends.append(offset + len(text) - 1)
                else:
                    text = f"{OPEN}{number}{CLOSE}"
                    starts.append(offset)
                    ends.append(offset + len(text))
            else:
                text = piece.text
                starts.append(offset)
                ends.append(offset + len(text))
            parts.append(text)
            offset += len(text)
        self.holes, self.starts, self.ends = holes, starts, ends
        self.skeleton = "".join(parts)
        return self.skeleton

    def run(self) -> None:
        path = self.view.path
        skeleton = self.build(frozenset())
        holes = len(self.holes)
        if (
            skeleton.count(OPEN) != holes
            or skeleton.count(CLOSE) != holes
            or BARE in skeleton
            or _RESERVED_ESCAPE.search(skeleton)
        ):
            raise Unwalkable(
                path,
                "the definition contains the characters U+E000 to U+E002, which the "
                "macro reserves; remove them from the definition",
            )
        try:
            tree = self._loads(skeleton)
        except json.JSONDecodeError:
            # Placeholders outside JSON strings ("TimeoutSeconds": ${T}): quote them.
            bare = frozenset(
                int(m.group(0)[1:-1])
                for m in _JSON_STRING_OR_SENTINEL.finditer(skeleton)
                if m.group(0)[0] == OPEN
            )
            skeleton = self.build(bare)
            try:
                tree = self._loads(skeleton)
            except json.JSONDecodeError as error:
                raise _invalid_json(
                    path,
                    f"not valid JSON after substitution at line {error.lineno} column "
                    f"{error.colno}: {error.msg}",
                ) from None
        self.tree = tree
        for state_path, state in iter_tasks(tree, path):
            self.scan_task(state_path, state)
        self.tree = None

    def _loads(self, skeleton: str) -> Any:
        try:
            return json.loads(skeleton, object_pairs_hook=_unique_keys)
        except RecursionError:
            raise Unwalkable(self.view.path, "its JSON nests too deeply to read") from None
        except _DuplicateKey as key:
            name = _SENTINEL.sub("${...}", str(key))
            raise Unwalkable(
                self.view.path,
                f"the definition has the key {json.dumps(name[:80])} twice in one JSON object; "
                "the macro cannot tell which one Step Functions reads (it rejects duplicate "
                "state names: DUPLICATE_STATE_NAME)",
            ) from None

    def _parts(self, value: Any) -> list[str | int] | None:
        """The value as literal strings and hole numbers, or None if it is not a string."""
        if not isinstance(value, str) or not value:
            return None if not isinstance(value, str) else [""]
        first = value[0]
        if first in (BARE, OPEN) and value[-1] == CLOSE and value.find(OPEN, 1) < 0:
            return [int(value[1:-1])]  # one placeholder and nothing else: the common case
        split = _SENTINEL.split(value)
        return [int(p) if i % 2 else p for i, p in enumerate(split)]

    def _hole_items(self, number: int) -> list[Item]:
        """What hole ``number`` stands for; resolved once however often a Task names it."""
        items = self.resolved.get(number)
        if items is None:
            piece = self.pieces[self.holes[number]]
            items = resolve_pieces([piece], self.inventory, self.view.substitutions)
            self.resolved[number] = items
        return items

    def raw_value(self, path: Path, value: Any) -> Any:
        parts = self._parts(value)
        if parts is not None and len(parts) == 1 and isinstance(parts[0], int):
            return _piece_value(self.pieces[self.holes[parts[0]]], self.view)
        return value if parts is not None and not any(isinstance(p, int) for p in parts) else None

    def items_of(self, path: Path, value: Any) -> list[Item]:
        parts = self._parts(value)
        if parts is None:
            return []
        if len(parts) == 1 and isinstance(parts[0], int):
            return self._hole_items(parts[0])
        items: list[Item] = []
        for part in parts:
            if isinstance(part, int):
                items.extend(self._hole_items(part))
            elif part:
                items.append(part)
        return items

    def content(self, path: Path, value: Any) -> tuple[list[tuple[Piece, int, int]], str]:
        parts = self._parts(value)
        if parts is not None and len(parts) == 1 and isinstance(parts[0], int):
            piece = self.pieces[self.holes[parts[0]]]
            return [(piece, 0, len(piece.text))], ""
        span = self._span(path, value)
        if isinstance(span, str):
            return [], span
        return self._pieces_in(*span), ""

    def _span(self, path: Path, value: Any) -> tuple[int, int] | str:
        """Where the value's content sits in the skeleton."""
        parts = self._parts(value)
        if parts is None:
            return "not a string"
        numbers = [p for p in parts if isinstance(p, int)]
        if not numbers:
            return self._find_literal(path, str(value))
        first = self.holes[numbers[0]]
        last = self.holes[numbers[-1]]
        if len(parts) == 1:  # a bare placeholder
            return self.starts[first], self.ends[first]
        texts = [p for p in parts if isinstance(p, str)]
        start = self.starts[first] - len(texts[0])
        end = self.ends[last] + len(texts[-1])
        # The literal text around and between the holes must be in the skeleton verbatim
        # (JSON escapes in an ARN would make the offsets differ).
        skeleton = self.skeleton
        rebuilt = "".join(f"{OPEN}{p}{CLOSE}" if isinstance(p, int) else p for p in parts)
        if start < 1 or skeleton[start:end] != rebuilt or skeleton[start - 1] != '"':
            return "the value uses JSON escapes"
        return start, end

    def _find_literal(self, path: Path, value: str) -> tuple[int, int] | str:
        """A literal value's offsets. Occurrences right after its key (``"Resource": ``) are
        the candidates. Targets are met in document order, so the k-th Task naming a value
        takes its k-th candidate, as long as there are exactly as many candidates as Tasks
        naming it (counted once per definition); otherwise each candidate is probed by
        parsing the text with it replaced, and the one that lands at ``path`` wins."""
        needle = json.dumps(value, ensure_ascii=False)
        key = str(path[-1])
        candidates = self._candidates(needle, key)
        naming = self._literal_targets().get((value, key), [])
        if len(candidates) == len(naming) and path in naming:
            position = candidates[naming.index(path)]
            return position + 1, position + len(needle) - 1
        return self._probe(path, needle, candidates)

    def _candidates(self, needle: str, key: str) -> list[int]:
        found = self.literal_candidates.get((needle, key))
        if found is None:
            skeleton = self.skeleton
            before = re.compile(r'"' + re.escape(key) + r'"\s*:\s*$')
            found = []
            position = skeleton.find(needle)
            while position >= 0:
                if before.search(skeleton, max(0, position - 200), position):
                    found.append(position)
                position = skeleton.find(needle, position + 1)
            self.literal_candidates[(needle, key)] = found
        return found

    def _literal_targets(self) -> dict[tuple[str, str], list[Path]]:
        """The Tasks naming each literal value, by key, in document order (every Task, target
        or not, so that the k-th of them is the k-th occurrence): one more walk of the tree."""
        if self.literal_paths is None:
            table: dict[tuple[str, str], list[Path]] = {}
            for state_path, state in iter_tasks(self.tree, self.view.path):
                for field_path, field_name, value in _literal_fields(state_path, state):
                    table.setdefault((value, field_name), []).append(field_path)
            self.literal_paths = table
        return self.literal_paths

    def _probe(self, path: Path, needle: str, candidates: list[int]) -> tuple[int, int] | str:
        skeleton = self.skeleton
        relative = path[len(self.view.path) :]
        for position in candidates:
            probe = skeleton[:position] + '"\ue003"' + skeleton[position + len(needle) :]
            try:
                if _get(json.loads(probe), relative) == "\ue003":
                    return position + 1, position + len(needle) - 1
            except (json.JSONDecodeError, RecursionError, KeyError, IndexError, TypeError):
                pass
        return "the literal could not be located in the text"

    def _pieces_in(self, start: int, end: int) -> list[tuple[Piece, int, int]]:
        out: list[tuple[Piece, int, int]] = []
        index = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while index < len(self.pieces) and self.starts[index] < end:
            lo = max(start, self.starts[index])
            hi = min(end, self.ends[index])
            if hi > lo:
                offset = self.starts[index]
                out.append((self.pieces[index], lo - offset, hi - offset))
            index += 1
        return out


def _piece_value(piece: Piece, view: DefinitionView) -> Any:
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


def _literal_fields(state_path: Path, state: dict[str, Any]) -> Iterator[tuple[Path, str, str]]:
    """(path, key, value) of a Task's Resource and its target's name field (FunctionName)
    when they are plain text."""
    field = LAMBDA.name_field
    resource = state.get("Resource")
    if isinstance(resource, str) and OPEN not in resource and BARE not in resource:
        yield (*state_path, "Resource"), "Resource", resource
    for key in ("Parameters", "Arguments"):
        args = state.get(key)
        name = args.get(field) if type(args) is dict else None
        if isinstance(name, str) and OPEN not in name and BARE not in name:
            yield (*state_path, key, field), field, name


def _get(tree: Any, path: Path) -> Any:
    node = tree
    for key in path:
        node = node[key]
    return node

"""The scan of a text definition (``DefinitionString`` as a string, ``Fn::Sub`` or
``Fn::Join``): its pieces are rendered into a *skeleton* string, each hole (an intrinsic, a
placeholder) a sentinel, that ``json.loads`` parses in C. Targets are found in the parsed
tree and mapped back to the pieces they came from, so that a rewrite edits the source in
place."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from typing import Any

from .asl import Unwalkable, iter_tasks
from .inventory import Inventory
from .pieces import (
    Path,
    Piece,
    split_substitutions,
)
from .references import Item, resolve_pieces
from .report import Diagnostic, TransformError
from .scan import DefinitionView, Scan, piece_value
from .targets import kinds

OPEN, CLOSE, BARE = "\ue000", "\ue001", "\ue002"
_SENTINEL = re.compile("\ue000([0-9]+)\ue001")
_RESERVED_ESCAPE = re.compile(r"\\u[eE]00[0-2]")
# Only for a definition that does not parse as JSON: compiled on first use (re's cache).
_JSON_STRING_OR_SENTINEL = r'"(?:[^"\\]|\\.)*"|\ue000[0-9]+\ue001'


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


class TextScan(Scan):
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
                for m in re.finditer(_JSON_STRING_OR_SENTINEL, skeleton, re.DOTALL)
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
            return piece_value(self.pieces[self.holes[parts[0]]], self.view)
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


def _literal_fields(state_path: Path, state: dict[str, Any]) -> Iterator[tuple[Path, str, str]]:
    """(path, key, value) of a Task's Resource and its target's name field (FunctionName)
    when they are plain text."""
    resource = state.get("Resource")
    if isinstance(resource, str) and OPEN not in resource and BARE not in resource:
        yield (*state_path, "Resource"), "Resource", resource
    for key in ("Parameters", "Arguments"):
        args = state.get(key)
        if type(args) is not dict:
            continue
        for field in _name_fields():
            name = args.get(field)
            if isinstance(name, str) and OPEN not in name and BARE not in name:
                yield (*state_path, key, field), field, name


def _name_fields() -> tuple[str, ...]:
    """Every kind's target field (FunctionName, StateMachineArn, ...): targets.py."""
    return tuple(kind.name_field for kind in kinds())


def _get(tree: Any, path: Path) -> Any:
    node = tree
    for key in path:
        node = node[key]
    return node

"""The scan of a ``Definition`` object: values are strings or intrinsics in place."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .asl import iter_tasks
from .pieces import (
    Opaque,
    Path,
    Piece,
    render,
    render_or_slot,
    split_substitutions,
)
from .references import Item, resolve_pieces
from .scan import Scan, piece_value


class ObjectScan(Scan):
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
        return piece_value(pieces[0], self.view) if len(pieces) == 1 else value


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
            if len(node) == 1 and ("Fn::Sub" in node or "Fn::Join" in node):
                # Rendered whole, as a Task's value is (ObjectScan._pieces reuses these), so
                # that a placeholder in a Join part is one piece, counted once (a Join part
                # counted both alone and in its Join kept a key the rewrite had left unused).
                try:
                    pieces = split_substitutions(render(node, where), keys)
                except Opaque:
                    pass
                else:
                    yield where, pieces
                    stack.extend(_inside(pieces))
                    continue
            stack.extend((v, (*where, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(node))


def _inside(pieces: list[Piece]) -> Iterator[tuple[Any, Path]]:
    """What rendering left unread: intrinsics standing in a Join (``value`` pieces) and the
    variables of each Fn::Sub, with their paths; their strings are searched on their own."""
    seen: set[int] = set()
    for piece in pieces:
        container = piece.container
        if piece.kind == "value" and container.kind == "join":
            yield piece.value, (*container.path, piece.index)
        if container.kind == "sub" and id(container) not in seen:
            seen.add(id(container))
            base = (*container.path[:-1], 1)
            yield from ((v, (*base, k)) for k, v in container.variables.items())

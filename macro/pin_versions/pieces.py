"""A template value seen as text: literal pieces and holes, each knowing where it lives.

A ``DefinitionString`` such as ``{"Fn::Join": ["", ["{\\"Resource\\":\\"", {"Fn::GetAtt":
["F", "Arn"]}, "\\"}"]]}`` renders to the pieces ``text '{"Resource":"'``, ``hole GetAtt``,
``text '"}'``. Each piece records its *container* (the plain string, Sub string or Join list
it came from, with its template path) and its offsets there, so that a rewrite can edit the
source in place and leave every other byte alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .intrinsics import join_args, parse_sub, sub_args, sub_syntax_error
from .report import fail

Path = tuple[str | int, ...]

_NO_VARIABLES: Mapping[str, Any] = MappingProxyType({})

# Nesting deeper than this is not something people write; treat it as opaque.
MAX_NESTING = 32


class Container:
    """Where pieces live.

    ``kind`` is one of:
    - ``"plain"``: a DefinitionString that is a plain string;
    - ``"value"``: a string standing alone as a value (in a Definition object, a Sub
      variable, a substitution); it may be replaced wholesale by an intrinsic;
    - ``"sub"``: the template string of an ``Fn::Sub`` at ``path``;
    - ``"join"``: the parts list of an ``Fn::Join`` at ``path``;
    - ``"slot"``: any other value at ``path``, replaceable only as a whole.
    """

    __slots__ = ("delimiter", "kind", "path", "value", "variables")

    def __init__(
        self,
        kind: str,
        path: Path,
        value: Any,
        delimiter: str = "",
        variables: Mapping[str, Any] = _NO_VARIABLES,
    ) -> None:
        self.kind = kind
        self.path = path
        self.value = value
        self.delimiter = delimiter
        self.variables = variables


class Piece:
    """One piece of rendered text.

    ``kind``: ``"text"`` (literal, rendered = source), ``"escape"`` (a Sub ``${!`` escape,
    rendered differently from its source), ``"delim"`` (a Join delimiter), ``"value"`` (an
    intrinsic standing in a Join list or a slot), ``"subref"`` (a Sub placeholder ``${name}``),
    ``"subst"`` (a DefinitionSubstitutions placeholder ``${name}``).
    ``start``/``end`` are offsets in the container's string (Sub, plain, value) or in the
    Join element ``index``.
    """

    __slots__ = ("container", "end", "index", "kind", "name", "start", "text", "value")

    def __init__(
        self,
        container: Container,
        kind: str,
        text: str,  # rendered literal text; for holes, the source text or ""
        start: int,
        end: int,
        index: int = -1,
        name: str = "",  # placeholder name for subref and subst
        value: Any = None,  # the intrinsic for "value" pieces
    ) -> None:
        self.container = container
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end
        self.index = index
        self.name = name
        self.value = value

    @property
    def is_hole(self) -> bool:
        return self.kind in ("value", "subref", "subst")


class Opaque(Exception):
    """The value cannot be seen as text (an Fn::If, a Join over a parameter list, ...)."""


class BadSub(Opaque):
    """An Fn::Sub string CloudFormation would refuse, read where no path is known."""


class TooDeep(Opaque):
    """Fn::Sub and Fn::Join nested deeper than MAX_NESTING: said as such, never read as a
    value that names no function."""


def render(value: Any, path: Path, standalone: bool = True, depth: int = 0) -> list[Piece]:
    """The pieces of ``value``.

    ``standalone`` strings (values of their own) get a ``"value"`` container; a
    DefinitionString that is a plain string gets ``"plain"``. Raises Opaque when the value
    is neither a string, an ``Fn::Sub`` nor an ``Fn::Join`` that can be rendered, TooDeep
    when they nest deeper than MAX_NESTING, and TransformError (PV921) for an ``Fn::Sub``
    string CloudFormation would refuse (``path`` empty: Opaque).
    """
    if depth > MAX_NESTING:
        raise TooDeep(f"Fn::Join and Fn::Sub are nested more than {MAX_NESTING} deep")
    if isinstance(value, str):
        container = Container("value" if standalone else "plain", path, value)
        return [Piece(container, "text", value, 0, len(value))] if value else []
    sub = sub_args(value)
    if sub is not None:
        return _render_sub(value, path, sub[0], sub[1])
    join = join_args(value)
    if join is not None:
        return _render_join(value, path, join[0], join[1], depth)
    raise Opaque("not text")


def render_or_slot(value: Any, path: Path, depth: int = 0) -> list[Piece]:
    """Like render, but any other value becomes one hole in a slot of its own."""
    if isinstance(value, str) or sub_args(value) is not None or join_args(value) is not None:
        try:
            return render(value, path, True, depth)
        except TooDeep:
            raise
        except Opaque:
            pass
    container = Container("slot", path, value)
    return [Piece(container, "value", "", 0, 1, value=value)]


def _render_sub(value: Any, path: Path, template: str, variables: dict[str, Any]) -> list[Piece]:
    # The path of the string itself: Fn::Sub, or Fn::Sub[0] in the two-argument form.
    two_args = isinstance(value["Fn::Sub"], list)
    string_path = (*path, "Fn::Sub", 0) if two_args else (*path, "Fn::Sub")
    problem = sub_syntax_error(template)
    if problem is not None:
        if not path:
            raise BadSub(problem)
        raise fail("PV921", string_path, problem)
    container = Container("sub", string_path, template, variables=variables)
    pieces: list[Piece] = []
    for token in parse_sub(template):
        if token.kind == "ref":
            pieces.append(
                Piece(
                    container,
                    "subref",
                    template[token.start : token.end],
                    token.start,
                    token.end,
                    name=token.text,
                )
            )
        else:
            pieces.append(Piece(container, token.kind, token.text, token.start, token.end))
    return pieces


def _render_join(
    value: Any, path: Path, delimiter: str, parts: list[Any], depth: int
) -> list[Piece]:
    container = Container("join", (*path, "Fn::Join", 1), parts, delimiter=delimiter)
    pieces: list[Piece] = []
    before = -len(delimiter)
    for index, part in enumerate(parts):
        if isinstance(part, str):
            # The delimiter in front of a part travels with it, at negative offsets that no
            # edit may touch: one piece per line of a SAM-made definition, not two.
            if index and delimiter:
                pieces.append(Piece(container, "text", delimiter + part, before, len(part), index))
            elif part:
                pieces.append(Piece(container, "text", part, 0, len(part), index=index))
            continue
        if index and delimiter:
            pieces.append(Piece(container, "delim", delimiter, 0, 0, index=index))
        if sub_args(part) is not None or join_args(part) is not None:
            try:
                pieces.extend(render(part, (*container.path, index), True, depth + 1))
                continue
            except TooDeep:
                raise
            except Opaque:
                pass
        pieces.append(Piece(container, "value", "", 0, 1, index=index, value=part))
    return pieces


# A pattern string, compiled on first use through re's own cache: a request that never
# needs it does not pay for its compile at cold import (docs/performance.md, issue 13).
_PLACEHOLDER = r"\$\{([A-Za-z0-9_.:\-]+)\}"


def split_substitutions(pieces: list[Piece], keys: frozenset[str] | set[str]) -> list[Piece]:
    """Turn ``${Key}`` placeholders of DefinitionSubstitutions into holes of their own.

    They sit in literal text (plain strings, Join parts) or, inside a Sub string, behind an
    escape (``${!Key}``, rendered ``${Key}``).
    """
    if not keys:
        return pieces
    out: list[Piece] = []
    for piece in pieces:
        if piece.kind == "escape":
            match = re.fullmatch(_PLACEHOLDER, piece.text)
            if match and match.group(1) in keys:
                out.append(
                    Piece(
                        piece.container,
                        "subst",
                        piece.text,
                        piece.start,
                        piece.end,
                        piece.index,
                        name=match.group(1),
                    )
                )
            else:
                out.append(piece)
            continue
        if piece.kind != "text" or "${" not in piece.text:
            out.append(piece)
            continue
        pos = 0
        text = piece.text
        for match in re.finditer(_PLACEHOLDER, text):
            if match.group(1) not in keys:
                continue
            start, end = match.span()
            if start > pos:
                out.append(_slice(piece, pos, start))
            out.append(
                Piece(
                    piece.container,
                    "subst",
                    match.group(0),
                    piece.start + start,
                    piece.start + end,
                    piece.index,
                    name=match.group(1),
                )
            )
            pos = end
        if pos == 0:
            out.append(piece)
        elif pos < len(text):
            out.append(_slice(piece, pos, len(text)))
    return out


def _slice(piece: Piece, lo: int, hi: int) -> Piece:
    return Piece(
        piece.container, "text", piece.text[lo:hi], piece.start + lo, piece.start + hi, piece.index
    )

"""The one walk of Amazon States Language: every Task state, and what JSONata looks like.

The macro (definition.py) and prune both walk definitions with this module, so they agree on
which states are Tasks and which values are JSONata expressions.

- States live in ``States``; a ``Parallel`` state's ``Branches`` and a ``Map`` state's
  ``ItemProcessor`` (or its older name ``Iterator``) hold states of their own
  (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html,
  .../state-parallel.html, .../state-map-inline.html).
- A JSONata expression is a string ``"{% <expression> %}"``
  (https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .intrinsics import intrinsic_name

# A template or definition path: keys and list indexes, formatted only at the edge.
Path = tuple[str | int, ...]


class Unwalkable(Exception):
    """The definition is not ASL that can be walked: ``path`` is where, ``message`` why."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def is_jsonata(value: Any) -> bool:
    """Whether ``value`` is a JSONata expression: a string in ``{% ... %}`` (surrounding
    whitespace allowed). Such a value is computed at run time, so nothing is named by it."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.startswith("{%") and text.endswith("%}")


def iter_tasks(
    definition: Any, path: Path = (), *, strict: bool = True
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every Task state of ``definition`` (a parsed ASL object) as ``(path, state)``, in
    document order: ``States``, Parallel ``Branches``, Map ``ItemProcessor`` and
    ``Iterator``, at any depth (no recursion: the depth is the user's). ``path`` is prefixed
    to every path yielded, e.g. ``(*path, "States", "A", "Branches", 0, "States", "B")``.

    ``strict`` (the macro): raises Unwalkable where the definition is not walkable ASL (no
    ``States`` object, a state that is not an object, ``Branches`` that is not a list).
    ``strict=False`` (prune, reading deployed definitions): such parts are skipped.
    """
    stack: list[tuple[Iterator[tuple[Any, Any]], Path]] = []

    def push(container: Any, where: Path) -> None:
        chosen = intrinsic_name(container)
        if chosen is not None:
            if not strict:
                return
            raise Unwalkable(where, f"it is an {chosen}, not an object with States")
        states = container.get("States") if type(container) is dict else None
        if type(states) is not dict:
            if not strict:
                return
            if type(container) is not dict:
                raise Unwalkable(where, "it is not an object with States")
            raise Unwalkable(
                where, "it has no States object" if states is None else "States is not an object"
            )
        stack.append((iter(states.items()), (*where, "States")))

    push(definition, path)
    while stack:
        states_iter, where = stack[-1]
        entry = next(states_iter, None)
        if entry is None:
            stack.pop()
            continue
        name, state = entry
        state_path = (*where, str(name))
        if type(state) is not dict:
            if strict:
                raise Unwalkable(state_path, "the state is not an object")
            continue
        # A state (or its Type) that CloudFormation chooses with an intrinsic may be a Task:
        # passing over it as a state of no known type would leave that Task silently unpinned.
        chosen = intrinsic_name(state) or intrinsic_name(state.get("Type"))
        if chosen is not None:
            if strict:
                where_chosen = state_path if intrinsic_name(state) else (*state_path, "Type")
                raise Unwalkable(
                    where_chosen, f"it is an {chosen}, so the macro cannot tell its type"
                )
            continue
        kind = state.get("Type")
        if kind == "Task":
            yield state_path, state
        elif kind == "Parallel":
            branches = state.get("Branches")
            if not isinstance(branches, list):
                if strict:
                    raise Unwalkable((*state_path, "Branches"), "Branches is not a list")
                continue
            for index in reversed(range(len(branches))):
                push(branches[index], (*state_path, "Branches", index))
        elif kind == "Map":
            for key in ("ItemProcessor", "Iterator"):
                if key in state:
                    push(state[key], (*state_path, key))


def mentions(value: Any, needle: str) -> bool:
    """Does any string in ``value`` (a template value; keys are not looked at) contain
    ``needle``? A cheap test before a second read of a definition (plan/kinds.py)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if needle in node:
                return True
        elif type(node) is dict:
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False

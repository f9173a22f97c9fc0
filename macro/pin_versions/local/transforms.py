"""The one reader of a template's ``Transform`` key, shared by the command line (``transform``,
``explain``, ``plan``, ``check``) and the demo's emulator.

CloudFormation takes ``Transform`` as one macro name or a list of names and runs them in the
order given (AWS CloudFormation User Guide, *CloudFormation template Transform section*).
Anything else is refused: the command line exits 2, the emulator answers a template format
error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["Transforms", "declared_transforms"]


class Transforms(NamedTuple):
    """``names``: the transform names in order (the string items of a malformed list, so a
    caller that only asks "is PinVersions listed?" can still answer); ``valid``: False when
    the key is neither a name nor a list of names."""

    names: list[str]
    valid: bool


def declared_transforms(template: Mapping[str, Any]) -> Transforms:
    """The template's ``Transform`` key read as CloudFormation reads it; no key is an empty,
    valid list."""
    value = template.get("Transform")
    if value is None:
        return Transforms([], True)
    if isinstance(value, str):
        return Transforms([value], True)
    if isinstance(value, list):
        names = [name for name in value if isinstance(name, str)]
        return Transforms(names, len(names) == len(value))
    return Transforms([], False)

"""CloudFormation templates in and out: JSON, and YAML with short-form intrinsic tags.

One load, :func:`read`: the data, what the reader accepted but a user should hear (duplicate
keys), and the 1-based line of every mapping key and sequence item by path. A YAML template
gives all three in one pass (``reader``: a PyYAML node tree built into plain data here, so
tags, keys, duplicates, aliases and lines are decided in one place). A JSON template is read
by Python's JSON reader, strictly (``json_text``), and its lines, which that reader does not
keep, come from the YAML reader only when asked (JSON is YAML for line numbers). ``load``,
``load_with_warnings`` and ``load_with_lines`` are views of that one load. Output is in
``dump``. docs/design.md ("Reading templates on the command line") says why this is our own
reader and not cfn-lint's decoder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from .dump import dump_json, dump_yaml
from .json_text import _try_json
from .reader import MAX_ALIAS_REFERENCES, JsonPath, TemplateLoadError, _parse_yaml

__all__ = [
    "MAX_ALIAS_REFERENCES",
    "JsonPath",
    "Loaded",
    "TemplateLoadError",
    "detect_format",
    "dump_json",
    "dump_yaml",
    "load",
    "load_file",
    "load_with_lines",
    "load_with_warnings",
    "read",
]


@dataclass(slots=True)
class Loaded:
    """One template as read: ``data`` (plain JSON-like data, short-form tags in long form),
    ``format`` (``"json"`` or ``"yaml"``), ``warnings`` (one sentence each, with the line),
    and ``lines`` (path -> 1-based line), or None when not computed (a JSON template read
    without ``lines=True``)."""

    data: Any
    format: Literal["json", "yaml"]
    warnings: list[str] = field(default_factory=list)
    lines: dict[JsonPath, int] | None = None


def read(text: str, filename: str = "<template>", *, lines: bool = False) -> Loaded:
    """Read a JSON or YAML template (a leading BOM is ignored). ``lines=True`` asks for the
    lines of a JSON template too (a second, YAML, pass over the text: best effort, ``{}`` when
    that pass fails); a YAML template always has them. Raises TemplateLoadError with the file,
    line and column of the problem."""
    text = text.removeprefix("\ufeff")
    is_json, data = _try_json(text, filename)
    if not is_json:
        warnings: list[str] = []
        data, found = _parse_yaml(text, filename, warnings)
        return Loaded(data, "yaml", warnings, found)
    loaded = Loaded(data, "json")
    if lines:
        # A tab in valid JSON is always whitespace, which PyYAML refuses: make it a space
        # (columns may shift, lines do not).
        try:
            loaded.lines = _parse_yaml(text.replace("\t", " "), filename)[1]
        except TemplateLoadError:
            loaded.lines = {}
    return loaded


def detect_format(text: str) -> Literal["json", "yaml"]:
    """Return "json" when the text is a JSON object, else "yaml"."""
    return "json" if _try_json(text.removeprefix("\ufeff"))[0] else "yaml"


def load(text: str, filename: str = "<template>") -> Any:
    """Parse a JSON or YAML template into plain data; short-form tags become long form."""
    return read(text, filename).data


def load_with_warnings(text: str, filename: str = "<template>") -> tuple[Any, list[str]]:
    """Like load, plus what the reader accepted but a user should hear (duplicate keys)."""
    loaded = read(text, filename)
    return loaded.data, loaded.warnings


def load_with_lines(text: str, filename: str = "<template>") -> tuple[Any, dict[JsonPath, int]]:
    """Like load, plus the 1-based line of every mapping key and sequence item, by path."""
    loaded = read(text, filename, lines=True)
    return loaded.data, loaded.lines or {}


def load_file(path: str | os.PathLike[str]) -> Any:
    """Read a UTF-8 template (BOM or not) and load it."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except OSError as exc:
        raise TemplateLoadError(f"{os.fspath(path)}: cannot read file: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TemplateLoadError(
            f"{os.fspath(path)}: not UTF-8 (offset {exc.start}: {exc.reason})"
        ) from exc
    return load(text, os.fspath(path))

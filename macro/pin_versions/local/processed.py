"""A template as the command line processed it: its line marks (``LineMap``), each
``PinVersions`` step's report (``PinStep``), the result (``Processed``), and the text pieces
both reports (``explain`` and ``plan``) use."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..prune.render import table
from ..report import Diagnostic, Path, Report, format_path
from .packaging import Artifact
from .yaml_io import JsonPath, TemplateLoadError, load_with_lines

IAM_POLICY = "AWS::IAM::Policy"

# The grant PinVersions writes: !Sub ${F.Arn}:* (TargetKind.grant).
_EVERY_VERSION = re.compile(r"\$\{([A-Za-z0-9]+)\.Arn\}:\*")


class LineMap:
    """Template path -> line in the file the user wrote. ``lines`` are the ones the template's
    one read gave (a YAML template always has them); without them (a JSON template) the file
    is read again for its lines on first use only: a big JSON template costs a second parse,
    and most commands never ask.

    Paths are keys and indexes (``Diagnostic.parts``, ``Pin.parts``, a check's ``Finding``),
    matched as tuples; formatted text is only for a diagnostic the core gave as text (no
    ``parts``), and is matched against the formatted form of each known path, never split
    back into keys."""

    def __init__(
        self, text: str | None, filename: str, lines: dict[JsonPath, int] | None = None
    ) -> None:
        self._text = text
        self._filename = filename
        self._known = lines
        self._index: dict[JsonPath, int] | None = None
        self._formatted: dict[str, JsonPath] | None = None

    def _lines(self) -> dict[JsonPath, int]:
        if self._index is None:
            lines: dict[JsonPath, int] = self._known or {}
            if self._known is None and self._text is not None:
                # Line numbers are a courtesy: the template did load once already.
                with contextlib.suppress(TemplateLoadError):
                    lines = load_with_lines(self._text, self._filename)[1]
            self._index = dict(lines)
        return self._index

    def line_of(self, path: Path | str) -> int | None:
        """The line of the longest prefix of ``path`` the file has.

        A DefinitionString is one value: its Tasks get the line where it starts. A prefix
        shallower than a resource (``Resources`` alone) would point at the wrong thing, for
        example at a resource only the SAM transform created, so it gives no line. SAM turns
        a state machine's Definition object into a DefinitionString with the same states:
        after SAM, the object in the file still has the deeper line.
        """
        if isinstance(path, str):
            best = self._match_text(path)
            marker = ".Properties.DefinitionString"
            alias = (
                self._match_text(path.replace(marker, ".Properties.Definition", 1))
                if marker in path
                else None
            )
        else:
            best = self._match(path)
            sam = path[:1] == ("Resources",) and path[2:4] == ("Properties", "DefinitionString")
            alias = self._match((*path[:3], "Definition", *path[4:])) if sam else None
        if alias is not None and (best is None or alias[1] > best[1]):
            best = alias
        return best[0] if best is not None else None

    def _match(self, parts: Path) -> tuple[int, int] | None:
        """(line, depth) of the longest prefix of ``parts`` the file has; a prefix shallower
        than a resource counts only when it is the whole path."""
        index = self._lines()
        for depth in range(len(parts), 0, -1):
            line = index.get(parts[:depth])
            if line is not None:
                return (line, depth) if depth >= 2 or depth == len(parts) else None
        return None

    def _match_text(self, text: str) -> tuple[int, int] | None:
        """``_match`` for a formatted path (a diagnostic the core gave as text): the longest
        known path whose formatted form is ``text`` or a prefix of it."""
        if self._formatted is None:
            self._formatted = {format_path(p): p for p in self._lines()}
        ends = [i for i, char in enumerate(text) if char in ".["]
        for end in [len(text), *reversed(ends)]:
            found = self._formatted.get(text[:end])
            if found is not None:
                depth = len(found)
                if depth >= 2 or end == len(text):
                    return self._lines()[found], depth
                return None
        return None

    def locate(self, source: str, path: Path | str) -> str:
        """``file:line`` (or ``file``) for messages about ``path``."""
        line = self.line_of(path) if path else None
        return f"{source}:{line}" if line is not None else source


@dataclass(frozen=True, slots=True)
class PinStep:
    """PinVersions' part of the pipeline: the template it received, what it returned, and
    its report."""

    before: dict[str, Any]
    after: dict[str, Any]
    report: Report


@dataclass(slots=True)
class Processed:
    """One template file through the pipeline, as the command line ran it."""

    source: str  # the file name as the user gave it
    transforms: tuple[str, ...]  # in the order they ran
    template: dict[str, Any]  # the processed template: what CloudFormation would deploy
    pin: PinStep | None  # None when PinVersions did not run
    lines: LineMap
    region: str
    account: str
    pin_added: bool = False  # PinVersions ran because of --pin, not the Transform list
    packaged: dict[str, Artifact] = field(default_factory=dict)  # by template path
    input_format: Literal["json", "yaml"] = "yaml"
    parameters: dict[str, Any] = field(default_factory=dict)  # the values the macro got


# --- shared pieces --------------------------------------------------------------------------


def _table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    return table(rows, indent)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _names(items: Iterable[str]) -> str:
    return ", ".join(items) or "none"


def _resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return {}
    return {k: v for k, v in resources.items() if isinstance(v, dict)}


def _properties(resource: dict[str, Any]) -> dict[str, Any]:
    properties = resource.get("Properties")
    return properties if isinstance(properties, dict) else {}


def _function_named(value: Any) -> str:
    """The function an AWS::Lambda::Version's FunctionName names, for display."""
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        target = value.get("Fn::GetAtt")
        if isinstance(target, list) and target and isinstance(target[0], str):
            return target[0]
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def _header(processed: Processed, indent: str = "  ") -> list[str]:
    transforms = [
        f"{name} (added by --pin)"
        if processed.pin_added and name == processed.transforms[-1]
        else name
        for name in processed.transforms
    ]
    out = [f"{indent}transforms: {_names(transforms)}"]
    for path, artifact in processed.packaged.items():
        what = artifact.local or "(no code named)"
        why = "" if artifact.found else ", a placeholder: not found"
        out.append(f"{indent}packaged: {path}: {what} -> sha256 {artifact.sha256[:12]}{why}")
    return out


def _context(processed: Processed) -> str:
    return f"  region {processed.region}, account {processed.account} (no AWS call is made)"


def _where(processed: Processed, path: Path | str) -> str:
    line = processed.lines.line_of(path)
    return f" (line {line})" if line is not None else ""


def _warning_lines(processed: Processed, warnings: list[Diagnostic]) -> list[str]:
    if not warnings:
        return ["Warnings: none"]
    out = ["Warnings"]
    for warning in warnings:
        out.append(
            f"  {warning.code}  {warning.path or '(template)'}"
            f"{_where(processed, warning.parts or warning.path)}"
        )
        out.append(f"         {warning.message}")
    return out


def called(report: Report) -> dict[str, str]:
    """Pin path (``format_path`` of ``Pin.parts``) -> what the Task calls once processed:
    the pinning resource, or the state machine alias whose ``callers`` list the path (issue
    15, ``MoveCallers``: the Task starts ``Ref <SM>Alias<Name>``, not the version)."""
    calls = {format_path(pin.parts): pin.version for pin in report.pins}
    for entry in report.aliases:
        for caller in entry.callers:
            calls[caller] = entry.alias
    return calls


# --- explain --------------------------------------------------------------------------------

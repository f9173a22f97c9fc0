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
from ..report import Diagnostic, Report, format_path
from .packaging import Artifact
from .yaml_io import JsonPath, TemplateLoadError, load_with_lines

LAMBDA_VERSION = "AWS::Lambda::Version"
IAM_POLICY = "AWS::IAM::Policy"
_MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")

# The grant PinVersions writes: !Sub ${F.Arn}:* (see iam.version_resource).
_EVERY_VERSION = re.compile(r"\$\{([A-Za-z0-9]+)\.Arn\}:\*")


class LineMap:
    """Report path -> line in the file the user wrote. ``lines`` are the ones the template's
    one read gave (a YAML template always has them); without them (a JSON template) the file
    is read again for its lines on first use only: a big JSON template costs a second parse,
    and most commands never ask."""

    def __init__(
        self, text: str | None, filename: str, lines: dict[JsonPath, int] | None = None
    ) -> None:
        self._text = text
        self._filename = filename
        self._known = lines
        self._index: dict[str, tuple[int, int]] | None = None

    def _lines(self) -> dict[str, tuple[int, int]]:
        if self._index is None:
            lines: dict[JsonPath, int] = self._known or {}
            if self._known is None and self._text is not None:
                # Line numbers are a courtesy: the template did load once already.
                with contextlib.suppress(TemplateLoadError):
                    lines = load_with_lines(self._text, self._filename)[1]
            self._index = {format_path(p): (line, len(p)) for p, line in lines.items()}
        return self._index

    def line_of(self, path: str) -> int | None:
        """The line of the longest prefix of ``path`` the file has.

        A DefinitionString is one value: its Tasks get the line where it starts. A prefix
        shallower than a resource (``Resources`` alone) would point at the wrong thing, for
        example at a resource only the SAM transform created, so it gives no line.
        """
        best = self._match(path)
        # SAM turns a state machine's Definition object into a DefinitionString with the
        # same states: after SAM, the object in the file still has the deeper line.
        marker = ".Properties.DefinitionString"
        if marker in path:
            alias = self._match(path.replace(marker, ".Properties.Definition", 1))
            if alias is not None and (best is None or alias[1] > best[1]):
                best = alias
        return best[0] if best is not None else None

    def _match(self, path: str) -> tuple[int, int] | None:
        index = self._lines()
        ends = [i for i, char in enumerate(path) if char in ".["]
        for end in [len(path), *reversed(ends)]:
            hit = index.get(path[:end])
            if hit is not None:
                return hit if hit[1] >= 2 or end == len(path) else None
        return None

    def locate(self, source: str, path: str) -> str:
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


def _where(processed: Processed, path: str) -> str:
    line = processed.lines.line_of(path)
    return f" (line {line})" if line is not None else ""


def _warning_lines(processed: Processed, warnings: list[Diagnostic]) -> list[str]:
    if not warnings:
        return ["Warnings: none"]
    out = ["Warnings"]
    for warning in warnings:
        out.append(
            f"  {warning.code}  {warning.path or '(template)'}{_where(processed, warning.path)}"
        )
        out.append(f"         {warning.message}")
    return out


# --- explain --------------------------------------------------------------------------------

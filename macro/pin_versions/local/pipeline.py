"""What the command line does to one template, as CloudFormation would: read it (size-capped),
run its ``Transform`` list in order (local paths packaged first, SAM offline, ``PinVersions``
through the core's ``transform()`` with the request the macro would get), and say why it
stopped. Also the exit codes and the errors every command shares."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..inventory import Context
from ..report import Diagnostic, TransformError
from ..transform import transform
from .packaging import PackagingError, package
from .processed import LineMap, PinStep, Processed
from .transforms import declared_transforms
from .yaml_io import TemplateLoadError, detect_format, read

PROG = "pin-versions"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
DEFAULT_MACRO = "PinVersions"
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"

EXIT_OK = 0
EXIT_FAILURE = 1  # the macro said no (or broke): what a deploy would show
EXIT_USAGE = 2  # the command line or the input file is wrong: nothing was tried

DEBUG_ENV = "PIN_VERSIONS_DEBUG"

Warn = Callable[[str], None]


class UsageError(Exception):
    """Bad usage or unreadable input: exit 2. One message per problem, each one line."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class MacroFailure(Exception):
    """A transform of the template failed: exit 1, one line per diagnostic."""

    def __init__(self, source: str, diagnostics: list[Diagnostic], lines: LineMap) -> None:
        super().__init__(source)
        self.located = [(lines.locate(source, d.parts or d.path), d) for d in diagnostics]
        self.lines = [f"{where}: {d}" for where, d in self.located]


@dataclass(frozen=True, slots=True)
class Options:
    parameters: dict[str, str]
    region: str
    account: str
    pin: bool
    macro_name: str
    quiet: bool


# --- the pipeline ---------------------------------------------------------------------------


# CloudFormation's largest template (one passed by S3 URL; a TemplateBody is limited to
# 51,200 bytes): "Template body size in an Amazon S3 object: 1 MB", CloudFormation quotas,
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
MAX_INPUT_BYTES = 1_048_576


def _too_large(source: str, size: str) -> UsageError:
    return UsageError(
        f"{source}: {size} bytes, over CloudFormation's template size limit of "
        f"{MAX_INPUT_BYTES:,} bytes (1 MB): CloudFormation would refuse it; split the stack "
        "(nested stacks)"
    )


def _read(source: str) -> str:
    """The template's text, after checking its size: nothing larger than
    ``MAX_INPUT_BYTES`` is read whole or parsed. Raises UsageError (exit 2)."""
    try:
        if source == "-":
            raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
            if len(raw) > MAX_INPUT_BYTES:
                raise _too_large(source, f"more than {MAX_INPUT_BYTES:,}")
        else:
            with open(source, "rb") as stream:
                size = os.fstat(stream.fileno()).st_size
                if size > MAX_INPUT_BYTES:
                    raise _too_large(source, f"{size:,}")
                # A file that is not regular (a pipe) has no size: read one byte past the limit.
                raw = stream.read(MAX_INPUT_BYTES + 1)
                if len(raw) > MAX_INPUT_BYTES:
                    raise _too_large(source, f"more than {MAX_INPUT_BYTES:,}")
    except OSError as exc:
        raise UsageError(f"{source}: cannot read file: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source}: not UTF-8 (offset {exc.start}: {exc.reason})") from None


def _transform_list(template: dict[str, Any], source: str, options: Options) -> list[str]:
    names, valid = declared_transforms(template)
    if not valid:
        raise UsageError(f"{source}: Transform must be a transform name or a list of names")
    known = (SAM_TRANSFORM, options.macro_name)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UsageError(
            *(
                f"{source}: Transform {name} cannot run locally; pin-versions runs only "
                f"{SAM_TRANSFORM} and {options.macro_name} (--macro-name sets the latter)"
                for name in unknown
            )
        )
    return names


def _parameter_value(value: Any, parameter_type: Any) -> Any:
    """A value as CloudFormation's macro request carries it: a string, or a list of strings
    for list types."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = ",".join(str(item) for item in value)
    else:
        text = "" if value is None else str(value)
    if isinstance(parameter_type, str) and (
        parameter_type == "CommaDelimitedList" or parameter_type.startswith("List<")
    ):
        return [item.strip() for item in text.split(",")] if text else []
    return text


def _parameter_values(template: dict[str, Any], source: str, options: Options) -> dict[str, Any]:
    declared = template.get("Parameters")
    declared = declared if isinstance(declared, dict) else {}
    unknown = [name for name in options.parameters if name not in declared]
    if unknown:
        raise UsageError(
            *(
                f"{source}: --parameter {name}: the template declares no such parameter"
                for name in unknown
            )
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec if isinstance(spec, dict) else {}
        if name in options.parameters:
            values[name] = _parameter_value(options.parameters[name], spec.get("Type"))
        elif "Default" in spec:
            values[name] = _parameter_value(spec["Default"], spec.get("Type"))
    return values


def _sam(fragment: dict[str, Any], values: dict[str, Any], options: Options) -> dict[str, Any]:
    """The SAM transform, offline, returning what CloudFormation would hand the next macro."""
    from .sam_local import translate  # slow import: only for templates that need it

    return translate(fragment, values, options.region, options.account)


def process(source: str, options: Options, warn: Warn) -> Processed:
    """One template file through packaging and its transforms. Raises UsageError (exit 2)
    or MacroFailure (exit 1)."""
    text = _read(source)
    try:
        loaded = read(text, source)
    except TemplateLoadError as exc:
        raise UsageError(str(exc)) from None
    template = loaded.data
    for message in loaded.warnings:
        warn(message)
    if type(template) is not dict:
        raise UsageError(f"{source}: not a template: the top level must be a mapping")
    transforms = _transform_list(template, source, options)
    pin_added = options.pin and options.macro_name not in transforms
    if pin_added:
        # After SAM: the order the project recommends ([AWS::Serverless-2016-10-31, PinVersions]).
        transforms.append(options.macro_name)
    values = _parameter_values(template, source, options)
    lines = LineMap(text, source, loaded.lines)

    base = Path.cwd() if source == "-" else Path(source).parent
    try:
        packaged = package(template, base)
    except PackagingError as exc:
        raise UsageError(str(exc)) from None
    for note in packaged.notes:
        warn(f"{lines.locate(source, note.path)}: {note.path}: {note.message}")

    current = packaged.template
    step: PinStep | None = None
    try:
        for name in transforms:
            # Each macro gets the template without its Transform key, as CloudFormation sends it.
            fragment = {k: v for k, v in current.items() if k != "Transform"}
            if name == SAM_TRANSFORM:
                current = _sam(fragment, values, options)
            else:
                context = Context(options.region, options.account, dict(values))
                result = transform(fragment, context)
                if step is None:
                    step = PinStep(fragment, result.template, result.report)
                current = result.template
    except TransformError as exc:
        raise MacroFailure(source, exc.diagnostics, lines) from None
    return Processed(
        source=source,
        transforms=tuple(transforms),
        template={k: v for k, v in current.items() if k != "Transform"},
        pin=step,
        lines=lines,
        region=options.region,
        account=options.account,
        pin_added=pin_added,
        packaged=packaged.packaged,
        input_format=detect_format(text),
        parameters=values,
    )

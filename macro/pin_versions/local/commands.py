"""The subcommands (``transform``, ``explain``, ``plan``, ``check``, ``prune``): each turns
parsed arguments into output and an exit code; messages go to standard error."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from ..report import format_path
from .checks import Finding, processed_problems, unpinned_targets
from .explain import render_explain
from .pipeline import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    MacroFailure,
    Options,
    UsageError,
    Warn,
    _read,
    process,
)
from .plan_text import plan_lifecycle, render_plan
from .processed import LineMap, Processed
from .transforms import declared_transforms
from .yaml_io import TemplateLoadError, dump_json, dump_yaml, read

# --- output ---------------------------------------------------------------------------------


def _write(text: str, output: str | None = None) -> None:
    if output is not None and output != "-":
        try:
            with open(output, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
        except OSError as exc:
            raise UsageError(f"{output}: cannot write file: {exc.strerror or exc}") from None
        return
    # Templates are UTF-8 whatever the terminal's locale says.
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _warner(options: Options) -> Warn:
    def warn(message: str) -> None:
        if not options.quiet:
            _stderr(f"{PROG}: warning: {message}")

    return warn


def _report_warnings(processed: Processed, warn: Warn) -> None:
    if processed.pin is None:
        return
    for warning in processed.pin.report.warnings:
        where = processed.lines.locate(processed.source, warning.parts or warning.path)
        warn(f"{where}: {warning}")


# --- subcommands ----------------------------------------------------------------------------


def _options(args: argparse.Namespace) -> Options:
    return Options(
        parameters=dict(args.parameter or []),
        region=args.region,
        account=args.account,
        pin=args.pin,
        macro_name=args.macro_name,
        quiet=args.quiet,
    )


# -o's extension picks the output format when --format does not.
_FORMAT_OF_SUFFIX = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def _format_of(output: str | None) -> str | None:
    """ "json" or "yaml" by the output file's extension; None for stdout or another suffix
    (``.template`` is either), which then keeps the input's format."""
    if output is None or output == "-":
        return None
    return _FORMAT_OF_SUFFIX.get(Path(output).suffix.lower())


def cmd_transform(args: argparse.Namespace) -> int:
    options = _options(args)
    warn = _warner(options)
    processed = process(args.template, options, warn)
    _report_warnings(processed, warn)
    output_format = args.format or _format_of(args.output) or processed.input_format
    text = (
        dump_json(processed.template) if output_format == "json" else dump_yaml(processed.template)
    )
    _write(text, args.output)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    options = _options(args)
    processed = process(args.template, options, _warner(options))
    _write(render_explain(processed), args.output)
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    options = _options(args)
    warn = _warner(options)
    old = process(args.old, options, warn)
    new = process(args.new, options, warn)
    lifecycle = plan_lifecycle(old, new)
    if args.format == "json":
        _write(json.dumps(lifecycle.to_json(), indent=2, ensure_ascii=False) + "\n", args.output)
    else:
        _write(render_plan(old, new, lifecycle), args.output)
    if args.fail_on_broken and lifecycle.broken():
        return EXIT_FAILURE
    return EXIT_OK


# `check`: a file a hook or CI hands over may be any YAML or JSON, so what is not a template
# is skipped; one that does not even parse is reported only when it looks like one.
_TEMPLATE_HINT = re.compile(r'^Resources\s*:|"Resources"\s*:', re.MULTILINE)

W9101 = "W9101"  # the codes of the cfn-lint rules in pin_versions.cfn_lint_rules
E9102 = "E9102"


def _finding_lines(source: str, lines: LineMap, code: str, findings: list[Finding]) -> list[str]:
    out = []
    for finding in findings:
        where = lines.locate(source, finding.path)
        out.append(f"{where}: {code} {format_path(finding.path)}: {finding.message}")
    return out


def _check_file(source: str, options: Options, warn: Warn) -> list[str]:
    """The findings for one file, one line each; [] for a clean file or a non-template.
    Raises UsageError (unreadable, or a template the pipeline cannot run)."""
    text = _read(source)
    try:
        loaded = read(text, source)
    except TemplateLoadError as exc:
        if _TEMPLATE_HINT.search(text):
            raise UsageError(str(exc)) from None
        return []
    template, load_warnings = loaded.data, loaded.warnings
    if type(template) is not dict or not isinstance(template.get("Resources"), dict):
        return []
    if options.macro_name not in declared_transforms(template).names:
        # Not deployed through the macro: what cfn-lint with the plugin says (W9101 for each
        # unpinned Task, E9102 for a hand-pinned version that is not retained).
        for message in load_warnings:
            warn(message)
        lines = LineMap(text, source, loaded.lines)
        return _finding_lines(source, lines, W9101, unpinned_targets(template)) + (
            _finding_lines(source, lines, E9102, processed_problems(template))
        )
    try:
        processed = process(source, options, warn)  # exactly what `transform` would run
    except MacroFailure as exc:
        return [
            f"{where}: {d.code} {d.path + ': ' if d.path else ''}{d.message}"
            for where, d in exc.located
        ]
    _report_warnings(processed, warn)
    return _finding_lines(source, processed.lines, E9102, processed_problems(processed.template))


def cmd_check(args: argparse.Namespace) -> int:
    options = Options(
        parameters={},
        region=args.region,
        account=args.account,
        pin=False,
        macro_name=args.macro_name,
        quiet=args.quiet,
    )
    warn = _warner(options)
    status = EXIT_OK
    for source in args.files:
        try:
            found = _check_file(source, options, warn)
        except UsageError as exc:
            for message in exc.messages:
                _stderr(f"{PROG}: error: {message}")
            status = EXIT_USAGE
            continue
        if found:
            _write("".join(f"{line}\n" for line in found))
            status = max(status, EXIT_FAILURE)
    return status


def cmd_prune(args: argparse.Namespace) -> int:
    from .. import prune

    return prune.run(args)


# --- arguments ------------------------------------------------------------------------------


def _parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return name, value


def _account(text: str) -> str:
    if not (len(text) == 12 and text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"an account ID is 12 digits, got {text!r}")
    return text

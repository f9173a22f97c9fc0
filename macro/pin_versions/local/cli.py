"""``pin-versions``: the macro's pipeline on local template files.

    pin-versions transform TEMPLATE [-o OUT] [--format json|yaml]
    pin-versions explain TEMPLATE
    pin-versions plan OLD NEW [--fail-on-broken] [--format text|json]
    pin-versions check FILE...
    pin-versions prune --stack NAME ...

Each template goes through its own ``Transform`` list in order, as CloudFormation would run
it: local paths packaged first (``packaging``, as ``sam package`` does), then
``AWS::Serverless-2016-10-31`` through aws-sam-translator offline and ``PinVersions`` through
``transform()``, the code the Lambda runs, with the request the macro would get (the
template without its Transform key, parameter Defaults overridden by ``--parameter``).

Exit codes: 0 success; 1 the macro (PinVersions or SAM) reported failure, or an internal
error (the Lambda answers failure for those too), or ``plan --fail-on-broken`` found a broken
verdict; 2 bad usage or unreadable input. Problems go
to standard error, one ``pin-versions: error: ...`` line each; never a traceback unless
``PIN_VERSIONS_DEBUG`` is set. See docs/cli.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from .. import __version__
from ..inventory import Context
from ..prune import region_name
from ..report import Diagnostic, TransformError, format_path
from ..transform import transform
from .checks import Finding, processed_problems, unpinned_targets
from .explain import LineMap, PinStep, Processed, plan_lifecycle, render_explain, render_plan
from .packaging import PackagingError, package
from .yaml_io import TemplateLoadError, detect_format, dump_json, dump_yaml, load_with_warnings

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
        self.located = [(lines.locate(source, d.path), d) for d in diagnostics]
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
    value = template.get("Transform")
    names: list[str]
    if value is None:
        names = []
    elif isinstance(value, str):
        names = [value]
    elif isinstance(value, list) and all(isinstance(name, str) for name in value):
        names = list(value)
    else:
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
        template, load_warnings = load_with_warnings(text, source)
    except TemplateLoadError as exc:
        raise UsageError(str(exc)) from None
    for message in load_warnings:
        warn(message)
    if type(template) is not dict:
        raise UsageError(f"{source}: not a template: the top level must be a mapping")
    transforms = _transform_list(template, source, options)
    pin_added = options.pin and options.macro_name not in transforms
    if pin_added:
        # After SAM: the order the project recommends ([AWS::Serverless-2016-10-31, PinVersions]).
        transforms.append(options.macro_name)
    values = _parameter_values(template, source, options)
    lines = LineMap(text, source)

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
        warn(f"{processed.lines.locate(processed.source, warning.path)}: {warning}")


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


def _transform_names(template: dict[str, Any]) -> list[str]:
    value = template.get("Transform")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [name for name in value if isinstance(name, str)]
    return []


def _finding_lines(source: str, lines: LineMap, code: str, findings: list[Finding]) -> list[str]:
    out = []
    for finding in findings:
        path = format_path(finding.path)
        out.append(f"{lines.locate(source, path)}: {code} {path}: {finding.message}")
    return out


def _check_file(source: str, options: Options, warn: Warn) -> list[str]:
    """The findings for one file, one line each; [] for a clean file or a non-template.
    Raises UsageError (unreadable, or a template the pipeline cannot run)."""
    text = _read(source)
    try:
        template, load_warnings = load_with_warnings(text, source)
    except TemplateLoadError as exc:
        if _TEMPLATE_HINT.search(text):
            raise UsageError(str(exc)) from None
        return []
    if type(template) is not dict or not isinstance(template.get("Resources"), dict):
        return []
    if options.macro_name not in _transform_names(template):
        # Not deployed through the macro: what cfn-lint with the plugin says (W9101 for each
        # unpinned Task, E9102 for a hand-pinned version that is not retained).
        for message in load_warnings:
            warn(message)
        lines = LineMap(text, source)
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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}\n")


def _request_options(group: argparse._ArgumentGroup) -> None:
    """What the macro request names: region and account (no AWS call is made)."""
    group.add_argument(
        "--region",
        default=DEFAULT_REGION,
        type=region_name,
        help=f"the region the macro request names (default {DEFAULT_REGION}; no AWS call is made)",
    )
    group.add_argument(
        "--account",
        default=DEFAULT_ACCOUNT,
        type=_account,
        help=f"the account ID the macro request names (default {DEFAULT_ACCOUNT})",
    )


def _pipeline_options() -> _Parser:
    common = _Parser(add_help=False)
    group = common.add_argument_group("pipeline options")
    group.add_argument(
        "-p",
        "--parameter",
        action="append",
        type=_parameter,
        metavar="KEY=VALUE",
        help="a template parameter value, overriding its Default (repeat for more)",
    )
    _request_options(group)
    group.add_argument(
        "--pin",
        action="store_true",
        help="run PinVersions even when the template's Transform list does not name it "
        "(last, after SAM): a preview for templates not yet converted",
    )
    group.add_argument(
        "--macro-name",
        default=DEFAULT_MACRO,
        metavar="NAME",
        help=f"the name the macro is deployed under (default {DEFAULT_MACRO})",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", help="do not print warnings on standard error"
    )
    return common


EPILOG = """\
exit codes:
  0  success
  1  the macro reported failure (PinVersions or the SAM transform), or an internal error
  2  bad usage or unreadable input (missing file, invalid YAML/JSON, unknown transform)

Templates are read as JSON or YAML with short-form tags (!Ref, !Sub, ...); "-" reads standard
input. Local CodeUri/DefinitionUri/... paths are packaged first, as `sam package` would,
under s3://pin-versions-local/<sha256>. See docs/cli.md.
"""

CHECK_EPILOG = """\
output: one line per finding on standard output, FILE:LINE: CODE PATH: MESSAGE
  W9101  a Task invokes a function of this template unqualified (no PinVersions)
  E9102  a pinned version is not retained, or the execution role cannot invoke it
  PV9xx  PinVersions (or SAM, PV912) failed on the template

exit codes:
  0  no finding
  1  at least one finding
  2  bad usage, an unreadable file, or a template that cannot be processed locally
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Pin the Lambda functions Step Functions state machines invoke to retained "
        "versions: the PinVersions macro's pipeline on local template files.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = _pipeline_options()

    sub = commands.add_parser(
        "transform",
        parents=[common],
        help="print the processed template, as CloudFormation would deploy it",
        description="Run the template's Transform list (SAM offline, PinVersions) and print "
        "the processed template.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.add_argument("template", metavar="TEMPLATE", help="template file (JSON or YAML), or -")
    sub.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    sub.add_argument(
        "--format",
        choices=("json", "yaml"),
        help="output format (default: -o's extension, .json or .yaml/.yml, else the "
        "input's format)",
    )
    sub.set_defaults(handler=cmd_transform)

    sub = commands.add_parser(
        "explain",
        parents=[common],
        help="say what PinVersions pins, adds and warns about, with line numbers",
        description="A readable report: per state machine each pinned target, the versions, "
        "what changed in each role, and every warning with its code, path and line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.add_argument("template", metavar="TEMPLATE", help="template file (JSON or YAML), or -")
    sub.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    sub.set_defaults(handler=cmd_explain)

    sub = commands.add_parser(
        "plan",
        parents=[common],
        help="what a deploy from OLD to NEW publishes, retains and retargets, with verdicts",
        description="Process both templates and compare: versions published, versions that "
        "leave the template (retained or deleted), role grants, state machines whose pinned "
        "targets change; then a verdict (safe, broken with the reason and the fix, or not "
        "protected) for every Lambda target executions started before the deploy may still "
        "invoke. See docs/lifecycle.md.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.add_argument("old", metavar="OLD", help="the template deployed now")
    sub.add_argument("new", metavar="NEW", help="the template about to be deployed")
    sub.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")
    sub.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default): the whole plan; json: the verdicts only",
    )
    sub.add_argument(
        "--fail-on-broken",
        action="store_true",
        help="exit 1 when a verdict is broken: a deploy that breaks running executions (CI)",
    )
    sub.set_defaults(handler=cmd_plan)

    sub = commands.add_parser(
        "check",
        help="report unpinned Tasks and unsafe pins in template files (for pre-commit and CI)",
        description="Check template files as cfn-lint with the pin-versions rules would, in "
        "the files you wrote: a template that does not list PinVersions in its Transform gets "
        "W9101 for each Task that invokes a function of the template unqualified; one that "
        "does is transformed (SAM offline where listed) and its processed output gets E9102 "
        "for a pinned version that is not retained or that the execution role cannot invoke, "
        "and the macro's own failures (PV9xx). Files that are not CloudFormation templates "
        "(no Resources mapping) are skipped.",
        epilog=CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.add_argument("files", nargs="+", metavar="FILE", help="template files (JSON or YAML)")
    group = sub.add_argument_group("pipeline options")
    _request_options(group)
    group.add_argument(
        "--macro-name",
        default=DEFAULT_MACRO,
        metavar="NAME",
        help=f"the name the macro is deployed under (default {DEFAULT_MACRO})",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", help="do not print warnings on standard error"
    )
    sub.set_defaults(handler=cmd_check)

    from .. import prune  # argparse definitions only; boto3 loads when prune runs

    sub = commands.add_parser(
        "prune",
        help="delete the Lambda versions of a stack nothing can still invoke (dry run default)",
        description="Delete Lambda versions of a stack that no state machine, execution, "
        "alias, provisioned concurrency or event source mapping can still invoke. "
        "See docs/prune.md.",
    )
    prune.add_arguments(sub)
    sub.set_defaults(handler=cmd_prune)
    return parser


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except UsageError as exc:
        for message in exc.messages:
            _stderr(f"{PROG}: error: {message}")
        return EXIT_USAGE
    except MacroFailure as exc:
        for line in exc.lines:
            _stderr(f"{PROG}: error: {line}")
        return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): say nothing, and keep Python from complaining
        # about the unflushed stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:  # the command line never shows a traceback unasked
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        _stderr(f"{PROG}: internal error: {message} (set {DEBUG_ENV}=1 for the traceback)")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())

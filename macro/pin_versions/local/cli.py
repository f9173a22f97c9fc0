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

This module is the parser and the entry point; ``pipeline`` runs a template through its
Transform list, ``commands`` holds the subcommands.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from .. import __version__
from ..prune import region_name
from .commands import (
    _account,
    _parameter,
    _stderr,
    cmd_check,
    cmd_explain,
    cmd_plan,
    cmd_prune,
    cmd_transform,
)
from .pipeline import (
    DEBUG_ENV,
    DEFAULT_ACCOUNT,
    DEFAULT_MACRO,
    DEFAULT_REGION,
    EXIT_FAILURE,
    EXIT_USAGE,
    PROG,
    MacroFailure,
    UsageError,
)


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
        "protected) for every target executions started before the deploy may still "
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

"""``pin-versions prune`` / ``python -m pin_versions.prune`` arguments and run, and the
scheduled job's Lambda handler (deploy/prune-schedule.yaml)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from . import aws
from .aws import PruneError, _aws_errors, _denied_action, _describe
from .model import DEFAULT_KEEP
from .reclaim import prune
from .render import count_decisions, permission_message, report

# ---------------------------------------------------------------------------------------
# Command line and scheduled job
# ---------------------------------------------------------------------------------------


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _non_negative_days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


# Region names as AWS spells them: us-east-1, us-gov-west-1, cn-north-1, eu-isoe-west-1,
# ap-southeast-7 (the two-letter area, one or more words, a number).
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")


def region_name(text: str) -> str:
    """An AWS region name, checked by its shape (no AWS call: new regions pass)."""
    if not _REGION.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"not a region name such as us-east-1 or eu-west-2, got {text!r}"
        )
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, metavar="NAME", help="stack name or ID")
    parser.add_argument(
        "--region", type=region_name, help="AWS region (default: the usual boto3 lookup)"
    )
    parser.add_argument(
        "--keep",
        type=_non_negative_int,
        default=DEFAULT_KEEP,
        metavar="N",
        help=f"always keep the newest N versions of each function (default {DEFAULT_KEEP})",
    )
    parser.add_argument(
        "--older-than",
        type=_non_negative_days,
        dest="older_than",
        metavar="DAYS",
        help="only delete versions last modified more than DAYS days ago",
    )
    parser.add_argument(
        "--apply", action="store_true", help="delete (default: dry run, only print the plan)"
    )
    parser.add_argument(
        "--reclaim-functions",
        action="store_true",
        help="also delete whole functions kept through a replacement that nothing invokes "
        "(they carry the stack's aws:cloudformation tags but are no resource of it)",
    )
    parser.add_argument(
        "--reclaim-revisions",
        action="store_true",
        help="also deregister ECS task definition and Batch job definition revisions of the "
        "stack's families that are not its current ones and that nothing runs",
    )


def run(args: argparse.Namespace) -> int:
    """The ``prune`` subcommand: 0 done, 1 something failed, 2 bad usage."""
    keep = getattr(args, "keep", DEFAULT_KEEP)
    older_than = getattr(args, "older_than", None)
    if keep < 0 or (older_than is not None and not older_than >= 0):
        print("pin-versions prune: --keep and --older-than must be 0 or more", file=sys.stderr)
        return 2
    applied = bool(getattr(args, "apply", False))
    try:
        clients = aws.make_clients(getattr(args, "region", None))  # tests replace it
    except _aws_errors() as exc:
        print(f"pin-versions prune: {exc} (pass --region)", file=sys.stderr)
        return 2
    try:
        outcome = prune(
            clients,
            stack=args.stack,
            keep=keep,
            older_than_days=older_than,
            delete=applied,
            reclaim_functions=bool(getattr(args, "reclaim_functions", False)),
            reclaim_revisions=bool(getattr(args, "reclaim_revisions", False)),
        )
    except PruneError as exc:
        print(f"pin-versions prune: {exc}", file=sys.stderr)
        denied = _denied_in(exc)
        if denied:
            print(permission_message(denied), file=sys.stderr)
        return 1
    except _aws_errors() as exc:  # e.g. no credentials: nothing could be read
        print(f"pin-versions prune: {_describe(exc)}", file=sys.stderr)
        return 1
    return report(outcome, applied, sys.stdout, sys.stderr)


def _denied_in(exc: BaseException) -> list[str]:
    cause = exc.__cause__
    action = _denied_action(cause) if cause is not None else None
    return [action] if action else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pin-versions prune",
        description="Delete Lambda versions of a stack that no state machine, execution, "
        "alias, provisioned concurrency or event source mapping can still invoke.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Scheduled job (deploy/prune-schedule.yaml): settings from the environment.

    Prints the table to the log; raises after printing when anything failed, so the
    invocation counts as an error and alarms on the function's Errors metric fire.
    """
    stack = os.environ["STACK_NAME"]
    keep = int(os.environ.get("KEEP", str(DEFAULT_KEEP)))
    older = os.environ.get("OLDER_THAN_DAYS", "").strip()
    applied = os.environ.get("APPLY", "false").strip().lower() == "true"
    reclaim = os.environ.get("RECLAIM_FUNCTIONS", "false").strip().lower() == "true"
    revisions = os.environ.get("RECLAIM_REVISIONS", "false").strip().lower() == "true"
    outcome = prune(
        aws.make_clients(None),
        stack=stack,
        keep=keep,
        older_than_days=float(older) if older else None,
        delete=applied,
        reclaim_functions=reclaim,
        reclaim_revisions=revisions,
    )
    code = report(outcome, applied, sys.stdout, sys.stdout)
    counts = count_decisions(outcome.decisions)
    if code:
        raise RuntimeError(f"prune of {stack} finished with problems: {counts}")
    return {"stack": stack, "applied": applied, "counts": counts}

"""``generate`` (write the zip, the templates and ``commands.sh``) and ``python -m
pin_versions.stackset``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .artifact import package_bundle
from .commands import _check_plan, _parameters_of, commands
from .model import SOURCES, Artifact, Plan, Source, StackSetError
from .templates import _function_of, artifact_bucket_template, stackset_template


def generate(
    root: Path,
    bundles: Mapping[str, Path],
    out_dir: Path,
    plan: Plan,
    names: Iterable[str] = ("macro",),
) -> tuple[dict[str, Artifact], dict[str, tuple[Source, dict[str, Any], Path]], Path, list[str]]:
    """Write one zip per named source (its own bundle: ``bundles`` maps a source name to the
    directory its ``macro/Makefile`` recipe filled), the StackSet templates of the named
    sources, each pointing at its own zip, and the artifact bucket template under
    ``out_dir``; return the artifacts by source name, the templates and the commands.
    Raises StackSetError (also when a named source has no bundle)."""
    from ..yaml_io import load

    _check_plan(plan)
    wanted = list(names)
    by_name = {source.name: source for source in SOURCES}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise StackSetError(f"unknown template {unknown[0]!r}: known are {', '.join(by_name)}")
    missing = [name for name in wanted if name not in bundles]
    if missing:
        function = by_name[missing[0]].function
        raise StackSetError(
            f"no bundle for {missing[0]!r}: build it with make -C macro build-{function}"
        )
    loaded: dict[str, tuple[Source, dict[str, Any]]] = {}
    for name in wanted:
        source = by_name[name]
        path = root / source.path
        template = load(path.read_text(encoding="utf-8"), str(path))
        _function_of(template, source)  # raises StackSetError when the function is not there
        _parameters_of(template, source, plan.parameters.get(name, {}))
        loaded[name] = (source, template)
    # One zip per function, each named by its own content: the macro's carries the core
    # alone, the prune job's the core and prune/ (macro/Makefile), so a change to prune
    # is no new macro code in any account.
    artifacts = {name: package_bundle(bundles[name], out_dir) for name in wanted}
    written: dict[str, tuple[Source, dict[str, Any], Path]] = {}
    for name, (source, template) in loaded.items():
        result = stackset_template(
            template, source, bucket_prefix=plan.bucket_prefix, artifact=artifacts[name]
        )
        target = out_dir / f"{name}-stackset.json"
        target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        written[name] = (source, result, target)
    bucket_path = out_dir / "artifact-bucket.json"
    bucket_path.write_text(json.dumps(artifact_bucket_template(), indent=2) + "\n", "utf-8")
    lines = commands(plan, artifacts, written, bucket_path)
    (out_dir / "commands.sh").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return artifacts, written, bucket_path, lines


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pin_versions.stackset",
        description="Write the StackSet templates of pin-versions (the macro, optionally the "
        "prune job) and the artifact bucket, zip the bundle, and print the aws commands that "
        "deploy them to an AWS Organization. Sends nothing to AWS.",
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository root")
    parser.add_argument(
        "--bundle", type=Path, required=True, help="the macro's bundle (build-MacroFunction)"
    )
    parser.add_argument(
        "--prune-bundle",
        type=Path,
        help="the prune job's bundle (build-PruneFunction): needed with --prune-parameter",
    )
    parser.add_argument("--out", type=Path, default=Path("build/stackset"))
    parser.add_argument("--regions", nargs="+", required=True, metavar="REGION")
    parser.add_argument("--home-region", default="", help="where the StackSets live")
    parser.add_argument("--bucket-prefix", required=True)
    parser.add_argument("--organization-id", required=True)
    parser.add_argument("--targets", nargs="+", required=True, metavar="OU_OR_ROOT_ID")
    parser.add_argument("--delegated-admin", action="store_true")
    parser.add_argument(
        "--macro-parameter", type=_key_value, action="append", default=[], metavar="KEY=VALUE"
    )
    parser.add_argument(
        "--prune-parameter",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with StackName=..., also the scheduled prune job",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 with the commands on stdout; 2 with one line on stderr when an input is wrong."""
    args = _parser().parse_args(argv)
    parameters = {"macro": dict(args.macro_parameter), "prune": dict(args.prune_parameter)}
    names = ["macro", "prune"] if args.prune_parameter else ["macro"]
    plan = Plan(
        regions=tuple(args.regions),
        bucket_prefix=args.bucket_prefix,
        organization_id=args.organization_id,
        targets=tuple(args.targets),
        parameters=parameters,
        home_region=args.home_region,
        delegated_admin=args.delegated_admin,
    )
    try:
        bundles = {"macro": args.bundle}
        if args.prune_bundle is not None:
            bundles["prune"] = args.prune_bundle
        artifacts, written, _, lines = generate(args.root, bundles, args.out, plan, names)
    except StackSetError as error:
        print(f"pin-versions stackset: {error}", file=sys.stderr)
        return 2
    for name, (_, _, path) in written.items():
        print(f"# wrote {path} ({name})")
        print(f"# wrote {artifacts[name].path} (sha256 {artifacts[name].sha256}, {name})")
    if "prune" not in written:
        print("# the prune job: add PRUNE_STACK_NAME=<stack to prune> for its StackSet")
    print("\n".join(lines))
    return 0

"""The Lambda bundles ship what their function runs and nothing more (issue 13): the macro's
is the core package alone, the scheduled prune job's is the core and ``prune/``. Each bundle
is rebuilt offline from macro/Makefile's own leave-out lists (tests/bundles.py) and its
handler imported in a fresh interpreter that sees only the bundle: no site-packages, no
checkout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bundles import build_bundle, left_out
from support import ROOT

PACKAGE = ROOT / "macro" / "pin_versions"

# Modules a bundle must not load: the command line's and prune's (for the macro), and the
# command line's third-party dependencies.
TOOLING = ("pin_versions.local", "pin_versions.prune", "pin_versions.cfn_lint_rules")
TOOLING_MODULES = ("pin_versions.cli", "pin_versions.stackset")
THIRD_PARTY = ("yaml", "samtranslator", "cfnlint", "boto3", "botocore")


def _import_in(bundle: Path, statement: str) -> list[str]:
    """The modules loaded by ``statement`` in ``python -S -I`` with only ``bundle`` on the
    path (``-S``: no site-packages; ``-I``: no PYTHONPATH, no user site, no current
    directory). Returns the sorted module names; fails the test on an ImportError."""
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(bundle)!r})\n"
        f"{statement}\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code],
        capture_output=True,
        text=True,
        cwd=bundle,
        env={"POWERTOOLS_LOG_LEVEL": "ERROR"},
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def _shipped(bundle: Path) -> set[str]:
    return {
        path.relative_to(bundle).as_posix() for path in bundle.joinpath("pin_versions").rglob("*")
    }


@pytest.fixture(scope="module")
def macro_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("macro"), "MacroFunction")


@pytest.fixture(scope="module")
def prune_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("prune"), "PruneFunction")


def test_the_macro_bundle_leaves_out_the_tooling_and_prune() -> None:
    assert set(left_out("MacroFunction")) == {
        "local",
        "prune",
        "cfn_lint_rules",
        "cli.py",
        "stackset.py",
    }
    assert set(left_out("PruneFunction")) == set(left_out("MacroFunction")) - {"prune"}
    # Every name left out exists: a rename would otherwise ship the tooling silently.
    for name in left_out("MacroFunction"):
        assert (PACKAGE / name).exists(), name


def test_the_macro_bundle_ships_the_core_alone(macro_bundle: Path) -> None:
    shipped = _shipped(macro_bundle)
    assert "pin_versions/handler.py" in shipped and "pin_versions/transform.py" in shipped
    assert not {
        name
        for name in shipped
        if name.startswith(("pin_versions/local", "pin_versions/prune", "pin_versions/cfn_lint"))
        or name in ("pin_versions/cli.py", "pin_versions/stackset.py")
    }


def test_the_macro_handler_imports_from_its_bundle_alone(macro_bundle: Path) -> None:
    loaded = _import_in(
        macro_bundle,
        "import pin_versions.handler as h, pin_versions\n"
        f"assert pin_versions.__file__.startswith({str(macro_bundle)!r}), pin_versions.__file__\n"
        "assert callable(h.lambda_handler)",
    )
    assert "pin_versions.handler" in loaded and "pin_versions.transform" in loaded
    assert not [m for m in loaded if m.startswith(TOOLING) or m in TOOLING_MODULES]
    assert not [m for m in loaded if m.split(".")[0] in THIRD_PARTY]


def test_the_macro_handler_answers_a_request_from_its_bundle(macro_bundle: Path) -> None:
    """Not only the import: a whole request runs on the bundle's files (a late import of a
    tooling module inside the pipeline would fail here)."""
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "app.handler",
                    "Role": "arn:aws:iam::123456789012:role/r",
                    "Code": {"ZipFile": "def handler(e, c): return e"},
                },
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Statement": []}},
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Definition": {
                        "StartAt": "Call",
                        "States": {
                            "Call": {
                                "Type": "Task",
                                "Resource": {"Fn::GetAtt": ["Fn", "Arn"]},
                                "End": True,
                            }
                        },
                    },
                },
            },
        }
    }
    event = {
        "region": "us-east-1",
        "accountId": "123456789012",
        "fragment": template,
        "transformId": "123456789012::PinVersions",
        "params": {},
        "requestId": "r-1",
        "templateParameterValues": {},
    }
    loaded = _import_in(
        macro_bundle,
        "from pin_versions.handler import lambda_handler\n"
        f"answer = lambda_handler({event!r}, None)\n"
        "assert answer['status'] == 'success', answer\n"
        "types = [r['Type'] for r in answer['fragment']['Resources'].values()]\n"
        "assert 'AWS::Lambda::Version' in types, types",
    )
    assert not [m for m in loaded if m.startswith(TOOLING) or m in TOOLING_MODULES]


def test_the_prune_job_bundle_has_prune_and_the_core_only(prune_bundle: Path) -> None:
    shipped = _shipped(prune_bundle)
    assert "pin_versions/prune/__init__.py" in shipped and "pin_versions/handler.py" in shipped
    assert not [name for name in shipped if name.startswith("pin_versions/local")]
    # boto3 is the Lambda runtime's; this interpreter's stands in for it (only the import of
    # the handler's module is checked: boto3 loads when prune runs).
    loaded = _import_in(
        prune_bundle,
        "from pin_versions.prune import lambda_handler\nassert callable(lambda_handler)",
    )
    assert not [m for m in loaded if m.startswith(("pin_versions.local", "pin_versions.cfn"))]


def test_no_core_module_imports_the_tooling_or_prune() -> None:
    """Statically, lazy imports included: every module the macro's bundle ships imports
    nothing from ``local/``, ``prune/``, ``cfn_lint_rules/`` or the entry modules."""
    import ast

    shipped_away = set(left_out("MacroFunction"))
    tooling = {name.removesuffix(".py") for name in shipped_away}
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in shipped_away:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                absolute = module.removeprefix("pin_versions.") if node.level == 0 else module
                if node.level == 0 and not module.startswith("pin_versions"):
                    continue
                first = absolute.split(".")[0]
                names = {alias.name for alias in node.names}
                if first in tooling or (not absolute and names & tooling):
                    offenders.append(f"{relative}:{node.lineno}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "pin_versions" and len(parts) > 1 and parts[1] in tooling:
                        offenders.append(f"{relative}:{node.lineno}")
    assert offenders == []

"""`pip install .` gives the `pin-versions` command and the cfn-lint rules, without network.

The wheel is built as pip builds it for `pip install .` (setuptools through PEP 517), but
without build isolation: an isolated build would download setuptools. It is built from a copy
of the files the build reads, so that nothing is written into the checkout (setuptools leaves
build/ and *.egg-info next to the sources). It is then installed with `--no-index --no-deps`
into a fresh venv. That venv has no dependencies (pyyaml, aws-sam-translator, cfn-lint, ...)
and cannot download them, so a `.pth` file appends this venv's site-packages to its path:
after its own, so `pin_versions` is imported from the installed wheel, never from the
checkout. What this proves: the wheel's contents, its console script, and the rules directory
cfn-lint loads from an installed package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from support import ROOT, SAMPLES

RULE_FILES = ("UnpinnedLambdaTask.py", "PinnedVersionRetained.py")
DAY1 = SAMPLES / "blue-green" / "day1.yaml"


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH (pytest's pythonpath setting is not inherited, but a user's might be).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIN_VERSIONS_DEBUG")}
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _sources(into: Path) -> Path:
    """What the build reads: pyproject.toml (name, version, package dir, entry point, package
    data), the README and LICENSE it names, and the package."""
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, into / name)
    shutil.copytree(
        ROOT / "macro" / "pin_versions",
        into / "macro" / "pin_versions",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # pyproject.toml's `license = "Apache-2.0"` (PEP 639) needs setuptools 77 or newer, and
    # without build isolation the build uses this venv's setuptools.
    setuptools_version = version("setuptools")
    assert int(setuptools_version.split(".")[0]) >= 77, (
        f"setuptools {setuptools_version} in this venv cannot build the wheel offline: "
        "the dev extras must bring setuptools>=77"
    )
    sources = _sources(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("wheel")
    built = _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
        "-w",
        out,
        sources,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("pin_versions-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel installed; the dependencies come from this venv."""
    target = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    # This venv's pip installs into the new one (pip --python): no pip bootstrap, no index.
    result = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        "--quiet",
        wheel,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = Path(
        _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
    )
    # Appended after the venv's own site-packages: the dependencies, not pin_versions (this
    # venv's editable install is a finder in a .pth file, which a plain path line skips).
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "zz-dependencies.pth").write_text("".join(f"{path}\n" for path in ours), "utf-8")
    return target


def test_the_wheel_has_the_command_the_rules_and_the_type_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode("utf-8")
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        fields = archive.read(metadata).decode("utf-8")
    for rule in RULE_FILES:
        assert f"pin_versions/cfn_lint_rules/{rule}" in names
    assert "pin_versions/cfn_lint_rules/__init__.py" in names
    assert "pin_versions/py.typed" in names
    assert "pin_versions/handler.py" in names and "pin_versions/cli.py" in names
    assert "[console_scripts]\npin-versions = pin_versions.cli:main" in scripts
    assert "\nVersion: 0.1.0\n" in fields
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    # Only the package: no tests, samples or the emulator.
    assert {n.split("/")[0] for n in names} == {"pin_versions", "pin_versions-0.1.0.dist-info"}


def test_the_installed_command_and_rules_work(installed: Path, tmp_path: Path) -> None:
    bin_dir = installed / "bin"
    shown = _run(bin_dir / "pin-versions", "--version", cwd=tmp_path)
    assert (shown.returncode, shown.stdout) == (0, "pin-versions 0.1.0\n"), shown.stderr

    where = _run(
        bin_dir / "python",
        "-c",
        "import pin_versions, pin_versions.cfn_lint_rules as r; "
        "print(pin_versions.__file__); print(r.__path__[0])",
        cwd=tmp_path,
    )
    package_file, rules = where.stdout.splitlines()
    site = str(installed.resolve())
    assert package_file.startswith(site) and rules.startswith(site), where.stdout
    assert all((Path(rules) / rule).is_file() for rule in RULE_FILES)

    # The installed command transforms, and cfn-lint loads the installed rules directory.
    processed = tmp_path / "processed.json"
    transform = _run(
        bin_dir / "pin-versions", "transform", DAY1, "-o", processed, "--format", "json"
    )
    assert transform.returncode == 0, transform.stderr
    assert "HelloVersion" in "".join(json.loads(processed.read_text("utf-8"))["Resources"])
    unpinned = tmp_path / "unpinned.yaml"
    unpinned.write_text(
        DAY1.read_text("utf-8").replace("Transform: PinVersions\n", ""), encoding="utf-8"
    )
    lint: list[str | Path] = [
        bin_dir / "python",
        "-c",
        "import sys; from cfnlint.runner import main; sys.exit(main())",
    ]
    clean = _run(*lint, f"--append-rules={rules}", processed)
    assert (clean.returncode, clean.stdout) == (0, ""), clean.stdout + clean.stderr
    flagged = _run(*lint, f"--append-rules={rules}", unpinned)
    assert flagged.returncode != 0 and "W9101" in flagged.stdout, flagged.stderr

"""The Lambda bundles macro/Makefile builds, rebuilt offline for tests: the files of
``pin_versions`` its recipe ships (the recipe's own leave-out list, read from the Makefile),
plus the installed distributions macro/requirements.txt needs, copied file by file from their
RECORD as ``pip install --target`` would lay them out. No bytecode, no download."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement

from support import ROOT

MACRO_DIR = ROOT / "macro"

# make's own variables, which would change what a sub-make prints or does.
MAKE_ENVIRONMENT = frozenset({"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"})

# The leave-out list of each recipe (a variable of macro/Makefile).
LEFT_OUT_BY = {"MacroFunction": "NOT_IN_THE_MACRO", "PruneFunction": "NOT_IN_THE_PRUNE_JOB"}


def left_out(function: str) -> list[str]:
    """The entries of ``pin_versions/`` that ``make build-<function>`` removes, as make
    expands the recipe's variable (so the test cannot drift from the Makefile)."""
    variable = LEFT_OUT_BY[function]
    done = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "-C",
            str(MACRO_DIR),
            "--eval",
            f"print-left-out: ; @echo $({variable})",
            "print-left-out",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k not in MAKE_ENVIRONMENT},
    )
    return done.stdout.split()


def _install_target(name: str, into: Path, seen: set[str]) -> None:
    """Copy one installed distribution and its (non-extra) requirements into ``into``."""
    dist = distribution(name)
    key = dist.metadata["Name"].lower().replace("_", "-")
    if key in seen:
        return
    seen.add(key)
    site = Path(str(dist.locate_file("")))
    for file in dist.files or ():
        if file.parts[0] == ".." or "__pycache__" in file.parts:
            continue  # console scripts outside site-packages; bytecode of this interpreter
        target = into / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(site / file, target)
    for text in dist.requires or ():
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            _install_target(requirement.name, into, seen)


def build_bundle(into: Path, function: str = "MacroFunction") -> Path:
    """What ``make -C macro build-<function>`` puts in ARTIFACTS_DIR, without bytecode and
    without download; returns ``into``."""
    lines = (MACRO_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
    seen: set[str] = set()
    for line in lines:
        if line.strip() and not line.startswith("#"):
            _install_target(Requirement(line).name, into, seen)
    leave_out = set(left_out(function))
    shutil.copytree(
        MACRO_DIR / "pin_versions",
        into / "pin_versions",
        ignore=lambda folder, names: [
            name
            for name in names
            if name == "__pycache__"
            or name.endswith(".pyc")
            or (Path(folder) == MACRO_DIR / "pin_versions" and name in leave_out)
        ],
    )
    return into

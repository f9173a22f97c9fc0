"""The documentation keeps up with the code."""

from __future__ import annotations

import re

from pin_versions.report import ERRORS, WARNINGS
from support import ROOT


def test_every_code_is_in_the_troubleshooting_docs() -> None:
    text = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(PV\d{3})` \|", text, flags=re.MULTILINE))
    assert documented == set(WARNINGS) | set(ERRORS)


def test_every_code_the_macro_uses_is_declared() -> None:
    """A code used in the source but not declared would escape the docs."""
    used: set[str] = set()
    for path in (ROOT / "macro" / "pin_versions").glob("*.py"):
        used |= set(re.findall(r'"(PV\d{3})"', path.read_text(encoding="utf-8")))
    assert used <= set(WARNINGS) | set(ERRORS)


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme

"""``python -m pin_versions.cli`` and the ``pin-versions`` console script: the command line
lives in :mod:`pin_versions.local.cli`; this entry module only delegates, so the names SPEC.md
and pyproject.toml give keep working. The Lambda bundle leaves it out (macro/Makefile)."""

from __future__ import annotations

import sys

from .local.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())

"""``python -m pin_versions.stackset`` (``make stackset``): the StackSet generator lives in
:mod:`pin_versions.local.stackset`; this entry module only delegates. The Lambda bundle leaves
it out (macro/Makefile)."""

from __future__ import annotations

from .local.stackset import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())

"""Hypothesis profiles, and the count of property and fuzz cases a run went through.

Profiles (choose with HYPOTHESIS_PROFILE=<name> or --hypothesis-profile=<name>):
- ``ci`` (the default): derandomized, so every run, locally and in CI, tries the same cases;
  no deadline (CI machines are slow and uneven); hypothesis' default of 100 examples, which
  the property and fuzz suites scale to their own budgets (strategies.quota).
- ``shrink``: the ``ci`` cases, shrunk when one fails (CI does not shrink: it takes minutes
  per failing test); use it to minimise a failure CI reported.
- ``explore``: a random seed on every run and ten times the examples; failures are saved in
  .hypothesis/ and replayed first next time, with a blob to reproduce them.
``--hypothesis-seed=N`` (hypothesis' own option) runs the ``ci`` budget from seed N instead of
the derandomized one, to explore other cases reproducibly.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import strategies

_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=_SLOW)
# Same budget, but from the seed given with --hypothesis-seed (derandomize would ignore it).
settings.register_profile("ci-seeded", settings.get_profile("ci"), derandomize=False, database=None)
# The ci cases, shrunk when one fails: to minimise a failure CI reported.
settings.register_profile("shrink", settings.get_profile("ci"))
settings.register_profile(
    "explore",
    deadline=None,
    max_examples=1000,
    suppress_health_check=_SLOW,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Runs after hypothesis' plugin has read --hypothesis-seed and --hypothesis-profile.
    seeded = config.getoption("hypothesis_seed", default=None) is not None
    if seeded and settings.get_current_profile_name() == "ci":
        settings.load_profile("ci-seeded")


_WORKER_KEY = "pin_versions_cases"


def pytest_sessionfinish(session: pytest.Session) -> None:
    # An xdist worker hands its counts to the controller.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_KEY] = dict(strategies.CASES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    strategies.CASES.update(Counter(getattr(node, "workeroutput", {}).get(_WORKER_KEY, {})))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if strategies.CASES:
        counts = ", ".join(f"{count} {kind}" for kind, count in sorted(strategies.CASES.items()))
        terminalreporter.write_line(f"property and fuzz cases run: {counts}")

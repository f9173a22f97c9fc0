"""Fuzzing the handler with broken versions of real templates (the corpus and the golden inputs).

Each case is a real template with one to three mutations (strategies.mutated_cases): keys
dropped, values of the wrong type, definitions truncated or made invalid JSON, stray ``${`` and
``${!``, 100 KB strings, Parallel states and Fn::Join nested hundreds of levels deep, odd
unicode in names and states, duplicate state names, Resources or a resource or Properties of
the wrong type, weird ``Metadata.PinVersions``. Whatever the input, the handler answers
``success`` with a template that keeps every invariant (test_properties.check_case: idempotent,
deterministic, only additions and rewrites) or ``failure`` with a one-line message naming a
PV9xx code, and no fragment. Never an exception, never ``internal error`` (a bug in the macro:
the test fails on it).

Every mutator leads one test, so that each gets its share of the budget; the others may
follow. See test_properties.py for how to explore other seeds.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given

import strategies
from strategies import Case, budget, quota
from test_properties import DIAGNOSTIC, check_case, check_request

MUTATED_PER_MUTATOR = 150  # x 14 mutators = 2,100 mutated templates in CI
REQUESTS = 200

BASES = strategies.real_templates()


def test_the_corpus_is_there() -> None:
    # Fuzzing nothing would pass: make sure the real templates loaded.
    assert sum(b.name.startswith("corpus/") for b in BASES) >= 100
    assert sum(b.name.startswith("golden/") for b in BASES) >= 40


@pytest.mark.parametrize("mutator", strategies.MUTATORS, ids=lambda m: m.__name__)
def test_mutated_real_templates_get_an_answer(mutator: strategies.Mutator) -> None:
    examples = quota(MUTATED_PER_MUTATOR)
    statuses: Counter[str] = Counter()

    @budget(examples)
    @given(case=strategies.mutated_cases(first=mutator))  # mutator first, maybe others
    def run(case: Case) -> None:
        outcome = check_case(case)
        if outcome.ok:
            statuses["success"] += 1
        else:
            statuses[DIAGNOSTIC.findall(outcome.response["errorMessage"])[-1]] += 1

    try:
        run()
    finally:
        strategies.CASES["mutated"] += sum(statuses.values())
    assert sum(statuses.values()) >= examples, statuses


def test_malformed_requests_get_an_answer() -> None:
    template = next(b.template for b in BASES if b.name == "golden/join-cdk")
    count = 0

    @budget(REQUESTS)
    @given(event=strategies.malformed_requests(template))
    def run(event: object) -> None:
        nonlocal count
        count += 1
        response = check_request(event)
        assert response["requestId"] == (
            event.get("requestId")
            if isinstance(event, dict) and isinstance(event.get("requestId"), str)
            else ""
        )

    run()
    strategies.CASES["malformed requests"] += count
    assert count >= quota(REQUESTS)

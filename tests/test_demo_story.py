"""End to end: the blue-green story on the embedded emulator, with and without PinVersions."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from typing import Any

import pytest

from demo import story
from demo.emulator import MacroHandler

WAIT_SECONDS = 2  # long enough for the day-2 deploy to land while A waits


def real_handler() -> MacroHandler:
    try:
        found = importlib.util.find_spec(story.HANDLER)
    except ModuleNotFoundError:
        found = None
    if found is None:
        pytest.skip(f"{story.HANDLER} is not there yet")
    return story.load_macro()


@pytest.fixture(scope="module")
def pinned() -> story.Chapter:
    return story.play(True, real_handler(), WAIT_SECONDS)


@pytest.fixture(scope="module")
def unpinned() -> story.Chapter:
    return story.play(False, None, WAIT_SECONDS)


def test_with_pin_versions_a_keeps_day_1_code(pinned: story.Chapter) -> None:
    assert pinned.problems == []
    a, b = pinned.executions["A"], pinned.executions["B"]
    assert (a.invoked, a.hello_verdict, a.status) == (
        (f"{pinned.function_arn}:1",),
        "Approved",
        "SUCCEEDED",
    )
    assert (b.invoked, b.hello_verdict, b.status) == (
        (f"{pinned.function_arn}:2",),
        "ThumbsUp",
        "SUCCEEDED",
    )
    # Real IAM would refuse a version the role does not cover; the macro widened the role.
    # ... through the retained grant (docs/design.md, Day 2): PinVersionsInvoke-Hello-<h>.
    (granted,) = set(a.allowed_by + b.allowed_by)
    assert granted is not None and re.fullmatch(r"PinVersionsInvoke-Hello-[0-9a-f]{10}", granted)


def test_without_pin_versions_a_runs_new_code_and_fails(unpinned: story.Chapter) -> None:
    assert unpinned.problems == []
    a, b = unpinned.executions["A"], unpinned.executions["B"]
    assert (a.invoked, a.hello_verdict, a.status, a.error) == (
        (unpinned.function_arn,),
        "ThumbsUp",
        "FAILED",
        "UnexpectedVerdict",
    )
    assert (b.invoked, b.status) == ((unpinned.function_arn,), "SUCCEEDED")


def test_a_macro_that_pins_nothing_fails_the_story() -> None:
    def do_nothing(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"requestId": event["requestId"], "status": "success", "fragment": event["fragment"]}

    chapter = story.play(True, do_nothing, WAIT_SECONDS)
    passed, line = story.verdict([chapter])
    assert not passed
    arn = chapter.function_arn
    assert f"with PinVersions: A invoked {arn}, expected {arn}:1;" in line
    assert "A ended FAILED (UnexpectedVerdict), expected SUCCEEDED" in line


def test_the_demo_prints_both_timelines_then_one_verdict(
    pinned: story.Chapter,
    unpinned: story.Chapter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(story, "run", lambda **_: [pinned, unpinned])
    assert story.main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("VERDICT: PASS - with PinVersions, A ran day-1 Hello (version 1)")
    assert [line for line in out if line.startswith("VERDICT")] == [out[-1]]
    assert any(line.startswith("== With PinVersions ") for line in out)
    assert any(line.startswith("== Without PinVersions ") for line in out)
    assert f"       invoked  {pinned.function_arn}:1" in out
    assert "       status   FAILED (UnexpectedVerdict)" in out


def test_the_demo_exits_non_zero_when_the_story_goes_wrong(
    pinned: story.Chapter,
    unpinned: story.Chapter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The unpinned chapter judged as if it were pinned: A should have run version 1.
    wrong = dataclasses.replace(unpinned, pinned=True, problems=[])
    wrong.problems = story._check(wrong)
    monkeypatch.setattr(story, "run", lambda **_: [wrong, unpinned])
    assert story.main([]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("VERDICT: FAIL - with PinVersions")

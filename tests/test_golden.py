"""Golden cases: tests/golden/<case>/input.yaml (+ params.json) -> expected.json and
report.json, or error.txt with the exact failure message.

Run with UPDATE_GOLDEN=1 to rewrite the expected files, then review every changed line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pin_versions import Context, transform
from pin_versions.local.sam_local import translate
from support import (
    ACCOUNT,
    REGION,
    deployed_problems,
    load_path,
    needs_sam,
    new_lint_errors,
    run_macro,
    unused_placeholders,
)

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.yaml").exists())


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _case(name: str) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    folder = GOLDEN / name
    template = load_path(folder / "input.yaml")
    params_file = folder / "params.json"
    params = _read_json(params_file) if params_file.exists() else {}
    return folder, template, params


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    folder, template, params = _case(name)
    response = run_macro(template, params)
    error_file = folder / "error.txt"
    if UPDATE:
        for stale in ("expected.json", "report.json", "error.txt"):
            (folder / stale).unlink(missing_ok=True)
        if response["status"] == "failure":
            error_file.write_text(response["errorMessage"] + "\n", encoding="utf-8")
            return
        _write_json(folder / "expected.json", response["fragment"])
    if error_file.exists():
        assert response["status"] == "failure"
        assert response["errorMessage"] == error_file.read_text(encoding="utf-8").strip()
        return

    assert response["status"] == "success", response.get("errorMessage")
    output = response["fragment"]
    assert output == _read_json(folder / "expected.json")

    # The report, from the pure pipeline with the same inputs.
    fragment = {k: v for k, v in template.items() if k != "Transform"}
    values = {
        k: str(v["Default"]) for k, v in fragment.get("Parameters", {}).items() if "Default" in v
    } | params
    report = transform(fragment, Context(REGION, ACCOUNT, values)).report.to_json()
    if UPDATE:
        _write_json(folder / "report.json", report)
    assert report == _read_json(folder / "report.json")

    # Every output passes cfn-lint with no error the input did not have, and leaves no
    # substitution key or Sub variable unused (cfn-lint does not look at those).
    assert new_lint_errors(fragment, output) == []
    assert unused_placeholders(output) <= unused_placeholders(fragment)

    # Idempotent: the macro applied to its own output changes nothing.
    again = run_macro(output, params)
    assert again["status"] == "success"
    assert again["fragment"] == output

    if needs_sam(template):
        _check_both_sam_orders(folder, fragment, output, values, params)


def _check_both_sam_orders(
    folder: Path,
    fragment: dict[str, Any],
    output: dict[str, Any],
    values: dict[str, Any],
    params: dict[str, Any],
) -> None:
    """[PinVersions, SAM] and [SAM, PinVersions] deploy the same behaviour: after SAM's own
    translator, every Task invokes a retained version its role may invoke."""
    expanded = translate(fragment, values)  # the template as SAM alone would deploy it
    before_sam = translate(output, values)
    assert deployed_problems(before_sam) == []
    assert new_lint_errors(expanded, before_sam) == []

    response = run_macro(expanded, params)
    assert response["status"] == "success", response.get("errorMessage")
    after_sam = response["fragment"]
    assert deployed_problems(after_sam) == []
    assert new_lint_errors(expanded, after_sam) == []
    assert run_macro(after_sam, params)["fragment"] == after_sam

    report = transform(expanded, Context(REGION, ACCOUNT, values)).report.to_json()
    if UPDATE:
        _write_json(folder / "report-after-sam.json", report)
    assert report == _read_json(folder / "report-after-sam.json")


def test_enough_golden_cases() -> None:
    assert len(CASES) >= 30

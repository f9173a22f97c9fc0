"""The macro contract (SPEC 3): request in, response out, never raises, never mutates,
deterministic, one log line without the template or parameter values."""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from pin_versions import handler as handler_module
from pin_versions.handler import lambda_handler
from support import ROOT, SAMPLES, load_path, macro_event, run_macro

DAY1 = load_path(SAMPLES / "blue-green" / "day1.yaml")


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """What the handler logs, formatted by Powertools (its own handler keeps the stdout it
    found at import time, which pytest cannot capture)."""
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(handler_module.logger.registered_formatter)
    std_logger = logging.getLogger(handler_module.logger.name)
    std_logger.addHandler(capture)
    try:
        yield stream
    finally:
        std_logger.removeHandler(capture)


def test_success_response_shape() -> None:
    response = run_macro(DAY1, {"WaitSeconds": "5"})
    assert set(response) == {"requestId", "status", "fragment"}
    assert response["status"] == "success"
    assert "Transform" not in response["fragment"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        pytest.param(None, "the macro request must be a JSON object [PV901]", id="none"),
        pytest.param([], "the macro request must be a JSON object [PV901]", id="list"),
        pytest.param(
            {"fragment": {}},
            "requestId: the macro request has no requestId [PV901]",
            id="no-request-id",
        ),
        pytest.param(
            {"requestId": "r"},
            "fragment: the macro request has no fragment [PV901]",
            id="no-fragment",
        ),
        pytest.param(
            {"requestId": "r", "fragment": ["Resources"]},
            "fragment: the fragment must be a JSON object (a template) [PV901]",
            id="fragment-list",
        ),
        pytest.param(
            {"requestId": "r", "fragment": {"Type": "AWS::Lambda::Function"}, "params": {}},
            handler_module.parse_request.__globals__["FN_TRANSFORM_MESSAGE"] + " [PV902]",
            id="fn-transform-snippet",
        ),
        pytest.param(
            {"requestId": "r", "fragment": {"Resources": {}}, "params": {"Mode": "x"}},
            handler_module.parse_request.__globals__["FN_TRANSFORM_MESSAGE"] + " [PV902]",
            id="fn-transform-params",
        ),
        pytest.param(
            {"requestId": "r", "fragment": {"Resources": []}},
            "Resources: must be a mapping of resources [PV910]",
            id="resources-list",
        ),
    ],
)
def test_malformed_requests_fail_with_a_message(event: Any, message: str) -> None:
    before = copy.deepcopy(event)
    response = lambda_handler(event, None)
    assert event == before
    assert response["status"] == "failure"
    assert response["errorMessage"] == message
    assert "fragment" not in response


def test_unexpected_exceptions_become_failures(
    monkeypatch: pytest.MonkeyPatch, log: io.StringIO
) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(handler_module, "transform", boom)
    response = lambda_handler(macro_event(DAY1), None)
    assert response == {
        "requestId": "test-request",
        "status": "failure",
        "errorMessage": "internal error (RuntimeError: boom); this is a bug in the macro, "
        "please report it [PV900]",
    }
    logged = log.getvalue()
    assert "Traceback" in logged  # the stack trace goes to the log, not to the user


def test_internal_errors_name_the_state_machine_being_processed(
    monkeypatch: pytest.MonkeyPatch, log: io.StringIO
) -> None:
    """troubleshooting.md says to Exclude the state machine a PV900 names: it must name one."""
    from pin_versions.plan import planner as plan_module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("States")

    monkeypatch.setattr(plan_module, "analyse", broken)
    response = lambda_handler(macro_event(DAY1), None)
    assert response["status"] == "failure"
    assert response["errorMessage"] == (
        "Resources.Workflow: internal error while processing Resources.Workflow (KeyError: "
        "'States'); this is a bug in the macro, please report it; meanwhile list Workflow in "
        "Metadata.PinVersions.Exclude [PV900]"
    )
    assert "Traceback" in log.getvalue() and "KeyError" in log.getvalue()


def _log_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_one_log_line_with_counts_and_no_template_or_parameter_values(
    log: io.StringIO,
) -> None:
    secret = "s3cr3t-parameter-value-7c1e"
    marker = "template-content-marker-91ab"
    template = copy.deepcopy(DAY1)
    template["Parameters"]["ApiKey"] = {"Type": "String", "NoEcho": True}
    template["Resources"]["Hello"]["Properties"]["Environment"] = {
        "Variables": {"KEY": {"Ref": "ApiKey"}, "NOTE": marker}
    }
    response = run_macro(template, {"ApiKey": secret, "WaitSeconds": "5"})
    assert response["status"] == "success"
    output = log.getvalue()
    lines = _log_lines(output)
    assert len(lines) == 1
    (line,) = lines
    assert line["status"] == "success"
    assert line["pinned"] == 1 and line["versionsCreated"] == 1 and line["rolesWidened"] == 1
    assert line["requestId"] == "test-request"
    assert secret not in output and marker not in output and "ZipFile" not in output


def test_failures_are_logged_with_their_codes(log: io.StringIO) -> None:
    lambda_handler({"requestId": "r"}, None)
    (line,) = _log_lines(log.getvalue())
    assert line["status"] == "failure" and line["errors"] == ["PV901"]


def test_failure_changes_nothing_and_returns_no_fragment() -> None:
    template = copy.deepcopy(DAY1)
    template["Metadata"] = {"PinVersions": {"Strict": True}}
    template["Resources"]["Workflow"]["Properties"]["RoleArn"] = "arn:aws:iam::1:role/x"
    response = run_macro(template)
    assert response["status"] == "failure"
    assert "fragment" not in response
    assert "[PV905]" in response["errorMessage"]


def test_same_request_same_bytes_in_every_process() -> None:
    """No dict-order, set-order or hash-seed dependence: two interpreters with different hash
    seeds give byte-identical responses."""
    script = (
        "import json, sys\n"
        "from support import SAMPLES, load_path, macro_event\n"
        "from pin_versions.handler import lambda_handler\n"
        "out = []\n"
        "for name in sorted(p for p in SAMPLES.rglob('*') if p.suffix in ('.yaml', '.json')"
        " and p.name != 'machine.asl.json'):\n"
        "    event = macro_event(load_path(name), {'DefinitionBucket': 'b'})\n"
        "    out.append(lambda_handler(event, None))\n"
        "sys.stdout.write('RESULT' + json.dumps(out))\n"
    )
    results = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "POWERTOOLS_LOG_LEVEL": "ERROR"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "macro"), str(ROOT / "tests")])
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        results.append(done.stdout.split("RESULT", 1)[1])
    assert results[0] == results[1]
    assert '"status": "success"' in results[0]


def _new_modules(statement: str) -> set[str]:
    """Top-level modules a statement imports, in a fresh interpreter."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"{statement}\n"
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "macro")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.replace("'", '"')))


def test_the_lambda_imports_only_the_standard_library_and_powertools() -> None:
    ours = _new_modules("import pin_versions.handler")
    powertools = _new_modules("from aws_lambda_powertools import Logger")
    extra = ours - powertools - set(sys.stdlib_module_names) - {"pin_versions"}
    assert not {m for m in extra if not m.startswith("_")}
    assert "yaml" not in ours and "samtranslator" not in ours and "cfnlint" not in ours

"""Helpers shared by the tests: macro events as CloudFormation sends them, cfn-lint, walks."""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from pin_versions.handler import lambda_handler
from pin_versions.local.yaml_io import load

ROOT = Path(__file__).resolve().parent.parent


def _corpus() -> Path:
    """The corpus of real templates: $PIN_VERSIONS_CORPUS, else ../shared/corpus next to the
    checkout, else the workplace's /work/shared/corpus (a clone made elsewhere, as CI may).
    Tests that need it fail, never skip, when none exists."""
    candidates = [os.environ.get("PIN_VERSIONS_CORPUS", ""), ROOT.parent / "shared" / "corpus"]
    candidates.append(Path("/work/shared/corpus"))
    for candidate in candidates:
        if candidate and (Path(candidate) / "MANIFEST.tsv").is_file():
            return Path(candidate)
    return ROOT.parent / "shared" / "corpus"


CORPUS = _corpus()
SAMPLES = ROOT / "samples"

REGION = "us-east-1"
ACCOUNT = "123456789012"


def load_path(path: Path) -> Any:
    return load(path.read_text(encoding="utf-8"), str(path))


def transforms_of(template: dict[str, Any]) -> list[str]:
    value = template.get("Transform")
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def macro_event(
    template: dict[str, Any],
    parameters: dict[str, Any] | None = None,
    request_id: str = "test-request",
    region: str = REGION,
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """The request CloudFormation sends a template-level macro: the template without its
    Transform section, and the parameter values (defaults filled in)."""
    fragment = {k: v for k, v in template.items() if k != "Transform"}
    values: dict[str, Any] = {}
    declared = template.get("Parameters")
    if isinstance(declared, dict):
        for name, spec in declared.items():
            if isinstance(spec, dict) and "Default" in spec:
                values[name] = str(spec["Default"])
    values.update(parameters or {})
    return {
        "region": region,
        "accountId": account,
        "fragment": fragment,
        "transformId": f"{account}::PinVersions",
        "params": {},
        "requestId": request_id,
        "templateParameterValues": values,
    }


def run_macro(template: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the Lambda handler exactly as CloudFormation would; assert it left the request
    alone."""
    event = macro_event(template, parameters)
    before = copy.deepcopy(event)
    response = lambda_handler(event, None)
    assert event == before, "the handler mutated its request"
    assert response["requestId"] == event["requestId"]
    assert response["status"] in ("success", "failure")
    return response


@lru_cache(maxsize=1)
def _linter() -> tuple[Any, Any]:
    """cfn-lint's configuration and rules, built once per process: building the rules takes
    ten times as long as linting a template with them."""
    from cfnlint.api import Runner
    from cfnlint.config import ConfigMixIn

    config = ConfigMixIn(regions=[REGION])
    return config, Runner(config).rules


@lru_cache(maxsize=512)
def _lint_json(text: str) -> tuple[tuple[str, str, str], ...]:
    from cfnlint.api import run_template_by_data
    from cfnlint.decode import decode_str

    template, errors = decode_str(text)
    config, rules = _linter()
    matches = errors or list(run_template_by_data(template, config, rules))
    return tuple(sorted((m.rule.id, "/".join(str(p) for p in m.path), m.message) for m in matches))


def lint_errors(template: dict[str, Any]) -> list[tuple[str, str, str]]:
    """cfn-lint errors (E rules): (rule, path, message). A template with SAM resources is
    linted with the SAM transform (cfn-lint runs it); PinVersions is not known to cfn-lint."""
    body = {k: v for k, v in template.items() if k != "Transform"}
    if needs_sam(template):
        body["Transform"] = SAM_TRANSFORM
    return [m for m in _lint_json(json.dumps(body, sort_keys=True)) if m[0].startswith("E")]


def new_lint_errors(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Errors in ``after`` beyond those ``before`` already had (counted per rule)."""
    had = Counter(rule for rule, _, _ in lint_errors(before))
    out: list[str] = []
    for rule, path, message in lint_errors(after):
        if had[rule] > 0:
            had[rule] -= 1
        else:
            out.append(f"{rule} {path}: {message}")
    return out


def resources_of_type(template: dict[str, Any], rtype: str) -> dict[str, Any]:
    return {
        k: v
        for k, v in template.get("Resources", {}).items()
        if isinstance(v, dict) and v.get("Type") == rtype
    }


STATE_MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")
DEFINITION_KEYS = ("Definition", "DefinitionString")


def _subs_in(value: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every two-argument Fn::Sub in a value: (string, variables)."""
    found: list[tuple[str, dict[str, Any]]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            args = node.get("Fn::Sub") if len(node) == 1 else None
            if isinstance(args, list) and len(args) == 2 and isinstance(args[1], dict):
                found.append((str(args[0]), args[1]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def unused_placeholders(template: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Substitution keys and Sub variables of state machines that nothing uses."""
    unused: set[tuple[str, str, str]] = set()
    for name, resource in template.get("Resources", {}).items():
        if not isinstance(resource, dict) or resource.get("Type") not in STATE_MACHINE_TYPES:
            continue
        properties = resource.get("Properties", {})
        definition = next((properties[k] for k in DEFINITION_KEYS if k in properties), None)
        if definition is None:
            continue  # the definition is elsewhere: nothing to compare against
        text = json.dumps(definition)
        substitutions = properties.get("DefinitionSubstitutions")
        if isinstance(substitutions, dict):
            for key in substitutions:
                if "${" + key + "}" not in text and "${!" + key + "}" not in text:
                    unused.add((name, "substitution", key))
        for string, variables in _subs_in(definition):
            for var in variables:
                if "${" + var + "}" not in string:
                    unused.add((name, "variable", var))
    return unused


SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def needs_sam(template: dict[str, Any]) -> bool:
    resources = template.get("Resources")
    return SAM_TRANSFORM in transforms_of(template) or (
        isinstance(resources, dict)
        and any(
            isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::Serverless::")
            for r in resources.values()
        )
    )


# Manifest rows that are not templates to run: a DefinitionUri's definition, a nested stack's
# template (SAM's AWS::Serverless::Application Location).
COMPANION_FORMS = ("companion-asl", "companion-template")


def _manifest_rows(folder: Path, root: str, prefix: str) -> list[dict[str, str]]:
    """One corpus folder's MANIFEST.tsv template rows (not companion files: state machine
    definitions, nested stack templates), each with ``root`` and ``file`` prefixed by
    ``prefix``."""
    lines = (folder / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:] if line]
    return [
        {**row, "file": prefix + row["file"], "root": root}
        for row in rows
        if row["form"] not in COMPANION_FORMS
    ]


def corpus_manifest() -> list[dict[str, str]]:
    """The shared corpus' MANIFEST.tsv rows that are templates (not companion definitions);
    ``file`` is relative to CORPUS."""
    return _manifest_rows(CORPUS, "shared", "")


# The in-repository corpus (tests/corpus/): real templates with nested state machines, ECS
# task definitions and Batch job definitions (issue 14), in the repository so that CI, which
# runs on a clean clone, has them. Its rows' ``file`` is relative to ROOT.
REPO_CORPUS = ROOT / "tests" / "corpus"
REPO_CORPUS_PREFIX = "tests/corpus/"


def corpus_templates() -> list[dict[str, str]]:
    """Every corpus template row of both roots: the shared corpus (``root`` "shared", ``file``
    relative to CORPUS) and tests/corpus/ (``root`` "repo", ``file`` starting with
    ``tests/corpus/``). ``corpus_path(row["file"])`` is the file."""
    return [*corpus_manifest(), *_manifest_rows(REPO_CORPUS, "repo", REPO_CORPUS_PREFIX)]


def corpus_path(name: str) -> Path:
    """A corpus row's file: ``tests/corpus/...`` is in this repository, anything else in the
    shared corpus."""
    return ROOT / name if name.startswith(REPO_CORPUS_PREFIX) else CORPUS / name


def deployed_problems(processed: dict[str, Any]) -> list[str]:
    """What would break a running execution in a fully processed template (after every
    transform): a Task invoking an in-template function unqualified, a version without
    Retain, a role that does not allow every version of a pinned function. The same checks
    as the cfn-lint rules W9101 and E9102."""
    from pin_versions.local.checks import processed_problems, unpinned_targets

    return [f.message for f in unpinned_targets(processed) + processed_problems(processed)]

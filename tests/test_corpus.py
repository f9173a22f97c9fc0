"""Every real template of ../shared/corpus that needs no SAM transform (plain CloudFormation,
CDK output, SAM translator output) goes through the handler as CloudFormation would call it.

For each: status success, nothing left that could have been pinned (a second pass pins
nothing, and everything the first pass left alone carries a reason), idempotent, and no
cfn-lint error that the input did not have.
"""

from __future__ import annotations

from typing import Any

import pytest

from pin_versions.inventory import Context
from pin_versions.transform import transform
from pin_versions.yaml_io import TemplateLoadError
from support import (
    ACCOUNT,
    CORPUS,
    REGION,
    corpus_manifest,
    load_path,
    needs_sam,
    new_lint_errors,
    run_macro,
    unused_placeholders,
)

# Files in the corpus that are not CloudFormation templates CloudFormation would accept.
NOT_CLOUDFORMATION = {
    "cfn-templates/CloudFormation/MacrosExamples/StringFunctions/string.yaml": (
        "uses !Rain::Embed, a tag of the Rain tool that Rain expands before deploying"
    ),
}

# Reasons to leave an in-template function's Task alone: the first pass must say one.
LEFT_ALONE = {"PV108", "PV110", "PV111"}


def _templates() -> tuple[list[str], list[str]]:
    plain: list[str] = []
    sam: list[str] = []
    for row in corpus_manifest():
        name = row["file"]
        if name in NOT_CLOUDFORMATION:
            continue
        template = load_path(CORPUS / name)
        (sam if needs_sam(template) else plain).append(name)
    return plain, sam


PLAIN, SAM = _templates()
FORMS = {row["file"]: set(row["form"].split(",")) for row in corpus_manifest()}


def _report(template: dict[str, Any]) -> Any:
    fragment = {k: v for k, v in template.items() if k != "Transform"}
    return transform(fragment, Context(REGION, ACCOUNT, {})).report


@pytest.mark.parametrize("name", PLAIN)
def test_corpus_template(name: str) -> None:
    template = load_path(CORPUS / name)
    response = run_macro(template)
    assert response["status"] == "success", response.get("errorMessage")
    output = response["fragment"]

    first = _report(template)
    second = _report(output)
    assert second.pins == [], "a second pass found targets the first one missed"
    left_alone = {(w.code, w.path) for w in first.warnings if w.code in LEFT_ALONE}
    assert {(w.code, w.path) for w in second.warnings if w.code in LEFT_ALONE} == left_alone

    forms = FORMS[name]
    if forms & {"direct-arn", "lambda-invoke"} and not forms & {
        "no-local-lambda",
        "external-lambda",
        "no-lambda",
    }:
        assert first.pins, "the manifest says this template invokes its own functions"

    assert run_macro(output)["fragment"] == output
    assert new_lint_errors(template, output) == []
    assert unused_placeholders(output) <= unused_placeholders(template)


def test_corpus_coverage() -> None:
    """The corpus is what the README claims: every template is either run above, needs the SAM
    transform (issue 3), or is listed with the reason it is not CloudFormation."""
    assert len(PLAIN) >= 30
    templates = {row["file"] for row in corpus_manifest()}
    assert templates == set(PLAIN) | set(SAM) | set(NOT_CLOUDFORMATION)
    for name in NOT_CLOUDFORMATION:
        with pytest.raises(TemplateLoadError):
            load_path(CORPUS / name)

"""Every real template of ../shared/corpus, in every order that applies, through the code
`pin-versions transform` runs (local packaging, SAM offline, PinVersions): tests/corpus_run.py,
which `make corpus` prints as a table.

Per run: success; no cfn-lint error the template without PinVersions did not have; nothing
that would break a running execution (every in-template target invokes a retained version
its role may invoke, unless the report says why not); PinVersions applied to its own output
changes nothing.
"""

from __future__ import annotations

import pytest

from corpus_run import PIN, corpus_jobs, run_template
from pin_versions import Context, transform
from pin_versions.local.yaml_io import TemplateLoadError
from support import (
    ACCOUNT,
    CORPUS,
    REGION,
    corpus_manifest,
    load_path,
    macro_event,
    needs_sam,
    run_macro,
)

JOBS = corpus_jobs()

# Templates that cannot run offline, with the reason; anything else must succeed.
NOT_LOCAL = {
    "cfn-templates/CloudFormation/MacrosExamples/StringFunctions/string.yaml": (
        "uses !Rain::Embed, a tag of the Rain tool that Rain expands before deploying: not "
        "a template CloudFormation reads"
    ),
    "cfn-lint/test/fixtures/templates/good/transform/language_extension.yaml": (
        "lists AWS::LanguageExtensions, which only CloudFormation runs"
    ),
}
FORMS = {row["file"]: set(row["form"].split(",")) for row in corpus_manifest()}
LOCAL_TARGETS = {"direct-arn", "lambda-invoke"}
NO_LOCAL_TARGETS = {"no-local-lambda", "external-lambda", "no-lambda", "definition-external"}


@pytest.mark.parametrize(("name", "orders"), JOBS, ids=[job[0] for job in JOBS])
def test_corpus_template(name: str, orders: list[tuple[str, list[str]]]) -> None:
    for row, (_, transforms) in zip(run_template(name, orders), orders, strict=True):
        where = f"[{row.order}] "
        if name in NOT_LOCAL:
            assert row.status == "unsupported", where + row.message
            continue
        assert row.status == "ok", where + row.message
        assert row.new_lint == [], where
        assert row.problems == [], where
        if transforms[-1] == PIN:
            assert row.idempotent, where
        forms = FORMS[name]
        if forms & LOCAL_TARGETS and not forms & NO_LOCAL_TARGETS:
            assert row.pinned, where + "the manifest says this template invokes its own functions"


def test_corpus_coverage() -> None:
    """What the corpus holds, and that every template is run in the orders that apply: once
    for CloudFormation and CDK output, twice (both orders) for SAM."""
    files = [row["file"] for row in corpus_manifest()]
    assert len(files) == 126
    runs = {name: [order for order, _ in orders] for name, orders in JOBS}
    assert set(runs) == set(files)
    for name, orders in runs.items():
        if name in NOT_LOCAL:
            continue
        template = load_path(CORPUS / name)
        assert orders == (["pin-first", "sam-first"] if needs_sam(template) else ["pin"])
    sam = sum(1 for orders in runs.values() if len(orders) == 2)
    assert (len(files) - sam, sam) == (32, 94)
    with pytest.raises(TemplateLoadError):
        load_path(CORPUS / next(iter(NOT_LOCAL)))


PLAIN = [name for name, orders in JOBS if orders == [("pin", [PIN])] and name not in NOT_LOCAL]


@pytest.mark.parametrize("name", PLAIN)
def test_plain_template_through_the_handler(name: str) -> None:
    """CloudFormation, CDK and SAM-expanded templates reach the macro as they are: through
    the Lambda handler, as CloudFormation calls it, each succeeds, and the handler and the
    command line give the same template."""
    template = load_path(CORPUS / name)
    response = run_macro(template)
    assert response["status"] == "success", response.get("errorMessage")
    event = macro_event(template)
    context = Context(REGION, ACCOUNT, event["templateParameterValues"])
    assert response["fragment"] == transform(event["fragment"], context).template


def test_how_many_plain_templates() -> None:
    assert len(PLAIN) == 31

"""The macro request's ``params`` (issue 12 item 8): CloudFormation sends an object (empty for
a template-level macro). Anything else did not come from CloudFormation and is refused with
PV901 naming ``params``, never silently accepted."""

from __future__ import annotations

from typing import Any

import pytest

from pin_versions import TransformError
from pin_versions.event import FN_TRANSFORM_MESSAGE, parse_request

FRAGMENT = {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}


def request(**extra: Any) -> dict[str, Any]:
    return {"requestId": "r", "fragment": FRAGMENT, "region": "us-east-1", **extra}


@pytest.mark.parametrize("params", [{}, None], ids=["empty-object", "null"])
def test_template_level_params_are_accepted(params: Any) -> None:
    assert parse_request(request(params=params)).fragment == FRAGMENT
    assert parse_request(request()).fragment == FRAGMENT


@pytest.mark.parametrize(
    ("params", "kind"),
    [
        (["a"], "an array"),
        ([], "an array"),
        ("Name=x", "a string"),
        ("", "a string"),
        (3, "a number"),
        (True, "a boolean"),
    ],
)
def test_params_that_are_not_an_object_are_refused(params: Any, kind: str) -> None:
    with pytest.raises(TransformError) as caught:
        parse_request(request(params=params))
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.path) == ("PV901", "params")
    assert diagnostic.message == f"the macro request's params must be a JSON object, not {kind}"


def test_non_empty_params_still_mean_fn_transform() -> None:
    with pytest.raises(TransformError) as caught:
        parse_request(request(params={"A": 1}))
    assert caught.value.diagnostics[0].code == "PV902"
    assert caught.value.diagnostics[0].message == FN_TRANSFORM_MESSAGE

"""The macro request and response (CloudFormation's macro contract), typed and read-only, and
the ``Context`` it gives the transform: the stack's region, account and parameter values.
inventory.py and references.py read ``Context``; this module imports only report.py."""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from .report import fail


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("eu-isoe-"):
        return "aws-iso-e"
    if region.startswith("us-isof-"):
        return "aws-iso-f"
    return "aws"


_NO_PARAMETERS: Mapping[str, Any] = MappingProxyType({})


class Context(NamedTuple):
    """What the request tells about the stack being deployed."""

    region: str | None = None
    account_id: str | None = None
    parameters: Mapping[str, Any] = _NO_PARAMETERS

    def pseudo_value(self, name: str) -> str | None:
        if name == "AWS::Region":
            return self.region
        if name == "AWS::AccountId":
            return self.account_id
        if name == "AWS::Partition":
            return partition_of(self.region) if self.region else None
        if name == "AWS::URLSuffix":
            if not self.region:
                return None
            return "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"
        return None


FN_TRANSFORM_MESSAGE = (
    "PinVersions is a template-level macro: list it under Transform at the top of the "
    "template (Transform: PinVersions), not in Fn::Transform"
)


class MacroRequest(NamedTuple):
    request_id: str
    region: str | None
    account_id: str | None
    fragment: dict[str, Any]
    parameter_values: Mapping[str, Any]


def _optional_str(event: Mapping[str, Any], key: str) -> str | None:
    value = event.get(key)
    return value if isinstance(value, str) and value else None


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else type(value).__name__


def request_id_of(event: Any) -> str:
    if isinstance(event, Mapping):
        value = event.get("requestId")
        if isinstance(value, str):
            return value
    return ""


def parse_request(event: Any) -> MacroRequest:
    """Validate the request; raises TransformError naming what is wrong."""
    if not isinstance(event, Mapping):
        raise fail("PV901", "", "the macro request must be a JSON object")
    request_id = event.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise fail("PV901", "requestId", "the macro request has no requestId")
    if "fragment" not in event:
        raise fail("PV901", "fragment", "the macro request has no fragment")
    fragment = event["fragment"]
    if type(fragment) is not dict:
        raise fail("PV901", "fragment", "the fragment must be a JSON object (a template)")
    params = event.get("params")
    # CloudFormation sends params as an object (empty for a template-level macro, the
    # Fn::Transform Parameters otherwise). Anything else did not come from CloudFormation:
    # refuse it rather than ignore it silently.
    if params is not None and not isinstance(params, Mapping):
        raise fail(
            "PV901",
            "params",
            f"the macro request's params must be a JSON object, not {_json_kind(params)}",
        )
    # Template-level macros get the whole template (which always has Resources) and no
    # params; Fn::Transform gets a snippet and whatever parameters it was given.
    if "Resources" not in fragment or (isinstance(params, Mapping) and params):
        raise fail("PV902", "", FN_TRANSFORM_MESSAGE)
    values = event.get("templateParameterValues")
    return MacroRequest(
        request_id=request_id,
        region=_optional_str(event, "region"),
        account_id=_optional_str(event, "accountId"),
        fragment=fragment,
        parameter_values=values if isinstance(values, Mapping) else {},
    )


def success(request_id: str, fragment: dict[str, Any]) -> dict[str, Any]:
    return {"requestId": request_id, "status": "success", "fragment": fragment}


def failure(request_id: str, message: str) -> dict[str, Any]:
    return {"requestId": request_id, "status": "failure", "errorMessage": message}

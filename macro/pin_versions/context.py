"""What the request tells about the stack being deployed: its region, account and parameter
values. A leaf module: inventory.py and references.py both read it."""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple


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

"""What a side's IAM policies allow: the invoke grants of each role (inline, attached
managed and AWS managed policies) evaluated against a concrete function ARN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...iam import MANAGED_POLICIES_ALLOWING_INVOKE, invoke_resources
from ...intrinsics import intrinsic_name, ref_target
from ...references import Leaf, resolve
from .model import _MANAGED_ARN, _POLICY_TYPES, _UNKNOWN, Side, _plain
from .uses import _version_owner, version_number


def _glob(pattern: str) -> str:
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class _Grants:
    """IAM evaluation of one side's policies against a concrete ARN. Conservative: a
    statement with a Condition, NotAction or NotResource, or a value nobody can read, grants
    nothing."""

    def __init__(self, side: Side, names: dict[str, str]) -> None:
        self.side = side
        self.names = names  # function logical ID -> its physical name on this side
        self.owners = _version_owner(side.inventory) if side.inventory is not None else {}
        context = side.context
        self.partition = context.pseudo_value("AWS::Partition") or _UNKNOWN
        self.region = context.region or _UNKNOWN
        self.account = context.account_id or _UNKNOWN

    def function_arn(self, function: str) -> str:
        name = self.names.get(function, _UNKNOWN + "N" + function)
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"

    def _leaf_text(self, leaf: Leaf) -> str | None:
        if leaf.kind == "fn-arn":
            return self.function_arn(leaf.ref)
        if leaf.kind == "fn-name":
            return self.names.get(leaf.ref, _UNKNOWN + "N" + leaf.ref)
        if leaf.kind == "version" and leaf.ref in self.owners:
            return f"{self.function_arn(self.owners[leaf.ref])}:{version_number(leaf.ref)}"
        if leaf.kind == "version-number":
            return version_number(leaf.ref)
        if leaf.kind == "opaque":
            return {
                "AWS::Partition": self.partition,
                "AWS::Region": self.region,
                "AWS::AccountId": self.account,
            }.get(leaf.ref)
        return None

    def _entry_allows(self, entry: Any, arn: str) -> bool:
        branches = entry.get("Fn::If") if type(entry) is dict and len(entry) == 1 else None
        if isinstance(branches, list) and len(branches) == 3:
            chosen = self.side.conditions.value(branches[0])
            if chosen is None:
                return self._entry_allows(branches[1], arn) and self._entry_allows(branches[2], arn)
            return self._entry_allows(branches[1 if chosen else 2], arn)
        inventory = self.side.inventory
        if inventory is None or ref_target(entry) == "AWS::NoValue":
            return False
        parts: list[str] = []
        for item in resolve(entry, inventory):
            text = item if isinstance(item, str) else self._leaf_text(item)
            if text is None:
                return False
            parts.append(_glob(item) if isinstance(item, str) else re.escape(text))
        return re.fullmatch("".join(parts), arn, re.DOTALL) is not None

    def statement_allows(self, statement: Any, arn: str) -> bool:
        resources = invoke_resources(statement)
        return resources is not None and any(self._entry_allows(r, arn) for r in resources)

    def document_allows(self, document: Any, arn: str) -> bool:
        if type(document) is not dict:
            return False
        return any(self.statement_allows(s, arn) for s in _listify(document.get("Statement", [])))


@dataclass(frozen=True, slots=True)
class _Attached:
    label: str  # what to call it in a verdict
    logical_id: str | None  # the policy resource, None for an inline policy
    document: Any  # a policy document, or None for an AWS managed policy that allows invoke


def _attached(side: Side, role: str) -> Iterator[_Attached]:
    """What is attached to ``role`` on this side: inline policies (the branch an ``Fn::If``
    picks), AWS managed policies that allow invoking any function, and policy resources."""
    properties = side.properties(role)
    for policy in _listify(properties.get("Policies", [])):
        branches = policy.get("Fn::If") if type(policy) is dict and len(policy) == 1 else None
        if isinstance(branches, list) and len(branches) == 3:
            chosen = side.conditions.value(branches[0])
            policy = None if chosen is None else branches[1 if chosen else 2]
        if type(policy) is dict and intrinsic_name(policy) is None:
            name = policy.get("PolicyName")
            yield _Attached(f"inline policy {name}", None, policy.get("PolicyDocument"))
    managed_refs: set[str] = set()
    for arn in _listify(properties.get("ManagedPolicyArns", [])):
        target = ref_target(arn)
        if target is not None:
            managed_refs.add(target)
            continue
        text = _plain(side.resolved(arn))
        match = _MANAGED_ARN.fullmatch(text) if text is not None else None
        if match and match.group(1) in MANAGED_POLICIES_ALLOWING_INVOKE:
            yield _Attached(f"managed policy {match.group(1)}", None, None)
    for logical_id in side.resources:
        rtype = side.type_of(logical_id)
        if rtype not in _POLICY_TYPES or not side.exists(logical_id):
            continue
        props = side.properties(logical_id)
        if rtype == "AWS::IAM::RolePolicy":
            attached = ref_target(props.get("RoleName")) == role
        else:
            attached = logical_id in managed_refs or any(
                ref_target(r) == role for r in _listify(props.get("Roles", []))
            )
        if attached:
            yield _Attached(logical_id, logical_id, props.get("PolicyDocument"))


# --- the verdicts ---------------------------------------------------------------------------

"""Execution roles and the issue 14 kinds: does a role already allow what a Task that
starts a state machine, runs an ECS task or submits a Batch job needs
(``TargetKind.needs``)? The same conservative reading as iam.py: a statement with a
Condition, NotAction or NotResource, or a conditional policy, never counts; adding a
redundant permission is harmless, missing one breaks running executions."""

from __future__ import annotations

from typing import Any

from .iam import (
    _UNKNOWN,
    Coverage,
    _listify,
    _managed_name,
    allowed_resources,
    attached_documents,
)
from .intrinsics import intrinsic_name
from .references import Leaf
from .targets import TargetKind, kind_of_type


class KindCoverage(Coverage):
    """``Coverage`` for the kinds other than Lambda: a policy entry ``Ref Child`` or
    ``${Child.Arn}`` reads as the child state machine's ARN."""

    def _kind_name(self, logical_id: str) -> str:
        """The physical name of a resource of another kind (state machine, ...)."""
        for (_, name), owner in self.inventory.kind_names.items():
            if owner == logical_id:
                return name
        return _UNKNOWN + "N" + logical_id

    def _resource_text(self, ref: str) -> str | None:
        """``Ref X`` / ``X.Arn`` / ``X.Name`` of a state machine as text (other kinds' Ref is
        a revision ARN: None, it covers one revision only)."""
        logical_id, dot, attribute = ref.partition(".")
        kind = kind_of_type(self.inventory.types.get(logical_id, ""))
        if kind is None or kind.arn_format is None:
            return None
        name = self._kind_name(logical_id)
        if attribute == "Name":
            return name
        if (not dot and kind.ref_gives == "arn") or attribute in kind.arn_attributes:
            return kind.arn_format.format(p=self.partition, r=self.region, a=self.account, n=name)
        return None

    def role_allows(
        self, role: str | None, kind: TargetKind, target: str, suffixes: set[str], policies: Any
    ) -> bool:
        """Does ``role`` (or SAM ``Policies``, when ``role`` is None) already allow what a
        Task of ``kind`` needs on ``target`` through each integration suffix
        (``TargetKind.needs``)? Only unconditional statements and AdministratorAccess count."""
        if kind.needs is None:
            return False
        name = self._kind_name(target)
        needs = {
            pair
            for suffix in sorted(suffixes)
            for pair in kind.needs(self.partition, self.region, self.account, name, suffix)
        }
        statements: list[Any] = []
        if role is not None:
            properties = self.inventory.resources[role].get("Properties")
            managed = properties.get("ManagedPolicyArns", []) if type(properties) is dict else []
            if any(
                _managed_name(arn, self.inventory) == "AdministratorAccess"
                for arn in _listify(managed)
            ):
                return True
            documents = list(attached_documents(role, self.inventory))
        else:
            documents = [
                entry
                for entry in _listify(policies if policies is not None else [])
                if type(entry) is dict and intrinsic_name(entry) is None
            ]
            if "AdministratorAccess" in _listify(policies if policies is not None else []):
                return True
        for document in documents:
            if type(document) is dict:
                statements.extend(_listify(document.get("Statement", [])))
        return all(
            any(self._statement_allows(statement, action, arn, target) for statement in statements)
            for action, arn in needs
        )

    def _statement_allows(self, statement: Any, action: str, arn: str, target: str) -> bool:
        resources = allowed_resources(statement, action)
        if resources is None:
            return False
        for resource in resources:
            pattern = self._pattern(resource)
            if pattern is None or not pattern.fullmatch(arn):
                continue
            if not self.follows(resource, target):
                return True
        return False

    def _leaf_text(self, leaf: Leaf) -> str | None:
        if leaf.kind == "resource":
            return self._resource_text(leaf.ref)
        return super()._leaf_text(leaf)

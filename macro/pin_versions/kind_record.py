"""The record type of the target-kind registry (targets.py has the registry and Lambda,
target_kinds.py the issue 14 kinds): a leaf module, standard library only, so that both
import it without importing each other."""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

# TargetKind.strategy: what pinning one means.
PUBLISH = "publish"  # create an immutable ``pin`` resource (a version) and Ref it
RETAIN = "retain"  # Ref is already an immutable revision: Ref it and keep it alive


class PinResource(NamedTuple):
    """What the macro creates to pin one target: a resource of ``type`` whose
    ``link_property`` is ``{"Ref": <target>}``, named ``<target><suffix><hash>``, retained
    when replaced or deleted (executions started before the deploy still call it)."""

    type: str  # "AWS::Lambda::Version"
    link_property: str  # "FunctionName"
    suffix: str  # "Version": FnVersion1a2b3c4d5e
    number_attribute: str  # Fn::GetAtt V.<this>: the version number ("Version")


class TargetKind(NamedTuple):
    """One kind of thing a Task calls (see the module docstring).

    ``resource_types``: the in-template types that are this kind (CloudFormation and SAM).
    ``direct``: whether the Task's ``Resource`` may be the target's ARN itself.
    ``integrations``: the ``Resource`` ARNs of service integrations that name the target in
    ``name_field`` (with ``qualifier_field`` picking a version, when the service has one),
    inside ``Parameters`` (JSONPath) or ``Arguments`` (JSONata).
    ``arn``, ``partial_arn``, ``plain_name``: the grammar of a value naming one; groups
    ``p`` (partition), ``r`` (region), ``a`` (account), ``n`` (name), ``q`` (qualifier).
    ``ref_attribute``: the ``Fn::GetAtt`` attribute giving its ARN (``Ref`` gives its name).
    ``alias_type``: the type of an in-template alias of one (a mutable pointer), if any.
    ``pin``: what is created to pin one. ``hashed_properties`` / ``excluded_properties``
    (``sam_excluded_properties`` for the SAM type): what a pin does / does not snapshot.
    ``grant_action``: the IAM action the execution role needs on every pinned version;
    ``grant_resource`` (a ``Fn::Sub`` string with ``{}`` for the logical ID) names them.
    ``warning_codes``: the PV1xx codes only this kind raises (report.py has their text).
    """

    name: str  # "lambda"
    noun: str  # "function": what messages call one
    resource_types: frozenset[str]
    direct: bool
    integrations: re.Pattern[str]
    name_field: str
    qualifier_field: str | None
    arn: re.Pattern[str]
    partial_arn: re.Pattern[str] | None
    plain_name: re.Pattern[str] | None
    ref_attribute: str
    alias_type: str | None
    pin: PinResource
    hashed_properties: frozenset[str]
    excluded_properties: frozenset[str]
    sam_excluded_properties: frozenset[str]
    grant_action: str
    grant_resource: str
    warning_codes: tuple[str, ...]
    # Issue 14 (docs/design.md "More than Lambda: target kinds"); defaults are Lambda's.
    option_key: str = "LambdaFunction"  # Metadata.PinVersions.Kinds.<this>: false turns it off
    strategy: str = PUBLISH  # PUBLISH: create ``pin``; RETAIN: Ref is already immutable
    name_properties: tuple[str, ...] = ("FunctionName",)  # literal physical name (CFN, SAM)
    ref_gives: str = "name"  # what ``Ref`` of one gives: "name" (Lambda) or "arn"
    arn_attributes: frozenset[str] = frozenset({"Arn"})  # Fn::GetAtt attributes giving ARN
    # (target logical ID, its properties, integration suffix such as ".sync") -> the IAM
    # statements a Task role needs for it; None: the Lambda statement (grant_action).
    statements: Callable[[str, Mapping[str, Any], str], list[dict[str, Any]]] | None = None
    # (partition, region, account, physical name, integration suffix) -> the (IAM action,
    # ARN) pairs a role must already allow for its grant to be unnecessary (iam.Coverage).
    needs: Callable[[str, str, str, str, str], list[tuple[str, str]]] | None = None
    # The unqualified ARN that Ref / Fn::GetAtt <arn_attributes> of one gives, as a format
    # string over p, r, a, n; None when it is a revision (ECS, Batch: not a fixed text).
    arn_format: str | None = None
    # Properties set on a RETAIN kind's resource so that an update keeps the old revision
    # usable (Batch: ResourceRetentionPolicy), besides Retain on both policies.
    retention_properties: tuple[tuple[str, Any], ...] = ()
    # (properties of the one a DefinitionSubstitutions value names) -> whether to pin the
    # value when the definition is in S3, so the Task using it cannot be seen; None: always.
    # State machines: STANDARD only (PV143), since an EXPRESS one may be started with
    # StartSyncExecution, which documents no version ARN.
    pin_unseen: Callable[[Mapping[str, Any]], bool] | None = None
    # Whether any property change replaces one (ECS task definitions: every property but
    # Tags is create-only). Without a literal name, CloudFormation names the replacement
    # anew, so its retained grant follows the properties rather than the (generated) name.
    replaced_by_any_change: bool = False

    def pin_resource(self, target: str, condition: str | None) -> dict[str, Any]:
        """The resource that pins ``target`` (a logical ID), with its condition, if any."""
        resource: dict[str, Any] = {
            "Type": self.pin.type,
            # Old versions must outlive the deploy that replaces them: executions use them.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        }
        if condition is not None:
            resource["Condition"] = condition
        resource["Properties"] = {self.pin.link_property: {"Ref": target}}
        return resource

    def parse(self, text: str) -> tuple[str, str | None] | None:
        """``(name, qualifier)`` of literal text naming one of this kind: its ARN, partial
        ARN or plain name (``arn``, ``partial_arn``, ``plain_name`` in that order), the
        qualifier None when unqualified; None when the text names none. The macro's
        resolution.py and prune read a value through the same three patterns, so they agree
        on which function and which version (digits) or alias a value names."""
        for pattern in (self.arn, self.partial_arn, self.plain_name):
            match = pattern.fullmatch(text) if pattern is not None else None
            if match is not None:
                return match["n"], match["q"]
        return None

    def grant(self, target: str) -> dict[str, str]:
        """``!Sub ${F.Arn}:*``: every pinned version of ``target``, never a prefix wildcard."""
        return {"Fn::Sub": self.grant_resource.format(target)}

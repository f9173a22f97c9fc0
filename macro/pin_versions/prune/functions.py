"""The facts on the Lambda and IAM side: the stack's resources (nested stacks included), each
function's versions, aliases and provisioned concurrency, the retained grants and functions,
and event source mappings."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .aws import PruneError, _Reader, error_code, parse_time
from .model import GRANT_PREFIX, FunctionFacts, Grant, RetainedFunction, Use, Version
from .uses import _PIN_STAMP, is_function_arn, parse_function_ref


class _FunctionFacts(_Reader):
    """Reads what Lambda, IAM and CloudFormation hold about the stack's functions."""

    def stacks(self, stack: str) -> list[tuple[str, datetime | None, list[dict[str, Any]]]]:
        """``(name, last change, resources)`` of the stack and every nested stack."""
        found = []
        queue = [stack]
        seen: set[str] = set()
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            root = current == stack
            try:
                described = self._call(
                    self.clients.cloudformation, "describe_stacks", StackName=current
                )["Stacks"][0]
                resources = [
                    summary
                    for page in self._pages(
                        self.clients.cloudformation, "list_stack_resources", StackName=current
                    )
                    for summary in page.get("StackResourceSummaries", [])
                ]
            except self.errors_caught as exc:
                message = self.failed(exc)
                if root:
                    if error_code(exc) == "ValidationError" and "does not exist" in message:
                        raise PruneError(f"stack {stack} does not exist in this region") from exc
                    raise PruneError(f"cannot read stack {stack}: {message}") from exc
                self.facts.errors.append(f"nested stack {current}: {message}")
                continue
            changed = described.get("LastUpdatedTime") or described.get("CreationTime")
            found.append((described.get("StackName", current), changed, resources))
            for resource in resources:
                physical = resource.get("PhysicalResourceId")
                if resource.get("ResourceType") == "AWS::CloudFormation::Stack" and physical:
                    queue.append(physical)
        return found

    # -- Lambda ----------------------------------------------------------------------

    def versions(self, function: FunctionFacts) -> None:
        try:
            for page in self._pages(
                self.clients.lambda_, "list_versions_by_function", FunctionName=function.name
            ):
                for item in page.get("Versions", []):
                    function.versions.append(
                        Version(
                            number=str(item.get("Version", "")),
                            last_modified=parse_time(item.get("LastModified")),
                            durable=bool(item.get("DurableConfig")),
                            stamped=bool(_PIN_STAMP.search(str(item.get("Description") or ""))),
                        )
                    )
        except self.errors_caught as exc:
            function.versions.clear()
            function.errors.append(self.failed(exc))

    def lambda_aliases(self, function: FunctionFacts) -> None:
        try:
            for page in self._pages(
                self.clients.lambda_, "list_aliases", FunctionName=function.name
            ):
                for alias in page.get("Aliases", []):
                    label = f"alias {alias.get('Name')}"
                    self.facts.uses.append(
                        Use(function.name, str(alias.get("FunctionVersion")), label)
                    )
                    weights = (alias.get("RoutingConfig") or {}).get(
                        "AdditionalVersionWeights"
                    ) or {}
                    for version, weight in weights.items():
                        self.facts.uses.append(
                            Use(function.name, str(version), f"{label} (weight {weight:g})")
                        )
        except self.errors_caught as exc:
            function.errors.append(self.failed(exc))

    def provisioned(self, function: FunctionFacts) -> None:
        try:
            for page in self._pages(
                self.clients.lambda_,
                "list_provisioned_concurrency_configs",
                FunctionName=function.name,
            ):
                for config in page.get("ProvisionedConcurrencyConfigs", []):
                    ref = parse_function_ref(str(config.get("FunctionArn", "")))
                    if ref and ref[1] and ref[1].isdigit():
                        self.facts.uses.append(Use(ref[0], ref[1], "provisioned concurrency"))
                        self.facts.provisioned.append((function.name, ref[1]))
        except self.errors_caught as exc:
            function.errors.append(self.failed(exc))

    # -- what PinVersions retains (issue 11) ----------------------------------------

    def current_policy_names(self, stack_names: Sequence[str]) -> set[str] | None:
        """Every inline policy name the stacks' processed templates declare (AWS::IAM::Policy
        and the Policies of AWS::IAM::Role); None when one cannot be read or a name is not
        a plain string (then no retained grant can be told apart from a current one)."""
        names: set[str] = set()
        for stack in stack_names:
            try:
                body = self._call(
                    self.clients.cloudformation,
                    "get_template",
                    StackName=stack,
                    TemplateStage="Processed",
                ).get("TemplateBody")
                template = _template_body(body)
            except self.errors_caught as exc:
                self.facts.grant_errors.append(f"template of stack {stack}: {self.failed(exc)}")
                return None
            except (ValueError, ImportError) as exc:
                self.facts.grant_errors.append(f"template of stack {stack}: {exc}")
                return None
            resources = template.get("Resources") if isinstance(template, dict) else None
            for resource in (resources or {}).values():
                if not isinstance(resource, dict):
                    continue
                properties = resource.get("Properties") or {}
                declared: list[object] = []
                if resource.get("Type") == "AWS::IAM::Policy":
                    declared.append(properties.get("PolicyName"))
                elif resource.get("Type") == "AWS::IAM::Role":
                    policies = properties.get("Policies")
                    for policy in policies if isinstance(policies, list) else []:
                        declared.append(
                            policy.get("PolicyName") if isinstance(policy, dict) else None
                        )
                for name in declared:
                    if isinstance(name, str):
                        names.add(name)
                    elif GRANT_PREFIX in json.dumps(name):
                        # An intrinsic that may make a PinVersions name: unknown, keep all.
                        self.facts.grant_errors.append(
                            f"stack {stack}: policy name {json.dumps(name)[:80]} is not a "
                            "plain string"
                        )
                        return None
        return names

    def retained_grants(self, roles: Sequence[str], current: set[str]) -> None:
        """The PinVersionsInvoke* inline policies of the stack's roles that are no resource
        of the stack now, with the functions each allows invoking."""
        iam = self.clients.iam
        for role in roles:
            try:
                names = [
                    str(name)
                    for page in self._pages(iam, "list_role_policies", RoleName=role)
                    for name in page.get("PolicyNames", [])
                ]
                for policy in names:
                    if not policy.startswith(GRANT_PREFIX) or policy in current:
                        continue
                    document = self._call(
                        iam, "get_role_policy", RoleName=role, PolicyName=policy
                    ).get("PolicyDocument")
                    self.facts.grants.append(Grant(role, policy, _granted_functions(document)))
            except self.errors_caught as exc:
                self.facts.grant_errors.append(f"role {role}: {self.failed(exc)}")

    def retained_functions(self, stack_names: Sequence[str], current: set[str]) -> None:
        """Functions CloudFormation created in these stacks (their aws:cloudformation tags)
        that are no resource of them now: kept through a replacement."""
        try:
            for page in self._pages(
                self.clients.tagging,
                "get_resources",
                TagFilters=[{"Key": "aws:cloudformation:stack-name", "Values": list(stack_names)}],
                ResourceTypeFilters=["lambda:function"],
            ):
                for mapping in page.get("ResourceTagMappingList", []):
                    ref = parse_function_ref(str(mapping.get("ResourceARN", "")))
                    if ref is None or ref[1] is not None or ref[0] in current:
                        continue
                    tags = {t.get("Key"): t.get("Value") for t in mapping.get("Tags", [])}
                    self.facts.retained[ref[0]] = RetainedFunction(
                        ref[0],
                        str(tags.get("aws:cloudformation:stack-name", "?")),
                        str(tags.get("aws:cloudformation:logical-id", "?")),
                    )
        except self.errors_caught as exc:
            # Only these functions go unchecked (they are then simply not pruned): no other
            # decision depends on finding them.
            self.facts.reclaim_errors.append(f"functions tagged with the stack: {self.failed(exc)}")

    def event_source_mappings(self) -> None:
        # All mappings of the region, not per function: a filter on the unqualified name
        # is not documented to return mappings of its versions.
        try:
            for page in self._pages(self.clients.lambda_, "list_event_source_mappings"):
                for mapping in page.get("EventSourceMappings", []):
                    ref = parse_function_ref(str(mapping.get("FunctionArn", "")))
                    if ref and ref[1] and ref[1].isdigit():
                        uuid = mapping.get("UUID", "?")
                        self.facts.uses.append(Use(ref[0], ref[1], f"event source mapping {uuid}"))
        except self.errors_caught as exc:
            self.facts.errors.append(self.failed(exc))

    # -- Step Functions --------------------------------------------------------------


def _template_body(body: object) -> object:
    """GetTemplate's TemplateBody as data: boto3 decodes JSON bodies itself; a YAML one
    (a stack without transforms keeps the text it was given) needs the YAML reader, which
    the command line has (the scheduled job's bundle may not: then ImportError)."""
    if not isinstance(body, str):
        return body
    try:
        return json.loads(body)
    except ValueError:
        from ..local.yaml_io import TemplateLoadError, load

        try:
            return load(body, "processed template")
        except TemplateLoadError as exc:
            raise ValueError(str(exc)) from None


def _granted_functions(document: object) -> tuple[str, ...]:
    """The function names of ``arn:…:function:NAME:*`` (or any other Lambda ARN) that a
    policy document's Allow statements name; ``*`` when one names functions by a wildcard
    prune cannot resolve (then every function counts)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return ("*",)
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    found: list[str] = []
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict):
            continue
        resources = statement.get("Resource")
        for resource in [resources] if isinstance(resources, str) else resources or []:
            text = str(resource)
            ref = parse_function_ref(text) if is_function_arn(text) else None
            if ref is None and text != "*":
                continue
            name = ref[0] if ref is not None else "*"
            found.append(name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else "*")
    return tuple(dict.fromkeys(found))

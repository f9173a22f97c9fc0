"""Versions: which version each function's Tasks are pinned to (created, reused, SAM's,
made to follow), how it is named and hashed, and the Description stamp that makes a
configuration change publish a new version."""

from __future__ import annotations

from typing import Any

from ..hashing import (
    EXCLUDED_PROPERTIES,
    SAM_EXCLUDED_PROPERTIES,
    stamp_text,
    strip_stamp,
    unstamp_intrinsic,
    version_hash,
)
from ..inventory import Inventory, Resource, made_by_serverless_framework
from ..options import Options
from ..report import (
    Diagnostic,
)
from ..targets import LAMBDA
from .model import (
    MAX_DESCRIPTION,
    MAX_LOGICAL_ID,
    Plan,
    PlanPart,
    VersionPlan,
)


class Versions(PlanPart):
    """Decides versions, once per function, into the shared ``plan``; problems go to
    ``errors`` (raised once by the planner)."""

    def __init__(
        self,
        inventory: Inventory,
        options: Options,
        plan: Plan,
        errors: list[Diagnostic],
        taken: set[str],
    ) -> None:
        super().__init__(inventory, options, plan, errors, taken)
        self.planned: set[str] = set()  # functions whose version has been decided

    def version(self, function: str) -> VersionPlan | None:
        """The version ``function``'s Tasks are pinned to, planned when first needed."""
        if function not in self.planned:
            self.planned.add(function)
            self._plan_version(function)
        return self.plan.versions.get(function)

    def _plan_version(self, function: str) -> None:
        inventory = self.inventory
        resource = inventory.functions[function]
        existing = inventory.versions.get(function, [])
        if resource.sam and not existing:
            properties = self.inventory.function_properties(resource)
            if properties.get("AutoPublishAlias") is not None:
                self._plan_sam_version(resource, properties)
                return
        if existing:
            version = existing[0]
            digest = self._hash(resource)
            follows = not self._ours(function, version)
            if follows:
                self._plan_follow(function, version, digest)
            self.plan.versions[function] = VersionPlan(
                function, version, digest if follows else None, False, resource.condition, follows
            )
            self.plan_retain(version)
            return
        digest = self._hash(resource)
        logical_id = self._fresh_id(function, digest)
        if logical_id is None:
            return
        self.plan.versions[function] = VersionPlan(
            function, logical_id, digest, True, resource.condition
        )

    def plan_retain(self, version: str) -> None:
        resource = self.inventory.resources[version]
        if (
            resource.get("DeletionPolicy") != "Retain"
            or resource.get("UpdateReplacePolicy") != "Retain"
        ) and version not in self.plan.retain:
            self.plan.retain.append(version)

    def _plan_sam_version(self, resource: Resource, properties: dict[str, Any]) -> None:
        """SAM ``AutoPublishAlias`` (PinVersions before SAM): SAM publishes ``F.Version``;
        a second version in the same deploy would fail, so pin to SAM's, and make it follow
        F: SAM hashes only Code, Environment (parameters unresolved) and MemorySize unless
        ``AutoPublishAliasAllProperties`` is true, which with F's Description stamped makes
        any hash change a new version. SAM passes F's DeletionPolicy and UpdateReplacePolicy
        to the version (samtranslator ``_construct_version``); without a DeletionPolicy it
        uses ``VersionDeletionPolicy``, else Retain (Delete for CapacityProviderConfig)."""
        function = resource.logical_id
        where = f"Resources.{function}"
        wanted: dict[str, Any] = {}
        if properties.get("AutoPublishAliasAllProperties") not in (True, "true", "True"):
            wanted["AutoPublishAliasAllProperties"] = True
        deletion = resource.resource.get("DeletionPolicy")
        if deletion is None and (
            properties.get("VersionDeletionPolicy", "Retain") != "Retain"
            or "CapacityProviderConfig" in properties
        ):
            wanted["VersionDeletionPolicy"] = "Retain"
        if deletion is not None and deletion != "Retain":
            self.report.warn(
                "PV119",
                f"{where}.DeletionPolicy",
                f"SAM gives {function}.Version the function's DeletionPolicy {deletion}: the "
                "next deploy that publishes a new version deletes the one running executions "
                "invoke; remove DeletionPolicy or set it to Retain",
            )
        if wanted:
            self.plan.sam_properties[function] = wanted
        self.report.warn(
            "PV109",
            f"{where}.Properties.AutoPublishAlias",
            f"SAM publishes {function}.Version; its Tasks are pinned to it, and it is made to "
            "follow every change of the function (AutoPublishAliasAllProperties, Description "
            "stamp, UpdateReplacePolicy Retain)",
        )
        self.plan.versions[function] = VersionPlan(
            function, f"{function}.Version", self._hash(resource), False, resource.condition, True
        )

    def _plan_follow(self, function: str, version: str, digest: str) -> None:
        """An existing version whose logical ID need not change with F's configuration
        (fixed, or a generator's hash blind to parameter values): stamp its Description
        with F's hash. Description updates replace an AWS::Lambda::Version (AWS docs,
        AWS::Lambda::Version, "Update requires: Replacement"), so every hash change
        publishes a new version; UpdateReplacePolicy Retain keeps the old one."""
        resource = self.inventory.resources[version]
        path = f"Resources.{version}.Properties.Description"
        properties = resource.get("Properties")
        current = properties.get("Description") if type(properties) is dict else None
        new = self._stamped(current, digest, path, "PV913")
        if new is not None and new != current:
            self.plan.version_descriptions[version] = new
        maker = (
            ", made by the Serverless Framework"
            if made_by_serverless_framework(function, version, resource)
            else ""
        )
        self.report.warn(
            "PV117",
            f"Resources.{version}",
            f"{function} already has this version{maker}; its Tasks are pinned to it, and it is "
            "made to follow the function: its Description carries the function's hash, so a "
            "change replaces it and keeps the old one (UpdateReplacePolicy Retain)",
        )
        if type(properties) is dict and properties.get("ProvisionedConcurrencyConfig"):
            self.report.warn(
                "PV118",
                f"Resources.{version}.Properties.ProvisionedConcurrencyConfig",
                "each replaced version is retained with its provisioned concurrency, which "
                "is billed until released; release it on retained versions (prune) or put "
                "the provisioned concurrency on an alias",
            )

    def _stamped(self, current: Any, digest: str, path: str, code: str) -> Any:
        """``current`` with the stamp of ``digest``; None (and an error) when too long."""
        stamp = stamp_text(digest)
        if current is None:
            return stamp
        if isinstance(current, str):
            base = strip_stamp(current)
            new = f"{base} {stamp}" if base else stamp
            if len(new) > MAX_DESCRIPTION:
                self.errors.append(
                    Diagnostic(
                        code,
                        path,
                        f"is {len(base)} characters and the version stamp needs "
                        f"{len(stamp) + 1} more, over Lambda's {MAX_DESCRIPTION}; shorten it "
                        f"to at most {MAX_DESCRIPTION - len(stamp) - 1} characters or set "
                        "Metadata.PinVersions.DescriptionStamp to false",
                    )
                )
                return None
            return new
        base_value = unstamp_intrinsic(current)
        return {"Fn::Join": ["", [current if base_value is None else base_value, f" {stamp}"]]}

    def _hash(self, resource: Resource) -> str:
        excluded = SAM_EXCLUDED_PROPERTIES if resource.sam else EXCLUDED_PROPERTIES
        return version_hash(
            self.inventory.function_properties(resource),
            self.inventory.context,
            excluded,
            self.inventory.template.get("Conditions"),
        )

    def _ours(self, function: str, version: str) -> bool:
        """A version an earlier pass of this macro added (same hash, same name)."""
        resource = self.inventory.functions[function]
        base = f"{function}{LAMBDA.pin.suffix}{self._hash(resource)}"
        # _fresh_id appends a letter when the plain ID was taken.
        return version == base or (len(version) == len(base) + 1 and version[:-1] == base)

    def _fresh_id(self, function: str, digest: str) -> str | None:
        path = f"Resources.{function}"
        for extra in ("", "a", "b", "c", "d", "e", "f"):
            logical_id = f"{function}{LAMBDA.pin.suffix}{digest}{extra}"
            if logical_id not in self.taken:
                break
        else:
            self.errors.append(
                Diagnostic(
                    "PV911",
                    path,
                    "no free logical ID for its version; rename the "
                    f"resources named {function}{LAMBDA.pin.suffix}{digest}*",
                )
            )
            return None
        if len(logical_id) > MAX_LOGICAL_ID:
            room = MAX_LOGICAL_ID - (len(logical_id) - len(function))
            self.errors.append(
                Diagnostic(
                    "PV907",
                    path,
                    f"its version's logical ID would be {len(logical_id)} characters, over "
                    f"CloudFormation's {MAX_LOGICAL_ID}; shorten the function's logical ID to at "
                    f"most {room} characters",
                )
            )
            return None
        self.taken.add(logical_id)
        return logical_id

    def plan_description(self, version: VersionPlan) -> None:
        if not self.options.description_stamp:
            self.report.warn(
                "PV114",
                f"Resources.{version.function}.Properties.Description",
                "not stamped: a deploy where only this function's configuration hash changes "
                "may fail with 'A version for this Lambda function exists'",
            )
            return
        assert version.hash is not None
        resource = self.inventory.functions[version.function]
        current = self.inventory.function_properties(resource).get("Description")
        path = f"Resources.{version.function}.Properties.Description"
        new = self._stamped(current, version.hash, path, "PV908")
        if new is not None and new != resource.properties.get("Description"):
            self.plan.descriptions[version.function] = new

    def plan_replace_retain(self, protected: set[str]) -> None:
        """Pinned functions outlive a replacement (a rename replaces a function, and
        deleting a function deletes every version of it): UpdateReplacePolicy Retain. Not
        DeletionPolicy: deleting the stack still deletes its functions (docs/design.md), so
        a function without one gets ``DeletionPolicy: Delete`` (the default, written out:
        cfn-lint W3011 wants both policies). Not on a SAM function: SAM would pass it to
        the version it publishes."""
        functions = set(self.plan.versions) | protected
        for function in sorted(functions):
            resource = self.inventory.functions[function].resource
            if resource.get("UpdateReplacePolicy") != "Retain" or (
                "DeletionPolicy" not in resource and not self.inventory.functions[function].sam
            ):
                self.plan.replace_retain.append(function)

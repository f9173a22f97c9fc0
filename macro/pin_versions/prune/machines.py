"""The facts on the Step Functions side: each state machine's current definition, the
definitions of its running and redrivable executions and of its published versions, and
whether a recent change leaves executions unlisted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import model
from .aws import _Reader, parse_time
from .model import (
    _FINISHED_STATUSES,
    _REDRIVABLE_STATUSES,
    EXPRESS_WINDOW,
    REDRIVE_WINDOW,
    MachineFacts,
    MachineVersion,
    Use,
)
from .revisions import revision_uses
from .uses import machine_uses_of_definition, uses_of_definition


@dataclass(frozen=True)
class StateMachineResource:
    """A state machine of the stack and when it, or its stack, last changed."""

    arn: str
    stack: str
    logical_id: str
    stack_changed: datetime | None
    resource_changed: datetime | None


class _MachineFacts(_Reader):
    """Reads what Step Functions holds about the stack's state machines."""

    def _definition(self, arn: str, reason: str) -> dict[str, Any]:
        described: dict[str, Any] = self._call(
            self.clients.stepfunctions, "describe_state_machine", stateMachineArn=arn
        )
        self._add_definition(str(described.get("definition", "")), reason)
        return described

    def _add_definition(self, definition: str, reason: str) -> None:
        uses, errors = uses_of_definition(definition, reason)
        self.facts.uses.extend(uses)
        self.facts.errors.extend(errors)
        self.facts.machine_uses.extend(machine_uses_of_definition(definition, reason))
        self.facts.revisions.uses.extend(revision_uses(definition, reason))

    def state_machine(self, machine: StateMachineResource) -> None:
        arn, name = machine.arn, machine.arn.split(":stateMachine:", 1)[-1]
        sfn = self.clients.stepfunctions
        facts = self.facts.machines.setdefault(name, MachineFacts(name, arn))
        try:
            # Versions first, like function versions: one published during the run is not
            # in the list, so nothing that starts it can be missed.
            self._machine_versions(facts)
            described = self._definition(arn, f"current definition of {name}")
            express = described.get("type") == "EXPRESS"
            self._recent_change(machine, name, express)
            if not express:
                self._executions(arn, name)
                # Read again: a deploy during the listing may have started executions on a
                # definition neither the first read nor the listing saw.
                again = self._call(sfn, "describe_state_machine", stateMachineArn=arn)
                if again.get("definition") != described.get("definition"):
                    self._add_definition(
                        str(again.get("definition", "")), f"current definition of {name}"
                    )
            routes: dict[str, list[str]] = {}
            for page in self._token_pages(sfn, "list_state_machine_aliases", stateMachineArn=arn):
                for alias in page.get("stateMachineAliases", []):
                    alias_arn = str(alias.get("stateMachineAliasArn", ""))
                    detail = self._call(
                        sfn, "describe_state_machine_alias", stateMachineAliasArn=alias_arn
                    )
                    for route in detail.get("routingConfiguration", []):
                        target = str(route.get("stateMachineVersionArn", ""))
                        alias_name = alias_arn.rsplit(":", 1)[-1]
                        routes.setdefault(target, []).append(alias_name)
                        # DeleteStateMachineVersion refuses a version an alias routes to;
                        # during a gradual deployment both versions take new executions.
                        weight = route.get("weight")
                        label = f"alias {alias_name}" + (
                            f" (weight {weight})" if weight not in (None, 100) else ""
                        )
                        self.facts.machine_uses.append(
                            Use(name, target.rpartition(":")[2] or None, label)
                        )
            # Every published version, not only routed ones: a version ARN can be started
            # directly, so its definition stays live until the version is deleted.
            versions = [v.arn for v in facts.versions]
            for version_arn in dict.fromkeys(versions + list(routes)):
                label = f"state machine version {version_arn.split(':stateMachine:', 1)[-1]}"
                if version_arn in routes:
                    label += f" (alias {', '.join(sorted(routes[version_arn]))})"
                self._definition(version_arn, label)
        except self.errors_caught as exc:
            message = f"state machine {name}: {self.failed(exc)}"
            self.facts.errors.append(message)
            facts.errors.append(message)

    def _machine_versions(self, facts: MachineFacts) -> None:
        """The state machine's published versions (ListStateMachineVersions)."""
        for page in self._token_pages(
            self.clients.stepfunctions, "list_state_machine_versions", stateMachineArn=facts.arn
        ):
            for item in page.get("stateMachineVersions", []):
                version_arn = str(item.get("stateMachineVersionArn", ""))
                facts.versions.append(
                    MachineVersion(
                        version_arn.rpartition(":")[2],
                        version_arn,
                        parse_time(item.get("creationDate")),
                    )
                )

    def _executions(self, arn: str, name: str) -> None:
        """Every execution that may still run: one pass over all of them, no status filter.

        Listing status by status lets an execution that changes status between two passes
        (fails during the RUNNING pass, is redriven before the FAILED pass) be in neither.
        In one unfiltered pass each execution is listed once, whatever it does meanwhile, and
        whatever status it is listed with, the rule keeps: only SUCCEEDED ones (never
        redriven) and those that stopped more than 14 days ago (no longer redrivable) are
        left out. A status that is stale (eventual consistency) can only be an earlier one.
        """
        horizon = self.now - REDRIVE_WINDOW
        for page in self._pages(self.clients.stepfunctions, "list_executions", stateMachineArn=arn):
            for execution in page.get("executions", []):
                status = str(execution.get("status", ""))
                if status in _FINISHED_STATUSES:
                    continue
                if status in _REDRIVABLE_STATUSES:
                    stopped = execution.get("stopDate")
                    if isinstance(stopped, datetime) and stopped < horizon:
                        continue
                    reason = f"redrivable {status} execution of {name}"
                elif status in ("RUNNING", "PENDING_REDRIVE"):
                    reason = f"running execution of {name}"
                else:  # a status this code does not know: it may still run
                    reason = f"{status or 'unknown status'} execution of {name}"
                # Started through a version or an alias: ListExecutions of the unqualified
                # ARN names the version (null when started unqualified).
                version_arn = execution.get("stateMachineVersionArn")
                if isinstance(version_arn, str) and version_arn:
                    number = version_arn.rpartition(":")[2]
                    self.facts.machine_uses.append(Use(name, number, reason))
                described = self._call(
                    self.clients.stepfunctions,
                    "describe_state_machine_for_execution",
                    executionArn=execution["executionArn"],
                )
                self._add_definition(str(described.get("definition", "")), reason)

    def _recent_change(self, machine: StateMachineResource, name: str, express: bool) -> None:
        """A failed check when an execution of a previous definition could be missed.

        Express executions cannot be listed and last at most 5 minutes: after a change, wait
        EXPRESS_WINDOW. Standard ones are listed, but ListExecutions is eventually
        consistent: after a change, wait SETTLE_WINDOW. "A change" is the later of the
        stack's and the state machine resource's last update; an express state machine whose
        live definition differs from the stack's (changed outside CloudFormation, found by
        DetectStackResourceDrift) changed at a time prune cannot know, so it always fails.
        """
        # model.SETTLE_WINDOW read at call time: tests set it.
        window = EXPRESS_WINDOW if express else model.SETTLE_WINDOW
        kind = "express state machine" if express else "state machine"
        if express:
            drift = self._definition_drift(machine)
            if drift:
                self.facts.errors.append(
                    f"express state machine {name}: {drift}; prune cannot tell when it "
                    "changed, so an express execution of the previous definition may still "
                    "run; deploy the stack again (or make the template match) and run prune "
                    f"{int(EXPRESS_WINDOW.total_seconds() // 60)} minutes later"
                )
                return
        changed = [t for t in (machine.stack_changed, machine.resource_changed) if t is not None]
        if not changed or self.now - max(changed) < window:
            reason = (
                "its executions cannot be listed"
                if express
                else "executions started just before are not listed at once"
            )
            self.facts.errors.append(
                f"{kind} {name}: {reason} and it changed less than "
                f"{int(window.total_seconds() // 60)} minutes ago; run prune again later"
            )

    def _definition_drift(self, machine: StateMachineResource) -> str | None:
        """Why the live definition may differ from the stack's, or None when it does not."""
        try:
            drift = self._call(
                self.clients.cloudformation,
                "detect_stack_resource_drift",
                StackName=machine.stack,
                LogicalResourceId=machine.logical_id,
            ).get("StackResourceDrift", {})
        except self.errors_caught as exc:
            return f"its drift could not be checked ({self.failed(exc)})"
        status = drift.get("StackResourceDriftStatus")
        if status == "IN_SYNC":
            return None
        if status == "MODIFIED":
            paths = [
                str(d.get("PropertyPath", ""))
                for d in drift.get("PropertyDifferences", [])
                if str(d.get("PropertyPath", "")).startswith("/Definition")
            ]
            if not paths:
                return None  # other properties (tags, logging) changed: not what runs
            return f"its definition was changed outside CloudFormation ({', '.join(paths)})"
        return f"its drift status is {status or 'unknown'}"

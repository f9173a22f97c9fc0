"""``collect``: every fact ``plan`` needs, read from AWS in an order that can never delete a
version published during the run."""

from __future__ import annotations

from datetime import datetime

from ..targets import LAMBDA, RETAIN, kind_named, kind_of_type
from .aws import Clients
from .functions import _FunctionFacts
from .machines import StateMachineResource, _MachineFacts
from .model import Facts, Family, FunctionFacts, Use
from .revisions import _RevisionFacts, stack_revision
from .uses import parse_function_ref


class _Collector(_FunctionFacts, _MachineFacts, _RevisionFacts):
    """The readers over one set of facts."""


def collect(clients: Clients, stack: str, now: datetime) -> tuple[Facts, list[str]]:
    """Gather every fact ``plan`` needs; returns the facts and the IAM actions denied.

    Versions are listed before anything that names them: a version published later is not
    in the list, so a deploy during the run can never get its new version deleted.
    """
    collector = _Collector(clients, now)
    stacks = collector.stacks(stack)
    functions: dict[str, FunctionFacts] = {}
    machines: list[StateMachineResource] = []
    roles: list[str] = []
    # What each resource type is, from the target-kind registry (targets.py): a target of a
    # kind, or the resource that pins one (a Lambda version, a state machine version).
    machine_kind = kind_named("state-machine")
    for stack_name, changed, resources in stacks:
        for resource in resources:
            kind = str(resource.get("ResourceType", ""))
            physical = resource.get("PhysicalResourceId")
            if not physical:
                continue
            target_kind = kind_of_type(kind)
            if target_kind is LAMBDA:
                functions.setdefault(physical, FunctionFacts(physical))
            elif target_kind is machine_kind:
                updated = resource.get("LastUpdatedTimestamp")
                machines.append(
                    StateMachineResource(
                        physical,
                        stack_name,
                        str(resource.get("LogicalResourceId", "")),
                        changed,
                        updated if isinstance(updated, datetime) else None,
                    )
                )
            elif kind == "AWS::IAM::Role":
                roles.append(physical)
            elif target_kind is not None and target_kind.strategy == RETAIN:
                found = stack_revision(physical)
                if found is not None:
                    family = collector.facts.revisions.families.setdefault(
                        found, Family(found[0], found[1])
                    )
                    family.current.add(physical)
            elif kind == machine_kind.pin.type:
                # Its physical ID is the version ARN: a version the stack holds now.
                machine, _, number = physical.rpartition(":")
                if ":stateMachine:" in machine and number.isdigit():
                    logical = resource.get("LogicalResourceId")
                    collector.facts.machine_uses.append(
                        Use(
                            machine.split(":stateMachine:", 1)[1],
                            number,
                            f"resource {logical} of stack {stack_name}",
                        )
                    )
            elif kind == LAMBDA.pin.type:
                ref = parse_function_ref(physical)
                if ref and ref[1] and ref[1].isdigit():
                    logical = resource.get("LogicalResourceId")
                    collector.facts.stack_versions.add((ref[0], ref[1]))
                    collector.facts.uses.append(
                        Use(ref[0], ref[1], f"resource {logical} of stack {stack_name}")
                    )
    stack_names = [name for name, _, _ in stacks]
    if clients.tagging is not None:
        collector.retained_functions(stack_names, set(functions))
    for name in collector.facts.retained:
        functions.setdefault(name, FunctionFacts(name))
    collector.facts.functions = functions
    for function in functions.values():
        collector.versions(function)
    # Revisions before the definitions that name them, like function versions.
    for family in collector.facts.revisions.families.values():
        client = clients.ecs if family.service == "ecs" else clients.batch
        if client is None:
            family.errors.append(f"no {family.service} client")
            continue
        collector.revisions(family, collector.facts.reclaim_errors)
    for machine in machines:
        collector.state_machine(machine)
    collector.event_source_mappings()
    for function in functions.values():
        collector.lambda_aliases(function)
        collector.provisioned(function)
    if clients.iam is not None:
        current = collector.current_policy_names(stack_names)
        if current is not None:
            collector.retained_grants(roles, current)
    return collector.facts, collector.denied

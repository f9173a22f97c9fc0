"""Grants for callers of a state machine alias (issue 15): the statement Step Functions
checks (``states:StartExecution`` on the unqualified state machine ARN, narrowed to the alias
by ``states:StateMachineQualifier``:
https://docs.aws.amazon.com/step-functions/latest/dg/auth-version-alias.html), and the fix of
a grant on an alias ARN alone (SAM's ``UseAliasAsEventTarget``,
aws/serverless-application-model#3720), which allows nothing."""

from __future__ import annotations

from typing import Any

from ..iam import allowed_resources
from ..inventory import Inventory
from ..report import Path, Report
from .alias_model import (
    QUALIFIER_KEY,
    START_ACTION,
    STATE_MACHINE_ALIAS,
    AliasPlan,
    refs,
    routes_to,
)
from .machine_versions import VERSION_TYPE


def condition_of(resource: Any) -> str | None:
    condition = resource.get("Condition") if type(resource) is dict else None
    return condition if isinstance(condition, str) else None


def statement(machine: str, name: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": START_ACTION,
        "Resource": {"Ref": machine},
        "Condition": {"StringEquals": {QUALIFIER_KEY: name}},
    }


def statement_text(machine: str, name: str) -> str:
    return (
        f'{{"Effect": "Allow", "Action": "{START_ACTION}", "Resource": "<ARN of {machine}>", '
        f'"Condition": {{"StringEquals": {{"{QUALIFIER_KEY}": "{name}"}}}}}}'
    )


def start_resources(statement: Any) -> list[Any] | None:
    """The Resource entries of an unconditional Allow of states:StartExecution, or None."""
    return allowed_resources(statement, START_ACTION)


# -- SAM's grant on the alias ARN (aws/serverless-application-model#3720) ----------------------


def _alias_owners(inventory: Inventory) -> dict[str, tuple[str, str]]:
    """Every in-template StateMachineAlias: logical ID -> (its state machine, its Name)."""
    owners: dict[str, tuple[str, str]] = {}
    versions: dict[str, str] = {}
    for logical_id, rtype in inventory.types.items():
        if rtype == VERSION_TYPE:
            properties = inventory.resources[logical_id].get("Properties")
            arn = properties.get("StateMachineArn") if type(properties) is dict else None
            for machine in inventory.state_machines:
                if refs(arn, machine):
                    versions[logical_id] = machine
    for logical_id, rtype in inventory.types.items():
        if rtype != STATE_MACHINE_ALIAS:
            continue
        properties = inventory.resources[logical_id].get("Properties")
        name = properties.get("Name") if type(properties) is dict else None
        if not isinstance(name, str):
            continue
        for version, machine in versions.items():
            if type(properties) is dict and routes_to(properties, version):
                owners[logical_id] = (machine, name)
                break
    return owners


def fix_alias_grants(inventory: Inventory, plan: AliasPlan, report: Report) -> set[tuple[str, str]]:
    """Statements that allow StartExecution on ``Ref <alias>`` alone (SAM's event roles with
    ``UseAliasAsEventTarget``) allow nothing: Step Functions checks the state machine ARN.
    Each such entry becomes ``Ref <state machine>``, narrowed to the alias with
    ``states:StateMachineQualifier`` when it is the statement's only resource. Returns the
    (role, state machine) pairs so fixed (already allowed: no second grant)."""
    owners = _alias_owners(inventory)
    fixed: set[tuple[str, str]] = set()
    if not owners:
        return fixed
    for logical_id, rtype in inventory.types.items():
        if rtype != "AWS::IAM::Role":
            continue
        properties = inventory.resources[logical_id].get("Properties")
        policies = properties.get("Policies") if type(properties) is dict else None
        for index, policy in enumerate(policies if isinstance(policies, list) else []):
            document = policy.get("PolicyDocument") if type(policy) is dict else None
            statements = document.get("Statement") if type(document) is dict else None
            if not isinstance(statements, list):
                continue
            for position, statement in enumerate(statements):
                path: Path = (
                    "Resources",
                    logical_id,
                    "Properties",
                    "Policies",
                    index,
                    "PolicyDocument",
                    "Statement",
                    position,
                )
                machine = _fix_statement(statement, owners, plan, report, path)
                if machine is not None:
                    fixed.add((logical_id, machine))
    return fixed


def _fix_statement(
    statement: Any,
    owners: dict[str, tuple[str, str]],
    plan: AliasPlan,
    report: Report,
    path: Path,
) -> str | None:
    resources = start_resources(statement)
    if not resources:
        return None
    moved: list[Any] = []
    machine: str | None = None
    name = ""
    for entry in resources:
        alias = entry.get("Ref") if type(entry) is dict and len(entry) == 1 else None
        if isinstance(alias, str) and alias in owners:
            machine, name = owners[alias]
            moved.append({"Ref": machine})
        else:
            moved.append(entry)
    if machine is None:
        return None
    new = dict(statement)
    if len(moved) == 1:
        new["Resource"] = moved[0]
        new["Condition"] = {"StringEquals": {QUALIFIER_KEY: name}}
    else:
        new["Resource"] = moved
    plan.values.append((path, new))
    report.warn(
        "PV154",
        path,
        f"allowed {START_ACTION} on alias {name!r} of {machine} by its alias ARN, which Step "
        "Functions never checks (it checks the state machine ARN: "
        "aws/serverless-application-model#3720); granted on the state machine ARN"
        + (f" with {QUALIFIER_KEY} {name!r}" if len(moved) == 1 else ""),
    )
    return machine

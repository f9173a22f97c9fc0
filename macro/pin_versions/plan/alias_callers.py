"""Callers moved to a state machine's alias where ``MoveCallers`` asks (issue 15): EventBridge
rule targets, Scheduler schedules, Pipes, API Gateway integrations; each caller's role is
granted ``states:StartExecution`` on the unqualified state machine ARN, narrowed to the alias
with ``states:StateMachineQualifier`` (Step Functions authorises a version or alias against
the state machine ARN: https://docs.aws.amazon.com/step-functions/latest/dg/auth-version-alias.html).
Other state machines' Tasks: alias_parents.py; the grants' statement and the fix of SAM's
alias-ARN grants: alias_grants.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..iam import attached_documents, role_of
from ..intrinsics import intrinsic_name
from ..inventory import Inventory, Resource
from ..report import Diagnostic, Path, Report, format_path
from .alias_grants import condition_of, start_resources, statement, statement_text
from .alias_model import (
    RETAIN,
    START_ACTION,
    AliasPlan,
    MachineAlias,
    get_at,
    listify,
    refs,
    retarget,
    too_long,
)
from .alias_parents import Parents
from .model import MAX_LOGICAL_ID, MAX_POLICY_NAME


class Callers:
    """Plans the callers of every aliased state machine into the shared ``AliasPlan``."""

    def __init__(
        self,
        inventory: Inventory,
        plan: AliasPlan,
        errors: list[Diagnostic],
        report: Report,
        taken: set[str],
        covered: set[tuple[str, str]],
    ) -> None:
        self.inventory = inventory
        self.plan = plan
        self.errors = errors
        self.report = report
        self.taken = taken
        self.covered = covered  # (role, machine) already allowed (a fixed alias grant)
        self.grant_ids: dict[tuple[str, str], str] = {}  # (role, machine) -> its grant
        self.versions: dict[str, str] = {}  # machine -> its version's logical ID
        self.grant_conditions: dict[str, str | None] = {}  # grant -> its Condition
        self.alias_owners: dict[str, str] = {}  # alias logical ID -> its state machine
        self.parents = Parents(self)
        # The nested-state-machine kind is on: it grants a parent's role StartExecution on
        # the child's unqualified ARN (which covers the alias), so no second grant here.
        self.kind_grants = False

    def move(self, entry: MachineAlias) -> None:
        """Move the callers ``MoveCallers`` asks for to the alias, and grant their roles."""
        moves = entry.option.move_callers
        machine = entry.resource.logical_id
        version = self.versions[machine]
        for logical_id, rtype in self.inventory.types.items():
            resource = self.inventory.resources[logical_id]
            properties = resource.get("Properties") if type(resource) is dict else None
            if type(properties) is not dict or intrinsic_name(properties) is not None:
                continue
            for kind, field, role in _caller_fields(rtype, properties):
                if kind not in moves:
                    continue
                base = ("Resources", logical_id, "Properties")
                value = get_at(properties, field)
                moved = retarget(value, machine, entry.alias)
                if moved is None:
                    if _names_literally(value, entry.resource):
                        self.report.warn(
                            "PV153",
                            (*base, *field),
                            f"names state machine {machine} by a literal ARN, which the macro "
                            f"does not rewrite; write !Ref {entry.alias} to start its alias",
                        )
                    continue
                self.plan.values.append(((*base, *field), moved))
                entry.callers.append(format_path((*base, *field)))
                self.grant(entry, logical_id, resource, role, (*base, *role))
                if rtype in _REST:
                    self.report.warn(
                        "PV156",
                        (*base, *field),
                        "moved to the alias; a REST API serves what its stage's deployment "
                        "holds, so the move takes effect when the API is deployed again (a "
                        "new AWS::ApiGateway::Deployment; SAM makes one when its Body "
                        "changes, which it sees only when PinVersions runs before SAM)",
                    )
        if "StepFunctions" in moves:
            self.parents.move(entry, version)

    def grant(
        self,
        entry: MachineAlias,
        caller: str,
        resource: dict[str, Any],
        role_field: tuple[str | int, ...],
        role_path: Path,
    ) -> None:
        machine = entry.resource.logical_id
        properties = resource["Properties"]
        value = get_at(properties, role_field) if role_field else None
        role = role_of(value, self.inventory) if value is not None else None
        if role is None:
            self.report.warn(
                "PV150",
                role_path if value is not None else ("Resources", caller),
                f"the role that starts state machine {machine} through alias {entry.name!r} is "
                f"not in this template; allow it {START_ACTION} on the state machine's "
                "unqualified ARN: " + statement_text(machine, entry.name),
            )
            return
        if (role, machine) in self.covered or self._allows(role, machine):
            return
        grant = self.grant_ids.get((role, machine))
        if grant is None:
            grant = f"{role}PinVersionsStart{machine}"
            if grant in self.taken:
                grant = f"{grant}{entry.name}"
            if len(grant) > MAX_LOGICAL_ID:
                self.errors.append(too_long(grant, machine))
                return
            self.grant_ids[(role, machine)] = grant
            policy: dict[str, Any] = {"Type": "AWS::IAM::Policy", **RETAIN}
            condition = self._grantcondition_of(role, entry, resource)
            self.grant_conditions[grant] = condition
            if condition is not None:
                policy["Condition"] = condition
            policy["Properties"] = {
                "PolicyName": f"PinVersionsStart-{machine}"[:MAX_POLICY_NAME],
                "Roles": [{"Ref": role}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [statement(machine, entry.name)],
                },
            }
            self.plan.added.setdefault(role, []).append((grant, policy))
            self.taken.add(grant)
            entry.grants.append(grant)
        # DependsOn a resource that may not exist is an error: only a caller that exists
        # exactly when the grant does waits for it.
        condition = self.grant_conditions.get(grant)
        if condition is not None and condition_of(resource) != condition:
            return
        depends = self.plan.depends_on.setdefault(caller, [])
        if grant not in depends:
            depends.append(grant)

    def _grantcondition_of(
        self, role: str, entry: MachineAlias, caller: dict[str, Any]
    ) -> str | None:
        """The grant exists when its role and its state machine do (it names both): their
        one Condition, or, when they have two, the first caller's (a caller names both)."""
        conditions = {
            condition_of(self.inventory.resources.get(role)),
            entry.resource.condition,
        } - {None}
        if len(conditions) == 1:
            return conditions.pop()
        return condition_of(caller) if conditions else None

    def _allows(self, role: str, machine: str) -> bool:
        """Does something attached to ``role`` already allow StartExecution of ``machine``
        unconditionally? (Conservative, as iam.Coverage: a Condition never counts.)"""
        for document in attached_documents(role, self.inventory):
            if type(document) is not dict:
                continue
            for written in listify(document.get("Statement", [])):
                for entry in start_resources(written) or []:
                    if entry == "*" or refs(entry, machine):
                        return True
        return False


def _caller_fields(
    rtype: str, properties: dict[str, Any]
) -> Iterator[tuple[str, tuple[str | int, ...], tuple[str | int, ...]]]:
    """(caller kind, path of the value that names the target, path of the role) under the
    resource's Properties, for each place a caller of this type names a state machine."""
    if rtype == "AWS::Events::Rule":
        targets = properties.get("Targets")
        for index, target in enumerate(targets if isinstance(targets, list) else []):
            if type(target) is dict:
                yield "EventBridge", ("Targets", index, "Arn"), ("Targets", index, "RoleArn")
    elif rtype == "AWS::Scheduler::Schedule":
        if type(properties.get("Target")) is dict:
            yield "Scheduler", ("Target", "Arn"), ("Target", "RoleArn")
    elif rtype == "AWS::Pipes::Pipe":
        yield "Pipes", ("Target",), ("RoleArn",)
    elif rtype == "AWS::ApiGateway::Method":
        integration = properties.get("Integration")
        templates = integration.get("RequestTemplates") if type(integration) is dict else None
        if type(templates) is dict:
            for content_type in templates:
                yield (
                    "ApiGateway",
                    ("Integration", "RequestTemplates", content_type),
                    ("Integration", "Credentials"),
                )
    elif rtype == "AWS::ApiGatewayV2::Integration":
        parameters = properties.get("RequestParameters")
        if type(parameters) is dict and "StateMachineArn" in parameters:
            yield "ApiGateway", ("RequestParameters", "StateMachineArn"), ("CredentialsArn",)
    elif rtype in _OPENAPI:
        yield from _openapi_fields(properties, _OPENAPI[rtype])


# OpenAPI bodies with x-amazon-apigateway-integration (SAM writes its Api events there):
# REST APIs name the state machine in requestTemplates, HTTP APIs in requestParameters.
_OPENAPI = {
    "AWS::ApiGateway::RestApi": "Body",
    "AWS::Serverless::Api": "DefinitionBody",
    "AWS::ApiGatewayV2::Api": "Body",
    "AWS::Serverless::HttpApi": "DefinitionBody",
}
_INTEGRATION = "x-amazon-apigateway-integration"
# REST APIs serve their stage's deployment: an integration change needs a new deployment.
_REST = frozenset({"AWS::ApiGateway::Method", "AWS::ApiGateway::RestApi"})


def _openapi_fields(
    properties: dict[str, Any], body_key: str
) -> Iterator[tuple[str, tuple[str | int, ...], tuple[str | int, ...]]]:
    body = properties.get(body_key)
    paths = body.get("paths") if type(body) is dict else None
    for path, item in paths.items() if type(paths) is dict else ():
        for method, operation in item.items() if type(item) is dict else ():
            integration = operation.get(_INTEGRATION) if type(operation) is dict else None
            if type(integration) is not dict:
                continue
            base = (body_key, "paths", path, method, _INTEGRATION)
            role = (*base, "credentials")
            templates = integration.get("requestTemplates")
            for content_type in templates if type(templates) is dict else ():
                yield "ApiGateway", (*base, "requestTemplates", content_type), role
            parameters = integration.get("requestParameters")
            if type(parameters) is dict and "StateMachineArn" in parameters:
                yield "ApiGateway", (*base, "requestParameters", "StateMachineArn"), role


def _names_literally(value: Any, machine: Resource) -> bool:
    """A literal string holding ``machine``'s ARN (its literal name known)."""
    name = machine.properties.get("Name" if machine.sam else "StateMachineName")
    return isinstance(name, str) and isinstance(value, str) and f":stateMachine:{name}" in value

"""Callers moved to a state machine's alias where ``MoveCallers`` asks (issue 15): EventBridge
rule targets, Scheduler schedules, Pipes, API Gateway integrations; each caller's role is
granted ``states:StartExecution`` on the unqualified state machine ARN, narrowed to the alias
with ``states:StateMachineQualifier`` (Step Functions authorises a version or alias against
the state machine ARN: https://docs.aws.amazon.com/step-functions/latest/dg/auth-version-alias.html).
Also fixes a grant on an alias ARN alone (SAM's ``UseAliasAsEventTarget``,
aws/serverless-application-model#3720), which allows nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..iam import attached_documents, role_of
from ..intrinsics import intrinsic_name
from ..inventory import Inventory, Resource
from ..report import Diagnostic, Path, Report, format_path
from .alias_model import (
    QUALIFIER_KEY,
    RETAIN,
    START_ACTION,
    STATE_MACHINE_ALIAS,
    AliasPlan,
    MachineAlias,
    listify,
    refs,
    routes_to,
    too_long,
)
from .machine_versions import VERSION_TYPE
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
        self._edges: dict[str, set[str]] | None = None  # machine -> machines it names
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
                value = _get(properties, field)
                moved = _retarget(value, machine, entry.alias)
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
                self._grant(entry, logical_id, resource, role, (*base, *role))
        if "StepFunctions" in moves:
            self._parents(entry, version)

    def _parents(self, entry: MachineAlias, version: str) -> None:
        """Other state machines' ``startExecution`` Tasks start the alias: in an object
        ``Definition``, the Task's ``StateMachineArn`` naming the child (or its version) is
        moved here; in every definition form, a reference to the child's version (what the
        nested-state-machine kind pins a Task to) is swapped when the plan is applied."""
        child = entry.resource.logical_id
        for parent in self.inventory.state_machines.values():
            if parent.logical_id == child or parent.skip:
                continue
            self.plan.swaps.setdefault(parent.logical_id, []).append((version, entry.alias))
            # Tasks the nested-state-machine kind pinned to the child's version (any form):
            # the swap makes them start the alias. (Pins are planned before aliases.)
            for pin in self.report.pins:
                if pin.kind == "state-machine" and (pin.state_machine, pin.function) == (
                    parent.logical_id,
                    child,
                ):
                    where = format_path(pin.parts)
                    if where not in entry.callers:
                        entry.callers.append(where)
            definition = parent.properties.get("Definition")
            if type(definition) is not dict:
                continue
            base: Path = ("Resources", parent.logical_id, "Properties", "Definition")
            moved_any = False
            for path, value in _start_execution_targets(definition, base):
                moved = _retarget(value, child, entry.alias)
                if moved is None:
                    moved = _retarget(value, version, entry.alias)
                if moved is None:
                    continue
                if self._reaches(child, parent.logical_id):
                    self.report.warn(
                        "PV155",
                        path,
                        f"left as written: {child} also starts {parent.logical_id}, so starting "
                        f"alias {entry.alias} here would make a circular dependency "
                        "(the alias needs the child's version, which needs the child)",
                    )
                    continue
                self.plan.values.append((path, moved))
                if format_path(path) not in entry.callers:
                    entry.callers.append(format_path(path))
                moved_any = True
            if moved_any and not self.kind_grants:
                key = "Role" if parent.sam else "RoleArn"
                if parent.sam and key not in parent.properties:
                    continue  # SAM makes the role from Policies: it has no Ref to grant
                self._grant(
                    entry,
                    parent.logical_id,
                    parent.resource,
                    (key,),
                    ("Resources", parent.logical_id, "Properties", key),
                )

    def _reaches(self, start: str, goal: str) -> bool:
        """Does state machine ``start``'s definition lead to ``goal`` (directly or through
        other state machines, their versions or aliases)? Each definition is read once."""
        if self._edges is None:
            owners = {machine: machine for machine in self.inventory.state_machines}
            owners.update({version: machine for machine, version in self.versions.items()})
            owners.update(self.alias_owners)
            self._edges = {
                machine.logical_id: {
                    owners[name]
                    for key in ("Definition", "DefinitionString", "DefinitionSubstitutions")
                    for name in _referenced(machine.properties.get(key))
                    if name in owners
                }
                for machine in self.inventory.state_machines.values()
            }
        seen: set[str] = set()
        pending = [start]
        while pending:
            machine = pending.pop()
            if machine == goal:
                return True
            if machine in seen:
                continue
            seen.add(machine)
            pending.extend(self._edges.get(machine, ()))
        return False

    def _grant(
        self,
        entry: MachineAlias,
        caller: str,
        resource: dict[str, Any],
        role_field: tuple[str | int, ...],
        role_path: Path,
    ) -> None:
        machine = entry.resource.logical_id
        properties = resource["Properties"]
        value = _get(properties, role_field) if role_field else None
        role = role_of(value, self.inventory) if value is not None else None
        if role is None:
            self.report.warn(
                "PV150",
                role_path if value is not None else ("Resources", caller),
                f"the role that starts state machine {machine} through alias {entry.name!r} is "
                f"not in this template; allow it {START_ACTION} on the state machine's "
                "unqualified ARN: " + _statement_text(machine, entry.name),
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
            condition = self._grant_condition(role, entry, resource)
            self.grant_conditions[grant] = condition
            if condition is not None:
                policy["Condition"] = condition
            policy["Properties"] = {
                "PolicyName": f"PinVersionsStart-{machine}"[:MAX_POLICY_NAME],
                "Roles": [{"Ref": role}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [_statement(machine, entry.name)],
                },
            }
            self.plan.added.setdefault(role, []).append((grant, policy))
            self.taken.add(grant)
            entry.grants.append(grant)
        # DependsOn a resource that may not exist is an error: only a caller that exists
        # exactly when the grant does waits for it.
        condition = self.grant_conditions.get(grant)
        if condition is not None and _condition(resource) != condition:
            return
        depends = self.plan.depends_on.setdefault(caller, [])
        if grant not in depends:
            depends.append(grant)

    def _grant_condition(
        self, role: str, entry: MachineAlias, caller: dict[str, Any]
    ) -> str | None:
        """The grant exists when its role and its state machine do (it names both): their
        one Condition, or, when they have two, the first caller's (a caller names both)."""
        conditions = {
            _condition(self.inventory.resources.get(role)),
            entry.resource.condition,
        } - {None}
        if len(conditions) == 1:
            return conditions.pop()
        return _condition(caller) if conditions else None

    def _allows(self, role: str, machine: str) -> bool:
        """Does something attached to ``role`` already allow StartExecution of ``machine``
        unconditionally? (Conservative, as iam.Coverage: a Condition never counts.)"""
        for document in attached_documents(role, self.inventory):
            if type(document) is not dict:
                continue
            for statement in listify(document.get("Statement", [])):
                for entry in _start_resources(statement) or []:
                    if entry == "*" or refs(entry, machine):
                        return True
        return False


def _referenced(value: Any) -> Iterator[str]:
    """Logical IDs a value names: ``Ref``, ``Fn::GetAtt``, ``${X}``/``${X.Attr}`` in
    ``Fn::Sub`` strings."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif type(node) is dict:
            if len(node) == 1:
                ((key, argument),) = node.items()
                if key == "Ref" and isinstance(argument, str):
                    yield argument
                elif key == "Fn::GetAtt":
                    target = argument.split(".", 1)[0] if isinstance(argument, str) else None
                    if isinstance(argument, list) and argument:
                        target = argument[0]
                    if isinstance(target, str):
                        yield target
                elif key == "Fn::Sub":
                    text = argument[0] if isinstance(argument, list) and argument else argument
                    if isinstance(text, str):
                        for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                            yield name.split(".", 1)[0]
            stack.extend(node.values())


def _condition(resource: Any) -> str | None:
    condition = resource.get("Condition") if type(resource) is dict else None
    return condition if isinstance(condition, str) else None


def _statement(machine: str, name: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": START_ACTION,
        "Resource": {"Ref": machine},
        "Condition": {"StringEquals": {QUALIFIER_KEY: name}},
    }


def _statement_text(machine: str, name: str) -> str:
    return (
        f'{{"Effect": "Allow", "Action": "{START_ACTION}", "Resource": "<ARN of {machine}>", '
        f'"Condition": {{"StringEquals": {{"{QUALIFIER_KEY}": "{name}"}}}}}}'
    )


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


_START_EXECUTION = r"arn:[^:]+:states:::states:startExecution(?:\.sync(?::2)?|\.waitForTaskToken)?"


def _start_execution_targets(definition: Any, base: Path) -> Iterator[tuple[Path, Any]]:
    """(path, value) of every ``StateMachineArn`` of a ``startExecution`` Task (any
    variant) in an object definition, nested states (Parallel branches, Map processors)
    included; ``Parameters`` (JSONPath) and ``Arguments`` (JSONata)."""
    stack: list[tuple[Any, Path]] = [(definition, base)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(node))
            continue
        if type(node) is not dict:
            continue
        resource = node.get("Resource")
        if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), str):
            resource = resource["Fn::Sub"].replace("${AWS::Partition}", "aws")
        task = node.get("Type") == "Task" and isinstance(resource, str)
        if task and re.fullmatch(_START_EXECUTION, str(resource)):
            for field in ("Parameters", "Arguments"):
                holder = node.get(field)
                if type(holder) is dict and "StateMachineArn" in holder:
                    yield (*path, field, "StateMachineArn"), holder["StateMachineArn"]
        stack.extend((value, (*path, key)) for key, value in node.items())


def swap_version(value: Any, version: str, alias: str) -> Any:
    """``value`` (a definition property as the planner wrote it) with every ``Ref`` of
    ``version`` and every ``${version}`` in an ``Fn::Sub`` made the alias (the value itself
    when none is there)."""
    if type(value) is dict:
        if value == {"Ref": version}:
            return {"Ref": alias}
        if len(value) == 1 and isinstance(value.get("Fn::Sub"), str):
            text = value["Fn::Sub"].replace("${" + version + "}", "${" + alias + "}")
            return {"Fn::Sub": text} if text != value["Fn::Sub"] else value
        out = {key: swap_version(item, version, alias) for key, item in value.items()}
        return out if any(out[k] is not value[k] for k in value) else value
    if isinstance(value, list):
        items = [swap_version(item, version, alias) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


def _get(node: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and key < len(node) else None
        else:
            node = node.get(key) if type(node) is dict else None
    return node


def _sub_pattern(machine: str) -> str:
    return r"\$\{" + re.escape(machine) + r"(?:\.Arn)?\}"


def _retarget(value: Any, machine: str, alias: str) -> Any | None:
    """``value`` with every reference to ``machine``'s ARN made a reference to ``alias``
    (``Ref``, ``Fn::GetAtt .Arn``, ``${SM}`` in ``Fn::Sub``, inside ``Fn::Join`` parts and
    ``Fn::Sub`` variables); None when it names ``machine`` nowhere."""
    if refs(value, machine):
        return {"Ref": alias}
    name = intrinsic_name(value)
    if name == "Fn::Sub":
        args = value["Fn::Sub"]
        if isinstance(args, str):
            text, changed = re.subn(_sub_pattern(machine), "${" + alias + "}", args)
            return {"Fn::Sub": text} if changed else None
        if isinstance(args, list) and len(args) == 2 and isinstance(args[0], str):
            variables = args[1] if type(args[1]) is dict else {}
            text, changed = re.subn(_sub_pattern(machine), "${" + alias + "}", args[0])
            new_vars = dict(variables)
            for key, var in variables.items():
                moved = _retarget(var, machine, alias)
                if moved is not None:
                    new_vars[key] = moved
                    changed += 1
            return (
                {"Fn::Sub": [text, new_vars if type(args[1]) is dict else args[1]]}
                if (changed)
                else None
            )
        return None
    if name == "Fn::Join":
        args = value["Fn::Join"]
        if isinstance(args, list) and len(args) == 2 and isinstance(args[1], list):
            parts = [_retarget(p, machine, alias) for p in args[1]]
            if any(p is not None for p in parts):
                joined = [
                    new if new is not None else old for new, old in zip(parts, args[1], strict=True)
                ]
                return {"Fn::Join": [args[0], joined]}
    return None


def _names_literally(value: Any, machine: Resource) -> bool:
    """A literal string holding ``machine``'s ARN (its literal name known)."""
    name = machine.properties.get("Name" if machine.sam else "StateMachineName")
    return isinstance(name, str) and isinstance(value, str) and f":stateMachine:{name}" in value


def _start_resources(statement: Any) -> list[Any] | None:
    """The Resource entries of an unconditional Allow of states:StartExecution, or None."""
    if type(statement) is not dict or intrinsic_name(statement) is not None:
        return None
    if statement.get("Effect") != "Allow":
        return None
    if any(k in statement for k in ("Condition", "NotAction", "NotResource")):
        return None
    actions = listify(statement.get("Action", []))
    pattern = "|".join(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in a.lower())
        for a in actions
        if isinstance(a, str)
    )
    if not pattern or not re.fullmatch(pattern, START_ACTION.lower()):
        return None
    return listify(statement.get("Resource", []))


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
    resources = _start_resources(statement)
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

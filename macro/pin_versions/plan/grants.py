"""Grants: which roles invoke each pinned function (the Task's Credentials role, else the
state machine's, through ``Fn::If`` branches), and a retained ``AWS::IAM::Policy`` per
(role, function) that a role lacks, with the condition it exists under and the DependsOn
that makes the state machine wait for it (SPEC 7)."""

from __future__ import annotations

from typing import Any

from ..definition import Credentials, Target
from ..dependencies import Dependencies
from ..hashing import (
    Conditions,
    identity_hash,
    resolve_known_values,
)
from ..iam import (
    POLICY_NAME,
    Coverage,
    role_of,
    role_of_items,
)
from ..inventory import Inventory, Resource
from ..options import Options
from ..references import Item
from ..report import (
    Diagnostic,
    GrantEntry,
    Path,
    RoleEntry,
)
from ..targets import LAMBDA, TargetKind
from .model import (
    GRANT_HASH_PREFIX,
    MAX_LOGICAL_ID,
    MAX_POLICY_NAME,
    Guard,
    Plan,
    PlanPart,
    Use,
)


class Grants(PlanPart):
    """Collects the roles that invoke pinned functions while machines are planned, and
    plans their grants into the shared ``plan`` at the end."""

    def __init__(
        self,
        inventory: Inventory,
        options: Options,
        plan: Plan,
        errors: list[Diagnostic],
        taken: set[str],
    ) -> None:
        super().__init__(inventory, options, plan, errors, taken)
        self.uses: list[Use] = []  # every role that invokes a pinned or protected function
        self.outside: dict[tuple[str, Path], list[str]] = {}  # (code, path) -> functions
        self.dependencies = Dependencies(inventory.resources)
        # Targets of the other kinds (plan/kinds.py): logical ID -> (kind, suffixes used).
        self.kinds_of: dict[str, tuple[TargetKind, set[str]]] = {}

    def kind_uses(
        self, machine: Resource, target: Target, logical_id: str, kind: TargetKind
    ) -> None:
        """``invokers`` for a target of another kind (plan/kinds.py), remembering its kind and
        the integration suffix (``.sync`` needs more than StartExecution)."""
        self.kinds_of.setdefault(logical_id, (kind, set()))[1].add(target.integration)
        self.invokers(machine, target, logical_id)

    def _covered(self, coverage: Coverage, role: str, target: str, sam: str | None) -> bool:
        if target in self.kinds_of:
            from .kind_grants import kind_covered

            return kind_covered(self.inventory, self.kinds_of[target], role, target, sam)
        if sam is not None:
            policies = self.inventory.state_machines[sam].properties.get("Policies")
            return coverage.sam_policies_cover(policies, target)
        return coverage.role_covers(role, target)

    def user_text(self, targets: list[str]) -> str:
        """What a user must add to a role outside the template, for every kind."""
        return _user_text(self.inventory, self.kinds_of, targets)

    def invokers(self, machine: Resource, target: Target, function: str) -> None:
        """Record every role that invokes ``function`` at ``target``: the Task's Credentials
        role when it has one, else the state machine's (SPEC 7)."""
        credentials = target.credentials
        if credentials is not None:
            self._credential_uses(machine, credentials, function)
            return
        if machine.sam and "Role" not in machine.properties:
            # SAM makes the role from Policies and names it <StateMachine>Role.
            self.uses.append(
                Use(machine.logical_id, f"{machine.logical_id}Role", function, (), True)
            )
            return
        key = "Role" if machine.sam else "RoleArn"
        value = machine.properties.get(key)
        path: Path = ("Resources", machine.logical_id, "Properties", key)
        if value is None:
            # No role at all: say so at the resource, not at a RoleArn that is not there.
            self.outside.setdefault(("PV106", ("Resources", machine.logical_id)), []).append(
                function
            )
            return
        for role, guard in self._role_branches(value, None, ()):
            if role is None:
                self.outside.setdefault(("PV106", _branch_path(path, guard)), []).append(function)
            else:
                self.uses.append(Use(machine.logical_id, role, function, guard, False))

    def _credential_uses(self, machine: Resource, credentials: Credentials, function: str) -> None:
        path = credentials.path
        if credentials.dynamic:
            self.outside.setdefault(("PV116", path), []).append(function)
            return
        for role, guard in self._role_branches(credentials.value, credentials.items, ()):
            if role is None:
                self.outside.setdefault(("PV116", _branch_path(path, guard)), []).append(function)
            else:
                self.uses.append(Use(machine.logical_id, role, function, guard, False))

    def _role_branches(
        self, value: Any, items: list[Item] | None, guard: Guard
    ) -> list[tuple[str | None, Guard]]:
        """The roles a role ARN may be, each with the conditions that choose it (None: a
        role outside the template). ``Fn::If`` branches are followed; ``AWS::NoValue`` is
        no role."""
        branches = value.get("Fn::If") if type(value) is dict and len(value) == 1 else None
        if isinstance(branches, list) and len(branches) == 3 and isinstance(branches[0], str):
            condition = branches[0]
            return self._role_branches(
                branches[1], None, (*guard, (condition, True))
            ) + self._role_branches(branches[2], None, (*guard, (condition, False)))
        if value == {"Ref": "AWS::NoValue"}:
            return []
        role = role_of(value, self.inventory) if value is not None else None
        if role is None and items is not None:
            role = role_of_items(items, self.inventory)
        return [(role, guard)]

    def report_outside(self) -> None:
        for (code, path), functions in self.outside.items():
            names = sorted(set(functions))
            if code == "PV106" and len(path) == 2:  # Resources.<machine>: it has no role
                key = (
                    "Role"
                    if self.inventory.resources[str(path[1])]
                    .get("Type", "")
                    .startswith("AWS::Serverless::")
                    else "RoleArn"
                )
                message = (
                    f"has no {key}, so no execution role the macro can widen (CloudFormation "
                    f"requires {key}); give it a role that allows every version: "
                    f"{self.user_text(names)}"
                )
            elif code == "PV106":
                message = (
                    "the execution role is not in this template; make sure it allows every "
                    f"version: {self.user_text(names)}"
                )
            else:
                message = (
                    "the Task invokes with this role, which is chosen at run time or is not in "
                    f"this template; make sure it allows every version: {self.user_text(names)}"
                )
            self.report.warn(code, path, message)

    def plan_grants(self) -> None:
        """One retained AWS::IAM::Policy per (role, function) that some role lacks."""
        inventory = self.inventory
        coverage = Coverage(inventory)
        by_pair: dict[tuple[str, str], list[Use]] = {}
        for use in self.uses:
            by_pair.setdefault((use.role, use.function), []).append(use)
        by_role: dict[str, tuple[set[str], list[str]]] = {}
        for (role, function), uses in sorted(by_pair.items()):
            functions, added = by_role.setdefault(role, (set(), []))
            functions.add(function)
            sam_machine = next((u.machine for u in uses if u.sam_policies), None)
            if self._covered(coverage, role, function, sam_machine):
                continue
            if not self.options.widen_roles:
                where = (
                    f"Resources.{sam_machine}.Properties.Policies"
                    if sam_machine is not None
                    else f"Resources.{role}"
                )
                self.report.warn(
                    "PV107",
                    where,
                    f"does not allow every version of {function}; add {self.user_text([function])}",
                )
                continue
            self._add_grant(role, function, uses, sam_machine)
            added.append(function)
        for role in sorted(by_role):
            functions, added = by_role[role]
            self.report.roles.append(RoleEntry(role, tuple(sorted(functions)), tuple(added)))

    def _add_grant(
        self, role: str, function: str, uses: list[Use], sam_machine: str | None
    ) -> None:
        inventory = self.inventory
        logical_id, policy_name = grant_id(inventory, role, function, self.kinds_of)
        existing = inventory.resources.get(logical_id)
        if logical_id in self.taken and not (
            type(existing) is dict and existing.get("Type") == "AWS::IAM::Policy"
        ):
            self.errors.append(
                Diagnostic(
                    "PV911",
                    f"Resources.{logical_id}",
                    f"is the logical ID of the grant of {role} on {function}; rename it",
                )
            )
            return
        condition = self._grant_condition(logical_id, role, function, uses, sam_machine)
        self.report.grants.append(GrantEntry(logical_id, role, function, policy_name, condition))
        if existing is None:  # else an earlier pass of the macro added it: keep it as it is
            self.taken.add(logical_id)
            resource: dict[str, Any] = {
                "Type": "AWS::IAM::Policy",
                # Executions started before a deploy that stops invoking F still invoke
                # F's retained versions: the grant outlives its Task (docs/design.md, Day 2).
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
            }
            if condition is not None:
                resource["Condition"] = condition
            resource["Properties"] = {
                "PolicyName": policy_name,
                "Roles": [{"Ref": role}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": _statements(inventory, self.kinds_of, function),
                },
            }
            after = role if role in inventory.resources else (sam_machine or role)
            self.plan.grants[logical_id] = (after, resource)
        # The state machines must not start invoking the new versions before they may.
        for machine in sorted({u.machine for u in uses}):
            own = inventory.state_machines[machine].condition
            if condition not in (None, own):
                continue  # a DependsOn on a resource that may not exist would fail
            if self.dependencies.reaches(function, machine) or self.dependencies.reaches(
                role, machine
            ):
                continue  # it would close a cycle
            current = inventory.state_machines[machine].resource.get("DependsOn", [])
            if not isinstance(current, (str, list)):
                continue  # not a DependsOn CloudFormation takes: left for it to reject
            waits = self.plan.depends_on.setdefault(machine, [])
            if logical_id not in waits:
                waits.append(logical_id)

    def _grant_condition(
        self, logical_id: str, role: str, function: str, uses: list[Use], sam_machine: str | None
    ) -> str | None:
        """The condition the grant exists under: its role's and its function's, and the
        ``Fn::If`` branches that choose the role (any of them). A new condition named like
        the grant when more than one name is needed."""
        inventory = self.inventory
        conjuncts: list[Any] = []
        role_resource = inventory.resources.get(sam_machine or role)
        role_condition = role_resource.get("Condition") if type(role_resource) is dict else None
        for own in (role_condition, _condition_of(inventory, function)):
            if isinstance(own, str) and {"Condition": own} not in conjuncts:
                conjuncts.append({"Condition": own})
        guards = sorted({u.guard for u in uses})
        if () not in guards:
            alternatives = [_all_of([_literal(c, v) for c, v in g]) for g in guards]
            conjuncts.append(_any_of(alternatives))
        if not conjuncts:
            return None
        if len(conjuncts) == 1 and "Condition" in conjuncts[0]:
            single: str = conjuncts[0]["Condition"]
            return single
        existing = inventory.template.get("Conditions")
        taken = set(existing) if type(existing) is dict else set()
        name, n = logical_id, 1
        while name in taken or name in self.plan.conditions:
            n += 1
            name = f"{logical_id}{n}"
        self.plan.conditions[name] = _all_of(conjuncts)
        return name


def _literal(condition: str, value: bool) -> dict[str, Any]:
    ref = {"Condition": condition}
    return ref if value else {"Fn::Not": [ref]}


def _all_of(operands: list[Any]) -> Any:
    return operands[0] if len(operands) == 1 else {"Fn::And": _chunked("Fn::And", operands)}


def _any_of(operands: list[Any]) -> Any:
    return operands[0] if len(operands) == 1 else {"Fn::Or": _chunked("Fn::Or", operands)}


def _chunked(function: str, operands: list[Any]) -> list[Any]:
    """Fn::And and Fn::Or take 2 to 10 conditions: nest longer lists."""
    while len(operands) > 10:
        operands = [
            {function: operands[i : i + 10]} if len(operands[i : i + 10]) > 1 else operands[i]
            for i in range(0, len(operands), 10)
        ]
    return operands


def _branch_path(path: Path, guard: Guard) -> Path:
    """The path of a role ARN, with the Fn::If branch that chose it."""
    for _, value in guard:
        path = (*path, "Fn::If", 1 if value else 2)
    return path


def grant_id(
    inventory: Inventory,
    role: str,
    function: str,
    kinds_of: dict[str, tuple[TargetKind, set[str]]] | None = None,
) -> tuple[str, str]:
    """Logical ID and PolicyName of the grant of ``role`` on ``function``. Both follow its
    physical name identity (resolved FunctionName, or "generated"), so a rename, which
    replaces it, gives a new grant and leaves the old one retained, naming the old one."""
    if kinds_of and function in kinds_of:
        # Another kind: its physical name property (StateMachineName, Family, ...).
        raw = inventory.resources[function].get("Properties")
        properties = raw if type(raw) is dict else {}
        kind = kinds_of[function][0]
        name = next((properties[k] for k in kind.name_properties if k in properties), None)
        if name is None and kind.replaced_by_any_change:  # a new generated name each time
            name = {"generated": {k: v for k, v in properties.items() if k != "Tags"}}
    else:
        properties = inventory.function_properties(inventory.functions[function])
        name = properties.get("FunctionName")
    if name is None:
        identity: Any = "generated"
    else:
        conditions = Conditions(inventory.template.get("Conditions"), inventory.context)
        identity = {"name": resolve_known_values(name, inventory.context, conditions)}
    digest = identity_hash(GRANT_HASH_PREFIX, [role, function, identity])
    room = MAX_LOGICAL_ID - len(POLICY_NAME) - len(digest)
    logical_id = f"{role[: room // 2]}{POLICY_NAME}{function[: room - room // 2]}{digest}"
    if len(role) + len(function) <= room:
        logical_id = f"{role}{POLICY_NAME}{function}{digest}"
    shown = function[: MAX_POLICY_NAME - len(POLICY_NAME) - len(digest) - 2]
    return logical_id, f"{POLICY_NAME}-{shown}-{digest}"


def invoke_statement(functions: list[tuple[str, str | None]]) -> dict[str, Any]:
    """The statement that allows every version of each function, conditions respected."""
    resources: list[Any] = []
    for function, condition in functions:
        entry: Any = LAMBDA.grant(function)
        if condition is not None:
            entry = {"Fn::If": [condition, entry, {"Ref": "AWS::NoValue"}]}
        resources.append(entry)
    return {"Effect": "Allow", "Action": LAMBDA.grant_action, "Resource": resources}


def statement_for_user(functions: list[str]) -> str:
    """What a user must add to a role outside the template, as one line of text."""
    arns = ", ".join(f'"${{{f}.Arn}}:*"' for f in functions)
    return (
        f'{{"Effect": "Allow", "Action": "{LAMBDA.grant_action}", '
        f'"Resource": [{arns}]}} (each as !Sub)'
    )


def _condition_of(inventory: Inventory, target: str) -> str | None:
    entry = inventory.functions.get(target) or inventory.state_machines.get(target)
    return (entry or inventory.others[target]).condition


def _statements(
    inventory: Inventory, kinds_of: dict[str, tuple[TargetKind, set[str]]], target: str
) -> list[dict[str, Any]]:
    if target not in kinds_of:
        return [invoke_statement([(target, None)])]
    from .kind_grants import kind_statements

    return kind_statements(inventory, kinds_of[target], target)


def _user_text(
    inventory: Inventory, kinds_of: dict[str, tuple[TargetKind, set[str]]], targets: list[str]
) -> str:
    functions = [t for t in targets if t not in kinds_of]
    texts = [statement_for_user(functions)] if functions else []
    others = [t for t in targets if t in kinds_of]
    if others:
        from .kind_grants import statement_text

        texts += [statement_text(st) for t in others for st in _statements(inventory, kinds_of, t)]
    return "; ".join(texts)

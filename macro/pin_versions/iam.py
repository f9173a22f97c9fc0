"""Execution roles: does something attached to a role already allow invoking every version
of a function (``function:NAME:*``), and what to add when nothing does (SPEC 7).

Coverage is decided conservatively: a statement with a Condition, NotAction or NotResource,
or a policy that is itself conditional, never counts. Adding a redundant permission is
harmless; missing one breaks running executions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .intrinsics import getatt_target, intrinsic_name, ref_target
from .inventory import (
    IAM_ROLE,
    Inventory,
    condition_name,
    conditional_policy_documents,
    guarded_policies,
    retained_grant_nodes,
)
from .references import Item, Leaf, resolve
from .targets import LAMBDA

INVOKE_ACTION = LAMBDA.grant_action
POLICY_NAME = "PinVersionsInvoke"

# AWS managed policies that allow lambda:InvokeFunction on every function.
MANAGED_POLICIES_ALLOWING_INVOKE = frozenset(
    {
        "AdministratorAccess",
        "PowerUserAccess",
        "AWSLambda_FullAccess",
        "AWSLambdaFullAccess",
        "service-role/AWSLambdaRole",
    }
)
# A pattern string, compiled on first use through re's own cache: a request that never
# needs it does not pay for its compile at cold import (docs/performance.md, issue 13).
_MANAGED_ARN = r"arn:[^:]+:iam::aws:policy/(.+)"
_ROLE_ARN = r"arn:[^:]+:iam::[^:]*:role/(?:.*/)?(?P<name>[^/]+)"
# Stand-ins for values the request does not know, so that one regex match decides.
_UNKNOWN = "\x01"


def role_of(value: Any, inventory: Inventory) -> str | None:
    """The in-template AWS::IAM::Role an execution role ARN names, if any."""
    target = getatt_target(value)
    if target is not None:
        logical_id, attribute = target
        if attribute == "Arn" and inventory.types.get(logical_id) == IAM_ROLE:
            return logical_id
        return None
    return role_of_items(resolve(value, inventory), inventory)


def role_of_items(items: list[Item], inventory: Inventory) -> str | None:
    """The in-template AWS::IAM::Role that resolved items (an ARN) name, if any."""
    if len(items) == 1 and isinstance(items[0], Leaf) and items[0].kind == "resource":
        logical_id, _, attribute = items[0].ref.partition(".")
        if attribute == "Arn" and inventory.types.get(logical_id) == IAM_ROLE:
            return logical_id
        return None
    text = "".join(i if isinstance(i, str) else _UNKNOWN for i in items)
    match = re.fullmatch(_ROLE_ARN, text)
    if match is None:
        return None
    name = match.group("name")
    if name == _UNKNOWN:
        leaf = next((i for i in reversed(items) if isinstance(i, Leaf)), None)
        if (
            leaf is not None
            and leaf.kind == "resource"
            and inventory.types.get(leaf.ref) == IAM_ROLE
        ):
            return leaf.ref
        return None
    for logical_id, rtype in inventory.types.items():
        if rtype == IAM_ROLE:
            props = inventory.resources[logical_id].get("Properties")
            if type(props) is dict and props.get("RoleName") == name:
                return logical_id
    return None


def allowed_resources(statement: Any, action: str) -> list[Any] | None:
    """The ``Resource`` entries of a statement that allows ``action`` (IAM wildcards in the
    action, case-insensitive), or None. Counted conservatively: a statement with a
    ``Condition``, ``NotAction`` or ``NotResource``, or one written as an intrinsic, allows
    nothing here (IAM User Guide, "Policy evaluation logic")."""
    if type(statement) is not dict or intrinsic_name(statement) is not None:
        return None
    if statement.get("Effect") != "Allow":
        return None
    if any(k in statement for k in ("Condition", "NotAction", "NotResource")):
        return None
    actions = _listify(statement.get("Action", []))
    wanted = action.lower()
    if not any(isinstance(a, str) and re.fullmatch(_glob(a.lower()), wanted) for a in actions):
        return None
    return _listify(statement.get("Resource", []))


def invoke_resources(statement: Any) -> list[Any] | None:
    """``allowed_resources`` of ``lambda:InvokeFunction``."""
    return allowed_resources(statement, INVOKE_ACTION)


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _unconditional(resource: dict[str, Any]) -> bool:
    return "Condition" not in resource


def attached_documents(role: str, inventory: Inventory) -> Iterator[Any]:
    """Every policy document attached to ``role`` without a condition."""
    resources = inventory.resources
    properties = resources[role].get("Properties")
    if type(properties) is not dict:
        return
    for policy in _listify(properties.get("Policies", [])):
        if type(policy) is dict and intrinsic_name(policy) is None:
            yield policy.get("PolicyDocument")
    managed_refs: set[str] = set()
    for arn in _listify(properties.get("ManagedPolicyArns", [])):
        target = ref_target(arn)
        if target is not None:
            managed_refs.add(target)
    for logical_id, rtype in inventory.types.items():
        resource = resources[logical_id]
        if rtype not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            continue
        if not _unconditional(resource):
            continue
        props = resource.get("Properties")
        if type(props) is not dict:
            continue
        attached = logical_id in managed_refs
        if rtype == "AWS::IAM::RolePolicy":
            attached = ref_target(props.get("RoleName")) == role
        else:
            attached = attached or any(
                ref_target(r) == role for r in _listify(props.get("Roles", []))
            )
        if attached:
            yield props.get("PolicyDocument")


# SAM also takes managed policies by name, without their path.
_MANAGED_NAMES = MANAGED_POLICIES_ALLOWING_INVOKE | {
    name.rsplit("/", 1)[-1] for name in MANAGED_POLICIES_ALLOWING_INVOKE
}


def _managed_name(value: Any, inventory: Inventory) -> str | None:
    """``service-role/AWSLambdaRole`` for its ARN; a plain name as it is."""
    items = resolve(value, inventory)
    text = "".join(i if isinstance(i, str) else "x" for i in items)
    match = re.fullmatch(_MANAGED_ARN, text)
    if match:
        return match.group(1)
    return text if text and ":" not in text else None


def managed_policy_allows_invoke(role: str, inventory: Inventory) -> bool:
    properties = inventory.resources[role].get("Properties")
    if type(properties) is not dict:
        return False
    return any(
        _managed_name(arn, inventory) in MANAGED_POLICIES_ALLOWING_INVOKE
        for arn in _listify(properties.get("ManagedPolicyArns", []))
    )


def _glob(pattern: str) -> str:
    """An IAM wildcard pattern as a regex fragment (``*`` any run, ``?`` one character)."""
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)


class Coverage:
    """Answers "does this role already allow invoking every version of F?"."""

    def __init__(self, inventory: Inventory, across_deploys: bool = True) -> None:
        # across_deploys: "still allowed after a rename?" (``follows``), else "allowed now?".
        self.inventory = inventory
        self.across_deploys = across_deploys
        # The macro's own retained grants (a second pass) stay behind on a rename: they count.
        self._retained = retained_grant_nodes(inventory)
        context = inventory.context
        self.partition = context.pseudo_value("AWS::Partition") or _UNKNOWN + "P"
        self.region = context.region or _UNKNOWN + "R"
        self.account = context.account_id or _UNKNOWN + "A"
        self._names = {logical_id: name for name, logical_id in reversed(inventory.names.items())}
        # Compiled pattern of each policy Resource entry (None: it can cover nothing known).
        self._patterns: dict[int, tuple[Any, re.Pattern[str] | None, frozenset[str]]] = {}
        self._covers: dict[tuple[str, str], bool] = {}

    def _name(self, function: str) -> str:
        return self._names.get(function) or _UNKNOWN + "N" + function

    def _arn(self, function: str) -> str:
        return (
            f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:"
            f"{self._name(function)}"
        )

    def _leaf_text(self, leaf: Leaf) -> str | None:
        if leaf.kind == "fn-arn":
            return self._arn(leaf.ref)
        if leaf.kind == "fn-name":
            return self._name(leaf.ref)
        if leaf.kind == "opaque":
            return {
                "AWS::Partition": self.partition,
                "AWS::Region": self.region,
                "AWS::AccountId": self.account,
            }.get(leaf.ref)
        return None

    def resource_covers(self, resource: Any, function: str) -> bool:
        branches = resource.get("Fn::If") if type(resource) is dict and len(resource) == 1 else None
        if isinstance(branches, list) and len(branches) == 3:
            # Fn::If [C, X, ...] covers F when X does and C is F's own condition (the entry
            # exists whenever F does), or when both branches do.
            condition, then, otherwise = branches
            if not self.resource_covers(then, function):
                return False
            return self.holds_with(function, condition) or self.resource_covers(otherwise, function)
        pattern = self._pattern(resource)
        if pattern is None or (
            self.across_deploys
            and function in self._patterns[id(resource)][2]
            and id(resource) not in self._retained
        ):
            return False  # follows the function through a rename (``follows``)
        base = self._arn(function)
        # Every version: a pattern must match whatever follows "NAME:".
        return all(pattern.fullmatch(f"{base}:{q}") for q in ("1", "42", "live", "$LATEST"))

    def follows(self, resource: Any, target: str) -> bool:
        """Does the entry name ``target`` through a reference (``!GetAtt F.Arn``, ``${F}``)?
        Then it follows the target through a rename and does not cover the old one across a
        deploy (docs/design.md, "After the issue 14/15 merges"); a literal ARN stays."""
        if not self.across_deploys or id(resource) in self._retained:
            return False
        self._pattern(resource)
        return target in self._patterns[id(resource)][2]

    def _pattern(self, resource: Any) -> re.Pattern[str] | None:
        """The entry as a regular expression over ARNs, compiled once per entry, with the
        logical IDs it references (``follows``)."""
        cached = self._patterns.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1]
        parts: list[str] = []
        pattern: re.Pattern[str] | None = None
        items = resolve(resource, self.inventory)
        refs = frozenset(i.ref.partition(".")[0] for i in items if isinstance(i, Leaf))
        for item in items:
            if isinstance(item, str):
                parts.append(_glob(item))
                continue
            text = self._leaf_text(item)
            if text is None:
                break
            parts.append(re.escape(text))
        else:
            pattern = re.compile("".join(parts), re.DOTALL)
        self._patterns[id(resource)] = (resource, pattern, refs)  # holds it: ids stay unique
        return pattern

    def statement_covers(self, statement: Any, function: str) -> bool:
        resources = invoke_resources(statement)
        return resources is not None and any(self.resource_covers(r, function) for r in resources)

    def holds_with(self, function: str, condition: Any) -> bool:
        """Is ``condition`` true whenever ``function`` exists? Its own condition is; so is an
        ``Fn::Or`` that lists it (how the macro guards a policy of conditional functions)."""
        own = self.inventory.functions[function].condition
        if own is None or not isinstance(condition, str):
            return False
        seen: set[str] = set()
        pending = [condition]
        conditions = self.inventory.template.get("Conditions")
        while pending:
            name = pending.pop()
            if name == own:
                return True
            if name in seen or type(conditions) is not dict:
                continue
            seen.add(name)
            body = conditions.get(name)
            operands = body.get("Fn::Or") if type(body) is dict and len(body) == 1 else None
            for operand in operands if isinstance(operands, list) else []:
                if type(operand) is dict and isinstance(operand.get("Condition"), str):
                    pending.append(operand["Condition"])
        return False

    def _guarded_documents(self, role: str, function: str) -> Iterator[dict[str, Any]]:
        for condition, policy in guarded_policies(role, self.inventory):
            document = policy.get("PolicyDocument")
            if type(document) is dict and self.holds_with(function, condition):
                yield document
        for condition, document in conditional_policy_documents(role, self.inventory):
            if self.implied(condition, role, function):
                yield document

    def implied(self, condition: Any, role: str, function: str) -> bool:
        """Is ``condition`` true whenever ``role`` and ``function`` both exist? Their own
        conditions are; so are ``Fn::And`` of implied ones and ``Fn::Or`` with one (how the
        macro guards a retained grant)."""
        conditions = self.inventory.template.get("Conditions")
        owns = {
            self.inventory.functions[function].condition,
            condition_name(self.inventory.resources.get(role)),
        } - {None}
        seen: set[str] = set()

        def holds(expression: Any) -> bool:
            if isinstance(expression, str):
                if expression in owns:
                    return True
                if expression in seen or type(conditions) is not dict:
                    return False
                seen.add(expression)
                return holds(conditions.get(expression))
            if type(expression) is not dict or len(expression) != 1:
                return False
            ((name, args),) = expression.items()
            if name == "Condition":
                return holds(args)
            if name in ("Fn::And", "Fn::Or") and isinstance(args, list) and args:
                results = [holds(a) for a in args]
                return all(results) if name == "Fn::And" else any(results)
            return False

        return holds(condition)

    def sam_policies_cover(self, policies: Any, function: str) -> bool:
        """SAM ``Policies`` of a state machine (managed policy names or ARNs, policy
        documents, policy templates) already allow every version of ``function``."""
        return any(
            self._sam_policy_covers(entry, function)
            for entry in _listify(policies if policies is not None else [])
        )

    def _sam_policy_covers(self, entry: Any, function: str) -> bool:
        if isinstance(entry, str):
            return _managed_name(entry, self.inventory) in _MANAGED_NAMES
        if type(entry) is not dict or intrinsic_name(entry) is not None:
            return False
        if "Statement" in entry:
            return any(self.statement_covers(st, function) for st in _listify(entry["Statement"]))
        template = entry.get("LambdaInvokePolicy")
        # SAM's template allows function:${FunctionName}*, every version included.
        return type(template) is dict and self._names_function(
            template.get("FunctionName"), function
        )

    def _names_function(self, value: Any, function: str) -> bool:
        items = resolve(value, self.inventory)
        if items == [Leaf("fn-name", function)]:
            return True
        return len(items) == 1 and isinstance(items[0], str) and self._name(function) == items[0]

    def role_covers(self, role: str, function: str) -> bool:
        key = (role, function)
        known = self._covers.get(key)
        if known is None:
            known = self._covers[key] = self._role_covers(role, function)
        return known

    def _role_covers(self, role: str, function: str) -> bool:
        if managed_policy_allows_invoke(role, self.inventory):
            return True
        for document in self._guarded_documents(role, function):
            for statement in _listify(document.get("Statement", [])):
                if self.statement_covers(statement, function):
                    return True
        for document in attached_documents(role, self.inventory):
            if type(document) is not dict:
                continue
            for statement in _listify(document.get("Statement", [])):
                if self.statement_covers(statement, function):
                    return True
        return False

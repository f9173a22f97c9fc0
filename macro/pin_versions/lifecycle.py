"""The day-2 lifecycle: what a deploy from one processed template to the next does to the
Lambda targets that executions started before it may still invoke (``pin-versions plan``).

Generic on purpose: the input is two *processed* templates (plain CloudFormation, whatever
made them) and the model is CloudFormation's and IAM's rules, not the macro's output. Each
rule, with the AWS documentation it relies on, is in docs/lifecycle.md:

- Running executions keep the definition and role they started with (Step Functions
  ``UpdateStateMachine``), so the targets and roles are read from OLD.
- A resource that leaves the template is deleted unless OLD gives it ``DeletionPolicy:
  Retain`` (or ``RetainExceptOnCreate``); one whose create-only property changes is replaced,
  and the old one is deleted unless ``UpdateReplacePolicy: Retain`` (required in both
  templates here: CloudFormation does not apply an attribute-only change, so the stack may
  still hold the older one).
- Deleting a function deletes every version of it (Lambda ``DeleteFunction``).
- A retained ``AWS::IAM::Policy`` stays attached to its roles; inline policies go with the
  role's ``Policies`` property.

Pure: templates and contexts in, verdicts out. No AWS call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from .definition import BARE, CLOSE, OPEN, DefinitionView, analyse
from .hashing import EXCLUDED_PROPERTIES, Conditions, canonical_json, version_hash
from .iam import INVOKE_ACTION, MANAGED_POLICIES_ALLOWING_INVOKE, role_of
from .intrinsics import getatt_target, intrinsic_name, parse_sub, ref_target, sub_args
from .inventory import (
    FUNCTION_TYPES,
    IAM_ROLE,
    LAMBDA_FUNCTION,
    LAMBDA_VERSION,
    Context,
    Inventory,
    build_inventory,
)
from .options import Options
from .pieces import Opaque, Piece, render, split_substitutions
from .references import Leaf, resolve
from .report import TransformError

__all__ = ["CREATE_ONLY", "Lifecycle", "Problem", "Side", "Verdict", "assess"]

Status = Literal["safe", "broken", "unprotected"]

# Properties whose change makes CloudFormation replace the resource: the createOnlyProperties
# of each resource provider schema (as cfn-lint ships them; a test compares the two).
CREATE_ONLY: dict[str, frozenset[str]] = {
    LAMBDA_FUNCTION: frozenset({"FunctionName", "PackageType", "TenancyConfig"}),
    LAMBDA_VERSION: frozenset(
        {
            "FunctionName",
            "Description",
            "CodeSha256",
            "ProvisionedConcurrencyConfig",
            "RuntimePolicy",
        }
    ),
    IAM_ROLE: frozenset({"Path", "RoleName"}),
    "AWS::IAM::Policy": frozenset(),
    "AWS::IAM::ManagedPolicy": frozenset({"ManagedPolicyName", "Description", "Path"}),
    "AWS::IAM::RolePolicy": frozenset({"PolicyName", "RoleName"}),
}
_RETAIN = frozenset({"Retain", "RetainExceptOnCreate"})
_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy")
_MANAGED_ARN = re.compile(r"arn:[^:]+:iam::aws:policy/(.+)")
_UNKNOWN = "\x01"  # a name nobody knows: matches only a wildcard


@dataclass(slots=True)
class Side:
    """One processed template and the values it was deployed with."""

    template: dict[str, Any]
    context: Context
    pin: bool = True  # PinVersions ran on it (its Transform list names it)
    inventory: Inventory | None = field(init=False, default=None)
    conditions: Conditions = field(init=False)
    resources: dict[str, dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.conditions = Conditions(self.template.get("Conditions"), self.context)
        # As CloudFormation deploys it: each Fn::If the parameters decide is its branch.
        self.template = _as_deployed(self.template, self.conditions)
        raw = self.template.get("Resources")
        raw = raw if isinstance(raw, dict) else {}
        self.resources = {k: v for k, v in raw.items() if isinstance(v, dict)}
        try:
            self.inventory = build_inventory(self.template, self.context, Options())
        except TransformError:
            self.inventory = None  # the pipeline reports a malformed template on its own

    def exists(self, logical_id: str) -> bool:
        """In the template, and not switched off by a condition the parameters decide."""
        resource = self.resources.get(logical_id)
        if resource is None:
            return False
        return self.conditions.value(resource.get("Condition")) is not False

    def type_of(self, logical_id: str) -> str | None:
        rtype = self.resources.get(logical_id, {}).get("Type")
        return rtype if isinstance(rtype, str) else None

    def properties(self, logical_id: str) -> dict[str, Any]:
        properties = self.resources.get(logical_id, {}).get("Properties")
        return properties if isinstance(properties, dict) else {}

    def resolved(self, value: Any) -> Any:
        from .hashing import resolve_known_values

        return resolve_known_values(value, self.context, self.conditions)


_NO_VALUE = {"Ref": "AWS::NoValue"}
_DROP = object()


def _as_deployed(template: dict[str, Any], conditions: Conditions) -> dict[str, Any]:
    """A copy where every ``Fn::If`` whose condition the parameters decide is replaced by
    the branch it picks, and ``AWS::NoValue`` removes the key or item it stands for (what
    CloudFormation does). Undecided ones stay. Iterative: nesting depth is the user's."""

    def decide(node: Any) -> Any:
        while type(node) is dict and len(node) == 1 and isinstance(node.get("Fn::If"), list):
            branches = node["Fn::If"]
            chosen = conditions.value(branches[0]) if len(branches) == 3 else None
            if chosen is None:
                break
            node = branches[1 if chosen else 2]
        return _DROP if node == _NO_VALUE else node

    root: dict[str, Any] = {}
    stack: list[tuple[Any, dict[str, Any] | list[Any]]] = [(template, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            value = decide(value)
            if value is _DROP:
                continue
            if isinstance(value, (dict, list)):
                copy: dict[str, Any] | list[Any] = {} if isinstance(value, dict) else []
                stack.append((value, copy))
                value = copy
            if isinstance(target, dict):
                target[str(key)] = value
            else:
                target.append(value)
    return root


@dataclass(frozen=True, slots=True)
class Problem:
    reason: str  # deleted with its function, deleted by a replacement, not retained, ...
    detail: str
    fix: str


@dataclass(slots=True)
class Verdict:
    """What happens to one thing day-1 executions may invoke.

    kind: ``version`` (an AWS::Lambda::Version of the template), ``numbered`` (``F:3``,
    a version number written in the definition) or ``function`` (unqualified, or an alias).
    """

    target: str
    kind: str
    function: str
    machines: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why it is safe, or what was not checked

    @property
    def status(self) -> Status:
        if self.problems:
            return "broken"
        return "unprotected" if self.kind == "function" else "safe"

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "function": self.function,
            "stateMachines": self.machines,
            "roles": self.roles,
            "status": self.status,
            "problems": [
                {"reason": p.reason, "detail": p.detail, "fix": p.fix} for p in self.problems
            ],
            "notes": self.notes,
        }


@dataclass(slots=True)
class Lifecycle:
    verdicts: list[Verdict]
    notes: list[str]

    def broken(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "broken"]

    def to_json(self) -> dict[str, Any]:
        counts = {s: sum(v.status == s for v in self.verdicts) for s in _STATUSES}
        return {
            "verdicts": [v.to_json() for v in self.verdicts],
            "notes": self.notes,
            "summary": counts,
        }


_STATUSES: tuple[Status, ...] = ("safe", "broken", "unprotected")


# --- what CloudFormation does to each resource ----------------------------------------------


def _mentions(value: Any) -> set[str]:
    """Logical IDs (and parameters) a value refers to: Ref, GetAtt, Sub placeholders."""
    found: set[str] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if type(node) is not dict:
            continue
        target = ref_target(node)
        if target is not None:
            found.add(target)
            continue
        attribute = getatt_target(node)
        if attribute is not None:
            found.add(attribute[0])
            continue
        sub = sub_args(node)
        if sub is not None:
            for token in parse_sub(sub[0]):
                if token.kind == "ref" and token.text not in sub[1]:
                    found.add(token.text.partition(".")[0])
            stack.extend(sub[1].values())
            continue
        stack.extend(node.values())
    return found


@dataclass(frozen=True, slots=True)
class Fate:
    """What a deploy does to a resource of OLD: ``kept`` (same physical resource, maybe
    updated), ``retained`` (it leaves the stack but stays) or ``deleted``; ``how`` is
    ``removed``, ``replaced`` or ``""``."""

    outcome: Literal["kept", "retained", "deleted"]
    how: Literal["removed", "replaced", ""] = ""


class Transition:
    """OLD -> NEW as CloudFormation applies it."""

    def __init__(self, old: Side, new: Side) -> None:
        self.old = old
        self.new = new
        self.replaced = self._replaced()

    def _replaced(self) -> set[str]:
        old, new = self.old, self.new
        replaced: set[str] = set()
        # Who names whom in a create-only property: a change of the named resource's physical
        # ID changes the value, so the naming resource is replaced too.
        named_by: dict[str, set[str]] = {}
        for logical_id in old.resources:
            if not (old.exists(logical_id) and new.exists(logical_id)):
                continue
            rtype = new.type_of(logical_id)
            if old.type_of(logical_id) != rtype:
                replaced.add(logical_id)
                continue
            before, after = old.properties(logical_id), new.properties(logical_id)
            for name in sorted(CREATE_ONLY.get(rtype or "", ())):
                was, now = old.resolved(before.get(name)), new.resolved(after.get(name))
                if canonical_json(was) != canonical_json(now):
                    replaced.add(logical_id)
                    break
                for target in _mentions(now):
                    named_by.setdefault(target, set()).add(logical_id)
        pending = list(replaced)
        while pending:
            for dependent in named_by.get(pending.pop(), ()):
                if dependent not in replaced:
                    replaced.add(dependent)
                    pending.append(dependent)
        return replaced

    def fate(self, logical_id: str) -> Fate:
        old, new = self.old, self.new
        if not new.exists(logical_id):
            policy = old.resources.get(logical_id, {}).get("DeletionPolicy")
            return Fate("retained" if policy in _RETAIN else "deleted", "removed")
        if logical_id in self.replaced:
            # Both templates: an attribute-only change is not applied to the stack.
            was = old.resources.get(logical_id, {}).get("UpdateReplacePolicy")
            now = new.resources.get(logical_id, {}).get("UpdateReplacePolicy")
            retained = was == "Retain" and now == "Retain"
            return Fate("retained" if retained else "deleted", "replaced")
        return Fate("kept")


# --- reading Tasks: targets and the role each one invokes with ------------------------------


@dataclass(frozen=True, slots=True)
class _Use:
    machine: str
    key: tuple[str, str]  # (kind, target)
    function: str
    roles: tuple[str | None, ...]  # in-template roles; None: outside the template or unknown


_TOKEN = re.compile("\ue010([0-9]+)\ue011")
_TOKEN_MARKS = ("\ue010", "\ue011", OPEN, CLOSE, BARE)
_STRING_OR_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\ue010[0-9]+\ue011', re.DOTALL)


class _Tree:
    """A definition as a JSON tree whose intrinsic holes are tokens, to read fields (such as
    ``Credentials``) that the pinning walk does not keep."""

    def __init__(self, view: DefinitionView, inventory: Inventory) -> None:
        self.inventory = inventory
        self.substitutions = view.substitutions
        self.holes: list[Piece] = []
        self.tree: Any = None
        if view.form not in ("object", "string") or not view.path:
            return  # an unwalkable definition (PV130) has no tree to read
        value = view.machine.properties.get(str(view.path[-1]))
        if view.form == "object":
            self.tree = value
        elif view.form == "string":
            self.tree = self._parse(value, view)

    def _parse(self, value: Any, view: DefinitionView) -> Any:
        try:
            pieces = split_substitutions(
                render(value, view.path, standalone=False), frozenset(view.substitutions or ())
            )
        except Opaque:
            return None
        parts: list[str] = []
        for piece in pieces:
            if piece.is_hole:
                parts.append(f"\ue010{len(self.holes)}\ue011")
                self.holes.append(piece)
            else:
                parts.append(piece.text)
        text = "".join(parts)
        # Characters the tokens use, in the user's own text: the tree could not be trusted.
        if any(mark in piece.text for piece in pieces for mark in _TOKEN_MARKS):
            return None
        # A hole outside a JSON string ("Seconds": ${Wait}) becomes a string of its own.
        quoted = _STRING_OR_TOKEN.sub(
            lambda m: m.group(0) if m.group(0).startswith('"') else f'"{m.group(0)}"', text
        )
        try:
            return json.loads(quoted)
        except (json.JSONDecodeError, RecursionError):
            return None

    def state(self, relative: tuple[str | int, ...]) -> dict[str, Any] | None:
        node = self.tree
        for key in relative:
            if isinstance(node, dict) and isinstance(key, str):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                node = node[key]
            else:
                return None
        return node if isinstance(node, dict) else None

    def role_named(self, value: Any) -> str | None:
        """The in-template role a RoleArn value names (a string of the tree, or an intrinsic
        of a Definition object)."""
        if not isinstance(value, str) or not _TOKEN.search(value):
            return role_of(value, self.inventory)
        match = _TOKEN.fullmatch(value)
        if match is None:
            return None
        piece = self.holes[int(match.group(1))]
        if piece.kind == "value":
            return role_of(piece.value, self.inventory)
        if piece.kind == "subref":
            variables = piece.container.variables
            if piece.name in variables:
                return role_of(variables[piece.name], self.inventory)
            logical_id, _, attribute = piece.name.partition(".")
            if attribute == "Arn" and self.inventory.types.get(logical_id) == IAM_ROLE:
                return logical_id
            return None
        if piece.kind == "subst" and self.substitutions is not None:
            return role_of(self.substitutions.get(piece.name), self.inventory)
        return None


def _machine_roles(side: Side, inventory: Inventory, machine: str) -> tuple[str | None, ...]:
    """The roles a state machine's RoleArn names; each branch of an ``Fn::If`` that the
    parameters do not decide."""
    value = side.properties(machine).get("RoleArn")
    pending = [value]
    roles: list[str | None] = []
    while pending:
        node = pending.pop(0)
        branches = node.get("Fn::If") if type(node) is dict and len(node) == 1 else None
        if isinstance(branches, list) and len(branches) == 3:
            chosen = side.conditions.value(branches[0])
            pending.extend([branches[1]] if chosen else [branches[2]] if chosen is False else [])
            if chosen is None:
                pending.extend(branches[1:])
            continue
        if ref_target(node) == "AWS::NoValue":
            continue
        roles.append(role_of(node, inventory))
    return tuple(dict.fromkeys(roles)) or (None,)


def _version_owner(inventory: Inventory) -> dict[str, str]:
    return {v: f for f, versions in inventory.versions.items() for v in versions}


def _uses(side: Side, unseen: list[str] | None = None) -> list[_Use]:
    """Every Lambda target of the side's state machines, with the roles that invoke it.
    What cannot be judged is said in ``unseen``, one sentence each."""
    unseen = [] if unseen is None else unseen
    inventory = side.inventory
    if inventory is None:
        unseen.append("OLD cannot be read as CloudFormation; no verdict")
        return []
    owner = _version_owner(inventory)
    uses: list[_Use] = []
    for name, machine in inventory.state_machines.items():
        if not side.exists(name):
            continue
        try:
            view = analyse(machine, inventory)
        except TransformError:
            unseen.append(f"{name}: its definition cannot be read; no verdict for it")
            continue
        if view.form == "unwalkable":
            unseen.append(f"{name}: its definition is not walkable ASL; no verdict for it")
            continue
        if view.form in ("s3", "opaque"):
            unseen.append(f"{name}: its definition is not in the template; no verdict for it")
        tree = _Tree(view, inventory)
        machine_roles = _machine_roles(side, inventory, name)
        for target in view.targets:
            found = _target_key(
                target.items, target.resolution.kind, target.resolution.function, inventory
            )
            where = ".".join(str(p) for p in target.path[4:])
            if found is None:
                if target.resolution.kind in ("external", "mutable", "version"):
                    why = target.resolution.reason or "outside the template"
                    unseen.append(f"{name}: {where}: {why}; not judged")
                continue
            key, function = found
            if key[0] == "version":
                function = owner.get(key[1], function)
            if not function:
                unseen.append(
                    f"{name}: {where}: {key[1]} is a version of no function of this template; "
                    "not judged"
                )
                continue
            roles = machine_roles
            state_path = target.path[:-1] if target.field == "Resource" else target.path[:-2]
            state = tree.state(state_path[len(view.path) :])
            credentials = state.get("Credentials") if state is not None else None
            if isinstance(credentials, dict):
                roles = (tree.role_named(credentials.get("RoleArn")),)
            uses.append(_Use(name, key, function, roles))
    return uses


def _target_key(
    items: list[Any], kind: str, function: str | None, inventory: Inventory
) -> tuple[tuple[str, str], str] | None:
    if kind in ("function", "mutable") and function:
        return ("function", function), function
    if kind == "mutable":
        # An alias of the template: it invokes whatever version the alias points to.
        for item in items:
            if isinstance(item, Leaf) and item.kind == "alias" and item.ref in inventory.aliases:
                owner = inventory.aliases[item.ref]
                return ("function", owner), owner
        return None
    if kind != "version":
        return None
    for item in items:
        if isinstance(item, Leaf) and item.kind in ("version", "version-number"):
            return ("version", item.ref), function or ""
    if function:
        text = "".join(i for i in items if isinstance(i, str))
        number = text.rpartition(":")[2]
        return ("numbered", f"{function}:{number}"), function
    return None


# --- grants ---------------------------------------------------------------------------------


def version_number(version: str) -> str:
    """The number an AWS::Lambda::Version gets when it is published: unknown until then, the
    same on both sides (it names one published version), matched only by a wildcard."""
    return f"{_UNKNOWN}V{version}"


def _glob(pattern: str) -> str:
    return "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class _Grants:
    """IAM evaluation of one side's policies against a concrete ARN. Conservative: a
    statement with a Condition, NotAction or NotResource, or a value nobody can read, grants
    nothing."""

    def __init__(self, side: Side, names: dict[str, str]) -> None:
        self.side = side
        self.names = names  # function logical ID -> its physical name on this side
        self.owners = _version_owner(side.inventory) if side.inventory is not None else {}
        context = side.context
        self.partition = context.pseudo_value("AWS::Partition") or _UNKNOWN
        self.region = context.region or _UNKNOWN
        self.account = context.account_id or _UNKNOWN

    def function_arn(self, function: str) -> str:
        name = self.names.get(function, _UNKNOWN + "N" + function)
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"

    def _leaf_text(self, leaf: Leaf) -> str | None:
        if leaf.kind == "fn-arn":
            return self.function_arn(leaf.ref)
        if leaf.kind == "fn-name":
            return self.names.get(leaf.ref, _UNKNOWN + "N" + leaf.ref)
        if leaf.kind == "version" and leaf.ref in self.owners:
            return f"{self.function_arn(self.owners[leaf.ref])}:{version_number(leaf.ref)}"
        if leaf.kind == "version-number":
            return version_number(leaf.ref)
        if leaf.kind == "opaque":
            return {
                "AWS::Partition": self.partition,
                "AWS::Region": self.region,
                "AWS::AccountId": self.account,
            }.get(leaf.ref)
        return None

    def _entry_allows(self, entry: Any, arn: str) -> bool:
        branches = entry.get("Fn::If") if type(entry) is dict and len(entry) == 1 else None
        if isinstance(branches, list) and len(branches) == 3:
            chosen = self.side.conditions.value(branches[0])
            if chosen is None:
                return self._entry_allows(branches[1], arn) and self._entry_allows(branches[2], arn)
            return self._entry_allows(branches[1 if chosen else 2], arn)
        inventory = self.side.inventory
        if inventory is None or ref_target(entry) == "AWS::NoValue":
            return False
        parts: list[str] = []
        for item in resolve(entry, inventory):
            text = item if isinstance(item, str) else self._leaf_text(item)
            if text is None:
                return False
            parts.append(_glob(item) if isinstance(item, str) else re.escape(text))
        return re.fullmatch("".join(parts), arn, re.DOTALL) is not None

    def statement_allows(self, statement: Any, arn: str) -> bool:
        if type(statement) is not dict or intrinsic_name(statement) is not None:
            return False
        if statement.get("Effect") != "Allow":
            return False
        if any(k in statement for k in ("Condition", "NotAction", "NotResource")):
            return False
        actions = _listify(statement.get("Action", []))
        if not any(
            isinstance(a, str) and re.fullmatch(_glob(a.lower()), INVOKE_ACTION.lower())
            for a in actions
        ):
            return False
        return any(self._entry_allows(r, arn) for r in _listify(statement.get("Resource", [])))

    def document_allows(self, document: Any, arn: str) -> bool:
        if type(document) is not dict:
            return False
        return any(self.statement_allows(s, arn) for s in _listify(document.get("Statement", [])))


@dataclass(frozen=True, slots=True)
class _Attached:
    label: str  # what to call it in a verdict
    logical_id: str | None  # the policy resource, None for an inline policy
    document: Any  # a policy document, or None for an AWS managed policy that allows invoke


def _attached(side: Side, role: str) -> Iterator[_Attached]:
    """What is attached to ``role`` on this side: inline policies (the branch an ``Fn::If``
    picks), AWS managed policies that allow invoking any function, and policy resources."""
    properties = side.properties(role)
    for policy in _listify(properties.get("Policies", [])):
        branches = policy.get("Fn::If") if type(policy) is dict and len(policy) == 1 else None
        if isinstance(branches, list) and len(branches) == 3:
            chosen = side.conditions.value(branches[0])
            policy = None if chosen is None else branches[1 if chosen else 2]
        if type(policy) is dict and intrinsic_name(policy) is None:
            name = policy.get("PolicyName")
            yield _Attached(f"inline policy {name}", None, policy.get("PolicyDocument"))
    managed_refs: set[str] = set()
    for arn in _listify(properties.get("ManagedPolicyArns", [])):
        target = ref_target(arn)
        if target is not None:
            managed_refs.add(target)
            continue
        text = _plain(side.resolved(arn))
        match = _MANAGED_ARN.fullmatch(text) if text is not None else None
        if match and match.group(1) in MANAGED_POLICIES_ALLOWING_INVOKE:
            yield _Attached(f"managed policy {match.group(1)}", None, None)
    for logical_id in side.resources:
        rtype = side.type_of(logical_id)
        if rtype not in _POLICY_TYPES or not side.exists(logical_id):
            continue
        props = side.properties(logical_id)
        if rtype == "AWS::IAM::RolePolicy":
            attached = ref_target(props.get("RoleName")) == role
        else:
            attached = logical_id in managed_refs or any(
                ref_target(r) == role for r in _listify(props.get("Roles", []))
            )
        if attached:
            yield _Attached(logical_id, logical_id, props.get("PolicyDocument"))


# --- the verdicts ---------------------------------------------------------------------------


class _Assessor:
    def __init__(self, old: Side, new: Side) -> None:
        self.old = old
        self.new = new
        self.transition = Transition(old, new)
        self.old_names = _names(old)
        self.new_names = _names(new)
        self.old_grants = _Grants(old, self.old_names)
        self.new_grants = _Grants(new, self.new_names)
        new_inventory = new.inventory
        self.new_uses = {u.key for u in _uses(new)} if new_inventory is not None else set()

    def run(self) -> Lifecycle:
        verdicts: dict[tuple[str, str], Verdict] = {}
        self.unseen: list[str] = []
        uses = _uses(self.old, self.unseen)
        for use in uses:
            kind, target = use.key
            verdict = verdicts.get(use.key)
            if verdict is None:
                verdict = verdicts[use.key] = Verdict(target, kind, use.function)
            if use.machine not in verdict.machines:
                verdict.machines.append(use.machine)
            for role in use.roles:
                label = role or "(a role outside the template)"
                if label not in verdict.roles:
                    verdict.roles.append(label)
        roles_of = {key: [r for u in uses if u.key == key for r in u.roles] for key in verdicts}
        for key, verdict in verdicts.items():
            self._judge(verdict, list(dict.fromkeys(roles_of[key])))
        pinned = any(v.kind != "function" for v in verdicts.values())
        return Lifecycle(list(verdicts.values()), self._notes(pinned) + self.unseen)

    def _notes(self, old_pinned: bool) -> list[str]:
        """``old_pinned``: OLD's Tasks already invoke versions (an OLD that is a processed
        template as deployed, without its Transform list, is not "before PinVersions")."""
        notes: list[str] = []
        if self.old.pin and not self.new.pin:
            notes.append(
                "PinVersions leaves the Transform list: from this deploy on, Tasks invoke "
                "their functions unqualified; what it retained stays, what it added without "
                "Retain leaves with the template (see the verdicts)."
            )
        if self.new.pin and not self.old.pin and not old_pinned:
            notes.append(
                "PinVersions runs for the first time: executions started before this deploy "
                "invoke functions unqualified and are not protected by it; executions started "
                "after it are."
            )
        return notes

    # One verdict: the function, the version, the grants, then whether it republishes.
    def _judge(self, verdict: Verdict, roles: list[str | None]) -> None:
        function = verdict.function
        transition = self.transition
        function_fate = transition.fate(function)
        if function_fate.outcome == "deleted":
            if function_fate.how == "removed":
                unqualified = verdict.kind == "function"
                verdict.problems.append(
                    Problem(
                        "function deleted" if unqualified else "deleted with its function",
                        f"{function} {self._leaves(function)} without DeletionPolicy: Retain; "
                        + (
                            "CloudFormation deletes it"
                            if unqualified
                            else "deleting a function deletes all its versions"
                        ),
                        f"keep {function} in the template until executions started before "
                        "this deploy have finished, or give it DeletionPolicy: Retain "
                        "(prune reclaims it later)",
                    )
                )
            else:
                verdict.problems.append(
                    Problem(
                        "deleted by a replacement",
                        f"{function} is replaced ({self._why_replaced(function)}) without "
                        "UpdateReplacePolicy: Retain in both templates; the old function is "
                        "deleted with all its versions",
                        f"give {function} UpdateReplacePolicy: Retain in a deploy before this "
                        "one, or make this change once no execution started before it runs",
                    )
                )
        elif function_fate.outcome == "retained":
            verdict.notes.append(
                f"{function} is {'removed' if function_fate.how == 'removed' else 'replaced'} "
                "and retained, with its versions"
            )
        if verdict.kind == "version":
            self._judge_version(verdict)
        self._judge_grants(verdict, roles, function_fate)
        if verdict.kind == "function" and not verdict.problems:
            verdict.notes.append(
                f"not protected: a day-1 execution runs whatever code {function} has when its "
                "Task runs (add PinVersions to the Transform list)"
            )

    def _leaves(self, logical_id: str) -> str:
        """How a resource leaves the stack: out of the template, or switched off."""
        condition = self.new.resources.get(logical_id, {}).get("Condition")
        if logical_id in self.new.resources and isinstance(condition, str):
            return f"leaves the stack (its Condition {condition} is false)"
        return "leaves the template"

    def _why_replaced(self, logical_id: str) -> str:
        old, new = self.old, self.new
        if old.type_of(logical_id) != new.type_of(logical_id):
            return "its Type changes"
        changed = [
            name
            for name in sorted(CREATE_ONLY.get(new.type_of(logical_id) or "", ()))
            if canonical_json(old.resolved(old.properties(logical_id).get(name)))
            != canonical_json(new.resolved(new.properties(logical_id).get(name)))
        ]
        if changed:
            return f"{', '.join(changed)} changes"
        return "a resource it names is replaced"

    def _judge_version(self, verdict: Verdict) -> None:
        version, function = verdict.target, verdict.function
        fate = self.transition.fate(version)
        if fate.outcome == "deleted":
            if fate.how == "removed":
                verdict.problems.append(
                    Problem(
                        "not retained",
                        f"{version} {self._leaves(version)} without DeletionPolicy: Retain; "
                        "CloudFormation deletes it",
                        f"give {version} DeletionPolicy: Retain and UpdateReplacePolicy: Retain",
                    )
                )
            else:
                verdict.problems.append(
                    Problem(
                        "deleted by a replacement",
                        f"{version} is replaced ({self._why_replaced(version)}) without "
                        "UpdateReplacePolicy: Retain in both templates; the old version is "
                        "deleted",
                        f"give {version} UpdateReplacePolicy: Retain in a deploy before this one",
                    )
                )
            return
        if fate.outcome == "retained":
            policy = "DeletionPolicy" if fate.how == "removed" else "UpdateReplacePolicy"
            verdict.notes.append(
                f"{version} is {fate.how} and retained ({policy}: Retain)"
                if fate.how == "removed"
                else f"{version} is replaced, the old one retained ({policy}: Retain)"
            )
            return
        verdict.notes.append(f"{version} stays in the template")
        # Kept under the same logical ID: does it follow F's code?
        if (
            self.transition.fate(function).outcome == "kept"
            and verdict.function in self._functions(self.new)
            and ("version", version) in self.new_uses
            and self._hash(self.old, function) != self._hash(self.new, function)
        ):
            verdict.problems.append(
                Problem(
                    "never republished",
                    f"{version} keeps its logical ID and properties while the version-locked "
                    f"configuration of {function} changes; CloudFormation publishes nothing, "
                    "so executions started after this deploy keep running the old code",
                    f"let the version's logical ID follow {function}'s configuration (as the "
                    "versions PinVersions creates do), or put a hash of it in the version's "
                    "Description with UpdateReplacePolicy: Retain so a change replaces it",
                )
            )

    @staticmethod
    def _functions(side: Side) -> set[str]:
        return {i for i in side.resources if side.type_of(i) in FUNCTION_TYPES and side.exists(i)}

    @staticmethod
    def _hash(side: Side, function: str) -> str:
        return version_hash(
            side.properties(function),
            side.context,
            EXCLUDED_PROPERTIES,
            side.template.get("Conditions"),
        )

    def _arns(self, verdict: Verdict) -> tuple[str, str]:
        """The ARN a day-1 execution invokes, as OLD's policies and NEW's policies see it."""
        function = verdict.function
        qualifier = ""
        if verdict.kind != "function":
            qualifier = ":" + (
                verdict.target.rpartition(":")[2]
                if verdict.kind == "numbered"
                else version_number(verdict.target)
            )
        old_arn = self.old_grants.function_arn(function) + qualifier
        if self.transition.fate(function).outcome == "kept" and function in self._functions(
            self.new
        ):
            new_arn = self.new_grants.function_arn(function) + qualifier
        else:
            # Gone from NEW, or replaced: NEW's ${F.Arn} names another function.
            name = self.old_names.get(function, _UNKNOWN + "gone" + function)
            new_arn = (
                f"arn:{self.new_grants.partition}:lambda:{self.new_grants.region}:"
                f"{self.new_grants.account}:function:{name}{qualifier}"
            )
        return old_arn, new_arn

    def _judge_grants(self, verdict: Verdict, roles: list[str | None], function_fate: Fate) -> None:
        if function_fate.outcome == "deleted":
            return  # nothing left to invoke
        old_arn, new_arn = self._arns(verdict)
        for role in roles:
            if role is None:
                verdict.notes.append(
                    "a role outside the template invokes it: its grant is not checked"
                )
                continue
            fate = self.transition.fate(role)
            if fate.outcome == "deleted":
                verdict.problems.append(
                    Problem(
                        "grant revoked",
                        f"role {role} is {fate.how} and deleted; the executions that invoke "
                        "with it fail",
                        f"keep {role} until executions started before this deploy have "
                        "finished, or give it DeletionPolicy: Retain",
                    )
                )
                continue
            granted = self._granted_by(role, fate, old_arn, new_arn)
            if granted is None and not self._granted_before(role, old_arn):
                verdict.problems.append(
                    Problem(
                        "not granted",
                        f"nothing attached to {role} allows lambda:InvokeFunction on "
                        f"{_display(old_arn)}, before or after this deploy: the invoke is "
                        "denied already",
                        f"allow lambda:InvokeFunction on {_display(_every_version(old_arn))} "
                        f"in a policy attached to {role} (PinVersions does so for the roles it "
                        "widens)",
                    )
                )
            elif granted is None:
                verdict.problems.append(
                    Problem(
                        "grant revoked",
                        f"after this deploy nothing attached to {role} allows "
                        f"lambda:InvokeFunction on {_display(old_arn)}",
                        f"keep a policy that allows it attached to {role} until executions "
                        "started before this deploy have finished: a policy resource with "
                        "DeletionPolicy: Retain stays attached when it leaves the template",
                    )
                )
            else:
                verdict.notes.append(f"{role} still allows it ({granted})")

    def _granted_before(self, role: str, old_arn: str) -> bool:
        return any(
            attached.document is None or self.old_grants.document_allows(attached.document, old_arn)
            for attached in _attached(self.old, role)
        )

    def _granted_by(self, role: str, fate: Fate, old_arn: str, new_arn: str) -> str | None:
        old, new = self.old, self.new
        if fate.outcome == "kept":
            for attached in _attached(new, role):
                if attached.document is None or self.new_grants.document_allows(
                    attached.document, new_arn
                ):
                    return attached.label
        # Policies of OLD that leave the stack but stay (attached to the role as they were).
        for attached in _attached(old, role):
            if attached.logical_id is None:
                if fate.outcome != "retained":
                    continue  # inline: goes with the role's Policies property
            elif self.transition.fate(attached.logical_id).outcome != "retained":
                continue
            if attached.document is None or self.old_grants.document_allows(
                attached.document, old_arn
            ):
                return f"{attached.label}, retained"
        return None


def _every_version(arn: str) -> str:
    """``function:NAME:N`` or ``function:NAME`` -> ``function:NAME:*``."""
    head, marker, rest = arn.partition(":function:")
    return f"{head}{marker}{rest.split(':')[0]}:*"


def _plain(value: Any) -> str | None:
    """A resolved value as text: a string, or an ``Fn::Sub`` left with no placeholder."""
    if isinstance(value, str):
        return value
    sub = sub_args(value)
    if sub is not None and not sub[1] and all(t.kind != "ref" for t in parse_sub(sub[0])):
        return "".join(t.text for t in parse_sub(sub[0]))
    return None


def _display(arn: str) -> str:
    """An ARN for people: unknown names as <LogicalId>, unknown version numbers as <N>."""
    arn = re.sub(_UNKNOWN + r"V[A-Za-z0-9]+", "<N>", arn)
    return re.sub(_UNKNOWN + r"(?:N|gone)([A-Za-z0-9]+)", r"<\1>", arn)


def _names(side: Side) -> dict[str, str]:
    """Function logical ID -> physical name, when the template writes it."""
    names: dict[str, str] = {}
    for logical_id in side.resources:
        if side.type_of(logical_id) not in FUNCTION_TYPES:
            continue
        value = side.resolved(side.properties(logical_id).get("FunctionName"))
        if isinstance(value, str) and value:
            names[logical_id] = value
    return names


def assess(old: Side, new: Side) -> Lifecycle:
    """A verdict for every Lambda target of OLD's state machines (what executions started
    before the deploy may still invoke), in OLD's order, and notes on the Transform list.

    Safe: the target survives and a role that invokes it still allows it. Broken, with the
    reason and the fix: deleted with its function, deleted by a replacement, not retained,
    grant revoked (not granted: before the deploy either), never republished. Unprotected:
    an unqualified function (or alias) that survives: a day-1 execution runs whatever code
    it has.
    """
    return _Assessor(old, new).run()

"""The verdicts: for each Lambda target of OLD, whether the version an execution invokes
survives the deploy and whether its role may still invoke it."""

from __future__ import annotations

from ...hashing import EXCLUDED_PROPERTIES, canonical_json, version_hash
from ...inventory import (
    FUNCTION_TYPES,
)
from .grants import _attached, _Grants
from .kinds import judge_kind
from .model import (
    _UNKNOWN,
    CREATE_ONLY,
    Lifecycle,
    Problem,
    Side,
    Verdict,
    _display,
    _every_version,
    pin_fix,
)
from .transition import Fate, Transition
from .uses import _uses, alias_uses, version_number


class _GrantJudge:
    """The role half of a verdict: may each role of the execution still invoke what it
    invokes after the deploy?"""

    old: Side
    new: Side
    transition: Transition
    old_names: dict[str, str]
    old_grants: _Grants
    new_grants: _Grants

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


class _Assessor(_GrantJudge):
    """The function half of a verdict, and the run over every target of OLD."""

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
        uses = _uses(self.old, self.unseen) + alias_uses(self.old)
        for use in uses:
            kind, target = use.key
            verdict = verdicts.get(use.key)
            if verdict is None:
                verdict = Verdict(target, kind, use.function, target_kind=use.target_kind)
                verdicts[use.key] = verdict
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
        if verdict.target_kind != "lambda":
            judge_kind(self, verdict, roles)
            return
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
            fix = pin_fix(self.old, self.new, verdict.machines, function, verdict.target_kind)
            verdict.notes.append(
                f"not protected: a day-1 execution runs whatever code {function} has when its "
                f"Task runs ({fix})"
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
    """A verdict for every target of OLD's state machines (what executions started before
    the deploy may still call: Lambda, and the kinds of ``kinds``) and every version an
    alias of OLD routes to, in OLD's order, and notes on the Transform list.

    Safe: the target survives and a role that invokes it still allows it. Broken, with the
    reason and the fix: deleted with its function, deleted by a replacement, not retained,
    grant revoked (not granted: before the deploy either), never republished. Unprotected:
    an unqualified function (or alias) that survives: a day-1 execution runs whatever code
    it has.
    """
    return _Assessor(old, new).run()

"""What CloudFormation does to each resource of OLD when NEW is deployed: kept, retained or
deleted, and whether by removal or by replacement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...dependencies import names_in
from ...hashing import canonical_json
from .model import _RETAIN, CREATE_ONLY, Side

# --- what CloudFormation does to each resource ----------------------------------------------


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
                for target in names_in(now):
                    named_by.setdefault(target, set()).add(logical_id)
        # A state machine version pins a revision: StateMachineRevisionId is create-only and
        # Fn::GetAtt SM.StateMachineRevisionId changes with the state machine's definition.
        for logical_id in old.resources:
            if new.type_of(logical_id) != "AWS::StepFunctions::StateMachineVersion":
                continue
            if not (old.exists(logical_id) and new.exists(logical_id)):
                continue
            revision = new.properties(logical_id).get("StateMachineRevisionId")
            getatt = revision.get("Fn::GetAtt") if isinstance(revision, dict) else None
            machine = getatt[0] if isinstance(getatt, list) and getatt else None
            if isinstance(machine, str) and canonical_json(
                old.resolved(old.properties(machine))
            ) != canonical_json(new.resolved(new.properties(machine))):
                replaced.add(logical_id)
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

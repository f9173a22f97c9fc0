"""The lifecycle of the targets that are not Lambda functions (issue 14, targets.py): a
child state machine's version, an ECS task definition revision, a Batch job definition
revision, and (issue 15) the versions a state machine alias routes to.

What a deploy does to each, with the AWS documentation it relies on (docs/lifecycle.md,
"More than Lambda"):

- Deleting or replacing a state machine deletes all its versions; a
  ``StateMachineVersion`` is replaced when its state machine's revision changes
  (``StateMachineRevisionId`` is create-only, ``Fn::GetAtt Child.StateMachineRevisionId``
  changes with the definition) and the old one is deleted unless retained.
- An ``AWS::ECS::TaskDefinition`` is replaced by any change of a create-only property (almost
  every one); the old revision is deregistered (INACTIVE: no new task can run on it) unless
  ``UpdateReplacePolicy: Retain``.
- An ``AWS::Batch::JobDefinition`` update registers a new revision and deregisters the old
  one unless ``ResourceRetentionPolicy: {SkipDeregisterOnUpdate: true}``; a deregistered
  (INACTIVE) revision takes no new job.
- ``states:StartExecution`` on a version is authorised against the unqualified state machine
  ARN; ``ecs:RunTask`` and ``batch:SubmitJob`` on the revision ARN.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ...dependencies import names_in
from ...targets import kind_of_type
from .grants import _attached, _glob, _listify
from .kind_uses import REVISION, SM_ALIAS, SM_VERSION
from .model import _UNKNOWN, Problem, Side, Verdict, _plain, pin_fix

if TYPE_CHECKING:
    from .judge import _Assessor


def judge_kind(assessor: _Assessor, verdict: Verdict, roles: list[str | None]) -> None:
    """The verdict on one target of another kind: does what a day-1 execution calls
    survive the deploy, and may its roles still call it?"""
    kind = kind_of_type(assessor.old.type_of(verdict.function) or "")
    noun = kind.noun if kind is not None else "state machine"
    owner = verdict.function
    fate = assessor.transition.fate(owner)
    if fate.outcome == "deleted":
        replaced = fate.how == "replaced"
        why = assessor._why_replaced(owner) if replaced else assessor._leaves(owner)
        if verdict.kind in (SM_VERSION, SM_ALIAS):
            verdict.problems.append(
                Problem(
                    "deleted with its state machine",
                    f"{owner} is {'replaced (' + why + ')' if replaced else why} and deleted; "
                    "deleting a state machine deletes all its versions and aliases",
                    f"keep {owner} until executions started before this deploy have finished, "
                    "or give it DeletionPolicy: Retain and UpdateReplacePolicy: Retain",
                )
            )
        elif verdict.kind == REVISION:
            verdict.problems.append(
                Problem(
                    "revision deregistered",
                    f"{noun} {owner} is {'replaced (' + why + ')' if replaced else why} without "
                    f"{'UpdateReplacePolicy' if replaced else 'DeletionPolicy'}: Retain; "
                    "CloudFormation deregisters the revision executions started before this "
                    "deploy use (an INACTIVE revision takes no new task or job)",
                    f"give {owner} UpdateReplacePolicy: Retain and DeletionPolicy: Retain "
                    "(PinVersions does) in a deploy before this one",
                )
            )
        else:
            verdict.problems.append(
                Problem(
                    f"{noun} deleted",
                    f"{owner} {why if not replaced else 'is replaced (' + why + ')'} and deleted",
                    f"keep {owner} until executions started before this deploy have finished",
                )
            )
    elif fate.outcome == "retained":
        verdict.notes.append(f"{noun} {owner} is {fate.how} and retained")
    if verdict.kind == SM_VERSION:
        assessor._judge_version(verdict)
    elif verdict.kind == SM_ALIAS:
        _judge_alias(assessor, verdict)
    elif verdict.kind == REVISION and fate.outcome == "kept" and kind is not None:
        _judge_update(assessor, verdict, kind.retention_properties, noun)
    if roles and kind is not None and fate.outcome != "deleted":
        _judge_kind_grants(assessor, verdict, roles, kind.grant_action, noun)
    if verdict.kind == "function" and not verdict.problems:
        what = (
            "definition"
            if verdict.kind == "function" and noun == "state machine"
            else ("latest revision")
        )
        fix = pin_fix(assessor.old, assessor.new, verdict.machines, owner, verdict.target_kind)
        verdict.notes.append(
            f"not protected: a day-1 execution runs whatever {what} {noun} {owner} has when "
            f"its Task runs ({fix})"
        )


def _judge_alias(assessor: _Assessor, verdict: Verdict) -> None:
    """A Task that starts a state machine alias (issue 15, MoveCallers): the alias must
    survive the deploy. Retained, it keeps routing to the versions it routes to (each
    judged on its own: alias_uses); deleted, the Task's StartExecution fails."""
    alias = verdict.target
    fate = assessor.transition.fate(alias)
    if fate.outcome == "deleted":
        how = assessor._leaves(alias) if fate.how == "removed" else f"is {fate.how}"
        verdict.problems.append(
            Problem(
                "alias deleted",
                f"alias {alias} {how} without DeletionPolicy: Retain; CloudFormation "
                "deletes it and executions started before this deploy fail to start it",
                f"give {alias} DeletionPolicy: Retain and UpdateReplacePolicy: Retain "
                "(PinVersions does)",
            )
        )
    elif fate.outcome == "retained":
        verdict.notes.append(
            f"alias {alias} is {fate.how} and retained: it keeps routing to the versions "
            "it routes to now"
        )
    else:
        verdict.notes.append(f"alias {alias} stays in the template")


def _judge_update(
    assessor: _Assessor, verdict: Verdict, retention: tuple[tuple[str, Any], ...], noun: str
) -> None:
    """A revision kept under the same logical ID: an update that registers a new revision
    (Batch) must not deregister the old one."""
    owner = verdict.function
    old, new = assessor.old, assessor.new
    if not retention:
        verdict.notes.append(f"{noun} {owner} stays in the template")
        return
    changed = _canonical(old, owner) != _canonical(new, owner)
    kept = all(new.properties(owner).get(name) == value for name, value in retention)
    settings = ", ".join(_setting(name, value) for name, value in retention)
    if changed and not kept:
        verdict.problems.append(
            Problem(
                "revision deregistered",
                f"{noun} {owner} is updated without {settings}; the update registers a new "
                "revision and deregisters the one executions started before this deploy use",
                f"set {settings} on {owner} (PinVersions does)",
            )
        )
    elif changed:
        verdict.notes.append(
            f"{noun} {owner} is updated; the old revision stays ACTIVE ({settings})"
        )
    else:
        verdict.notes.append(f"{noun} {owner} is unchanged")


def _setting(name: str, value: Any) -> str:
    """``ResourceRetentionPolicy.SkipDeregisterOnUpdate: true``: one setting on one line."""
    while isinstance(value, dict) and len(value) == 1:
        ((key, value),) = value.items()
        name = f"{name}.{key}"
    return f"{name}: {json.dumps(value)}"


def _canonical(side: Side, logical_id: str) -> str:
    from ...hashing import canonical_json

    return canonical_json(side.resolved(side.properties(logical_id)))


def _judge_kind_grants(
    assessor: _Assessor, verdict: Verdict, roles: list[str | None], action: str, noun: str
) -> None:
    owner = verdict.function
    for role in roles:
        if role is None:
            verdict.notes.append("a role outside the template calls it: its grant is not checked")
            continue
        fate = assessor.transition.fate(role)
        if fate.outcome == "deleted":
            verdict.problems.append(
                Problem(
                    "grant revoked",
                    f"role {role} is {fate.how} and deleted; the executions that call with it fail",
                    f"keep {role} until executions started before this deploy have finished, "
                    "or give it DeletionPolicy: Retain",
                )
            )
            continue
        after = None
        if fate.outcome == "kept":
            # A target replaced (and retained) is another resource in NEW: NEW's Ref or
            # GetAtt of it, and its new name, name the new one; only a policy that
            # names the old one's ARN allows what day-1 executions call.
            moved = assessor.transition.fate(owner).outcome != "kept"
            after = _granted(
                assessor.new, role, action, owner, _arn(assessor.old, owner) if moved else None
            )
        if after is None:
            after = _retained_grant(assessor, role, action, owner, fate.outcome)
        if after is not None:
            verdict.notes.append(f"{role} still allows it ({after})")
        elif _granted(assessor.old, role, action, owner) is None:
            verdict.problems.append(
                Problem(
                    "not granted",
                    f"nothing attached to {role} allows {action} on {noun} {owner}, before or "
                    "after this deploy: the call is denied already",
                    f"allow {action} on {owner} in a policy attached to {role} (PinVersions "
                    "does so for the roles it widens)",
                )
            )
        else:
            verdict.problems.append(
                Problem(
                    "grant revoked",
                    f"after this deploy nothing attached to {role} allows {action} on {noun} "
                    f"{owner}",
                    f"keep a policy that allows it attached to {role} until executions started "
                    "before this deploy have finished (DeletionPolicy: Retain on a policy "
                    "resource keeps it attached)",
                )
            )


def _retained_grant(
    assessor: _Assessor, role: str, action: str, owner: str, role_outcome: str
) -> str | None:
    """An OLD policy that leaves the stack but stays attached to ``role`` and allows it."""
    for attached in _attached(assessor.old, role):
        if attached.logical_id is None:
            if role_outcome != "retained":
                continue
        elif assessor.transition.fate(attached.logical_id).outcome != "retained":
            continue
        if attached.document is not None and _allows(
            assessor.old, attached.document, action, owner
        ):
            return f"{attached.label}, retained"
    return None


def _granted(
    side: Side, role: str, action: str, owner: str, old_arn: str | None = None
) -> str | None:
    """The label of a policy attached to ``role`` that allows ``action`` on ``owner``;
    with ``old_arn``, on that ARN only (``owner`` in ``side`` is another resource)."""
    for attached in _attached(side, role):
        if attached.document is not None and _allows(
            side, attached.document, action, owner, old_arn
        ):
            return attached.label
    return None


def _allows(side: Side, document: Any, action: str, owner: str, old_arn: str | None = None) -> bool:
    """Whether a policy document allows ``action`` on ``owner`` (a logical ID): a statement
    without Condition, NotAction or NotResource whose Action matches and whose Resource is
    ``*``, names ``owner`` (``Ref``, ``Fn::GetAtt``, a placeholder, a family derived from
    its ``Ref``), or matches its ARN built from its literal name. Conservative: what cannot
    be read grants nothing. With ``old_arn`` (``owner`` was replaced: in ``side`` its name
    is another resource's), only a Resource that matches ``old_arn`` counts."""
    if type(document) is not dict:
        return False
    for statement in _listify(document.get("Statement", [])):
        if type(statement) is not dict or statement.get("Effect") != "Allow":
            continue
        if {"Condition", "NotAction", "NotResource"} & set(statement):
            continue
        actions = [a for a in _listify(statement.get("Action")) if isinstance(a, str)]
        if not any(re.fullmatch(_glob(a), action, re.IGNORECASE) for a in actions):
            continue
        for entry in _listify(statement.get("Resource")):
            if entry == "*" or (old_arn is None and owner in names_in(entry)):
                return True
            text = _plain(side.resolved(entry))
            arn = old_arn if old_arn is not None else _arn(side, owner)
            if text is not None and re.fullmatch(_glob(text), arn, re.DOTALL):
                return True
    return False


def _arn(side: Side, owner: str) -> str:
    """``owner``'s ARN as a policy would name it, from its literal name (a revision or
    version as an unknown suffix)."""
    kind = kind_of_type(side.type_of(owner) or "")
    name: Any = None
    for name_property in kind.name_properties if kind is not None else ():
        name = side.resolved(side.properties(owner).get(name_property))
        if isinstance(name, str):
            break
    name = name if isinstance(name, str) else _UNKNOWN + owner
    context = side.context
    head = (
        f"{context.pseudo_value('AWS::Partition') or _UNKNOWN}",
        context.region or _UNKNOWN,
        context.account_id or _UNKNOWN,
    )
    if kind is not None and kind.name == "ecs-task-definition":
        return f"arn:{head[0]}:ecs:{head[1]}:{head[2]}:task-definition/{name}:{_UNKNOWN}"
    if kind is not None and kind.name == "batch-job-definition":
        return f"arn:{head[0]}:batch:{head[1]}:{head[2]}:job-definition/{name}:{_UNKNOWN}"
    return f"arn:{head[0]}:states:{head[1]}:{head[2]}:stateMachine:{name}"

"""Deleting what the plan decided (``apply``), and ``prune``: collect, plan, and apply when
asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from .aws import Clients, Outcome, _aws_errors, _describe, error_code
from .collect import collect
from .model import (
    _DENIED_CODES,
    DEFAULT_KEEP,
    DELETE,
    DELETED,
    FAILED,
    FUNCTION,
    GRANT,
    MACHINE_VERSION,
    PROVISIONED,
    REVISION,
    VERSION,
    Decision,
)
from .rules import plan, quota_warnings


def _delete(decision: Decision, clients: Clients) -> None:
    """The one call that carries out a delete decision."""
    if decision.kind == VERSION:
        clients.lambda_.delete_function(FunctionName=decision.function, Qualifier=decision.version)
    elif decision.kind == FUNCTION:
        clients.lambda_.delete_function(FunctionName=decision.function)
    elif decision.kind == GRANT:
        role, policy = decision.target
        clients.iam.delete_role_policy(RoleName=role, PolicyName=policy)
    elif decision.kind == PROVISIONED:
        (version,) = decision.target
        clients.lambda_.delete_provisioned_concurrency_config(
            FunctionName=decision.function, Qualifier=version
        )
    elif decision.kind == REVISION:
        (arn,) = decision.target
        if ":ecs:" in arn:
            clients.ecs.deregister_task_definition(taskDefinition=arn)
        else:
            clients.batch.deregister_job_definition(jobDefinition=arn)
    elif decision.kind == MACHINE_VERSION:
        (arn,) = decision.target
        clients.stepfunctions.delete_state_machine_version(stateMachineVersionArn=arn)
    else:  # pragma: no cover - every kind is above
        raise ValueError(decision.kind)


_ACTION_OF_KIND = {
    VERSION: "lambda:DeleteFunction",
    FUNCTION: "lambda:DeleteFunction",
    GRANT: "iam:DeleteRolePolicy",
    PROVISIONED: "lambda:DeleteProvisionedConcurrencyConfig",
    MACHINE_VERSION: "states:DeleteStateMachineVersion",
}


def apply(decisions: Sequence[Decision], clients: Clients) -> tuple[list[Decision], list[str]]:
    """Carry out every delete decision; never raises, so the table is printed."""
    done: list[Decision] = []
    denied: list[str] = []
    errors = _aws_errors()
    for decision in decisions:
        if decision.decision != DELETE:
            done.append(decision)
            continue
        if decision.kind in (VERSION, MACHINE_VERSION, REVISION) and not decision.version.isdigit():
            # never $LATEST, never the whole function through a version row
            done.append(replace(decision, decision=FAILED, reason="not a version"))
            continue
        try:
            _delete(decision, clients)
        except errors as exc:
            if error_code(exc) in ("ResourceNotFoundException", "NoSuchEntity"):
                done.append(replace(decision, decision=DELETED, reason="already gone"))
                continue
            action = _ACTION_OF_KIND.get(decision.kind) or (
                "ecs:DeregisterTaskDefinition"
                if ":ecs:" in decision.target[0]
                else "batch:DeregisterJobDefinition"
            )
            if error_code(exc) in _DENIED_CODES and action not in denied:
                denied.append(action)
            done.append(replace(decision, decision=FAILED, reason=_describe(exc)))
        except Exception as exc:  # keep going: the table must still be printed
            done.append(replace(decision, decision=FAILED, reason=f"{type(exc).__name__}: {exc}"))
        else:
            done.append(replace(decision, decision=DELETED))
    return done, denied


def prune(
    clients: Clients,
    *,
    stack: str,
    keep: int = DEFAULT_KEEP,
    older_than_days: float | None = None,
    delete: bool = False,
    now: datetime | None = None,
    reclaim_functions: bool = False,
    reclaim_revisions: bool = False,
) -> Outcome:
    """Collect, plan and (with ``delete``) apply. Raises PruneError if the stack is unreadable."""
    now = now or datetime.now(UTC)
    facts, denied = collect(clients, stack, now)
    decisions = plan(
        facts,
        keep=keep,
        older_than_days=older_than_days,
        now=now,
        reclaim_functions=reclaim_functions,
        reclaim_revisions=reclaim_revisions,
    )
    errors = list(
        dict.fromkeys(
            facts.errors
            + [e for f in facts.functions.values() for e in f.errors]
            + facts.grant_errors
            + facts.reclaim_errors
        )
    )
    if delete:
        decisions, delete_denied = apply(decisions, clients)
        denied += [d for d in delete_denied if d not in denied]
    return Outcome(decisions, errors, denied, quota_warnings(facts))

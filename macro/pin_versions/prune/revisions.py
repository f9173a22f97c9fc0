"""ECS task definition and Batch job definition revisions PinVersions retained (issue 14).

PinVersions gives a task definition ``UpdateReplacePolicy``/``DeletionPolicy: Retain`` (and a
job definition ``ResourceRetentionPolicy.SkipDeregisterOnUpdate``), so each deploy that
changes one leaves the old revision ACTIVE for executions still running on it. Prune finds,
for each family (ECS) or job definition name (Batch) that is a resource of the stack now,
the ACTIVE revisions that are not the stack's current one, and deregisters those nothing can
still need, only with ``--reclaim-revisions``.

"Nothing can still need it": no definition prune reads (current, of a running or redrivable
execution, of a published state machine version) names that revision (``task-definition/
FAMILY:N``, ``job-definition/NAME:N`` anywhere in its text), and no ``runTask``/
``submitJob`` Task picks its task or job definition at run time. A failed check keeps all.

AWS facts (docs/prune.md, "Task and job definition revisions"): ``Ref`` of an
``AWS::ECS::TaskDefinition`` / ``AWS::Batch::JobDefinition`` (its physical ID) is the
revision ARN; ``ListTaskDefinitions`` (``familyPrefix``, ``status``) and
``DescribeJobDefinitions`` (``jobDefinitionName``, ``status``) list revisions;
``DeregisterTaskDefinition`` / ``DeregisterJobDefinition`` make one INACTIVE: it takes no new
task or job, while tasks and jobs already running continue (ECS Developer Guide, "Deregister
an Amazon ECS task definition revision"; AWS Batch API Reference, DeregisterJobDefinition).
"""

from __future__ import annotations

import json
import re

from ..asl import Unwalkable, is_jsonata, iter_tasks
from ..report import format_path
from ..targets import RETAIN, kinds
from .aws import _Reader
from .model import DELETE, KEEP, REVISION, Decision, Family, RevisionFacts

_REVISION_IN_TEXT = re.compile(r"(task|job)-definition/([A-Za-z0-9_-]+):([0-9]+)")
_INTEGRATION = re.compile(r"^arn:[^:]+:states:::(?:aws-sdk:)?(ecs:runTask|batch:submitJob)")
_FIELD = {"ecs:runTask": "TaskDefinition", "batch:submitJob": "JobDefinition"}
_LABEL = {"task": "task definition", "job": "job definition"}
LABEL = _LABEL


def stack_revision(physical: str) -> tuple[str, str] | None:
    """``(service, name)`` of a stack's task or job definition physical ID (its revision
    ARN), read with the core's grammar of each kind (targets.py ``arn``), as the macro reads
    a Task's ``TaskDefinition`` or ``JobDefinition``."""
    for kind in kinds():
        if kind.strategy != RETAIN:
            continue
        match = kind.arn.fullmatch(physical)
        if match is not None and match["q"] is not None and match["q"].isdigit():
            return ("ecs" if ":ecs:" in physical else "batch"), match["n"]
    return None


def revision_uses(definition: str, reason: str) -> list[tuple[str, str | None, str | None, str]]:
    """What revisions a definition may run: each ``task|job-definition/NAME:N`` in its text,
    and ``(what, None, None, ...)`` for a Task that picks its definition at run time."""
    uses: list[tuple[str, str | None, str | None, str]] = [
        (m[1], m[2], m[3], reason) for m in _REVISION_IN_TEXT.finditer(definition)
    ]
    try:
        document = json.loads(definition)
        tasks = list(iter_tasks(document, ())) if isinstance(document, dict) else []
    except (ValueError, Unwalkable):
        return uses  # the Lambda check already reports it as a failed check
    for path, state in tasks:
        resource = state.get("Resource")
        match = _INTEGRATION.match(resource) if isinstance(resource, str) else None
        if match is None:
            continue
        what = "task" if match[1] == "ecs:runTask" else "job"
        name = _FIELD[match[1]]
        for key in ("Parameters", "Arguments"):
            args = state.get(key)
            if is_jsonata(args) or (
                isinstance(args, dict) and (f"{name}.$" in args or is_jsonata(args.get(name)))
            ):
                where = f"{format_path(path)}.{key}"
                uses.append(
                    (what, None, None, f"{reason} picks a {_LABEL[what]} at run time ({where})")
                )
    return uses


class _RevisionFacts(_Reader):
    """Reads the ACTIVE revisions of the stack's families and job definition names."""

    def revisions(self, family: Family, errors: list[str]) -> None:
        try:
            if family.service == "ecs":
                arns = [
                    arn
                    for page in self._pages(
                        self.clients.ecs,
                        "list_task_definitions",
                        familyPrefix=family.name,
                        status="ACTIVE",
                    )
                    for arn in page.get("taskDefinitionArns", [])
                ]
            else:
                arns = [
                    str(item.get("jobDefinitionArn", ""))
                    for page in self._pages(
                        self.clients.batch,
                        "describe_job_definitions",
                        jobDefinitionName=family.name,
                        status="ACTIVE",
                    )
                    for item in page.get("jobDefinitions", [])
                ]
        except self.errors_caught as exc:
            family.errors.append(self.failed(exc))
            errors.append(f"{_LABEL[family.what]} {family.name}: {family.errors[-1]}")
            return
        # familyPrefix matches by prefix: keep this family's revisions only.
        family.active = [a for a in arns if (stack_revision(a) or ("", ""))[1] == family.name]


def revision_decisions(facts: RevisionFacts, failures: list[str], reclaim: bool) -> list[Decision]:
    """Keep or deregister each ACTIVE revision that is not the stack's current one."""
    decisions: list[Decision] = []
    for (_, name), family in sorted(facts.families.items()):
        label = _LABEL[family.what]
        problems = failures + family.errors
        for arn in sorted(family.active, key=lambda a: int(a.rpartition(":")[2])):
            if arn in family.current:
                continue
            number = arn.rpartition(":")[2]
            reasons = [
                reason
                for what, used, revision, reason in facts.uses
                if what == family.what
                and (used is None or used == name)
                and (revision is None or revision == number)
            ]
            subject = f"{name} ({label})"
            if problems:
                row = (KEEP, f"could not check: {problems[0]}")
            elif reasons:
                row = (KEEP, "; ".join(dict.fromkeys(reasons)))
            elif not reclaim:
                row = (
                    KEEP,
                    "retained revision, nothing runs it; --reclaim-revisions deregisters it",
                )
            else:
                row = (DELETE, "retained revision, nothing runs it")
            decisions.append(Decision(subject, number, *row, kind=REVISION, target=(arn,)))
    return decisions

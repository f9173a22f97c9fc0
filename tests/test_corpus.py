"""Every real template of both corpus roots (../shared/corpus and the in-repository
tests/corpus/, whose templates have nested state machines, ECS and Batch Tasks: issue 14), in
every order that applies, through the code `pin-versions transform` runs (local packaging,
SAM offline, PinVersions): tests/corpus_run.py, which `make corpus` prints as a table.

Per run: success; no cfn-lint error the template without PinVersions did not have; nothing
that would break a running execution (every in-template target invokes a retained version
its role may invoke, unless the report says why not); PinVersions applied to its own output
changes nothing.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from corpus_run import (
    KIND_INTEGRATIONS,
    PIN,
    corpus_jobs,
    kept_alive_problems,
    kind_tasks,
    run_template,
)
from pin_versions import Context, transform
from pin_versions.local.yaml_io import TemplateLoadError
from pin_versions.targets import KINDS
from support import (
    ACCOUNT,
    REGION,
    corpus_path,
    corpus_templates,
    load_path,
    macro_event,
    needs_sam,
    run_macro,
)

JOBS = corpus_jobs()

# Templates that cannot run offline, with the reason; anything else must succeed.
NOT_LOCAL = {
    "cfn-templates/CloudFormation/MacrosExamples/StringFunctions/string.yaml": (
        "uses !Rain::Embed, a tag of the Rain tool that Rain expands before deploying: not "
        "a template CloudFormation reads"
    ),
    "cfn-lint/test/fixtures/templates/good/transform/language_extension.yaml": (
        "lists AWS::LanguageExtensions, which only CloudFormation runs"
    ),
}
ROWS = corpus_templates()
FORMS = {row["file"]: set(row["form"].split(",")) for row in ROWS}
ROOTS = {row["file"]: row["root"] for row in ROWS}
LOCAL_TARGETS = {"direct-arn", "lambda-invoke"}
NO_LOCAL_TARGETS = {"no-local-lambda", "external-lambda", "no-lambda", "definition-external"}


@pytest.mark.parametrize(("name", "orders"), JOBS, ids=[job[0] for job in JOBS])
def test_corpus_template(name: str, orders: list[tuple[str, list[str]]]) -> None:
    for row, (_, transforms) in zip(run_template(name, orders), orders, strict=True):
        where = f"[{row.order}] "
        if name in NOT_LOCAL:
            assert row.status == "unsupported", where + row.message
            continue
        assert row.status == "ok", where + row.message
        assert row.new_lint == [], where
        assert row.problems == [], where
        if transforms[-1] == PIN:
            assert row.idempotent, where
        forms = FORMS[name]
        if forms & LOCAL_TARGETS and not forms & NO_LOCAL_TARGETS:
            assert row.pinned, where + "the manifest says this template invokes its own functions"


# Manifest tags: which kind a template's Tasks call, whether the target is in the template.
KIND_TAGS = {
    "state-machine": ("start-execution", "local-state-machine"),
    "ecs-task-definition": ("ecs-run-task", "local-task-definition"),
    "batch-job-definition": ("batch-submit-job", "local-job-definition"),
}
# Where PinVersions can see a Task's target: in a definition the template holds, or in a
# DefinitionSubstitutions value (read even when packaging moved the definition to S3).
VISIBLE_TARGET = {"definition-object", "definitionstring", "target-substitution"}


# Templates whose in-template child is EXPRESS and named only in DefinitionSubstitutions of a
# definition packaging moves to S3 (PV143).
UNSEEN_EXPRESS_CHILD = {"tests/corpus/serverless-patterns/sfn-sfn/template.yml"}


def _pins_expected(forms: set[str], kind: str) -> bool:
    """A Task calls an in-template target of ``kind`` where PinVersions can see it: it must
    pin it."""
    return KIND_TAGS[kind][1] in forms and bool(forms & VISIBLE_TARGET)


KIND_JOBS = [
    (name, orders, kind)
    for name, orders in JOBS
    for kind in KIND_TAGS
    if ROOTS[name] == "repo" and _pins_expected(FORMS[name], kind)
]


@pytest.mark.parametrize(
    ("name", "orders", "kind"), KIND_JOBS, ids=[f"{kind}:{name}" for name, _, kind in KIND_JOBS]
)
def test_repo_corpus_pins_its_kind(
    name: str, orders: list[tuple[str, list[str]]], kind: str
) -> None:
    """Issue 14 on real templates: a Task that calls an in-template state machine, task
    definition or job definition from an inline definition or through a
    DefinitionSubstitutions value is pinned (the report has a pin of that kind) in every run:
    PinVersions alone, or before or after SAM."""
    assert kind in {k.name for k in KINDS}, f"{kind} is not a kind of targets.py"
    for row in run_template(name, orders):
        assert row.status == "ok", row.message
        if name in UNSEEN_EXPRESS_CHILD:
            # The Task is in a DefinitionUri file, which packaging moves to S3, and the child
            # is EXPRESS: the deployed macro cannot tell startExecution from
            # StartSyncExecution (no version ARN), so it leaves the value alone (PV143).
            assert row.pinned_kinds[kind] == 0 and row.left["unseen"] >= 1, row.left
            continue
        assert row.pinned_kinds[kind] >= 1, (
            f"[{row.order}] {row.pinned_kinds[kind]} of {row.tasks[kind]} {kind} Tasks pinned"
        )


def test_corpus_coverage() -> None:
    """What the corpus holds, and that every template is run in the orders that apply: once
    for CloudFormation and CDK output, twice (both orders) for SAM. Per root: (plain, SAM)."""
    files = [row["file"] for row in ROWS]
    runs = {name: [order for order, _ in orders] for name, orders in JOBS}
    assert set(runs) == set(files)
    for name, orders in runs.items():
        if name in NOT_LOCAL:
            continue
        template = load_path(corpus_path(name))
        assert orders == (["pin-first", "sam-first"] if needs_sam(template) else ["pin"])
    counts = {}
    for root in ("shared", "repo"):
        mine = [name for name in files if ROOTS[name] == root]
        sam = sum(1 for name in mine if len(runs[name]) == 2)
        counts[root] = (len(mine) - sam, sam)
    assert counts == {"shared": (32, 94), "repo": (7, 8)}
    with pytest.raises(TemplateLoadError):
        load_path(corpus_path(next(iter(NOT_LOCAL))))


def test_repo_corpus_kinds() -> None:
    """The in-repository corpus covers the three kinds of issue 14, and its manifest says
    which kinds each template's Tasks call: the same as the Tasks counted in the templates
    (definitions and companion DefinitionUri files as written)."""
    repo = [row["file"] for row in ROWS if row["root"] == "repo"]
    assert len(repo) >= 10
    seen = {kind: 0 for kind in KIND_INTEGRATIONS}
    for name in repo:
        path = corpus_path(name)
        tasks = kind_tasks(load_path(path), path.parent)
        assert sum(tasks.values()), f"{name}: no nested, ECS or Batch Task"
        for kind, (tag, _) in KIND_TAGS.items():
            assert (tag in FORMS[name]) == bool(tasks[kind]), f"{name}: {tag} vs {dict(tasks)}"
            seen[kind] += bool(tasks[kind])
    assert seen == {"state-machine": 9, "ecs-task-definition": 3, "batch-job-definition": 4}


PLAIN = [name for name, orders in JOBS if orders == [("pin", [PIN])] and name not in NOT_LOCAL]


@pytest.mark.parametrize("name", PLAIN)
def test_plain_template_through_the_handler(name: str) -> None:
    """CloudFormation, CDK and SAM-expanded templates reach the macro as they are: through
    the Lambda handler, as CloudFormation calls it, each succeeds, and the handler and the
    command line give the same template."""
    template = load_path(corpus_path(name))
    response = run_macro(template)
    assert response["status"] == "success", response.get("errorMessage")
    event = macro_event(template)
    context = Context(REGION, ACCOUNT, event["templateParameterValues"])
    assert response["fragment"] == transform(event["fragment"], context).template


def test_how_many_plain_templates() -> None:
    assert len(PLAIN) == 38


def test_kind_tasks_counts_every_definition_form(tmp_path: Path) -> None:
    """corpus_run.kind_tasks, the Task count the table compares pins with: every form a
    definition is written in, every suffix; nothing else (an SDK integration of the same
    API, a name that only starts like one, a policy)."""
    (tmp_path / "child.asl.json").write_text(
        '{"StartAt": "A", "States": {"A": {"Type": "Task", "End": true,'
        ' "Resource": "arn:aws:states:::batch:submitJob.sync", "Parameters": {}}}}',
        encoding="utf-8",
    )
    template = {
        "Resources": {
            "Object": {
                "Type": "AWS::Serverless::StateMachine",
                "Properties": {
                    "Definition": {
                        "States": {
                            "A": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask"},
                            "B": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTaskX"},
                            "C": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::aws-sdk:sfn:startExecution",
                            },
                        }
                    }
                },
            },
            "Joined": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionString": {
                        "Fn::Join": [
                            "",
                            [
                                '{"States":{"A":{"Type":"Task","Resource":"arn:',
                                {"Ref": "AWS::Partition"},
                                ':states:::states:startExecution.sync:2"},'
                                '"B":{"Type":"Task","Resource":"${R}"}}}',
                            ],
                        ]
                    },
                    "DefinitionSubstitutions": {
                        "R": {
                            "Fn::Sub": "arn:${AWS::Partition}:states:::ecs:runTask.waitForTaskToken"
                        }
                    },
                },
            },
            "File": {
                "Type": "AWS::Serverless::StateMachine",
                "Properties": {"DefinitionUri": "child.asl.json"},
            },
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyDocument": {"Resource": "arn:aws:states:::batch:submitJob"}},
            },
        }
    }
    assert kind_tasks(template, tmp_path) == {
        "state-machine": 1,
        "ecs-task-definition": 2,
        "batch-job-definition": 1,
    }


def test_kept_alive_problems_names_what_a_pin_lacks() -> None:
    """corpus_run.kept_alive_problems, the table's check of the issue 14 kinds on the deployed
    template: silent when each kind is kept as the contract says, one line per lack."""
    from pin_versions.report import Pin

    retain = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    version = {
        "StateMachineArn": {"Ref": "Child"},
        "StateMachineRevisionId": {"Fn::GetAtt": ["Child", "StateMachineRevisionId"]},
    }
    good = {
        "Resources": {
            "ChildVersion": {
                "Type": "AWS::StepFunctions::StateMachineVersion",
                "Properties": version,
                **retain,
            },
            "TD": {"Type": "AWS::ECS::TaskDefinition", **retain},
            "JD": {
                "Type": "AWS::Batch::JobDefinition",
                "Properties": {"ResourceRetentionPolicy": {"SkipDeregisterOnUpdate": True}},
                **retain,
            },
        }
    }
    pins = [
        Pin("P", (), "Child", "ChildVersion", "state-machine"),
        Pin("P", (), "TD", "TD", "ecs-task-definition"),
        Pin("P", (), "JD", "JD", "batch-job-definition"),
        Pin("P", (), "F", "FVersion", "lambda"),  # Lambda: deployed_problems checks it
    ]
    assert kept_alive_problems(good, pins) == []
    bad = copy.deepcopy(good)
    del bad["Resources"]["ChildVersion"]["Properties"]["StateMachineRevisionId"]
    del bad["Resources"]["TD"]["UpdateReplacePolicy"]
    bad["Resources"]["JD"]["Properties"] = {}
    assert kept_alive_problems(bad, [*pins, Pin("P", (), "X", "XVersion", "state-machine")]) == [
        "state-machine Child (pinned by P): ChildVersion is not a version of it at its revision",
        "ecs-task-definition TD (pinned by P): TD has no UpdateReplacePolicy: Retain",
        "batch-job-definition JD (pinned by P): no ResourceRetentionPolicy.SkipDeregisterOnUpdate: "
        "true",
        "state-machine X (pinned by P): XVersion is not in the deployed template",
    ]

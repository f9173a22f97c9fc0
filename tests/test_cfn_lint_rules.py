"""The cfn-lint rules shipped in pin_versions.cfn_lint_rules, run by cfn-lint itself."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

import pin_versions.cfn_lint_rules as rules_package
from support import CORPUS, ROOT, SAMPLES, load_path, run_macro

RULES = rules_package.__path__[0]
GOLDEN = ROOT / "tests" / "golden"
CDK_INVOKE = (
    CORPUS / "aws-cdk/packages/_aws-cdk-testing/framework-integ/test/aws-stepfunctions-tasks"
    "/test/lambda/integ.invoke.js.snapshot/aws-stepfunctions-tasks-lambda-invoke-integ"
    ".template.json"
)


def _ours(template: dict[str, Any]) -> list[tuple[str, str]]:
    matches = lint(
        json.dumps(template), config=ManualArgs(regions=["us-east-1"], append_rules=[RULES])
    )
    return sorted(
        (m.rule.id, "/".join(str(p) for p in m.path))
        for m in matches
        if m.rule.id in ("W9101", "E9102")
    )


def test_unpinned_tasks_are_flagged_where_the_macro_is_not_used() -> None:
    assert _ours(load_path(CDK_INVOKE)) == [
        ("W9101", "Resources/StateMachine2E01A3A5/Properties/DefinitionString"),
        ("W9101", "Resources/StateMachine2E01A3A5/Properties/DefinitionString"),
    ]
    day1 = load_path(SAMPLES / "blue-green" / "day1.yaml")
    without = {k: v for k, v in day1.items() if k != "Transform"}
    assert _ours(without) == [("W9101", "Resources/Workflow/Properties/DefinitionString")]


def _sample_names() -> list[str]:
    return sorted(
        str(p.relative_to(SAMPLES))
        for p in SAMPLES.rglob("*")
        if p.suffix in (".yaml", ".json") and not p.name.endswith(".asl.json")
    )


@pytest.mark.parametrize("name", _sample_names())
def test_samples_and_their_processed_output_are_clean(name: str) -> None:
    template = load_path(SAMPLES / name)
    assert _ours(template) == []  # it declares PinVersions: the macro will pin on deploy
    response = run_macro(template, {"DefinitionBucket": "bucket"})
    assert _ours(response["fragment"]) == []


@pytest.mark.parametrize(
    "name",
    sorted(
        p.parent.name
        for p in GOLDEN.glob("*/expected.json")
        if not p.parent.name.startswith("sam-")
    ),
)
def test_golden_outputs_add_no_finding(name: str) -> None:
    """Processed output has no finding its input did not have, except what the report says
    it left alone: Tasks (PV108, PV110, PV111, PV140, a kind turned off) and roles (PV107,
    PV113)."""
    template = load_path(GOLDEN / name / "input.yaml")
    output = json.loads((GOLDEN / name / "expected.json").read_text(encoding="utf-8"))
    report = json.loads((GOLDEN / name / "report.json").read_text(encoding="utf-8"))
    codes = {w["code"] for w in report["warnings"]}
    new = set(_ours(output)) - set(_ours(template))
    # Issue 14: a cycle of nested state machines (PV140) and a kind turned off
    # (Metadata.PinVersions.Kinds) are left alone too, so W9101 still sees them.
    kinds = ((template.get("Metadata") or {}).get("PinVersions") or {}).get("Kinds") or {}
    turned_off = any(value is False for value in kinds.values())
    if not codes & {"PV108", "PV110", "PV111", "PV140"} and not turned_off:
        assert not [f for f in new if f[0] == "W9101"]
    if not codes & {"PV107", "PV113"}:
        assert not [f for f in new if f[0] == "E9102"]


def _processed_day1() -> dict[str, Any]:
    return run_macro(load_path(SAMPLES / "blue-green" / "day1.yaml"))["fragment"]


def test_a_pinned_version_without_retain_is_an_error() -> None:
    processed = _processed_day1()
    version = next(k for k in processed["Resources"] if k.startswith("HelloVersion"))
    broken = copy.deepcopy(processed)
    del broken["Resources"][version]["DeletionPolicy"]
    assert _ours(broken) == [("E9102", f"Resources/{version}")]


def test_a_role_that_cannot_invoke_every_version_is_an_error() -> None:
    processed = _processed_day1()
    broken = copy.deepcopy(processed)
    grants = [
        logical_id
        for logical_id, resource in processed["Resources"].items()
        if resource["Type"] == "AWS::IAM::Policy"
        and resource["Properties"]["PolicyName"].startswith("PinVersionsInvoke")
    ]
    assert grants
    for logical_id in grants:
        del broken["Resources"][logical_id]
    for resource in broken["Resources"].values():
        if isinstance(resource.get("DependsOn"), list):
            resource["DependsOn"] = [d for d in resource["DependsOn"] if d not in grants]
    assert _ours(broken) == [("E9102", "Resources/WorkflowRole")]


def test_cfn_lint_command_loads_the_rules_from_the_documented_path(tmp_path: Path) -> None:
    """The command from docs/integrations.md, on a file, through the installed cfn-lint."""
    template = tmp_path / "template.json"
    day1 = load_path(SAMPLES / "blue-green" / "day1.yaml")
    template.write_text(json.dumps({k: v for k, v in day1.items() if k != "Transform"}))
    path = subprocess.run(
        [sys.executable, "-c", "import pin_versions.cfn_lint_rules as r; print(r.__path__[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    done = subprocess.run(
        [str(cfn_lint), "--append-rules", path, "--format", "parseable", "--", str(template)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ":W9101:" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 4  # cfn-lint's exit code for warnings only


def _s3_machine(substitutions: dict[str, Any], **resources: Any) -> dict[str, Any]:
    """A template whose state machine keeps its definition in S3 (DefinitionS3Location)."""
    return {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "fn",
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": "arn:aws:iam::123456789012:role/r",
                    "Code": {"ZipFile": "def handler(e, c): return e"},
                },
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/r",
                    "DefinitionS3Location": {"Bucket": "b", "Key": "k.asl.json"},
                    "DefinitionSubstitutions": substitutions,
                },
            },
            **resources,
        }
    }


@pytest.mark.parametrize(
    ("value", "flagged"),
    [
        ({"Fn::GetAtt": ["Fn", "Arn"]}, True),
        ({"Ref": "Fn"}, True),
        # Read as the planner reads them: a Sub of the ARN and the function's literal name
        # name the same function, unqualified.
        ({"Fn::Sub": "${Fn.Arn}"}, True),
        ("fn", True),
        ("arn:aws:lambda:us-east-1:123456789012:function:fn:3", False),
        ({"Fn::Sub": "${Fn.Arn}:live"}, False),
        ("some text", False),
    ],
)
def test_substitutions_of_a_definition_in_s3_are_read_as_the_planner_reads_them(
    value: Any, flagged: bool
) -> None:
    """checks.unpinned_targets flags exactly the substitutions the macro would pin
    (plan.retarget.targets_of): one scan of a definition kept in S3."""
    from pin_versions import Context
    from pin_versions.definition import analyse
    from pin_versions.inventory import build_inventory
    from pin_versions.local.checks import unpinned_targets
    from pin_versions.options import Options
    from pin_versions.plan.retarget import targets_of

    template = _s3_machine({"Work": value})
    path = ("Resources", "Machine", "Properties", "DefinitionSubstitutions", "Work")
    findings = unpinned_targets(template)
    assert [f.path for f in findings] == ([path] if flagged else [])
    if flagged:
        assert "substitution names Fn unqualified" in findings[0].message
    inventory = build_inventory(template, Context(), Options())
    view = analyse(inventory.state_machines["Machine"], inventory)
    pinned = [t.path for t in targets_of(view, inventory) if t.resolution.kind == "function"]
    assert pinned == ([path] if flagged else [])


def test_a_version_a_substitution_names_must_be_retained() -> None:
    """processed_problems reads a definition in S3's substitutions too: a version one names
    (here inside a Sub) that is not retained is reported."""
    from pin_versions.local.checks import processed_problems

    version = {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "Fn"}}}
    template = _s3_machine({"Work": {"Fn::Sub": "${FnVersion}"}}, FnVersion=version)
    assert [(f.path, "has no" in f.message) for f in processed_problems(template)] == [
        (("Resources", "FnVersion"), True)
    ]
    retained = {**version, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    template = _s3_machine({"Work": {"Ref": "FnVersion"}}, FnVersion=retained)
    assert [f.path for f in processed_problems(template)] == []


# -- W9101 for every target kind (issue 14) ------------------------------------------------


def _kinds_template() -> dict[str, Any]:
    """The kinds-object golden input without the Transform: one Task of each kind."""
    template = load_path(GOLDEN / "kinds-object" / "input.yaml")
    template.pop("Transform")
    return template


def _w9101(template: dict[str, Any]) -> list[str]:
    matches = lint(
        json.dumps(template), config=ManualArgs(regions=["us-east-1"], append_rules=[RULES])
    )
    return sorted(m.message for m in matches if m.rule.id == "W9101")


def test_w9101_flags_an_unpinned_child_state_machine() -> None:
    messages = _w9101(_kinds_template())
    assert (
        "Task States.StartChild.Parameters.StateMachineArn starts state machine "
        "Child unqualified: an execution waiting through a deploy starts the state machine's "
        "new definition; add PinVersions to the template's Transform or start a "
        "StateMachineVersion of it"
    ) in messages
    # A literal ARN naming the child by its StateMachineName is the same risk.
    assert any(m.startswith("Task States.StartAudit.") for m in messages)


def test_w9101_flags_a_task_definition_by_family_and_one_that_a_deploy_deregisters() -> None:
    template = _kinds_template()
    assert (
        "Task States.RunWeb.Parameters.TaskDefinition runs task definition Web by "
        "name: an execution waiting through a deploy gets whatever revision is the latest "
        "when the Task runs; add PinVersions to the template's Transform"
    ) in _w9101(template)
    task = template["Resources"]["Parent"]["Properties"]["Definition"]["States"]["RunWeb"]
    task["Parameters"]["TaskDefinition"] = {"Ref": "Web"}
    assert (
        "Task States.RunWeb.Parameters.TaskDefinition runs the revision of task "
        "definition Web, which a deploy can deregister under running executions "
        "(UpdateReplacePolicy: Retain, DeletionPolicy: Retain missing); add PinVersions to the "
        "template's Transform or set them"
    ) in _w9101(template)
    template["Resources"]["Web"].update(DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
    assert not [m for m in _w9101(template) if "RunWeb" in m]


def test_w9101_flags_a_job_definition_without_skip_deregister_on_update() -> None:
    template = _kinds_template()
    template["Resources"]["Nightly"].update(DeletionPolicy="Retain", UpdateReplacePolicy="Retain")
    assert (
        "Task States.SubmitNightly.Parameters.JobDefinition submits the revision of "
        "job definition Nightly, which a deploy can deregister under running executions "
        "(ResourceRetentionPolicy.SkipDeregisterOnUpdate: true missing); add PinVersions to "
        "the template's Transform or set them"
    ) in _w9101(template)
    properties = template["Resources"]["Nightly"]["Properties"]
    properties["ResourceRetentionPolicy"] = {"SkipDeregisterOnUpdate": True}
    assert not [m for m in _w9101(template) if "SubmitNightly" in m]


def test_w9101_is_quiet_on_the_processed_kinds_template() -> None:
    """What the macro makes of it: every Task pinned or kept ACTIVE, nothing left to flag."""
    processed = run_macro(load_path(GOLDEN / "kinds-object" / "input.yaml"))["fragment"]
    processed.pop("Transform", None)
    assert "ChildVersion" in processed["Resources"]  # the macro did pin
    assert _w9101(processed) == []


def test_e9102_flags_a_child_version_a_deploy_would_remove() -> None:
    processed = run_macro(load_path(GOLDEN / "kinds-object" / "input.yaml"))["fragment"]
    processed.pop("Transform", None)
    assert [f for f in _ours(processed) if f[0] == "E9102"] == []
    del processed["Resources"]["ChildVersion"]["UpdateReplacePolicy"]
    del processed["Resources"]["Nightly"]["Properties"]["ResourceRetentionPolicy"]
    assert [f for f in _ours(processed) if f[0] == "E9102"] == [("E9102", "Resources/ChildVersion")]
    # The job definition without SkipDeregisterOnUpdate is W9101's finding, once.
    assert [f for f in _ours(processed) if "Nightly" in f[1] or "SubmitNightly" in f[1]] == [
        (
            "W9101",
            "Resources/Parent/Properties/Definition/States/SubmitNightly/Parameters/JobDefinition",
        )
    ]
    matches = lint(
        json.dumps(processed), config=ManualArgs(regions=["us-east-1"], append_rules=[RULES])
    )
    messages = sorted(m.message for m in matches if m.rule.id == "E9102")
    assert messages == [
        "StateMachineVersion ChildVersion is called by Parent but lacks UpdateReplacePolicy: "
        "Retain; the next deploy deletes or deregisters it under running executions",
    ]

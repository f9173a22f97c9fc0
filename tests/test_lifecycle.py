"""`pin-versions plan`'s lifecycle model (pin_versions.local.lifecycle) and its verdicts.

Two layers, each asserting exact verdicts:
- tests/lifecycle/<case>/{old,new}.yaml: hand-written *processed* templates (plain
  CloudFormation), one per CloudFormation or IAM rule the model applies; parameter values are
  each template's Defaults.
- tests/lifecycle/pipeline/<case>/{day1,day2}.yaml: the day-2 scenarios of issue 11 through
  the real pipeline (`pin-versions plan`, SAM offline and PinVersions as the macro is today).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given

import strategies
from pin_versions import Context, TransformError, transform
from pin_versions.local.lifecycle import CREATE_ONLY, Side, assess
from pin_versions.local.yaml_io import TemplateLoadError, load
from support import ROOT

FIXTURES = Path(__file__).parent / "lifecycle"
SCRIPT = Path(sys.executable).parent / "pin-versions"

Expected = list[tuple[str, str, list[str]]]  # (target, status, problem reasons)

_SM_SAFE = ("ChildVersion", "safe", [])
_WEB_SAFE = ("Web", "safe", [])
_NIGHTLY_SAFE = ("Nightly", "safe", [])

# One row per fixture pair: what a deploy from old.yaml to new.yaml does to each target
# executions started before it may still invoke.
PROCESSED: dict[str, Expected] = {
    # Retained version, role still allows ${F.Arn}:*.
    "code-change": [("HelloVersionaaaaaaaaaa", "safe", [])],
    # Deleting a function deletes all its versions, whatever their DeletionPolicy.
    "function-removed": [("HelloVersionaaaaaaaaaa", "broken", ["deleted with its function"])],
    # Function and grant (a policy resource) leave the template with DeletionPolicy: Retain.
    "function-removed-retained": [("HelloVersionaaaaaaaaaa", "safe", [])],
    # A Condition the parameters make false takes the function out of the stack.
    "condition-off": [("HelloVersionaaaaaaaaaa", "broken", ["deleted with its function"])],
    # Task moved, Hello stays: the only grant now names Goodbye.
    "task-moved": [("HelloVersionaaaaaaaaaa", "broken", ["grant revoked"])],
    # ... unless another policy of the role allows function:* (lambda:Invoke*).
    "task-moved-wildcard": [("HelloVersionaaaaaaaaaa", "safe", [])],
    # FunctionName added: replacement, no UpdateReplacePolicy: the old function is deleted.
    "rename": [("HelloVersionaaaaaaaaaa", "broken", ["deleted by a replacement"])],
    # Function kept through the replacement, grant retained under the old physical name.
    "rename-retained": [("HelloVersionaaaaaaaaaa", "safe", [])],
    # Function kept through the replacement, but the inline grant follows the new name.
    "rename-inline-grant": [("HelloVersionaaaaaaaaaa", "broken", ["grant revoked"])],
    # CDK currentVersion: no DeletionPolicy, and the grant named only that version.
    "version-not-retained": [
        ("HelloCurrentVersionaaaa", "broken", ["not retained", "grant revoked"])
    ],
    # Description is create-only on AWS::Lambda::Version: replaced, old one deleted.
    "version-replaced": [("HelloVersion", "broken", ["deleted by a replacement"])],
    "version-replaced-retained": [("HelloVersion", "safe", [])],
    # Same logical ID and properties, new code from a parameter: nothing republishes.
    "fixed-id-version": [("HelloVersion", "broken", ["never republished"])],
    # Task Credentials: TaskRole makes the invoke and allows only the unqualified ARN.
    "credentials-role": [("HelloVersionaaaaaaaaaa", "broken", ["not granted"])],
    # A Definition object, Credentials role that allows every version.
    "credentials-object": [("HelloVersionaaaaaaaaaa", "safe", [])],
    # RoleArn: Fn::If picks MachineRole under the default parameters; NEW grants another role.
    "fn-if-role": [("HelloVersionaaaaaaaaaa", "broken", ["grant revoked"])],
    # NEW without PinVersions: the version stays, its grant does not.
    "pin-removed": [("HelloVersionaaaaaaaaaa", "broken", ["grant revoked"])],
    # A Task target written Fn::If: the branch OLD's parameters pick is what runs.
    "fn-if-target": [("HelloVersionaaaaaaaaaa", "broken", ["deleted with its function"])],
    # No PinVersions on either day.
    "unqualified": [("Hello", "unprotected", [])],
    # ... and a function they invoke unqualified that leaves the template.
    "unqualified-removed": [("Hello", "broken", ["function deleted"])],
    # The state machine moves to a new role; the role running executions use is deleted.
    "role-deleted": [("HelloVersionaaaaaaaaaa", "broken", ["grant revoked"])],
    # A version number in the definition; an AWS managed policy allows every function.
    "numbered-managed-policy": [("Hello:3", "safe", [])],
    # Issue 14: a parent pinned to ChildVersion, an ECS task definition and a Batch job
    # definition by Ref (their revision ARNs), each with its retained grant.
    # The child's definition changes: ChildVersion is replaced, the old one retained.
    "kinds-child-changed": [_SM_SAFE, _WEB_SAFE, _NIGHTLY_SAFE],
    # ... without UpdateReplacePolicy: Retain on the version: the old version is deleted.
    "kinds-child-version-not-retained": [
        ("ChildVersion", "broken", ["deleted by a replacement"]),
        _WEB_SAFE,
        _NIGHTLY_SAFE,
    ],
    # StateMachineName changes: replacing the child deletes all its versions.
    "kinds-child-replaced": [
        ("ChildVersion", "broken", ["deleted with its state machine"]),
        _WEB_SAFE,
        _NIGHTLY_SAFE,
    ],
    # Cpu changes: the task definition is replaced, its old revision deregistered...
    "kinds-ecs-replaced": [_SM_SAFE, ("Web", "broken", ["revision deregistered"]), _NIGHTLY_SAFE],
    # ... unless UpdateReplacePolicy: Retain keeps it ACTIVE.
    "kinds-ecs-replaced-retained": [_SM_SAFE, _WEB_SAFE, _NIGHTLY_SAFE],
    # An update of a job definition deregisters the old revision...
    "kinds-batch-updated": [_SM_SAFE, _WEB_SAFE, ("Nightly", "broken", ["revision deregistered"])],
    # ... unless ResourceRetentionPolicy.SkipDeregisterOnUpdate.
    "kinds-batch-updated-retained": [_SM_SAFE, _WEB_SAFE, _NIGHTLY_SAFE],
    # The ecs:RunTask grant leaves the template without DeletionPolicy: Retain.
    "kinds-grant-revoked": [_SM_SAFE, ("Web", "broken", ["grant revoked"]), _NIGHTLY_SAFE],
    # Issue 15: an alias shifting (CANARY) from ChildVersion to the new version: the old one
    # takes new executions during the shift and after a rollback; it is retained.
    "kinds-alias-shift": [_SM_SAFE, _WEB_SAFE, _NIGHTLY_SAFE],
    "kinds-alias-shift-not-retained": [
        ("ChildVersion", "broken", ["deleted by a replacement"]),
        _WEB_SAFE,
        _NIGHTLY_SAFE,
    ],
    # Issue 15, MoveCallers then the option removed: Parent's Tasks started the aliases;
    # they leave the template retained (still routing to the versions, which stay) ...
    "kinds-alias-caller": [
        ("ChildAliaslive", "safe", []),
        ("Child2Aliaslive", "safe", []),
        ("ChildVersion", "safe", []),
        ("Child2Version", "safe", []),
        ("ParentVersion", "safe", []),
    ],
    # ... or without DeletionPolicy Retain: deleted, a day-1 Task's StartExecution fails.
    "kinds-alias-caller-deleted": [
        ("ChildAliaslive", "broken", ["alias deleted"]),
        ("Child2Aliaslive", "broken", ["alias deleted"]),
        ("ChildVersion", "safe", []),
        ("Child2Version", "safe", []),
        ("ParentVersion", "safe", []),
    ],
    # Family renamed: TaskDef is replaced (retained); NEW's grant allows the new family
    # only, and OLD's grant (not retained here) leaves: the old revision is not allowed.
    "kinds-ecs-renamed-grant-deleted": [
        ("TaskDef", "broken", ["grant revoked"]),
        ("JobDef", "safe", []),
    ],
}


def _side(path: Path, pin: bool = True) -> Side:
    template = load(path.read_text(encoding="utf-8"), str(path))
    parameters = {
        name: str(spec["Default"])
        for name, spec in (template.get("Parameters") or {}).items()
        if "Default" in spec
    }
    return Side(template, Context("us-east-1", "123456789012", parameters), pin=pin)


def _verdicts(old: Side, new: Side) -> Expected:
    return [(v.target, v.status, [p.reason for p in v.problems]) for v in assess(old, new).verdicts]


def test_every_fixture_has_an_expectation() -> None:
    cases = {p.name for p in FIXTURES.iterdir() if (p / "old.yaml").exists()}
    assert cases == set(PROCESSED)


@pytest.mark.parametrize("case", sorted(PROCESSED))
def test_processed_pair_verdicts(case: str) -> None:
    old, new = _side(FIXTURES / case / "old.yaml"), _side(FIXTURES / case / "new.yaml")
    assert _verdicts(old, new) == PROCESSED[case]


def test_an_alias_routes_count_as_callers_of_the_version() -> None:
    """Issue 15: the version an alias routes to is judged for the alias too (a shift in
    progress or a rollback starts it), with the fix named."""
    case = FIXTURES / "kinds-alias-shift-not-retained"
    lifecycle = assess(_side(case / "old.yaml"), _side(case / "new.yaml"))
    verdict = next(v for v in lifecycle.verdicts if v.target == "ChildVersion")
    assert verdict.machines == ["Parent", "ChildAliaslive"]
    assert verdict.target_kind == "state-machine" and verdict.function == "Child"
    assert "UpdateReplacePolicy: Retain" in verdict.problems[0].fix


def test_a_task_that_starts_an_alias_is_judged_as_the_alias() -> None:
    case = FIXTURES / "kinds-alias-caller"
    verdict = assess(_side(case / "old.yaml"), _side(case / "new.yaml")).verdicts[0]
    assert (verdict.target, verdict.function, verdict.machines) == (
        "ChildAliaslive",
        "Child",
        ["Parent"],
    )
    assert verdict.notes == [
        "alias ChildAliaslive is removed and retained: it keeps routing to the versions it "
        "routes to now",
        "Role still allows it (RolePinVersionsInvokeChild1e6d9a560c)",
    ]
    deleted = FIXTURES / "kinds-alias-caller-deleted"
    verdict = assess(_side(deleted / "old.yaml"), _side(deleted / "new.yaml")).verdicts[0]
    assert verdict.problems[0].fix == (
        "give ChildAliaslive DeletionPolicy: Retain and UpdateReplacePolicy: Retain "
        "(PinVersions does)"
    )


def test_kind_verdicts_name_the_kind_and_the_fix() -> None:
    ecs = FIXTURES / "kinds-ecs-replaced"
    verdict = assess(_side(ecs / "old.yaml"), _side(ecs / "new.yaml")).verdicts[1]
    (problem,) = verdict.problems
    assert problem.detail.startswith("task definition Web is replaced (Cpu changes)")
    assert "UpdateReplacePolicy: Retain" in problem.fix
    batch = FIXTURES / "kinds-batch-updated"
    verdict = assess(_side(batch / "old.yaml"), _side(batch / "new.yaml")).verdicts[2]
    assert "SkipDeregisterOnUpdate" in verdict.problems[0].fix
    grant = FIXTURES / "kinds-grant-revoked"
    verdict = assess(_side(grant / "old.yaml"), _side(grant / "new.yaml")).verdicts[1]
    assert "ecs:RunTask on task definition Web" in verdict.problems[0].detail


def test_same_template_changes_nothing() -> None:
    """Deploying what is deployed: every target stays as it was. Only a Task whose
    Credentials role was never granted is broken, on day 1 already (issue 11, item 6)."""
    for case in sorted(PROCESSED):
        side = _side(FIXTURES / case / "old.yaml")
        for _, status, reasons in _verdicts(side, side):
            if case == "credentials-role":
                assert (status, reasons) == ("broken", ["not granted"])
            else:
                assert status in ("safe", "unprotected") and reasons == [], case


def test_broken_verdicts_say_the_fix() -> None:
    old = _side(FIXTURES / "function-removed" / "old.yaml")
    new = _side(FIXTURES / "function-removed" / "new.yaml")
    (verdict,) = assess(old, new).verdicts
    (problem,) = verdict.problems
    assert verdict.machines == ["Workflow"] and verdict.roles == ["WorkflowRole"]
    assert problem.detail == (
        "Hello leaves the template without DeletionPolicy: Retain; deleting a function "
        "deletes all its versions"
    )
    assert problem.fix == (
        "keep Hello in the template until executions started before this deploy have "
        "finished, or give it DeletionPolicy: Retain (prune reclaims it later)"
    )


def test_grant_revoked_names_the_arn_and_role() -> None:
    old = _side(FIXTURES / "rename-inline-grant" / "old.yaml")
    new = _side(FIXTURES / "rename-inline-grant" / "new.yaml")
    (verdict,) = assess(old, new).verdicts
    assert verdict.problems[0].detail == (
        "after this deploy nothing attached to WorkflowRole allows lambda:InvokeFunction on "
        "arn:aws:lambda:us-east-1:123456789012:function:hello:<N>"
    )


def test_transform_list_notes() -> None:
    pinned = _side(FIXTURES / "pin-removed" / "old.yaml", pin=True)
    unpinned = _side(FIXTURES / "pin-removed" / "new.yaml", pin=False)
    assert [n.split(":")[0] for n in assess(pinned, unpinned).notes] == [
        "PinVersions leaves the Transform list"
    ]
    assert [n.split(":")[0] for n in assess(unpinned, pinned).notes] == [
        "PinVersions runs for the first time"
    ]
    assert assess(pinned, pinned).notes == []


def test_create_only_properties_match_the_resource_schemas() -> None:
    """CREATE_ONLY is the createOnlyProperties of the CloudFormation resource provider schemas
    cfn-lint ships (what makes CloudFormation replace a resource)."""
    import cfnlint.data.schemas.providers as providers

    base = Path(next(iter(providers.__path__)))
    index = json.loads((base / "us-east-1.json").read_text(encoding="utf-8"))
    for rtype, expected in CREATE_ONLY.items():
        schema = json.loads(
            (base.parent / "resources" / f"{index[rtype]}.json").read_text(encoding="utf-8")
        )
        names = {p.removeprefix("/properties/") for p in schema.get("createOnlyProperties", [])}
        assert names == expected, rtype


# --- through the pipeline: `pin-versions plan` -----------------------------------------------

PIPELINE: dict[str, tuple[Expected, list[str]]] = {
    "code-change": ([("HelloVersion85c48cbcb8", "safe", [])], []),
    "config-only": ([("HelloVersion85c48cbcb8", "safe", [])], []),
    # The day-1 grant is a retained AWS::IAM::Policy: it stays when the Task moves away.
    "task-moved": ([("HelloVersion85c48cbcb8", "safe", [])], []),
    # Both templates give Hello UpdateReplacePolicy: Retain, so the old function and its
    # versions outlive the replacement, and the old grant is retained with them.
    "rename": ([("HelloVersion85c48cbcb8", "safe", [])], []),
    # What no single template can make safe: plan says so (the transition test shows AWS's
    # ResourceNotFoundException for the same pair).
    "function-removed": (
        [("HelloVersion85c48cbcb8", "broken", ["deleted with its function"])],
        [],
    ),
    # The fixed-ID version is made to follow (PV117): its Description stamp replaces it.
    "fixed-id-version": ([("HelloVersion", "safe", [])], []),
    # SAM hashes the new stamp (AutoPublishAliasAllProperties), so a new version appears.
    "sam-parameter-environment": ([("HelloVersionb110528c77", "safe", [])], []),
    # The Task's Credentials role is granted like the state machine's.
    "credentials": ([("HelloVersion85c48cbcb8", "safe", [])], []),
    # Versions and grants are retained, so they outlive the macro's removal.
    "pin-removed": (
        [("HelloVersion85c48cbcb8", "safe", [])],
        ["PinVersions leaves the Transform list"],
    ),
    "pin-added": ([("Hello", "unprotected", [])], ["PinVersions runs for the first time"]),
    # RoleArn: Fn::If: MachineRole is granted under the condition that picks it.
    "fn-if-role": ([("HelloVersionf799643ea6", "safe", [])], []),
    # A version the user pinned (PV115): retained, and the role may invoke every version.
    "user-pinned": ([("HelloCurrentVersionaaaa", "safe", [])], []),
}


# The issue 14/15 transition scenarios (tests/transition, run on the emulator: the day-1
# execution finishes on what it started with): plan agrees that each is safe.
TRANSITION_KINDS: dict[str, Expected] = {
    "nested-child-changed": [("ChildVersion", "safe", [])],
    "ecs-task-definition-replaced": [("Hello", "safe", [])],
    "batch-job-definition-updated": [("Hello", "safe", [])],
    # The alias's version (replaced, retained) and the Lambda version its definition pins.
    "alias-shift": [("HelloVersiondd90a956e1", "safe", []), ("WorkflowVersion", "safe", [])],
}


@pytest.mark.parametrize("case", sorted(TRANSITION_KINDS))
def test_plan_agrees_with_the_kind_transition_scenarios(case: str) -> None:
    directory = ROOT / "tests" / "transition" / case
    result = _plan(directory / "day1.yaml", directory / "day2.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr
    verdicts = json.loads(result.stdout)["verdicts"]
    got = [(v["target"], v["status"], [p["reason"] for p in v["problems"]]) for v in verdicts]
    assert got == TRANSITION_KINDS[case]


def _plan(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "plan", "-q", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def test_every_pipeline_scenario_has_an_expectation() -> None:
    assert {p.name for p in (FIXTURES / "pipeline").iterdir()} == set(PIPELINE)


@pytest.mark.parametrize("case", sorted(PIPELINE))
def test_pipeline_verdicts(case: str) -> None:
    directory = FIXTURES / "pipeline" / case
    result = _plan(directory / "day1.yaml", directory / "day2.yaml", "--format", "json")
    assert (result.returncode, result.stderr) == (0, "")
    answer: dict[str, Any] = json.loads(result.stdout)
    verdicts = [
        (v["target"], v["status"], [p["reason"] for p in v["problems"]]) for v in answer["verdicts"]
    ]
    expected, notes = PIPELINE[case]
    assert verdicts == expected
    assert [n.split(":")[0] for n in answer["notes"]] == notes
    statuses = [status for _, status, _ in expected]
    assert answer["summary"] == {s: statuses.count(s) for s in ("safe", "broken", "unprotected")}


@pytest.mark.parametrize(("case", "code"), [("function-removed", 1), ("code-change", 0)])
def test_fail_on_broken_exit_code(case: str, code: int) -> None:
    directory = FIXTURES / "pipeline" / case
    result = _plan(directory / "day1.yaml", directory / "day2.yaml", "--fail-on-broken")
    assert (result.returncode, result.stderr) == (code, "")
    assert ("BROKEN" in result.stdout) == (code == 1)
    # Without the flag a broken verdict is reported, not an error.
    assert _plan(directory / "day1.yaml", directory / "day2.yaml").returncode == 0


def test_plan_text_shows_the_verdict_and_fix() -> None:
    directory = FIXTURES / "pipeline" / "function-removed"
    result = _plan(directory / "day1.yaml", directory / "day2.yaml")
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("Executions started before this deploy")[1]
    assert section.splitlines()[1:4] == [
        "  BROKEN         HelloVersion85c48cbcb8 (Hello; Workflow): deleted with its function",
        "                 Hello leaves the template without DeletionPolicy: Retain; deleting a "
        "function deletes all its versions",
        "                 fix: keep Hello in the template until executions started before this "
        "deploy have finished, or give it DeletionPolicy: Retain (prune reclaims it later)",
    ]
    assert result.stdout.endswith("Verdicts: 0 safe, 1 broken, 0 not protected\n")


def test_plan_says_an_existing_machine_is_pinned_for_the_first_time() -> None:
    """Issue 12 item 7: adding PinVersions to a stack does not make its state machines new."""
    directory = FIXTURES / "pipeline" / "pin-added"
    result = _plan(directory / "day1.yaml", directory / "day2.yaml")
    assert "  Workflow: existed before (PinVersions did not run on OLD), 1 target pinned now\n" in (
        result.stdout
    )
    assert "new state machine" not in result.stdout


# --- invariants on every processed template the golden suite holds ---------------------------

GOLDEN_OUTPUTS = sorted((Path(__file__).parent / "golden").glob("*/expected.json"))


def _golden_side(path: Path) -> Side:
    return Side(json.loads(path.read_text(encoding="utf-8")), Context("us-east-1", "123456789012"))


def test_redeploying_a_processed_template_breaks_nothing() -> None:
    """A deploy that changes nothing deletes, replaces and revokes nothing: the only broken
    reason left is a grant that was never there (`not granted`)."""
    assert len(GOLDEN_OUTPUTS) > 40
    for path in GOLDEN_OUTPUTS:
        side = _golden_side(path)
        for verdict in assess(side, side).verdicts:
            assert {p.reason for p in verdict.problems} <= {"not granted"}, path.parent.name


def test_what_cannot_be_judged_is_said() -> None:
    side = _golden_side(Path(__file__).parent / "golden" / "external-targets" / "expected.json")
    assert assess(side, side).notes == [
        "Machine: States.OtherRegion.Resource: names no function of this template; not judged",
        "Machine: States.Imported.Resource: cannot tell which function Fn::ImportValue names; "
        "not judged",
        "Machine: States.FromParameter.Resource: cannot tell which function OtherFunctionArn "
        "names; not judged",
    ]
    # The Fn::If of States.Chosen is decided by the region: it names Hello, unqualified.
    assert [(v.target, v.status) for v in assess(side, side).verdicts] == [("Hello", "broken")]
    s3 = _golden_side(Path(__file__).parent / "golden" / "definition-s3-location" / "expected.json")
    assert assess(s3, s3).notes == [
        "Machine: its definition is not in the template; no verdict for it"
    ]


def test_an_unwalkable_definition_is_said_not_judged() -> None:
    """A definition the macro leaves alone as not walkable (PV130) gets a note, no verdict
    and no traceback (the hypothesis search found a deep Fn::Join raising here)."""
    side = _golden_side(
        Path(__file__).parent / "golden" / "asl-not-walkable-branches" / "expected.json"
    )
    lifecycle = assess(side, side)
    assert lifecycle.verdicts == []
    assert [note for note in lifecycle.notes if "not walkable" in note] == [
        f"{name}: its definition is not walkable ASL; no verdict for it" for name in _machines(side)
    ]


def _machines(side: Side) -> list[str]:
    return [
        name
        for name, resource in side.template["Resources"].items()
        if resource.get("Type") == "AWS::StepFunctions::StateMachine"
    ]


def test_any_pair_of_processed_templates_gets_verdicts() -> None:
    """Deploying one golden output over another (unrelated templates): every target of OLD
    gets a verdict with a status, and nothing raises."""
    sides = [_golden_side(p) for p in GOLDEN_OUTPUTS]
    for old, new in zip(sides, [*sides[1:], sides[0]], strict=True):
        lifecycle = assess(old, new)
        for verdict in lifecycle.verdicts:
            assert verdict.status in ("safe", "broken", "unprotected")
            assert all(p.fix for p in verdict.problems)


def test_redeploying_a_corpus_template_breaks_nothing() -> None:
    """The same invariant on the real templates of the corpus, as written (SAM resources,
    no PinVersions): unqualified Tasks are `not protected`, nothing is deleted or revoked."""
    from support import CORPUS, corpus_manifest

    judged = 0
    for row in corpus_manifest():
        path = CORPUS / row["file"]
        try:
            template = load(path.read_text(encoding="utf-8"), str(path))
        except TemplateLoadError:
            continue  # test_corpus covers the templates the loader refuses
        if not isinstance(template, dict):
            continue
        side = Side(template, Context("us-east-1", "123456789012"))
        for verdict in assess(side, side).verdicts:
            judged += 1
            assert {p.reason for p in verdict.problems} <= {"not granted"}, row["file"]
    assert judged > 50


def test_a_replacement_replaces_what_names_it_in_a_create_only_property() -> None:
    """F gets a FunctionName: F is replaced, so is V (its FunctionName, create-only, names
    F's new physical ID); R, whose policy names F (not create-only), is only updated."""
    from pin_versions.local.lifecycle import Transition

    def template(name: str | None) -> dict[str, Any]:
        function: dict[str, Any] = {"Runtime": "python3.13", "Handler": "index.handler"}
        if name:
            function["FunctionName"] = name
        return {
            "Resources": {
                "F": {"Type": "AWS::Lambda::Function", "Properties": function},
                "V": {"Type": "AWS::Lambda::Version", "Properties": {"FunctionName": {"Ref": "F"}}},
                "R": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {"Policies": [{"PolicyDocument": {"Resource": {"Ref": "F"}}}]},
                },
                "T": {"Type": "AWS::SNS::Topic"},
            }
        }

    context = Context("us-east-1", "123456789012")
    transition = Transition(Side(template(None), context), Side(template("renamed"), context))
    assert transition.replaced == {"F", "V"}
    assert [transition.fate(i).outcome for i in ("F", "V", "R", "T")] == [
        "deleted",
        "deleted",
        "kept",
        "kept",
    ]
    retyped = template(None)
    retyped["Resources"]["T"]["Type"] = "AWS::SQS::Queue"
    assert Transition(Side(template(None), context), Side(retyped, context)).replaced == {"T"}


def test_old_can_be_the_processed_template_as_deployed() -> None:
    """OLD from `aws cloudformation get-template --template-stage Processed` has no Transform:
    PinVersions does not run on it, and it is not taken for a stack before PinVersions."""
    result = _plan(
        FIXTURES / "code-change" / "old.yaml",
        FIXTURES / "pipeline" / "code-change" / "day2.yaml",
        "--format",
        "json",
    )
    assert (result.returncode, result.stderr) == (0, "")
    answer = json.loads(result.stdout)
    assert answer["notes"] == []
    assert [(v["target"], v["status"]) for v in answer["verdicts"]] == [
        ("HelloVersionaaaaaaaaaa", "safe")
    ]


# --- generated and hostile templates -----------------------------------------------------------


@strategies.budget(40)
@given(case=strategies.cases())
def test_redeploying_what_the_macro_produced_breaks_nothing(case: strategies.Case) -> None:
    """On any template PinVersions can process: redeploying its output deletes, replaces and
    revokes nothing (only a role the macro could not widen is `not granted`)."""
    context = Context("us-east-1", "123456789012", case.parameters)
    try:
        result = transform(case.template, context)
    except TransformError:
        assume(False)
        return
    side = Side(result.template, context)
    for verdict in assess(side, side).verdicts:
        assert {p.reason for p in verdict.problems} <= {"not granted"}, verdict


@strategies.budget(40)
@given(old=strategies.mutated_cases(), new=strategies.mutated_cases())
def test_hostile_pairs_get_verdicts_not_tracebacks(
    old: strategies.Case, new: strategies.Case
) -> None:
    lifecycle = assess(
        Side(old.template, Context("us-east-1", "123456789012", old.parameters)),
        Side(new.template, Context("us-east-1", "123456789012", new.parameters)),
    )
    json.dumps(lifecycle.to_json())  # the --format json answer is always JSON
    for verdict in lifecycle.verdicts:
        assert all(p.reason and p.detail and p.fix for p in verdict.problems)


def test_plan_roles_say_a_grant_is_retained() -> None:
    directory = FIXTURES / "function-removed-retained"
    result = _plan(directory / "old.yaml", directory / "new.yaml")
    assert result.returncode == 0, result.stderr
    assert (
        "  WorkflowRole  changes its PinVersions grant: every version of Goodbye (was Hello); "
        "WorkflowRolePinVersionsInvokeHello leaves the template, retained\n"
    ) in result.stdout

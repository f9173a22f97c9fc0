"""Properties of the macro on generated templates, through the handler as CloudFormation calls it.

For every generated template (``strategies.cases``), in every definition form:
- the handler answers ``success`` with a fragment or ``failure`` with a one-line message;
  it never raises and never answers ``internal error``;
- the same request gives byte-identical JSON, here and in processes with other hash seeds;
- the request is not mutated; a second pass over a successful output changes nothing;
- it only adds and rewrites: every resource keeps its Type, resources it has no reason to
  touch are unchanged, what is added is a retained ``AWS::Lambda::Version`` per pinned
  function (and, for a role its functions depend on, one ``AWS::IAM::Policy``), each new
  version meets a Description stamp, and no Sub variable or substitution key is left unused;
- every Task that names an in-template function without a qualifier invokes a version
  afterwards, unless the report says why it was left alone (checked by evaluating the
  definition independently of the macro), and the execution role allows every version.

CI runs a fixed set of cases (the ``ci`` profile in conftest.py). To explore other cases:
    .venv/bin/python -m pytest -n 2 tests/test_properties.py tests/test_fuzz.py --hypothesis-seed=7
    HYPOTHESIS_PROFILE=explore .venv/bin/python -m pytest -n 2 tests/test_properties.py \
        tests/test_fuzz.py
``explore`` draws a random seed on every run and ten times the cases, keeps failures in
.hypothesis/ and prints a blob to reproduce them; ``HYPOTHESIS_PROFILE=shrink`` replays the CI
cases and shrinks a failure CI reported (CI itself does not shrink: it takes minutes).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

import strategies
from pin_versions import Context, transform
from pin_versions.handler import lambda_handler
from pin_versions.report import format_path
from strategies import budget, deep_recursion, quota
from support import ACCOUNT, REGION, ROOT, macro_event, unused_placeholders

FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")
VERSION = "AWS::Lambda::Version"
# What the macro may rewrite, per resource type; everything else must stay as it was.
REWRITABLE = {
    "AWS::Lambda::Function": {"Description"},
    # SAM's version follows the function (AutoPublishAlias) and is retained.
    "AWS::Serverless::Function": {
        "Description",
        "AutoPublishAliasAllProperties",
        "VersionDeletionPolicy",
    },
    "AWS::StepFunctions::StateMachine": {
        "Definition",
        "DefinitionString",
        "DefinitionSubstitutions",
    },
    # Issue 15 (Alias option, before SAM): SAM makes the alias from these two.
    "AWS::Serverless::StateMachine": {
        "Definition",
        "DefinitionSubstitutions",
        "AutoPublishAlias",
        "DeploymentPreference",
        "UseAliasAsEventTarget",
    },
}
DIAGNOSTIC = re.compile(r"\[PV9[0-9][0-9]\]")


# --- running the handler ---------------------------------------------------------------------


def dumps(value: Any) -> str:
    with deep_recursion():
        return json.dumps(value, sort_keys=False)


@dataclass
class Outcome:
    event: dict[str, Any]
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.response["status"] == "success"

    @property
    def fragment(self) -> dict[str, Any]:
        fragment = self.response["fragment"]
        assert isinstance(fragment, dict)
        return fragment


@contextmanager
def quiet() -> Iterator[None]:
    """The handler's one info line per request, thousands of times, is noise here; errors
    (an internal error's stack trace) still show."""
    handler_logger = logging.getLogger("pin-versions")
    level = handler_logger.level
    handler_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        handler_logger.setLevel(level)


# Frames a handler has in Lambda: Python's default recursion limit of 1,000, less the
# runtime's own frames above it.
LAMBDA_FREE_FRAMES = 970


def _stack_depth() -> int:
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    return depth


@contextmanager
def lambda_stack() -> Iterator[None]:
    """The recursion room the handler has in Lambda. Hypothesis raises the limit while a test
    runs, which would hide a RecursionError on deeply nested templates."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + LAMBDA_FREE_FRAMES)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def answer(event: Any) -> dict[str, Any]:
    """One call, checked: never raises, answers with exactly the macro contract's keys."""
    with deep_recursion():
        before = copy.deepcopy(event)
    with quiet(), lambda_stack():
        response = lambda_handler(event, None)
    with deep_recursion():
        assert event == before, "the handler mutated its request"
    assert isinstance(response, dict)
    status = response.get("status")
    assert status in ("success", "failure"), response
    if status == "success":
        assert set(response) == {"requestId", "status", "fragment"}, sorted(response)
        assert isinstance(response["fragment"], dict)
    else:
        # On failure nothing of the template comes back: no partial edit can be deployed.
        assert set(response) == {"requestId", "status", "errorMessage"}, sorted(response)
        message = response["errorMessage"]
        assert isinstance(message, str) and message.strip(), response
        # An internal error is a bug in the macro, whatever the input.
        assert not message.startswith("internal error") and "[PV900]" not in message, message
        assert DIAGNOSTIC.search(message), f"no PV9xx code: {message}"
        assert "\n" not in message and "\r" not in message, f"not one line: {message!r}"
    return response


def check_request(event: Any) -> dict[str, Any]:
    """The invariants every request must keep; returns the response."""
    response = answer(event)
    again = answer(event)
    assert dumps(again) == dumps(response), "the same request gave a different answer"
    return response


def check_case(case: strategies.Case) -> Outcome:
    """Every invariant of one template: answer, determinism, idempotence, only additions."""
    event = macro_event(case.template, case.parameters)
    response = check_request(event)
    outcome = Outcome(event, response)
    if outcome.ok:
        output = outcome.fragment
        check_only_adds_and_rewrites(event["fragment"], output)
        check_versions_meet_changes(event["fragment"], output)
        # No Fn::Sub variable or substitution key left unused (cfn-lint must stay clean).
        unused = unused_placeholders(output) - unused_placeholders(event["fragment"])
        assert not unused, f"left unused: {sorted(unused)}"
        second_event = dict(event, fragment=output)
        second = answer(second_event)
        assert second["status"] == "success", f"second pass failed: {second.get('errorMessage')}"
        assert dumps(second["fragment"]) == dumps(output), "a second pass changed the output"
    return outcome


# --- only adds and rewrites ------------------------------------------------------------------

# <Function>Version<10 hex>[a-f]: alphanumeric when the function's logical ID is.
_VERSION_ID = re.compile(r"(?P<function>.+)Version[0-9a-f]{10}[a-f]?", re.S)
# <Role>PinVersionsInvoke<Function><10 hex>: a retained grant (docs/design.md, Day 2).
_GRANT_ID = re.compile(r"(?P<role>.*)PinVersionsInvoke(?P<function>.*)(?P<h>[0-9a-f]{10})", re.S)


def _without(mapping: Any, keys: set[str]) -> Any:
    if not isinstance(mapping, dict):
        return mapping
    return {k: v for k, v in mapping.items() if k not in keys}


def _unless(value: Any) -> Any:
    """``Fn::If [Cond, X, !Ref AWS::NoValue]`` -> X (how conditional additions are written)."""
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        _, value, otherwise = value["Fn::If"]
        assert otherwise == {"Ref": "AWS::NoValue"}, otherwise
    return value


# Issue 14 kinds: what a grant may allow, by its first action (docs/design.md, "More than
# Lambda: target kinds"); the resource each entry may name is checked below.
KIND_TYPES = {
    "states:StartExecution": MACHINE_TYPES,
    "ecs:RunTask": ("AWS::ECS::TaskDefinition",),
    "batch:SubmitJob": ("AWS::Batch::JobDefinition",),
}
_SYNC_EXECUTIONS = (
    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${%s.Name}:*"
)
_SYNC_RULE = (
    "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
    "StepFunctionsGetEventsForStepFunctionsExecutionRule"
)


def _kind_document(statements: list[Any], target: str, types: dict[str, Any]) -> None:
    """A grant of another kind names exactly its target: StartExecution on ``Ref M`` (and
    for .sync its executions and Step Functions' events rule), RunTask / SubmitJob on every
    revision of one family or job definition name (``:*``, never a prefix wildcard)."""
    first = statements[0]
    assert first["Effect"] == "Allow" and types.get(target) in KIND_TYPES[first["Action"]]
    if first["Action"] == "states:StartExecution":
        assert first["Resource"] == [{"Ref": target}], first
        assert statements[1:] in (
            [],
            [
                {
                    "Effect": "Allow",
                    "Action": ["states:DescribeExecution", "states:StopExecution"],
                    "Resource": [{"Fn::Sub": _SYNC_EXECUTIONS % target}],
                },
                {
                    "Effect": "Allow",
                    "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    "Resource": [{"Fn::Sub": _SYNC_RULE}],
                },
            ],
        ), statements
        return
    (resource,) = first["Resource"]
    sub = resource["Fn::Sub"]
    text = sub if isinstance(sub, str) else sub[0]
    assert re.fullmatch(r"arn:\$\{AWS::Partition\}:(ecs|batch):.*/[^*/:]+:\*", text), text
    if not isinstance(sub, str):
        assert json.dumps(sub[1]).count(json.dumps({"Ref": target})) == 1, sub
    assert len(statements) == 1, statements


def _pin_document(
    document: Any, functions: dict[str, Any], target: str = "", types: Any = None
) -> None:
    """A document the macro wrote: invoke on ``${F.Arn}:*`` of template functions, sorted."""
    document = _unless(document)
    if document["Statement"][0]["Action"] in KIND_TYPES:
        _kind_document(document["Statement"], target, types or {})
        return
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "lambda:InvokeFunction"
    names: list[str] = []
    for entry in statement["Resource"]:
        if list(entry) == ["Fn::If"]:
            condition = entry["Fn::If"][0]
            entry = _unless(entry)
            assert functions[_sub_function(entry)].get("Condition") == condition
        names.append(_sub_function(entry))
    assert names == sorted(names), names
    assert all(n in functions for n in names), names


def _sub_function(entry: Any) -> str:
    # Every version of F, never a prefix wildcard such as function:name*.
    match = re.fullmatch(r"\$\{([^}]+)\.Arn\}:\*", entry.get("Fn::Sub", ""))
    assert match, entry
    return match.group(1)


def _appended(old: Any, new: Any, where: str) -> list[Any]:
    """What was added to a list property; the user's entries stay first and unchanged."""
    listed = [] if old is None else old if isinstance(old, list) else [old]
    assert isinstance(new, list) and new[: len(listed)] == listed, f"{where}: entries edited"
    return new[len(listed) :]


def check_only_adds_and_rewrites(before: dict[str, Any], after: dict[str, Any]) -> None:
    for key in before:
        assert key in after, f"top-level {key} removed"
        if key not in ("Resources", "Conditions"):
            assert after[key] == before[key], f"top-level {key} changed"
    assert set(after) - set(before) <= {"Conditions"}, sorted(set(after) - set(before))
    old_conditions = before.get("Conditions") if isinstance(before.get("Conditions"), dict) else {}
    new_conditions = after.get("Conditions")
    if new_conditions is not None and not isinstance(new_conditions, dict):
        # Not a mapping: nothing was added to it, so it is left exactly as it was.
        assert new_conditions == before.get("Conditions"), "top-level Conditions changed"
        new_conditions = {}
    for name, value in (new_conditions or {}).items():
        if name in old_conditions:
            assert value == old_conditions[name], f"condition {name} changed"
        else:
            # A retained grant's condition is named like the grant.
            assert "PinVersionsInvoke" in name and name in after["Resources"], name
            assert after["Resources"][name].get("Condition") == name, name

    resources, new = before["Resources"], after["Resources"]
    functions = {
        k: v for k, v in new.items() if isinstance(v, dict) and v.get("Type") in FUNCTION_TYPES
    }
    added = [k for k in new if k not in resources]
    for logical_id, resource in resources.items():
        assert logical_id in new, f"{logical_id} removed"
        output = new[logical_id]
        if output == resource:
            continue
        rtype = resource.get("Type")
        assert isinstance(output, dict) and output.get("Type") == rtype, (
            f"{logical_id} changed type"
        )
        if rtype in MACHINE_TYPES and output.get("DependsOn") != resource.get("DependsOn"):
            # A state machine may wait for a policy resource the macro added for its role.
            depends = _appended(resource.get("DependsOn"), output.get("DependsOn"), logical_id)
            assert all(d in added for d in depends), depends
            output = _without(output, {"DependsOn"}) | (
                {"DependsOn": resource["DependsOn"]} if "DependsOn" in resource else {}
            )
        child = rtype in MACHINE_TYPES and any(
            isinstance(v, dict)
            and v.get("Type") == MACHINE_VERSION
            and isinstance(v.get("Properties"), dict)
            and v["Properties"].get("StateMachineArn") == {"Ref": logical_id}
            for v in new.values()
        )
        if rtype in FUNCTION_TYPES or (
            child and output.get("UpdateReplacePolicy") != resource.get("UpdateReplacePolicy")
        ):
            # A pinned function or child state machine outlives a replacement (it takes its
            # versions with it); deleting the stack still deletes it.
            assert output.get("UpdateReplacePolicy") == "Retain", logical_id
            assert output.get("DeletionPolicy") == resource.get(
                "DeletionPolicy", None if str(rtype).startswith("AWS::Serverless::") else "Delete"
            ), logical_id
            output = _without(output, {"UpdateReplacePolicy", "DeletionPolicy"}) | {
                k: resource[k] for k in ("UpdateReplacePolicy", "DeletionPolicy") if k in resource
            }
        if rtype in REWRITABLE:
            assert _without(output, {"Properties"}) == _without(resource, {"Properties"}), (
                logical_id
            )
            allowed = REWRITABLE[rtype]
            old, props = resource.get("Properties") or {}, output.get("Properties") or {}
            assert _without(props, allowed) == _without(old, allowed), (
                f"{logical_id}: the macro touched more than {sorted(allowed)}"
            )
        elif rtype == VERSION:
            # Retained; a reused version also follows its function: a stamped Description.
            retain = {"DeletionPolicy", "UpdateReplacePolicy", "Properties"}
            assert _without(output, retain) == _without(resource, retain), logical_id
            assert output["DeletionPolicy"] == output["UpdateReplacePolicy"] == "Retain"
            assert _without(output.get("Properties"), {"Description"}) == _without(
                resource.get("Properties"), {"Description"}
            ), logical_id
            description = (output.get("Properties") or {}).get("Description")
            if description != (resource.get("Properties") or {}).get("Description"):
                text = json.dumps(description)
                assert re.search(r"\[pin [0-9a-f]{10}\]", text), (logical_id, description)
        elif rtype in KIND_RETAINED:
            _check_kept_alive(logical_id, resource, output, new)
        elif rtype in ALIAS_TOUCHED:
            _check_alias_touched(logical_id, resource, output, new, added)
        else:
            raise AssertionError(f"{logical_id} ({rtype}) was changed")

    owners: Counter[str] = Counter()
    for logical_id in added:
        resource = new[logical_id]
        if _check_alias_added(logical_id, resource, new):
            continue
        if resource.get("Type") == "AWS::IAM::Policy":
            # A retained grant: one role, one function, every version of it.
            assert _GRANT_ID.fullmatch(logical_id), logical_id
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
            properties = resource["Properties"]
            (role,) = properties["Roles"]
            assert set(role) == {"Ref"}, logical_id
            assert str(properties["PolicyName"]).startswith("PinVersionsInvoke-"), logical_id
            grant = _GRANT_ID.fullmatch(logical_id)
            assert grant is not None
            types = {k: v.get("Type") for k, v in new.items() if isinstance(v, dict)}
            _pin_document(properties["PolicyDocument"], functions, grant["function"], types)
            assert len(properties["PolicyDocument"]["Statement"][0]["Resource"]) == 1
            continue
        if resource.get("Type") == MACHINE_VERSION:
            _check_machine_version(logical_id, resource, new)
            continue
        assert resource.get("Type") == VERSION, f"added {logical_id} is not a version"
        assert (
            resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain"
        )
        function = resource["Properties"]["FunctionName"]["Ref"]
        assert resource["Properties"] == {"FunctionName": {"Ref": function}}
        assert function in functions, logical_id
        assert resource.get("Condition") == functions[function].get("Condition"), logical_id
        match = _VERSION_ID.fullmatch(logical_id)
        assert match and match.group("function") == function and len(logical_id) <= 255, logical_id
        assert logical_id.isalnum() or not function.isalnum(), logical_id
        owners[function] += 1
    assert all(n == 1 for n in owners.values()), owners


MACHINE_VERSION = "AWS::StepFunctions::StateMachineVersion"
MACHINE_ALIAS = "AWS::StepFunctions::StateMachineAlias"
# Issue 15 (Alias option): callers moved to an alias, SAM's alias-ARN grants fixed, a reused
# alias retained. What changed must name an alias (or, in a role, be the fixed grant).
ALIAS_TOUCHED = {
    "AWS::Events::Rule",
    "AWS::Scheduler::Schedule",
    "AWS::Pipes::Pipe",
    "AWS::ApiGateway::Method",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGatewayV2::Api",
    "AWS::Serverless::Api",
    "AWS::Serverless::HttpApi",
    "AWS::IAM::Role",
    MACHINE_ALIAS,
}
_START_GRANT_ID = re.compile(r"(?P<role>.+)PinVersionsStart(?P<machine>.+)", re.S)


def _names(value: Any) -> set[str]:
    """Logical IDs a value names (Ref, Fn::GetAtt, ${X} in Fn::Sub)."""
    text = json.dumps(value, ensure_ascii=False)  # logical IDs as written, not \u-escaped
    found = set(re.findall(r'"Ref": "([^"]+)"', text))
    found |= set(re.findall(r'"Fn::GetAtt": \["([^"]+)"', text))
    found |= {n.split(".")[0] for n in re.findall(r"\$\{([^!}][^}]*)\}", text)}
    return found


def _differences(old: Any, new: Any) -> list[tuple[Any, Any]]:
    """The smallest differing (old, new) subtrees (an intrinsic function is one leaf)."""
    intrinsic = (
        type(old) is dict and len(old) == 1 and str(next(iter(old))).startswith(("Ref", "Fn::"))
    )
    if not intrinsic and type(old) is dict and type(new) is dict and set(old) == set(new):
        return [d for key in old for d in _differences(old[key], new[key])]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for a, b in zip(old, new, strict=True) for d in _differences(a, b)]
    return [] if old == new else [(old, new)]


def _check_alias_touched(
    logical_id: str,
    before: dict[str, Any],
    after: dict[str, Any],
    resources: dict[str, Any],
    added: list[str],
) -> None:
    types = {k: v.get("Type") for k, v in resources.items() if isinstance(v, dict)}
    aliases = {k for k, t in types.items() if t == MACHINE_ALIAS}
    if before["Type"] == MACHINE_ALIAS:
        # A reused alias: retained, nothing else.
        assert after["DeletionPolicy"] == after["UpdateReplacePolicy"] == "Retain", logical_id
        policies = {"DeletionPolicy", "UpdateReplacePolicy"}
        assert _without(after, policies) == _without(before, policies), logical_id
        return
    if after.get("DependsOn") != before.get("DependsOn"):
        depends = _appended(before.get("DependsOn"), after.get("DependsOn"), logical_id)
        assert all(d in added for d in depends), depends
    outside = {"Properties", "DependsOn"}
    assert _without(after, outside) == _without(before, outside), logical_id
    for old, new in _differences(before.get("Properties"), after.get("Properties")):
        if before["Type"] == "AWS::IAM::Role":
            # SAM's grant on an alias ARN, made the state machine's ARN and the qualifier.
            assert new["Action"] == "states:StartExecution", (logical_id, new)
            assert _names(old.get("Resource")) & aliases, (logical_id, old)
            machines = _names(new["Resource"])
            assert machines and all(types.get(m) in MACHINE_TYPES for m in machines), new
        else:
            assert _names(new) & aliases, f"{logical_id}: changed to {new}, naming no alias"


def _check_alias_added(logical_id: str, resource: dict[str, Any], new: dict[str, Any]) -> bool:
    """An alias or a caller's grant the Alias option added (True), checked; else False."""
    types = {k: v.get("Type") for k, v in new.items() if isinstance(v, dict)}
    if resource.get("Type") == MACHINE_ALIAS:
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
        properties = resource["Properties"]
        assert set(properties) == {"Name", "DeploymentPreference"}, logical_id
        # The Ref itself: a logical ID such as "${X}" (the fuzzer's) is not a Sub placeholder.
        version = properties["DeploymentPreference"]["StateMachineVersionArn"]["Ref"]
        assert types.get(version) == MACHINE_VERSION, logical_id
        machine = new[version]["Properties"]["StateMachineArn"]["Ref"]
        assert logical_id == f"{machine}Alias{properties['Name']}", logical_id
        assert resource.get("Condition") == new[machine].get("Condition"), logical_id
        return True
    grant = _START_GRANT_ID.fullmatch(logical_id)
    if resource.get("Type") == "AWS::IAM::Policy" and grant is not None:
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
        properties = resource["Properties"]
        assert properties["Roles"] == [{"Ref": grant["role"]}], logical_id
        assert str(properties["PolicyName"]).startswith("PinVersionsStart-"), logical_id
        (statement,) = properties["PolicyDocument"]["Statement"]
        assert statement["Action"] == "states:StartExecution", logical_id
        (machine,) = _names(statement["Resource"])
        assert types.get(machine) in MACHINE_TYPES, logical_id
        assert set(statement["Condition"]["StringEquals"]) == {"states:StateMachineQualifier"}
        return True
    return False


# Issue 14: what the macro may change on a resource it keeps alive for running executions.
KIND_RETAINED = {
    "AWS::ECS::TaskDefinition": set(),
    "AWS::Batch::JobDefinition": {"ResourceRetentionPolicy"},
    MACHINE_VERSION: {"StateMachineRevisionId"},
}


def _check_kept_alive(
    logical_id: str, before: dict[str, Any], after: dict[str, Any], resources: dict[str, Any]
) -> None:
    """Retained on both policies; only the kind's retention properties added or set."""
    assert after["DeletionPolicy"] == after["UpdateReplacePolicy"] == "Retain", logical_id
    policies = {"DeletionPolicy", "UpdateReplacePolicy", "Properties"}
    assert _without(after, policies) == _without(before, policies), logical_id
    allowed = KIND_RETAINED[before["Type"]]
    old, props = before.get("Properties") or {}, after.get("Properties") or {}
    assert _without(props, allowed) == _without(old, allowed), logical_id
    if "ResourceRetentionPolicy" in props:
        assert props["ResourceRetentionPolicy"]["SkipDeregisterOnUpdate"] is True
    if props.get("StateMachineRevisionId") != old.get("StateMachineRevisionId"):
        machine = props["StateMachineArn"]["Ref"]
        assert props["StateMachineRevisionId"] == {
            "Fn::GetAtt": [machine, "StateMachineRevisionId"]
        }, logical_id
        assert resources[machine]["Type"] in MACHINE_TYPES


def _check_machine_version(logical_id: str, resource: dict[str, Any], new: dict[str, Any]) -> None:
    """An added state machine version: fixed ID, the machine's revision, retained, under the
    machine's condition, and nothing else (no Description)."""
    machine = resource["Properties"]["StateMachineArn"]["Ref"]
    assert logical_id in (f"{machine}Version", f"{machine}PinVersionsVersion"), logical_id
    assert new[machine]["Type"] in MACHINE_TYPES, logical_id
    assert resource["Properties"] == {
        "StateMachineArn": {"Ref": machine},
        "StateMachineRevisionId": {"Fn::GetAtt": [machine, "StateMachineRevisionId"]},
    }
    assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    assert resource.get("Condition") == new[machine].get("Condition"), logical_id


_STAMPING_OFF = ("false", "False", False)


def check_versions_meet_changes(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Every new version meets a change of its function: the Description carries the stamp
    of the hash in the version's logical ID (else CloudFormation fails the deploy with "A
    version for this Lambda function exists"), within Lambda's 256 characters."""
    metadata = before.get("Metadata")
    options = metadata.get("PinVersions") if isinstance(metadata, dict) else None
    if isinstance(options, dict) and options.get("DescriptionStamp") in _STAMPING_OFF:
        return
    for logical_id, resource in after["Resources"].items():
        if logical_id in before["Resources"] or resource.get("Type") != VERSION:
            continue
        function = resource["Properties"]["FunctionName"]["Ref"]
        digest = logical_id[len(function) + len("Version") :][:10]
        stamp = f"[pin {digest}]"
        description = after["Resources"][function]["Properties"].get("Description")
        if isinstance(description, str):
            assert description.endswith(stamp) and len(description) <= 256, (
                logical_id,
                description,
            )
        else:
            assert description["Fn::Join"][1][-1] == " " + stamp, (logical_id, description)


# --- evaluating definitions independently of the macro -------------------------------------

KNOWN = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
OPEN, CLOSE = "\u27ea", "\u27eb"  # ⟪X⟫ stands for a value only CloudFormation knows
# Fn::Sub: ${!Literal} renders ${Literal}, a bare ${! renders ${, ${Name} is a placeholder.
# An escape never spans a $: every ${! renders ${, as cfn-lint's model of Fn::Sub has it
# (cfnlint.helpers.REGEX_SUB_PARAMETERS: a variable is ${ followed by anything but !). So
# neither a ${! nor a stray ${ may be read as the start of a ${...} that runs over the next $.
_SUB = re.compile(r"\$\{!([^}$]*)\}|\$\{!|\$\{([^}$]*)\}")
_NAME = re.compile(r"[A-Za-z0-9_:.\-]+")
# A DefinitionSubstitutions placeholder.
_KEY = re.compile(r"\$\{([A-Za-z0-9_:.\-]+)\}")
_INVOKE = re.compile(r"arn:[^:]+:states:::(?:aws-sdk:)?lambda:invoke(?:\.waitForTaskToken)?")
_FULL_ARN = re.compile(
    r"arn:aws:lambda:(?P<r>[^:]*):(?P<a>[^:]*):function:(?P<n>[^:]+)(?::(?P<q>.+))?"
)
_PARTIAL_ARN = re.compile(r"(?P<a>[^:]+):function:(?P<n>[^:]+)(?::(?P<q>.+))?")
_TOKEN = re.compile(f"{OPEN}([^{OPEN}{CLOSE}]+){CLOSE}")


class Opaque(Exception):
    pass


class Evaluator:
    """Renders template values to text as CloudFormation and Step Functions would."""

    def __init__(self, template: dict[str, Any], values: dict[str, Any]) -> None:
        self.template = template
        self.known = dict(KNOWN)
        self.known.update({k: v for k, v in values.items() if isinstance(v, str)})
        resources = template.get("Resources")
        self.resources: dict[str, Any] = resources if isinstance(resources, dict) else {}
        self.types = {k: v.get("Type") for k, v in self.resources.items() if isinstance(v, dict)}
        self.functions = {k for k, t in self.types.items() if t in FUNCTION_TYPES}
        self.names: dict[str, str] = {}
        for logical_id in sorted(self.functions):
            properties = self.resources[logical_id].get("Properties")
            if isinstance(properties, dict) and "FunctionName" in properties:
                try:
                    name = self.text(properties["FunctionName"])
                except Opaque:
                    continue
                if OPEN not in name:
                    self.names.setdefault(name, logical_id)

    def text(self, value: Any, variables: dict[str, Any] | None = None, depth: int = 0) -> str:
        if depth > 40:
            raise Opaque("deep")
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or value is None:
            return json.dumps(value)
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, dict) or len(value) != 1:
            raise Opaque(type(value).__name__)
        ((key, args),) = value.items()
        if key == "Ref" and isinstance(args, str):
            return self.known.get(args, OPEN + args + CLOSE)
        if key == "Fn::GetAtt":
            if isinstance(args, str) and "." in args:
                return OPEN + args + CLOSE
            if isinstance(args, list) and len(args) == 2 and all(isinstance(a, str) for a in args):
                return OPEN + ".".join(args) + CLOSE
        if key == "Fn::Sub":
            if isinstance(args, str):
                return self.sub(args, {}, depth)
            if (
                isinstance(args, list)
                and len(args) == 2
                and isinstance(args[0], str)
                and isinstance(args[1], dict)
            ):
                return self.sub(args[0], args[1], depth)
        if key == "Fn::Join" and isinstance(args, list) and len(args) == 2:
            delimiter, parts = args
            if isinstance(delimiter, str) and isinstance(parts, list):
                return delimiter.join(self.text(p, variables, depth + 1) for p in parts)
        raise Opaque(key)

    def sub(self, string: str, variables: dict[str, Any], depth: int) -> str:
        def replace(match: re.Match[str]) -> str:
            escaped, name = match.groups()
            if escaped is not None:
                return "${" + escaped + "}"
            if name is None:
                return "${"
            if not _NAME.fullmatch(name):
                return match.group(0)
            if name in variables:
                return self.text(variables[name], None, depth + 1)
            return self.known.get(name, OPEN + name + CLOSE)

        return _SUB.sub(replace, string)

    def definition(self, properties: dict[str, Any]) -> tuple[str, Any] | None:
        """(property, the definition as Step Functions receives it), when visible."""
        substitutions = properties.get("DefinitionSubstitutions", {})
        if not isinstance(substitutions, dict):
            return None
        try:
            if "Definition" in properties:
                prop, text = (
                    "Definition",
                    json.dumps(self.tree(properties["Definition"]), ensure_ascii=False),
                )
            elif "DefinitionString" in properties:
                prop, text = "DefinitionString", self.text(properties["DefinitionString"])
            else:
                return None
            rendered = {k: self.text(v) for k, v in substitutions.items()}
        except (Opaque, RecursionError):
            return None

        def substitute(match: re.Match[str]) -> str:
            return rendered.get(match.group(1), match.group(0))

        try:
            return prop, json.loads(_KEY.sub(substitute, text))
        except (json.JSONDecodeError, RecursionError):
            return None

    def tree(self, value: Any, depth: int = 0) -> Any:
        """A Definition object with every intrinsic rendered to text."""
        if depth > 200:
            raise Opaque("deep")
        if isinstance(value, dict):
            if len(value) == 1 and (
                next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")
            ):
                return self.text(value)
            return {k: self.tree(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self.tree(v, depth + 1) for v in value]
        return value

    def function_of(self, value: str, field: str) -> tuple[str, str | None] | None:
        """(function, qualifier) when ``value`` names an in-template function."""
        token = _TOKEN.fullmatch(value)
        if token:
            name = token.group(1)
            base = name[: -len(".Arn")] if name.endswith(".Arn") else name
            return (base, None) if base in self.functions else None
        match = _FULL_ARN.fullmatch(value) or _PARTIAL_ARN.fullmatch(value)
        if match:
            groups = match.groupdict()
            if groups.get("r") not in (None, REGION) or groups["a"] != ACCOUNT:
                return None
            function = self._named(groups["n"])
            return (function, groups.get("q")) if function else None
        if field == "FunctionName":
            name, _, qualifier = value.partition(":")
            function = self._named(name)
            return (function, qualifier or None) if function else None
        return None

    def _named(self, name: str) -> str | None:
        token = _TOKEN.fullmatch(name)
        if token:
            return token.group(1) if token.group(1) in self.functions else None
        return self.names.get(name)

    def version_owner(self, value: str) -> str | None:
        """The function whose version ``value`` invokes, if it invokes one of this template."""
        token = _TOKEN.fullmatch(value)
        if token and self.types.get(token.group(1)) == VERSION:
            return self._owner(token.group(1))
        if token and token.group(1).endswith(".Version"):
            # SAM's AutoPublishAlias version of F: !Ref F.Version.
            function = token.group(1)[: -len(".Version")]
            return function if self.types.get(function) == "AWS::Serverless::Function" else None
        named = self.function_of(value, "FunctionName")
        if named and named[1]:
            qualifier = _TOKEN.fullmatch(named[1])
            if qualifier and qualifier.group(1).endswith(".Version"):
                version = qualifier.group(1)[: -len(".Version")]
                if self.types.get(version) == VERSION and self._owner(version) == named[0]:
                    return named[0]
        return None

    def _owner(self, version: str) -> str | None:
        properties = self.resources[version].get("Properties") or {}
        try:
            named = self.function_of(self.text(properties.get("FunctionName")), "FunctionName")
        except Opaque:
            return None
        return named[0] if named and named[1] is None else None


def _path(parts: tuple[str | int, ...]) -> str:
    # The macro's own notation (keys with dots or control characters are quoted), so that
    # warnings can be matched to targets by path.
    return format_path(parts)


def task_targets(evaluator: Evaluator) -> dict[str, str]:
    """Every Task target of every visible definition: template path -> rendered value."""
    targets: dict[str, str] = {}
    for logical_id, rtype in evaluator.types.items():
        properties = evaluator.resources[logical_id].get("Properties")
        if rtype not in MACHINE_TYPES or not isinstance(properties, dict):
            continue
        seen = evaluator.definition(properties)
        if seen is None:
            continue
        prop, definition = seen
        stack: list[tuple[Any, tuple[str | int, ...]]] = [
            (definition, ("Resources", logical_id, "Properties", prop))
        ]
        while stack:
            machine, where = stack.pop()
            states = machine.get("States") if isinstance(machine, dict) else None
            if not isinstance(states, dict):
                continue
            for name, state in states.items():
                if not isinstance(state, dict):
                    continue
                path = (*where, "States", name)
                branches = state.get("Branches")
                if state.get("Type") == "Parallel" and isinstance(branches, list):
                    stack.extend((b, (*path, "Branches", i)) for i, b in enumerate(branches))
                if state.get("Type") == "Map":
                    stack.extend(
                        (state[k], (*path, k)) for k in ("ItemProcessor", "Iterator") if k in state
                    )
                if state.get("Type") == "Task" and isinstance(state.get("Resource"), str):
                    target = _target(state, path)
                    if target is not None:
                        targets[_path(target[0])] = target[1]
    return targets


def _target(
    state: dict[str, Any], path: tuple[str | int, ...]
) -> tuple[tuple[str | int, ...], str] | None:
    resource = state["Resource"]
    if not _INVOKE.fullmatch(resource):
        return (*path, "Resource"), resource
    for key in ("Parameters", "Arguments"):
        args = state.get(key)
        if isinstance(args, dict):
            if "Qualifier" in args or "Qualifier.$" in args or "FunctionName.$" in args:
                return None
            name = args.get("FunctionName")
            return ((*path, key, "FunctionName"), name) if isinstance(name, str) else None
    return None


LEFT_ALONE_CODES = {"PV105", "PV108", "PV110", "PV111", "PV132"}


def check_targets_pinned(event: dict[str, Any], output: dict[str, Any]) -> tuple[int, int]:
    """Every Task naming an in-template function without a qualifier now invokes one of its
    versions, unless the report says why it was left alone.

    Returns how many targets were followed, and how many the report says it pinned.
    """
    values = event["templateParameterValues"]
    result = transform(event["fragment"], Context(REGION, ACCOUNT, dict(values)))
    assert dumps(result.template) == dumps(output), "transform() and the handler disagree"
    warnings = {(w.code, w.path) for w in result.report.warnings}
    before = Evaluator(event["fragment"], values)
    after = Evaluator(output, values)
    targets_after = task_targets(after)
    checked = 0
    for path, value in task_targets(before).items():
        named = before.function_of(value, path.rsplit(".", 1)[-1])
        if named is None or named[1] is not None:
            continue
        function = named[0]
        machine = ".".join(path.split(".")[:2])
        definition = ".".join(path.split(".")[:4])
        excused = {c for c, p in warnings if p == path} & LEFT_ALONE_CODES
        if excused or ("PV110", machine) in warnings or ("PV105", definition) in warnings:
            continue
        others = sorted(c for c, p in warnings if p == path)
        assert path in targets_after, f"{path}: the target disappeared"
        assert after.version_owner(targets_after[path]) == function, (
            f"{path} names {function} as {value!r} and now {targets_after[path]!r}, "
            f"not a version of it; warnings there: {others}"
        )
        checked += 1
    return checked, len(result.report.pins)


# --- the execution role ---------------------------------------------------------------------

_MANAGED = re.compile(
    r"arn:aws:iam::aws:policy/(?:service-role/AWSLambdaRole|AWSLambda_FullAccess|AdministratorAccess|PowerUserAccess)"
)


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _unwrap_if(value: Any) -> Any:
    if isinstance(value, dict) and list(value) == ["Fn::If"] and isinstance(value["Fn::If"], list):
        args = value["Fn::If"]
        if len(args) == 3 and args[2] == {"Ref": "AWS::NoValue"}:
            return args[1]
    return value


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S
    )


def _holds(evaluator: Evaluator, condition: Any, owns: set[str]) -> bool:
    """Is ``condition`` true whenever the conditions in ``owns`` are (a retained grant's
    condition: its role's and function's, combined with Fn::And)?"""
    if condition is None or (isinstance(condition, str) and condition in owns):
        return True
    conditions = evaluator.template.get("Conditions") or {}
    body = conditions.get(condition) if isinstance(condition, str) else condition
    if isinstance(body, dict) and list(body) == ["Condition"]:
        return _holds(evaluator, body["Condition"], owns)
    if isinstance(body, dict) and list(body) == ["Fn::And"]:
        return all(_holds(evaluator, operand, owns) for operand in body["Fn::And"])
    return False


def role_allows_every_version(
    evaluator: Evaluator, role: str, function: str, machine: str | None = None
) -> bool:
    own_condition = (evaluator.resources[function] or {}).get("Condition")
    owns = {
        c
        for c in (
            own_condition,
            (evaluator.resources.get(role) or {}).get("Condition"),
            (evaluator.resources.get(machine or "") or {}).get("Condition"),
        )
        if isinstance(c, str)
    }
    properties = (evaluator.resources.get(role) or {}).get("Properties") or {}
    documents: list[Any] = []
    for policy in _listify(properties.get("Policies", [])):
        policy = _unwrap_if(policy)
        if isinstance(policy, dict):
            documents.append(policy.get("PolicyDocument"))
    managed = set()
    for value in _listify(properties.get("ManagedPolicyArns", [])):
        if isinstance(value, dict) and isinstance(value.get("Ref"), str):
            managed.add(value["Ref"])
        try:
            if _MANAGED.fullmatch(evaluator.text(value)):
                return True
        except Opaque:
            pass
    for logical_id, resource in evaluator.resources.items():
        # A conditional policy counts only where it exists whenever the function does.
        if not isinstance(resource, dict) or not _holds(evaluator, resource.get("Condition"), owns):
            continue
        props = resource.get("Properties") or {}
        rtype = resource.get("Type")
        if rtype == "AWS::IAM::RolePolicy":
            attached = props.get("RoleName") == {"Ref": role}
        else:
            attached = rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and (
                {"Ref": role} in _listify(props.get("Roles", [])) or logical_id in managed
            )
        if attached:
            documents.append(props.get("PolicyDocument"))
    return any(_document_allows(evaluator, d, function) for d in documents)


def _document_allows(evaluator: Evaluator, document: Any, function: str) -> bool:
    name = next((n for n, f in evaluator.names.items() if f == function), OPEN + function + CLOSE)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    if isinstance(document, dict):
        for statement in _listify(document.get("Statement", [])):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            if {"Condition", "NotAction", "NotResource"} & set(statement):
                continue
            actions = [a for a in _listify(statement.get("Action")) if isinstance(a, str)]
            if not any(_glob(a.lower()).fullmatch("lambda:invokefunction") for a in actions):
                continue
            for resource in _listify(statement.get("Resource")):
                try:
                    text = evaluator.text(_unwrap_if(resource))
                except Opaque:
                    continue
                text = text.replace(OPEN + function + ".Arn" + CLOSE, arn)
                pattern = _glob(text)
                if all(pattern.fullmatch(f"{arn}:{q}") for q in ("1", "42", "live", "$LATEST")):
                    return True
    return False


def sam_policies_allow_every_version(evaluator: Evaluator, policies: Any, function: str) -> bool:
    """SAM builds the role of a state machine without Role from its Policies."""
    name = next((n for n, f in evaluator.names.items() if f == function), OPEN + function + CLOSE)
    for entry in _listify(policies if policies is not None else []):
        entry = _unwrap_if(entry)
        if isinstance(entry, str):
            if entry in ("AWSLambdaRole", "AWSLambda_FullAccess") or _MANAGED.fullmatch(entry):
                return True
        elif isinstance(entry, dict) and isinstance(entry.get("LambdaInvokePolicy"), dict):
            # SAM's template: function:${FunctionName}*, every version included.
            try:
                named = evaluator.text(entry["LambdaInvokePolicy"].get("FunctionName"))
            except Opaque:
                continue
            if named in (name, OPEN + function + CLOSE):
                return True
        elif isinstance(entry, dict) and _document_allows(evaluator, entry, function):
            return True
    return False


def _role_of(evaluator: Evaluator, properties: dict[str, Any]) -> str | None:
    value = properties.get("RoleArn", properties.get("Role"))
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        args = value["Fn::GetAtt"]
        parts = args.split(".", 1) if isinstance(args, str) else args
        if isinstance(parts, list) and len(parts) == 2 and parts[1] == "Arn":
            role = parts[0]
            return role if evaluator.types.get(role) == "AWS::IAM::Role" else None
    try:
        text = evaluator.text(value)
    except Opaque:
        return None
    match = re.fullmatch(f"arn:aws:iam::{ACCOUNT}:role/{OPEN}([A-Za-z0-9]+){CLOSE}", text)
    if match and evaluator.types.get(match.group(1)) == "AWS::IAM::Role":
        return match.group(1)
    return None


def _task_credentials(
    evaluator: Evaluator, properties: dict[str, Any], parts: tuple[str | int, ...]
) -> Any:
    """The rendered ``Credentials.RoleArn`` of the Task a pin is in (``""`` when the Task
    has Credentials without a static RoleArn), or None when it has no Credentials."""
    found = evaluator.definition(properties)
    if found is None:
        return None
    node: Any = found[1]
    task: Any = None
    for key in parts[4:]:
        if isinstance(node, dict) and node.get("Type") == "Task":
            task = node
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    if not isinstance(task, dict) or "Credentials" not in task:
        return None
    credentials = task["Credentials"]
    role = credentials.get("RoleArn") if isinstance(credentials, dict) else None
    return role if isinstance(role, str) else ""


def check_roles(event: dict[str, Any], output: dict[str, Any]) -> None:
    """Each pinned function's versions are allowed by the in-template role of its machine."""
    options = (event["fragment"].get("Metadata") or {}).get("PinVersions") or {}
    widen = str(options.get("WidenRoles", True)).lower() != "false"
    values = event["templateParameterValues"]
    result = transform(event["fragment"], Context(REGION, ACCOUNT, dict(values)))
    evaluator = Evaluator(output, values)
    # Roles the macro says it could not edit (PV113), with the statement to add by hand.
    uneditable = {
        w.path.removesuffix(".Properties.Policies")
        for w in result.report.warnings
        if w.code == "PV113"
    }
    uneditable |= {f"{p}.Properties.Policies" for p in uneditable}
    for pin in result.report.pins:
        if pin.kind != "lambda":
            # The issue 14 kinds' grants are checked by shape in check_only_adds_and_rewrites
            # and by coverage rules in test_kinds.py; this oracle reads Lambda invokes only.
            continue
        machine = output["Resources"][pin.state_machine]
        properties = machine["Properties"]
        if machine["Type"] == "AWS::Serverless::StateMachine" and "Role" not in properties:
            if widen and f"Resources.{pin.state_machine}.Properties.Policies" not in uneditable:
                # SAM makes <StateMachine>Role from Policies; a retained grant names it.
                assert sam_policies_allow_every_version(
                    evaluator, properties.get("Policies"), pin.function
                ) or role_allows_every_version(
                    evaluator, f"{pin.state_machine}Role", pin.function, pin.state_machine
                ), f"{pin.state_machine}: Policies do not allow every version of {pin.function}"
            continue
        role = _role_of(evaluator, properties)
        credentials = _task_credentials(evaluator, properties, pin.parts)
        if credentials is not None:
            # Step Functions invokes with the Task's role (none known: the report warns).
            role = _role_of(evaluator, {"RoleArn": credentials})
        if role is None or f"Resources.{role}" in uneditable:
            continue
        if widen:
            assert role_allows_every_version(evaluator, role, pin.function, pin.state_machine), (
                f"{role} does not allow every version of {pin.function} ({pin.state_machine})"
            )
        else:
            assert output["Resources"][role] == event["fragment"]["Resources"][role], (
                f"WidenRoles is false but {role} changed"
            )
            assert not any(
                {"Ref": role} in (r.get("Properties") or {}).get("Roles", [])
                for k, r in output["Resources"].items()
                if k not in event["fragment"]["Resources"]
            ), f"WidenRoles is false but {role} got a grant"


# --- the tests -------------------------------------------------------------------------------

GENERATED_PER_FORM = 225  # x 9 forms = 2,025 generated templates in CI


@dataclass
class Tally:
    cases: int = 0
    successes: int = 0
    with_pins: int = 0  # successes that pinned at least one target
    checked: int = 0  # targets check_targets_pinned followed to a version
    failures: Counter[str] = field(default_factory=Counter)


def run_generated(form: str, examples: int) -> Tally:
    tally = Tally()

    @budget(examples)
    @given(case=strategies.cases(form))
    def run(case: strategies.Case) -> None:
        tally.cases += 1
        outcome = check_case(case)
        if outcome.ok:
            tally.successes += 1
            checked, pins = check_targets_pinned(outcome.event, outcome.fragment)
            tally.checked += checked
            tally.with_pins += pins > 0
            check_roles(outcome.event, outcome.fragment)
        else:
            tally.failures[DIAGNOSTIC.findall(outcome.response["errorMessage"])[-1]] += 1

    try:
        run()
    finally:
        strategies.CASES["generated"] += tally.cases
    return tally


@pytest.mark.parametrize("form", strategies.FORMS)
def test_generated_templates_keep_every_invariant(form: str) -> None:
    examples = quota(GENERATED_PER_FORM)
    tally = run_generated(form, examples)
    assert tally.cases >= examples
    # The generator must mostly produce deployable templates that pin something, or the
    # invariants above would hold vacuously.
    assert tally.successes >= tally.cases * 0.7, tally
    assert tally.with_pins >= tally.cases * 0.4, tally
    if form not in ("s3", "sam"):  # a definition in S3 is out of sight: nothing to follow
        assert tally.checked >= tally.cases, tally


# Run by the hash-seed test in fresh interpreters: one response per line, as JSON.
_CHILD = """
import json, sys
from pin_versions.handler import lambda_handler
with open(sys.argv[1], encoding="utf-8") as source:
    events = json.load(source)
with open(sys.argv[2], "w", encoding="utf-8") as out:
    for event in events:
        out.write(json.dumps(lambda_handler(event, None), sort_keys=False) + "\\n")
"""


def _responses_in_process(events_file: Path, out_file: Path, hash_seed: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(events_file), str(out_file)],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=300,
    )
    return out_file.read_bytes()


def test_responses_are_identical_across_hash_seeds(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []

    @budget(60)
    @given(case=strategies.cases())
    def collect(case: strategies.Case) -> None:
        events.append(macro_event(case.template, case.parameters))

    collect()
    strategies.CASES["generated in other processes"] += len(events)
    events.extend(macro_event(b.template, b.parameters) for b in strategies.real_templates())
    events_file = tmp_path / "events.json"
    events_file.write_text(json.dumps(events), encoding="utf-8")
    here = "".join(json.dumps(lambda_handler(e, None), sort_keys=False) + "\n" for e in events)
    first = _responses_in_process(events_file, tmp_path / "a.jsonl", "1")
    second = _responses_in_process(events_file, tmp_path / "b.jsonl", "4242")
    assert first == second, "responses depend on the hash seed"
    assert first.decode("utf-8") == here, "responses differ between processes"
    assert first.count(b"\n") == len(events) >= 150


@pytest.mark.parametrize("base", strategies.real_templates(), ids=lambda b: b.name)
def test_real_templates_keep_every_invariant(base: strategies.Base) -> None:
    outcome = check_case(strategies.Case(base.template, base.parameters, base.name))
    if outcome.ok:
        check_targets_pinned(outcome.event, outcome.fragment)
        check_roles(outcome.event, outcome.fragment)


# --- failing examples the suites found, kept as explicit cases ----------------------------

REGRESSIONS = sorted((ROOT / "tests" / "regressions").glob("*.json"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.stem)
def test_found_examples_keep_every_invariant(path: Path) -> None:
    """Each file is a case a suite once failed on (its ``name`` says which test): every
    invariant holds, and the macro's answer is a success that pins something."""
    found = json.loads(path.read_text(encoding="utf-8"))
    outcome = check_case(strategies.Case(found["template"], found["parameters"], path.stem))
    assert outcome.ok, outcome.response.get("errorMessage")
    checked, pins = check_targets_pinned(outcome.event, outcome.fragment)
    assert checked > 0 and pins > 0, (checked, pins)
    check_roles(outcome.event, outcome.fragment)


@pytest.mark.parametrize(
    "sub",
    [
        '"${!", "${!": {"F": "${Hello.Arn}"}',
        "${!a ${B} }",
        "${a b ${B}}",
        "${!!V{${!!Bar}",
        "${!x} ${!",
        "x${",
    ],
)
def test_the_evaluator_reads_sub_strings_as_the_macro_does(sub: str) -> None:
    """The oracle and ``intrinsics.parse_sub`` agree on what every Sub string renders and
    which placeholders it has (docs/design.md, "Reading Fn::Sub")."""
    from pin_versions.intrinsics import parse_sub

    macro = "".join(OPEN + t.text + CLOSE if t.kind == "ref" else t.text for t in parse_sub(sub))
    assert Evaluator({}, {}).sub(sub, {}, 0) == macro

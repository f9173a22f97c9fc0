"""Synthetic templates for the benchmark: N state machines of 12 Tasks each, in every
definition form PinVersions reads, sharing functions and execution roles.

One abstract definition per state machine is rendered in the machine's form (machine ``m``
gets ``FORMS[m % len(FORMS)]``), so every size above 7 machines holds every form. The same
machines can be rendered as a plain CloudFormation template (for the macro) or as the
equivalent SAM template (``AWS::Serverless::StateMachine`` / ``AWS::Serverless::Function``
with ``InlineCode``) for the SAM translator.

Targets are written as sentinels (``@@Fn03.arn@@``, ``@@Fn03.name@@``, ``@@partition@@``)
in the abstract definition and replaced per form: by intrinsics in a ``Definition`` object,
by ``${…}`` placeholders in ``Fn::Sub`` text, by literal ARNs and names in a plain
``DefinitionString``, by ``Fn::Join`` pieces (CDK style), or by ``DefinitionSubstitutions``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"

FORMS: tuple[str, ...] = (
    "object-getatt",  # Definition object, !GetAtt F.Arn and !Ref F
    "object-substitutions",  # Definition object with ${Key} of DefinitionSubstitutions
    "string-plain",  # DefinitionString plain JSON with literal ARNs and names
    "string-sub",  # DefinitionString !Sub "… ${F.Arn} …"
    "string-sub-variables",  # DefinitionString !Sub [text, {FArn: !GetAtt F.Arn}]
    "string-join-cdk",  # DefinitionString Fn::Join ["", [...]] as CDK emits it
    "s3-location",  # DefinitionS3Location + DefinitionSubstitutions (definition not visible)
)

TASKS_PER_BLOCK = 12
SENTINEL = re.compile(r"@@(?:(Fn\d+)\.(arn|name)|partition)@@")
LAMBDA_INVOKE = "arn:@@partition@@:states:::lambda:invoke"


@dataclass(frozen=True, slots=True)
class Shape:
    """What to generate. ``pad`` is the length of each definition's Comment: the knob that
    sets the template's bytes per state machine without changing its structure."""

    machines: int
    tasks: int = TASKS_PER_BLOCK  # per state machine, a multiple of 12
    functions: int = 24  # shared by all state machines
    # Execution roles, each shared by machines / roles machines. One: the macro adds a
    # retained grant per (role, function), so 4 roles would add 96 grants and the
    # 400-machine template would pass CloudFormation's 500 resources (PV906).
    roles: int = 1
    pad: int = 100


def function_id(index: int) -> str:
    return f"Fn{index:02d}"


def function_name(index: int) -> str:
    return f"pv-bench-fn{index:02d}"


def function_arn(index: int) -> str:
    return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{function_name(index)}"


def _comment(machine: int, pad: int) -> str:
    """The definition's Comment, exactly ``pad`` characters long."""
    text = f"PinVersions benchmark machine {machine}: "
    filler = "twelve Tasks calling shared functions, in a row, in a Parallel and in a Map. "
    return (text + filler * (pad // len(filler) + 1))[:pad]


def _task(machine: int, block: int, slot: int, shape: Shape, next_state: str | None) -> Any:
    """Task ``slot`` (0..11) of a block. Even slots put the function in ``Resource``; odd
    slots use ``lambda:invoke`` with ``Parameters.FunctionName`` (by ARN, or by name every
    fourth slot)."""
    fn = function_id((machine * 5 + block * 7 + slot) % shape.functions)
    name = f"B{block}T{slot + 1:02d}"
    state: dict[str, Any] = {"Type": "Task"}
    if slot % 2 == 0:
        state["Resource"] = f"@@{fn}.arn@@"
    else:
        state["Resource"] = LAMBDA_INVOKE
        kind = "name" if slot % 4 == 3 else "arn"
        state["Parameters"] = {"FunctionName": f"@@{fn}.{kind}@@", "Payload.$": "$"}
        state["OutputPath"] = "$.Payload"
    if next_state is None:
        state["End"] = True
    else:
        state["Next"] = next_state
    return name, state


def _chain(
    machine: int, block: int, slots: list[int], shape: Shape, after: str | None
) -> tuple[str, dict[str, Any]]:
    """Tasks ``slots`` in a row, the last one going to ``after`` (or ending)."""
    states: dict[str, Any] = {}
    names = [f"B{block}T{slot + 1:02d}" for slot in slots]
    for i, slot in enumerate(slots):
        following = names[i + 1] if i + 1 < len(slots) else after
        name, state = _task(machine, block, slot, shape, following)
        states[name] = state
    return names[0], states


def abstract_definition(machine: int, shape: Shape) -> dict[str, Any]:
    """The definition with sentinels for targets. Each block of 12 Tasks: four in a row, a
    Parallel of two branches of two, a Map (ItemProcessor) of two, and two more."""
    blocks = shape.tasks // TASKS_PER_BLOCK
    states: dict[str, Any] = {}
    for block in range(blocks):
        after = f"B{block + 1}T01" if block + 1 < blocks else "Done"
        fan, each = f"B{block}Fan", f"B{block}Each"
        _, chain = _chain(machine, block, [0, 1, 2, 3], shape, fan)
        states.update(chain)
        branches = []
        for slots in ([4, 5], [6, 7]):
            start, branch = _chain(machine, block, slots, shape, None)
            branches.append({"StartAt": start, "States": branch})
        states[fan] = {"Type": "Parallel", "Branches": branches, "ResultPath": None, "Next": each}
        start, inner = _chain(machine, block, [8, 9], shape, None)
        states[each] = {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": start,
                "States": inner,
            },
            "ResultPath": None,
            "Next": f"B{block}T11",
        }
        _, tail = _chain(machine, block, [10, 11], shape, after)
        states.update(tail)
    states["Done"] = {"Type": "Succeed"}
    return {
        "Comment": _comment(machine, shape.pad),
        "StartAt": "B0T01",
        "States": states,
    }


# --- rendering ----------------------------------------------------------------------------


def _map_strings(value: Any, replace: Any) -> Any:
    if isinstance(value, dict):
        return {k: _map_strings(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, replace) for v in value]
    if isinstance(value, str):
        return replace(value)
    return value


def _intrinsic(fn: str, kind: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [fn, "Arn"]} if kind == "arn" else {"Ref": fn}


def _subst_key(fn: str, kind: str) -> str:
    return f"{fn}{'Arn' if kind == 'arn' else 'Name'}"


def _used(definition: Any) -> list[tuple[str, str]]:
    """Sentinel targets in order of first use: (function logical ID, arn|name)."""
    seen: dict[tuple[str, str], None] = {}
    for match in SENTINEL.finditer(json.dumps(definition)):
        if match.group(1):
            seen[(match.group(1), match.group(2))] = None
    return list(seen)


def render_definition(form: str, definition: dict[str, Any], sam: bool) -> dict[str, Any]:
    """The state machine properties that carry the definition in ``form``.

    For SAM (which has no ``DefinitionString``) the string forms become the equivalent
    ``Definition`` object: literal ARNs, ``!Sub`` values, or substitutions.
    """
    used = _used(definition)
    if form == "object-getatt" or (sam and form == "string-join-cdk"):

        def to_intrinsic(text: str) -> Any:
            match = SENTINEL.fullmatch(text)
            if match and match.group(1):
                return _intrinsic(match.group(1), match.group(2))
            return SENTINEL.sub(PARTITION, text)

        return {"Definition": _map_strings(definition, to_intrinsic)}

    if form in ("object-substitutions", "s3-location") or (sam and form == "string-sub-variables"):
        substitutions = {_subst_key(fn, kind): _intrinsic(fn, kind) for fn, kind in used}

        def to_placeholder(text: str) -> str:
            return SENTINEL.sub(
                lambda m: (
                    "${" + _subst_key(m.group(1), m.group(2)) + "}" if m.group(1) else PARTITION
                ),
                text,
            )

        if form == "s3-location":
            bucket, key = "pv-bench-definitions", "machine.asl.json"
            location: dict[str, Any] = (
                {"DefinitionUri": f"s3://{bucket}/{key}"}
                if sam
                else {"DefinitionS3Location": {"Bucket": bucket, "Key": key}}
            )
            return {**location, "DefinitionSubstitutions": substitutions}
        return {
            "Definition": _map_strings(definition, to_placeholder),
            "DefinitionSubstitutions": substitutions,
        }

    if form == "string-plain":

        def to_literal(m: re.Match[str]) -> str:
            if not m.group(1):
                return PARTITION
            index = int(m.group(1)[2:])
            return function_arn(index) if m.group(2) == "arn" else function_name(index)

        if sam:
            return {"Definition": _map_strings(definition, lambda t: SENTINEL.sub(to_literal, t))}
        return {"DefinitionString": SENTINEL.sub(to_literal, json.dumps(definition))}

    if form == "string-sub":

        def to_sub(m: re.Match[str]) -> str:
            if not m.group(1):
                return "${AWS::Partition}"
            return "${" + m.group(1) + (".Arn}" if m.group(2) == "arn" else "}")

        if sam:
            return {
                "Definition": _map_strings(
                    definition,
                    lambda t: {"Fn::Sub": SENTINEL.sub(to_sub, t)} if SENTINEL.search(t) else t,
                )
            }
        return {"DefinitionString": {"Fn::Sub": SENTINEL.sub(to_sub, json.dumps(definition))}}

    if form == "string-sub-variables":

        def to_variable(m: re.Match[str]) -> str:
            if not m.group(1):
                return "${AWS::Partition}"
            return "${" + _subst_key(m.group(1), m.group(2)) + "}"

        text = SENTINEL.sub(to_variable, json.dumps(definition))
        variables = {_subst_key(fn, kind): _intrinsic(fn, kind) for fn, kind in used}
        return {"DefinitionString": {"Fn::Sub": [text, variables]}}

    if form == "string-join-cdk":
        text = json.dumps(definition, separators=(",", ":"))
        parts: list[Any] = []
        last = 0
        for m in SENTINEL.finditer(text):
            parts.append(text[last : m.start()])
            parts.append(
                _intrinsic(m.group(1), m.group(2)) if m.group(1) else {"Ref": "AWS::Partition"}
            )
            last = m.end()
        parts.append(text[last:])
        return {"DefinitionString": {"Fn::Join": ["", [p for p in parts if p != ""]]}}

    raise ValueError(f"unknown form {form!r}")


# --- templates ----------------------------------------------------------------------------

ASSUME_STATES = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ASSUME_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
CODE = (
    "import json\n\n"
    "def handler(event, context):\n"
    "    return {'function': context.function_name, 'input': json.dumps(event)[:100]}\n"
)


def _function(index: int, sam: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "FunctionName": function_name(index),
        "Description": f"Benchmark function {index}",
        "Runtime": "python3.13",
        "Handler": "index.handler",
        "MemorySize": 256,
        "Timeout": 30,
        "Architectures": ["arm64"],
        "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
        "Environment": {"Variables": {"STAGE": "bench", "INDEX": str(index)}},
    }
    if sam:
        properties["InlineCode"] = CODE
        return {"Type": "AWS::Serverless::Function", "Properties": properties}
    properties["Code"] = {"ZipFile": CODE}
    return {"Type": "AWS::Lambda::Function", "Properties": properties}


def _machine_role(role: int, shape: Shape) -> dict[str, Any]:
    """An execution role allowing the unqualified ARNs only: PinVersions must widen it."""
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": ASSUME_STATES,
            "Policies": [
                {
                    "PolicyName": "InvokeFunctions",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "lambda:InvokeFunction",
                                "Resource": [
                                    {"Fn::GetAtt": [function_id(i), "Arn"]}
                                    for i in range(shape.functions)
                                ],
                            }
                        ],
                    },
                }
            ],
        },
    }


def template(shape: Shape, sam: bool = False) -> dict[str, Any]:
    """The whole template (with its Transform section)."""
    resources: dict[str, Any] = {
        "FunctionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": ASSUME_LAMBDA,
                "ManagedPolicyArns": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AWSLambdaBasicExecutionRole"
                    }
                ],
            },
        }
    }
    for i in range(shape.functions):
        resources[function_id(i)] = _function(i, sam)
    for r in range(min(shape.roles, shape.machines)):
        resources[f"MachineRole{r}"] = _machine_role(r, shape)
    for m in range(shape.machines):
        form = FORMS[m % len(FORMS)]
        role = {"Fn::GetAtt": [f"MachineRole{m % shape.roles}", "Arn"]}
        properties: dict[str, Any] = {}
        if sam:
            properties["Role"] = role
        else:
            properties["RoleArn"] = role
        properties.update(render_definition(form, abstract_definition(m, shape), sam))
        resources[f"Machine{m:03d}"] = {
            "Type": "AWS::Serverless::StateMachine" if sam else "AWS::StepFunctions::StateMachine",
            "Properties": properties,
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": ["AWS::Serverless-2016-10-31", "PinVersions"] if sam else "PinVersions",
        "Description": f"PinVersions benchmark: {shape.machines} state machines, "
        f"{shape.tasks} Tasks each, {shape.functions} shared functions",
        "Resources": resources,
    }


def macro_event(whole: dict[str, Any], request_id: str = "bench-request") -> dict[str, Any]:
    """The request CloudFormation sends the macro (as tests/support.py builds it)."""
    return {
        "region": REGION,
        "accountId": ACCOUNT,
        "fragment": {k: v for k, v in whole.items() if k != "Transform"},
        "transformId": f"{ACCOUNT}::PinVersions",
        "params": {},
        "requestId": request_id,
        "templateParameterValues": {},
    }


if __name__ == "__main__":  # python bench/generate.py 10 [--sam]: print a template
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(json.dumps(template(Shape(size), sam="--sam" in sys.argv), indent=2))

"""The target kinds of issue 14: nested state machines, ECS task definitions, Batch job
definitions (targets.py has the record type and Lambda; docs/design.md "More than Lambda:
target kinds" has the decisions and the AWS facts with their sources).

Imported by ``targets.kinds()`` on first use, so that the Lambda-only cold path does not
compile these patterns. Standard library only; imports nothing of the package but
kind_record.py (the record type).

AWS facts relied on:

- ``Ref`` of an ``AWS::StepFunctions::StateMachine`` and ``Fn::GetAtt SM.Arn`` are its
  (unqualified) ARN; ``Fn::GetAtt SM.Name`` its name, ``SM.StateMachineRevisionId`` its
  current revision
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html).
- ``Ref`` of an ``AWS::StepFunctions::StateMachineVersion`` is the version ARN; every property
  is create-only, so any change replaces it
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachineversion.html).
- ``states:StartExecution`` on a version or alias ARN is authorised against the unqualified
  state machine ARN (https://docs.aws.amazon.com/step-functions/latest/dg/auth-version-alias.html);
  ``.sync`` also needs ``states:DescribeExecution``/``StopExecution`` on the child's executions
  and the ``StepFunctionsGetEventsForStepFunctionsExecutionRule`` EventBridge rule
  (https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html).
- ``Ref`` of an ``AWS::ECS::TaskDefinition`` is the revision ARN
  (``arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION``); ``ecs:RunTask`` is
  authorised on the task definition ARN
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-taskdefinition.html,
  https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html).
- ``Ref`` of an ``AWS::Batch::JobDefinition`` is the revision ARN; ``ResourceRetentionPolicy:
  {SkipDeregisterOnUpdate: true}`` keeps the old revision ACTIVE on an update
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-batch-jobdefinition.html,
  https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html).
"""

# Annotations are evaluated (no `from __future__ import annotations`): see targets.py.

import re
from collections.abc import Mapping
from typing import Any

from .kind_record import PUBLISH, RETAIN, PinResource, TargetKind

_REGION_ACCOUNT = "${AWS::Region}:${AWS::AccountId}"


def _family_of_ref(target: str) -> dict[str, Any]:
    """The family (or job definition name) of ``Ref target``, a revision ARN
    ``arn:...:task-definition/NAME:REVISION``: ``Fn::Select``/``Fn::Split`` on ``/`` then
    ``:``. Used when the name property is not literal text."""
    after_slash = {"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": target}]}]}
    return {"Fn::Select": [0, {"Fn::Split": [":", after_slash]}]}


def _revisions(
    service: str, path: str, target: str, properties: Mapping[str, Any], name_property: str
) -> dict[str, Any]:
    """``arn:...:<service>:R:A:<path>/<name>:*``: every revision of one family or job
    definition name, never a prefix wildcard."""
    name = properties.get(name_property)
    base = f"arn:${{AWS::Partition}}:{service}:{_REGION_ACCOUNT}:{path}/"
    if isinstance(name, str) and "${" not in name:
        return {"Fn::Sub": f"{base}{name}:*"}
    return {"Fn::Sub": [f"{base}${{Name}}:*", {"Name": _family_of_ref(target)}]}


def state_machine_statements(
    target: str, properties: Mapping[str, Any], suffix: str
) -> list[dict[str, Any]]:
    """``states:StartExecution`` on the unqualified child ARN; ``.sync``/``.sync:2`` also
    DescribeExecution/StopExecution on its executions and the events rule Step Functions
    manages for them."""
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": [{"Ref": target}]}
    ]
    if suffix.startswith(".sync"):
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["states:DescribeExecution", "states:StopExecution"],
                "Resource": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:states:"
                        f"{_REGION_ACCOUNT}:execution:${{{target}.Name}}:*"
                    }
                ],
            }
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                "Resource": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:events:"
                        f"{_REGION_ACCOUNT}:rule/"
                        "StepFunctionsGetEventsForStepFunctionsExecutionRule"
                    }
                ],
            }
        )
    return statements


def ecs_statements(target: str, properties: Mapping[str, Any], suffix: str) -> list[dict[str, Any]]:
    """``ecs:RunTask`` on every revision of the task definition's family."""
    resource = _revisions("ecs", "task-definition", target, properties, "Family")
    return [{"Effect": "Allow", "Action": "ecs:RunTask", "Resource": [resource]}]


def batch_statements(
    target: str, properties: Mapping[str, Any], suffix: str
) -> list[dict[str, Any]]:
    """``batch:SubmitJob`` on every revision of the job definition's name."""
    resource = _revisions("batch", "job-definition", target, properties, "JobDefinitionName")
    return [{"Effect": "Allow", "Action": "batch:SubmitJob", "Resource": [resource]}]


def state_machine_needs(p: str, r: str, a: str, n: str, suffix: str) -> list[tuple[str, str]]:
    """What a role must allow to start ``n`` through the integration ``suffix``."""
    needs = [("states:StartExecution", f"arn:{p}:states:{r}:{a}:stateMachine:{n}")]
    if suffix.startswith(".sync"):
        execution = f"arn:{p}:states:{r}:{a}:execution:{n}:0f1e2d3c"
        rule = f"arn:{p}:events:{r}:{a}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
        needs += [("states:DescribeExecution", execution), ("states:StopExecution", execution)]
        needs += [(action, rule) for action in ("events:PutTargets", "events:PutRule")]
        needs.append(("events:DescribeRule", rule))
    return needs


def ecs_needs(p: str, r: str, a: str, n: str, suffix: str) -> list[tuple[str, str]]:
    """``ecs:RunTask`` on any revision of family ``n`` (two stand-in revisions)."""
    base = f"arn:{p}:ecs:{r}:{a}:task-definition/{n}"
    return [("ecs:RunTask", f"{base}:1"), ("ecs:RunTask", f"{base}:42")]


def batch_needs(p: str, r: str, a: str, n: str, suffix: str) -> list[tuple[str, str]]:
    """``batch:SubmitJob`` on any revision of job definition ``n``."""
    base = f"arn:{p}:batch:{r}:{a}:job-definition/{n}"
    return [("batch:SubmitJob", f"{base}:1"), ("batch:SubmitJob", f"{base}:42")]


def _standard(properties: Mapping[str, Any]) -> bool:
    """A STANDARD state machine (CloudFormation ``StateMachineType``, SAM ``Type``; STANDARD
    when unset). An intrinsic there is not known to be STANDARD."""
    written: object = properties.get("StateMachineType", properties.get("Type", "STANDARD"))
    return written == "STANDARD"


_SUFFIX = r"(?P<s>\.sync(?::2)?|\.waitForTaskToken)?"
_NO_ALIAS = None

STATE_MACHINE = TargetKind(
    name="state-machine",
    noun="state machine",
    resource_types=frozenset({"AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine"}),
    direct=False,
    # The optimised integration and the SDK one (aws-sdk:sfn:startExecution): both start
    # the ARN given, a version ARN included.
    integrations=re.compile(r"arn:[^:]+:states:::(?:aws-sdk:sfn|states):startExecution" + _SUFFIX),
    name_field="StateMachineArn",
    qualifier_field=None,
    arn=re.compile(
        r"arn:(?P<p>[^:]+):states:(?P<r>[^:]*):(?P<a>[^:]*):stateMachine:(?P<n>[^:]+)"
        r"(?::(?P<q>.+))?"
    ),
    partial_arn=None,
    plain_name=None,
    ref_attribute="Arn",
    alias_type="AWS::StepFunctions::StateMachineAlias",
    pin=PinResource("AWS::StepFunctions::StateMachineVersion", "StateMachineArn", "Version", "Arn"),
    pin_unseen=_standard,  # PV143
    hashed_properties=frozenset(),
    excluded_properties=frozenset(),
    sam_excluded_properties=frozenset(),
    grant_action="states:StartExecution",
    grant_resource="${{{}}}",
    warning_codes=("PV140", "PV141", "PV143"),
    option_key="StateMachine",
    strategy=PUBLISH,
    name_properties=("StateMachineName", "Name"),
    ref_gives="arn",
    arn_attributes=frozenset({"Arn"}),
    statements=state_machine_statements,
    needs=state_machine_needs,
    arn_format="arn:{p}:states:{r}:{a}:stateMachine:{n}",
)

ECS_TASK_DEFINITION = TargetKind(
    name="ecs-task-definition",
    noun="task definition",
    resource_types=frozenset({"AWS::ECS::TaskDefinition"}),
    direct=False,
    integrations=re.compile(r"arn:[^:]+:states:::(?:aws-sdk:)?ecs:runTask" + _SUFFIX),
    name_field="TaskDefinition",
    qualifier_field=None,
    arn=re.compile(
        r"arn:(?P<p>[^:]+):ecs:(?P<r>[^:]*):(?P<a>[^:]*):task-definition/(?P<n>[^:/]+)"
        r"(?::(?P<q>.+))?"
    ),
    partial_arn=None,
    plain_name=re.compile(r"(?P<n>[^:/]+)(?::(?P<q>.+))?"),
    ref_attribute="TaskDefinitionArn",
    alias_type=_NO_ALIAS,
    pin=PinResource("AWS::ECS::TaskDefinition", "", "", ""),
    hashed_properties=frozenset(),
    excluded_properties=frozenset(),
    sam_excluded_properties=frozenset(),
    grant_action="ecs:RunTask",
    grant_resource="${{{}}}",
    warning_codes=("PV142",),
    option_key="ECSTaskDefinition",
    strategy=RETAIN,
    name_properties=("Family",),
    replaced_by_any_change=True,  # every property but Tags is create-only
    ref_gives="arn",
    arn_attributes=frozenset({"TaskDefinitionArn"}),
    statements=ecs_statements,
    needs=ecs_needs,
)

BATCH_JOB_DEFINITION = TargetKind(
    name="batch-job-definition",
    noun="job definition",
    resource_types=frozenset({"AWS::Batch::JobDefinition"}),
    direct=False,
    integrations=re.compile(r"arn:[^:]+:states:::(?:aws-sdk:)?batch:submitJob" + _SUFFIX),
    name_field="JobDefinition",
    qualifier_field=None,
    arn=re.compile(
        r"arn:(?P<p>[^:]+):batch:(?P<r>[^:]*):(?P<a>[^:]*):job-definition/(?P<n>[^:/]+)"
        r"(?::(?P<q>.+))?"
    ),
    partial_arn=None,
    plain_name=re.compile(r"(?P<n>[^:/]+)(?::(?P<q>.+))?"),
    ref_attribute="JobDefinitionArn",
    alias_type=_NO_ALIAS,
    pin=PinResource("AWS::Batch::JobDefinition", "", "", ""),
    hashed_properties=frozenset(),
    excluded_properties=frozenset(),
    sam_excluded_properties=frozenset(),
    grant_action="batch:SubmitJob",
    grant_resource="${{{}}}",
    warning_codes=("PV142",),
    option_key="BatchJobDefinition",
    strategy=RETAIN,
    name_properties=("JobDefinitionName",),
    ref_gives="arn",
    arn_attributes=frozenset({"JobDefinitionArn"}),
    statements=batch_statements,
    retention_properties=(("ResourceRetentionPolicy", {"SkipDeregisterOnUpdate": True}),),
    needs=batch_needs,
)

OTHER_KINDS = (STATE_MACHINE, ECS_TASK_DEFINITION, BATCH_JOB_DEFINITION)

"""Gaps of moto 5.2.5 for Tasks that call other services: nested Step Functions executions
(`states:startExecution`), ECS `runTask` and Batch `submitJob` (issue 14).

Each `close_*` function here is the patch of one `Gap` registered in `demo.emulator.GAPS`
(docs/demo.md lists them). Helpers of demo.emulator are imported inside the functions, so
this module can be imported by it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from demo.emulator import Gap as GapT
    from demo.emulator import Patcher

# The Step Functions integration modules whose Tasks call a service through a boto3 client.
_SERVICE_MODULES = ("state_task_service_sfn", "state_task_service_ecs", "state_task_service_batch")
_SERVICE_CLASSES = {
    "state_task_service_sfn": "StateTaskServiceSfn",
    "state_task_service_ecs": "StateTaskServiceEcs",
    "state_task_service_batch": "StateTaskServiceBatch",
}


def _service_module(name: str) -> Any:
    import importlib

    return importlib.import_module(
        "moto.stepfunctions.parser.asl.component.state.exec.state_task.service." + name
    )


def _service_classes() -> tuple[type, ...]:
    return tuple(
        getattr(_service_module(module), _SERVICE_CLASSES[module]) for module in _SERVICE_MODULES
    )


@functools.cache
def _service_model(service: str) -> Any:
    from demo.emulator import _shared_session

    return _shared_session()._session.get_service_model(service)


def _operation(service: str, snake_action: str) -> Any:
    """botocore's model of `snake_action` (start_execution -> StartExecution)."""
    from botocore import xform_name

    model = _service_model(service)
    for name in model.operation_names:
        if xform_name(name) == snake_action:
            return model.operation_model(name)
    raise KeyError(f"{service} has no operation {snake_action}")


def to_boto_request(value: Any, shape: Any) -> Any:
    """An ASL parameter value (`StateMachineArn`, `TaskDefinition`) in the member names of
    the botocore shape (`stateMachineArn`, `taskDefinition`): Step Functions' optimised
    integrations take the API's fields in PascalCase (Step Functions developer guide,
    "Integrating optimized services"). Unknown keys are kept as written."""
    from botocore.model import ListShape, MapShape, StructureShape

    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = members.get(str(key).lower(), str(key))
            member = shape.members.get(name)
            result[name] = to_boto_request(item, member) if member is not None else item
        return result
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [to_boto_request(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: to_boto_request(item, shape.value) for key, item in value.items()}
    return value


def close_service_integrations(patcher: Patcher) -> None:
    """moto's port of the optimised integrations left out the request and response
    normalisation: states:startExecution, ecs:runTask and batch:submitJob hand the ASL
    field names to boto3 and read the response by PascalCase names."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
    )

    base = state_task_service.StateTaskService
    services = _service_classes()

    def is_service(task: Any) -> bool:
        return isinstance(task, services)

    original_parameters = _original_function(base, "_normalise_parameters")
    original_response = _original_function(base, "_normalise_response")

    def _normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        if not is_service(self):
            original_parameters(self, parameters, boto_service_name, service_action_name)
            return
        service = self._get_boto_service_name(boto_service_name)
        action = self._get_boto_service_action(service_action_name)
        shape = _operation(service, action).input_shape
        converted = to_boto_request(parameters, shape)
        parameters.clear()
        parameters.update(converted)

    def _normalise_response(
        self: Any,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        if not is_service(self):
            original_response(self, response, boto_service_name, service_action_name)
            return
        service = self._get_boto_service_name(boto_service_name)
        action = self._get_boto_service_action(service_action_name)
        shape = _operation(service, action).output_shape
        if shape is not None:
            self._from_boto_response(response, shape)
        _dates_to_epoch_millis(response)

    patcher.set(base, "_normalise_parameters", _normalise_parameters)
    patcher.set(base, "_normalise_response", _normalise_response)


def _dates_to_epoch_millis(value: Any) -> Any:
    """Timestamps in a Task's result are JSON numbers, milliseconds since the epoch (as in
    the `StartDate` of a startExecution result); botocore parses them to datetime."""
    import datetime

    if not isinstance(value, dict | list):
        return
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in list(items):
        if isinstance(item, datetime.datetime):
            value[key] = int(item.timestamp() * 1000)
        else:
            _dates_to_epoch_millis(item)


def _original_function(owner: type, name: str) -> Callable[..., Any]:
    raw = vars(owner)[name]
    function: Callable[..., Any] = getattr(raw, "__func__", raw)
    return function


# --------------------------------------------------------------------------------------
# Step Functions versions and aliases
# --------------------------------------------------------------------------------------


def _sfn_backend(account_id: str, region_name: str) -> Any:
    from moto.stepfunctions import responses as sfn_responses

    return sfn_responses.get_backend(account_id, region_name)


def close_version_execution(patcher: Patcher) -> None:
    """StartExecution of a version (or alias) ARN: run that version's definition; the
    execution belongs to the state machine (DescribeExecution, history) and its
    `stateMachineVersionArn` / `stateMachineAliasArn` say what ran.

    moto 5.2.5 fails a version ARN with an AttributeError (the version has no
    idempotency check) and cannot start an alias ARN at all."""
    from moto.stepfunctions.models import StateMachineVersion
    from moto.stepfunctions.parser import models as parser_models

    backend_class = parser_models.StepFunctionsParserBackend
    start = _original_function(backend_class, "start_execution")

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        from moto.moto_api._internal import mock_random

        # StartExecution without a name gets a UUID (moto names it "None").
        name = name or str(mock_random.uuid4())
        target, alias_arn = _resolve_qualified(self, state_machine_arn)
        if not isinstance(target, StateMachineVersion):
            return start(self, state_machine_arn, name, execution_input, trace_header)
        machine = self.describe_state_machine(target.source_arn)
        # A stand-in StateMachine with the version's definition and role: the snapshot an
        # execution of the version runs (Step Functions developer guide, "Versions"). It
        # stands in for the state machine in this thread only, for this one call.
        snapshot = copy.copy(machine)
        snapshot.definition = target.definition
        snapshot.roleArn = target.roleArn
        snapshot.executions = machine.executions
        _STANDING_IN.machines = {machine.arn: snapshot}
        try:
            execution = start(self, machine.arn, name, execution_input, trace_header)
        finally:
            _STANDING_IN.machines = {}
        execution._pv_version_arn = target.arn
        execution._pv_alias_arn = alias_arn
        return execution

    def _resolve_qualified(backend: Any, arn: str) -> tuple[Any, str | None]:
        parts = arn.split(":")
        if len(parts) == 8 and not parts[7].isdigit():
            alias = backend.describe_state_machine_alias(arn)
            routes = alias.routing_configuration
            chosen = _weighted_choice(routes)
            return backend.describe_state_machine(chosen), arn
        return backend.describe_state_machine(arn), None

    describe = backend_class.describe_state_machine

    def describe_state_machine(self: Any, arn: str) -> Any:
        standing_in = getattr(_STANDING_IN, "machines", {}).get(arn)
        return standing_in if standing_in is not None else describe(self, arn)

    patcher.set(backend_class, "start_execution", start_execution)
    patcher.set(backend_class, "describe_state_machine", describe_state_machine)


_STANDING_IN = threading.local()  # .machines: ARN -> the version snapshot this thread starts


def _weighted_choice(routes: list[dict[str, Any]]) -> str:
    """An alias's routing: each version gets its `weight` percent of executions."""
    from moto.moto_api._internal import mock_random

    draw = mock_random.random() * 100
    total = 0.0
    for route in routes:
        total += float(route.get("weight", 100))
        if draw < total:
            return str(route["stateMachineVersionArn"])
    return str(routes[-1]["stateMachineVersionArn"])


def gaps(Gap: type[GapT]) -> tuple[GapT, ...]:
    """This module's gaps, as `demo.emulator.Gap` records (passed in: it imports us)."""
    return (
        Gap(
            key="sfn-service-integrations",
            moto="the optimised integrations states:startExecution, ecs:runTask and "
            "batch:submitJob hand the ASL field names (StateMachineArn) to boto3, which wants "
            "the API's (stateMachineArn): every such Task fails with States.Runtime",
            aws="the Task's PascalCase parameters are the API's fields; the result comes back "
            "in PascalCase (ExecutionArn, Tasks[0].TaskDefinitionArn, JobId)",
            close=close_service_integrations,
        ),
        Gap(
            key="sfn-version-execution",
            moto="StartExecution of a state machine version ARN fails (the version has no "
            "idempotency check), an alias ARN is not found",
            aws="a version ARN runs that version's definition, an alias ARN the version its "
            "routing picks; the execution belongs to the state machine",
            close=close_version_execution,
        ),
        Gap(
            key="sfn-cfn-versions",
            moto="no AWS::StepFunctions::StateMachineVersion or StateMachineAlias in "
            "CloudFormation (skipped with a warning); no Fn::GetAtt Arn or "
            "StateMachineRevisionId on a state machine",
            aws="a version resource publishes the current revision (Ref: the version ARN), "
            "is replaced on any change and deleted unless Retain; an alias routes to versions",
            close=close_cfn_versions,
        ),
        Gap(
            key="service-task-iam",
            moto="states:startExecution, ecs:runTask and batch:submitJob Tasks call the "
            "service without asking IAM; their API errors become States.Runtime (ECS) or "
            "keep moto's names",
            aws="the call is made as the Task's Credentials role, else the state machine's; "
            "IAM must allow states:StartExecution on the unqualified state machine ARN (and "
            "the .sync permissions), ecs:RunTask on the revision, batch:SubmitJob on the job "
            "definition and queue; a denied call fails the Task with the SDK's error name",
            close=close_service_task_iam,
        ),
        Gap(
            key="ecs-task-definition-cfn",
            moto="a stack update registers a new AWS::ECS::TaskDefinition revision and "
            "deregisters the old one whatever UpdateReplacePolicy says; removing the resource "
            "(or the old one after a replacement) leaves its revision ACTIVE",
            aws="a change replaces the revision; the old one is deregistered (INACTIVE) in "
            "the cleanup phase unless UpdateReplacePolicy (or, when removed, DeletionPolicy) "
            "is Retain",
            close=close_ecs_task_definitions,
        ),
        Gap(
            key="ecs-inactive-run",
            moto="RunTask runs an INACTIVE task definition revision",
            aws='RunTask fails: InvalidParameterException "TaskDefinition is inactive"',
            close=close_ecs_inactive_run,
        ),
        Gap(
            key="batch-job-definition-cfn",
            moto="AWS::Batch::JobDefinition has no update or delete in CloudFormation (and "
            "needs a RetryStrategy): a change or removal leaves the revision as it was",
            aws="a change registers a new revision and deregisters the previous one unless "
            "ResourceRetentionPolicy.SkipDeregisterOnUpdate; deletion deregisters it",
            close=close_batch_job_definitions,
        ),
        Gap(
            key="batch-unmanaged-environment",
            moto="an UNMANAGED AWS::Batch::ComputeEnvironment without ComputeResources fails "
            "the deploy (KeyError)",
            aws="ComputeResources is for managed compute environments only",
            close=close_batch_unmanaged_environment,
        ),
        Gap(
            key="batch-job-image",
            moto="DescribeJobs leaves out the container's image",
            aws="container.image is the image the job's revision names",
            close=close_batch_job_image,
        ),
        Gap(
            key="batch-inactive-submit",
            moto="SubmitJob runs an INACTIVE job definition revision",
            aws='SubmitJob fails: ClientException "JobDefinition <ARN> is not in ACTIVE status"',
            close=close_batch_inactive_submit,
        ),
    )


def _new_revision_id() -> str:
    from moto.moto_api._internal import mock_random

    return str(mock_random.uuid4())


def close_cfn_versions(patcher: Patcher) -> None:
    """AWS::StepFunctions::StateMachineVersion and ::StateMachineAlias in CloudFormation,
    and the state machine's `Arn` and `StateMachineRevisionId` attributes.

    CloudFormation template reference: StateMachineVersion publishes a version of the
    state machine's current revision (Ref and GetAtt Arn: the version ARN; every property
    "Update requires: Replacement"); PublishStateMachineVersion (API reference) returns
    the existing version when the latest one has the same revision, and fails with
    ConflictException when `StateMachineRevisionId` is not the current revision.
    StateMachineAlias: Ref is the alias ARN; `DeploymentPreference` ends with all
    executions on its `StateMachineVersionArn` (the gradual shift itself is not timed)."""
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
    from moto.stepfunctions.models import StateMachine

    def revision_of(machine: Any) -> str:
        found: str | None = getattr(machine, "_pv_revision_id", None)
        if found is None:
            found = _new_revision_id()
            machine._pv_revision_id = found
        return found

    update = _original_function(StateMachine, "update")

    def update_machine(self: Any, **kwargs: Any) -> None:
        before = (self.definition, self.roleArn)
        update(self, **kwargs)
        if (self.definition, self.roleArn) != before:
            self._pv_revision_id = _new_revision_id()

    get_attribute = _original_function(StateMachine, "get_cfn_attribute")
    has_attribute = _original_function(StateMachine, "has_cfn_attr")

    def get_cfn_attribute(self: Any, attribute_name: str) -> Any:
        if attribute_name == "Arn":
            return self.arn
        if attribute_name == "StateMachineRevisionId":
            return revision_of(self)
        return get_attribute(self, attribute_name)

    def has_cfn_attr(cls: type, attr: str) -> bool:
        return attr in ("Arn", "StateMachineRevisionId") or bool(has_attribute(cls, attr))

    patcher.set(StateMachine, "update", update_machine)
    patcher.set(StateMachine, "get_cfn_attribute", get_cfn_attribute)
    patcher.set(StateMachine, "has_cfn_attr", classmethod(has_cfn_attr))

    class _CfnModel:
        """What moto's ResourceMap asks of a model (not a CloudFormationModel subclass:
        moto builds its model map from those on first use, and this one must go with the
        layer)."""

        arn: str

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        def is_created(self) -> bool:
            return True

        @property
        def physical_resource_id(self) -> str:
            return self.arn

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            if attribute_name == "Arn":
                return self.arn
            raise UnformattedGetAttTemplateException()

    class CfnVersion(_CfnModel):
        def __init__(self, machine_arn: str, number: int) -> None:
            self.machine_arn = machine_arn
            self.number = number
            self.arn = f"{machine_arn}:{number}"

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::StepFunctions::StateMachineVersion"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnVersion:
            properties = cloudformation_json["Properties"]
            backend = _sfn_backend(account_id, region_name)
            machine = backend.describe_state_machine(properties["StateMachineArn"])
            wanted = properties.get("StateMachineRevisionId")
            current = revision_of(machine)
            if wanted is not None and wanted != current:
                raise ValidationError(
                    message=f"ConflictException: the revision {wanted} is not the current "
                    f"revision {current} of {machine.arn}"
                )
            latest = machine.latest_version
            if latest is None or getattr(latest, "_pv_revision_id", None) != current:
                machine.publish(properties.get("Description"))
                machine.latest_version._pv_revision_id = current
            return cls(machine.arn, machine.latest_version.version)

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: CfnVersion,
            new_resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> CfnVersion:
            return original_resource  # every property replaces (update-replacement)

        def delete(self, account_id: str, region_name: str) -> None:
            # Deleting the resource deletes the version (DeleteStateMachineVersion); a
            # deleted state machine took its versions with it.
            backend = _sfn_backend(account_id, region_name)
            for machine in backend.state_machines:
                if machine.arn == self.machine_arn:
                    machine.versions.pop(self.number, None)
                    if machine.latest_version is not None and (
                        machine.latest_version.version == self.number
                    ):
                        remaining = sorted(machine.versions)
                        machine.latest_version = (
                            machine.versions[remaining[-1]] if remaining else None
                        )

    def routing(properties: dict[str, Any]) -> list[dict[str, Any]]:
        preference = properties.get("DeploymentPreference")
        if preference:
            return [{"stateMachineVersionArn": preference["StateMachineVersionArn"], "weight": 100}]
        return [
            {"stateMachineVersionArn": route["StateMachineVersionArn"], "weight": route["Weight"]}
            for route in properties.get("RoutingConfiguration") or []
        ]

    class CfnAlias(_CfnModel):
        def __init__(self, arn: str) -> None:
            self.arn = arn

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::StepFunctions::StateMachineAlias"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CfnAlias:
            properties = cloudformation_json["Properties"]
            backend = _sfn_backend(account_id, region_name)
            alias = backend.create_state_machine_alias(
                properties.get("Name") or resource_name,
                routing(properties),
                properties.get("Description"),
            )
            return cls(alias.arn)

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: CfnAlias,
            new_resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> CfnAlias:
            properties = cloudformation_json["Properties"]
            backend = _sfn_backend(account_id, region_name)
            backend.update_state_machine_alias(
                original_resource.arn, properties.get("Description"), routing(properties)
            )
            return original_resource

        def delete(self, account_id: str, region_name: str) -> None:
            backend = _sfn_backend(account_id, region_name)
            # Its state machine, and so the alias, may be gone already.
            with contextlib.suppress(Exception):
                backend.delete_state_machine_alias(self.arn)

    for model in (CfnVersion, CfnAlias):
        patcher.set_item(parsing.get_model_map(), model.cloudformation_type(), model)


# --------------------------------------------------------------------------------------
# IAM on service Tasks, and the error names Step Functions gives service errors
# --------------------------------------------------------------------------------------

_SYNC_RULES = {"states": "StepFunctionsGetEventsForStepFunctionsExecutionRule"}
_EVENTS_ACTIONS = ("events:PutTargets", "events:PutRule", "events:DescribeRule")
# (error prefix, the SDK for Java's generic exception, service name in the cause)
_SDK = {
    "states": ("StepFunctions", "AWSStepFunctionsException", "AWSStepFunctions"),
    "ecs": ("ECS", "AmazonECSException", "AmazonECS"),
    "batch": ("Batch", "AWSBatchException", "AWSBatch"),
}
_OPERATIONS = {
    "states": ("stepfunctions", "start_execution"),
    "ecs": ("ecs", "run_task"),
    "batch": ("batch", "submit_job"),
}


def unqualified_machine_arn(arn: str) -> str:
    """The state machine ARN of a version or alias ARN (`…:stateMachine:name[:qualifier]`):
    Step Functions authorises a version's or alias's StartExecution against it (Step
    Functions developer guide, "Authorization for versions and aliases")."""
    return ":".join(arn.split(":")[:7])


def task_definition_arn(value: str, region: str, account: str) -> str:
    """The revision ARN ECS resolves `TaskDefinition` to (family, family:revision or ARN;
    a family alone is its latest ACTIVE revision), or the completed ARN when unknown."""
    name = value.split("task-definition/", 1)[-1]
    family, _, revision = name.partition(":")
    if not revision:
        from moto.ecs.models import ecs_backends

        backend = ecs_backends[account][region]
        active = [
            number
            for number, definition in backend.task_definitions.get(family, {}).items()
            if definition.status == "ACTIVE"
        ]
        revision = str(max(active)) if active else "*"
    return f"arn:aws:ecs:{region}:{account}:task-definition/{family}:{revision}"


def job_definition_arn(value: str, region: str, account: str) -> str:
    """The revision ARN Batch resolves `JobDefinition` to (name, name:revision or ARN; a
    name alone is its latest ACTIVE revision)."""
    if value.startswith("arn:"):
        return value
    name, _, revision = value.partition(":")
    if not revision:
        from moto.batch.models import batch_backends

        backend = batch_backends[account][region]
        active = [
            int(definition.revision)
            for definition in backend._job_definitions.values()
            if definition.name == name and definition.status == "ACTIVE"
        ]
        revision = str(max(active)) if active else "*"
    return f"arn:aws:batch:{region}:{account}:job-definition/{name}:{revision}"


def required_permissions(
    service: str, condition: str | None, parameters: dict[str, Any], region: str, account: str
) -> list[tuple[str, str]]:
    """(action, resource) pairs IAM must allow before a service Task's call is made.

    states:startExecution: states:StartExecution on the unqualified state machine ARN; with
    `.sync`/`.sync:2` also states:DescribeExecution and states:StopExecution on the
    execution and events:PutTargets/PutRule/DescribeRule on the managed rule (Step
    Functions developer guide, "IAM policies for starting a new AWS Step Functions state
    machine execution"). ecs:runTask: ecs:RunTask on the task definition revision.
    batch:submitJob: batch:SubmitJob on the job definition revision and on the job queue
    (AWS Batch user guide, "Resource: SubmitJob needs both"). The other `.sync` permissions
    of ECS and Batch (DescribeTasks, StopTask, DescribeJobs, TerminateJob, their rules)
    are not checked.
    """
    if service == "states":
        machine = str(parameters.get("stateMachineArn", ""))
        needed = [("states:StartExecution", unqualified_machine_arn(machine))]
        if condition in ("sync", "sync:2"):
            name = unqualified_machine_arn(machine).split(":")[-1]
            execution = f"arn:aws:states:{region}:{account}:execution:{name}:*"
            needed += [
                ("states:DescribeExecution", execution),
                ("states:StopExecution", execution),
            ]
            rule = f"arn:aws:events:{region}:{account}:rule/{_SYNC_RULES[service]}"
            needed += [(action, rule) for action in _EVENTS_ACTIONS]
        return needed
    if service == "ecs":
        arn = task_definition_arn(str(parameters.get("taskDefinition", "")), region, account)
        return [("ecs:RunTask", arn)]
    if service == "batch":
        definition = job_definition_arn(str(parameters.get("jobDefinition", "")), region, account)
        queue = str(parameters.get("jobQueue", ""))
        if not queue.startswith("arn:"):
            queue = f"arn:aws:batch:{region}:{account}:job-queue/{queue}"
        return [("batch:SubmitJob", definition), ("batch:SubmitJob", queue)]
    return []


def service_task_error(service: str, error: Any) -> tuple[str, str]:
    """Step Functions' (error, cause) for a service API error met by a service Task.

    As for Lambda (demo.emulator.lambda_task_error): an error code the operation models
    keeps its name with the service's prefix (`ECS.InvalidParameterException`,
    `Batch.ClientException`, `StepFunctions.StateMachineDoesNotExistException` as moto
    names it), any other, such as IAM's AccessDeniedException where the API does not model
    it, the SDK for Java's generic exception (`StepFunctions.AWSStepFunctionsException`,
    the name AWS's own workflows retry on)."""
    prefix, generic, sdk_service = _SDK[service]
    code = str(error.response["Error"].get("Code", ""))
    message = str(error.response["Error"].get("Message", ""))
    metadata = error.response.get("ResponseMetadata", {})
    boto_service, action = _OPERATIONS[service]
    modeled = {shape.name for shape in _operation(boto_service, action).error_shapes}
    if code not in modeled:
        name = f"{prefix}.{generic}"
    elif service == "states" and not code.endswith("Exception"):
        name = f"{prefix}.{code}Exception"
    else:
        name = f"{prefix}.{code}"
    details = "; ".join(
        [
            f"Service: {sdk_service}",
            f"Status Code: {metadata.get('HTTPStatusCode', 400)}",
            f"Error Code: {code}",
            f"Request ID: {metadata.get('RequestId', '')}",
            "Proxy: null",
        ]
    )
    return name, f"{message} ({details})"


def close_service_task_iam(patcher: Patcher) -> None:
    """Judge every states:startExecution, ecs:runTask and batch:submitJob Task call by the
    calling role's policies (the Task's Credentials role, else the state machine's), as
    `sfn-task-iam` does for Lambda, and name service errors as Step Functions does."""
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
    )

    from demo.emulator import ACCOUNT_ID, access_denied, role_allows

    for cls in _service_classes():
        # Looked up through the class: ECS inherits both from its base classes.
        evaluate: Callable[..., Any] = cls._eval_service_task  # type: ignore[attr-defined]
        from_error: Callable[..., Any] = cls._from_error  # type: ignore[attr-defined]

        def _eval_service_task(
            self: Any,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
            _evaluate: Callable[..., Any] = evaluate,
        ) -> Any:
            role_arn = str(getattr(state_credentials, "role_arn", "") or "")
            account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ACCOUNT_ID
            condition = self.resource.condition
            needed = required_permissions(
                self.resource.service_name,
                str(getattr(condition, "value", condition)) if condition else None,
                normalised_parameters,
                resource_runtime_part.region,
                account,
            )
            for action, resource in needed:
                if not role_allows(account, role_arn, action, resource):
                    raise access_denied(role_arn, resource, action)
            return _evaluate(
                self, env, resource_runtime_part, normalised_parameters, state_credentials
            )

        def _from_error(
            self: Any, env: Any, ex: Exception, _from_error: Callable[..., Any] = from_error
        ) -> Any:
            service = self.resource.service_name
            if not isinstance(ex, ClientError) or service not in _SDK:
                return _from_error(self, env, ex)
            error, cause = service_task_error(service, ex)
            details: Any = {
                "taskFailedEventDetails": TaskFailedEventDetails(
                    error=error,
                    cause=cause,
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                )
            }
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(error),
                event_type=HistoryEventType.TaskFailed,
                event_details=details,
            )

        patcher.set(cls, "_eval_service_task", _eval_service_task)
        patcher.set(cls, "_from_error", _from_error)


# --------------------------------------------------------------------------------------
# ECS task definitions
# --------------------------------------------------------------------------------------


def close_ecs_task_definitions(patcher: Patcher) -> None:
    """AWS::ECS::TaskDefinition: deleting the resource (removed from the template, or the
    old one after a replacement) deregisters its revision, which becomes INACTIVE; every
    property but Tags is "Update requires: Replacement" (the `update-replacement` gap
    creates the new revision first); `DeletionPolicy`/`UpdateReplacePolicy: Retain` keep the
    old revision ACTIVE (CloudFormation template reference, AWS::ECS::TaskDefinition and the
    DeletionPolicy / UpdateReplacePolicy attributes). moto registers a new revision and
    deregisters the old one on any update, and never deregisters on delete."""
    from moto.ecs.models import TaskDefinition, ecs_backends

    def delete(self: Any, account_id: str, region_name: str) -> None:
        if self.status == "ACTIVE":
            ecs_backends[account_id][region_name].deregister_task_definition(self.arn)

    def update_from_cloudformation_json(
        cls: type,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        return original_resource  # only Tags reach here (no interruption)

    patcher.set(TaskDefinition, "delete", delete)
    patcher.set(TaskDefinition, _UPDATE, classmethod(update_from_cloudformation_json))


def close_ecs_inactive_run(patcher: Patcher) -> None:
    """RunTask of an INACTIVE revision fails with InvalidParameterException "TaskDefinition
    is inactive" (seen from RunTask in DefangLabs/defang#775; Amazon ECS developer guide,
    "Deregistering a task definition revision": an INACTIVE revision cannot run new tasks).
    moto 5.2.5 runs it."""
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend

    run_task = _original_function(EC2ContainerServiceBackend, "run_task")

    def run_active_task(
        self: Any, cluster_str: str, task_definition_str: str, *args: Any, **kwargs: Any
    ) -> Any:
        if self.describe_task_definition(task_definition_str).status != "ACTIVE":
            raise InvalidParameterException("TaskDefinition is inactive")
        return run_task(self, cluster_str, task_definition_str, *args, **kwargs)

    patcher.set(EC2ContainerServiceBackend, "run_task", run_active_task)


_UPDATE = "update_from_cloudformation_json"


# --------------------------------------------------------------------------------------
# Batch job definitions
# --------------------------------------------------------------------------------------


def _skips_deregister(properties: dict[str, Any]) -> bool:
    policy = properties.get("ResourceRetentionPolicy") or {}
    return str(policy.get("SkipDeregisterOnUpdate", False)).lower() == "true"


def close_batch_job_definitions(patcher: Patcher) -> None:
    """AWS::Batch::JobDefinition (CloudFormation template reference): only
    `JobDefinitionName` is "Update requires: Replacement"; any other change registers a new
    revision (Ref: its ARN) and deregisters the previous one unless
    `ResourceRetentionPolicy.SkipDeregisterOnUpdate` is true; deleting the resource
    deregisters its revision. moto has no update or delete for it and needs a
    RetryStrategy."""
    from moto.batch.models import JobDefinition, batch_backends

    create = _original_function(JobDefinition, "create_from_cloudformation_json")

    def create_from_cloudformation_json(
        cls: type,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = {"RetryStrategy": {}, **(cloudformation_json.get("Properties") or {})}
        cfn = {**cloudformation_json, "Properties": properties}
        return create(cls, resource_name, cfn, account_id, region_name, **kwargs)

    def update_from_cloudformation_json(
        cls: type,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        revision = create_from_cloudformation_json(
            cls, original_resource.name, cloudformation_json, account_id, region_name
        )
        if not _skips_deregister(properties) and original_resource.status == "ACTIVE":
            original_resource.deregister()
        return revision

    def delete(self: Any, account_id: str, region_name: str) -> None:
        if self.status == "ACTIVE":
            batch_backends[account_id][region_name].deregister_job_definition(self.arn)

    patcher.set(JobDefinition, _CREATE, classmethod(create_from_cloudformation_json))
    patcher.set(JobDefinition, _UPDATE, classmethod(update_from_cloudformation_json))
    patcher.set(JobDefinition, "delete", delete)


def close_batch_unmanaged_environment(patcher: Patcher) -> None:
    """AWS::Batch::ComputeEnvironment of Type UNMANAGED has no ComputeResources (CloudFormation
    template reference: "ComputeResources ... required for managed compute environments");
    moto's CloudFormation model reads it unconditionally (KeyError)."""
    from moto.batch.models import ComputeEnvironment, batch_backends

    def create_from_cloudformation_json(
        cls: type,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        from moto.batch.utils import lowercase_first_key

        properties = cloudformation_json["Properties"]
        resources = properties.get("ComputeResources")
        backend: Any = batch_backends[account_id][region_name]
        return backend.create_compute_environment(
            resource_name,
            properties["Type"],
            properties.get("State", "ENABLED"),
            lowercase_first_key(resources) if resources is not None else None,
            properties.get("ServiceRole"),
        )

    patcher.set(ComputeEnvironment, _CREATE, classmethod(create_from_cloudformation_json))


def close_batch_job_image(patcher: Patcher) -> None:
    """DescribeJobs gives the job's `container.image` (AWS Batch API reference,
    ContainerDetail: "The image used to start the container"); moto leaves it out, so a
    `.sync` Task's result cannot tell which revision ran."""
    from moto.batch.models import Job

    details = _original_function(Job, "_container_details")

    def _container_details(self: Any) -> dict[str, Any]:
        found: dict[str, Any] = details(self)
        image = (self.job_definition.container_properties or {}).get("image")
        if image is not None:
            found["image"] = image
        return found

    patcher.set(Job, "_container_details", _container_details)


def close_batch_inactive_submit(patcher: Patcher) -> None:
    """SubmitJob of an INACTIVE revision fails with ClientException "JobDefinition <ARN> is
    not in ACTIVE status"; a name alone means its latest ACTIVE revision, else "JobDefinition
    name <name> does not exist or is not in ACTIVE status" (both messages as AWS Batch
    returns them: chanzuckerberg/single-cell-data-portal#1068 from a Step Functions Task,
    AlexsLemonade/refinebio#2887). moto 5.2.5 submits the job."""
    from moto.batch.exceptions import ClientException
    from moto.batch_simple.models import BatchSimpleBackend

    submit = _original_function(BatchSimpleBackend, "submit_job")

    def submit_job(self: Any, job_name: str, job_def_id: str, *args: Any, **kwargs: Any) -> Any:
        backend = self.backend
        if job_def_id.startswith("arn:") or ":" in job_def_id:
            found = backend.get_job_definition(job_def_id)
            if found is not None and found.status != "ACTIVE":
                raise ClientException(f"JobDefinition {found.arn} is not in ACTIVE status")
        else:
            active = [
                definition
                for definition in backend._job_definitions.values()
                if definition.name == job_def_id and definition.status == "ACTIVE"
            ]
            if not active:
                raise ClientException(
                    f"JobDefinition name {job_def_id} does not exist or is not in ACTIVE status"
                )
            job_def_id = max(active, key=lambda definition: int(definition.revision)).arn
        return submit(self, job_name, job_def_id, *args, **kwargs)

    patcher.set(BatchSimpleBackend, "submit_job", submit_job)


_CREATE = "create_from_cloudformation_json"

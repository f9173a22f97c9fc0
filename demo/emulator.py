"""An embedded AWS for the demo: moto in-process, a compatibility layer, a deploy helper.

moto emulates CloudFormation, Lambda, IAM and Step Functions (with a real ASL interpreter,
ported from LocalStack) in this process: no network, no docker, no account. It falls short of
what the blue-green story needs in a few places. Each shortfall is a `Gap` below: what moto
does, what AWS does, and a small patch that closes it. The patches touch moto internals, so
the layer is pinned to the moto release it was written against (`MOTO_VERSION`) and refuses
any other. docs/demo.md lists the gaps and what the emulator still cannot show.

The deploy helper does what CloudFormation does with a template: run its `Transform` list in
order (each macro gets the real macro event), then create or update the stack.

Nothing here belongs to the macro; the macro is only ever called through its Lambda handler.
"""

from __future__ import annotations

import base64
import copy
import functools
import graphlib
import io
import json
import os
import re
import sys
import tempfile
import threading
import traceback
import types
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from typing import Any, Literal

from demo import emulator_services
from pin_versions.local.transforms import declared_transforms

MOTO_VERSION = "5.2.5"
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

# A macro is its Lambda handler: (event, context) -> response.
MacroHandler = Callable[[dict[str, Any], Any], Any]


class EmulatorError(RuntimeError):
    """The emulator cannot do what was asked (wrong moto, unsupported runtime, ...)."""


class DeployError(RuntimeError):
    """A deploy failed the way it would fail in CloudFormation (transform or stack error)."""


def check_moto_version() -> None:
    """Fail clearly when moto is not the release the compatibility layer was written for."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise EmulatorError(
            f"demo/emulator.py patches moto {MOTO_VERSION} internals, but moto "
            f"{moto.__version__} is installed. Install moto=={MOTO_VERSION}, or re-check "
            "every gap in docs/demo.md against the new moto and update MOTO_VERSION."
        )


# --------------------------------------------------------------------------------------
# The compatibility layer
# --------------------------------------------------------------------------------------

_MISSING = object()
_CREATE = "create_from_cloudformation_json"
_UPDATE = "update_from_cloudformation_json"


class Patcher:
    """setattr (and dict item set) with an undo list; reads raw class attributes so
    descriptors come back intact."""

    def __init__(self) -> None:
        self._undo: list[tuple[object, str, object]] = []

    def set(self, owner: object, name: str, value: object) -> None:
        self._undo.append((owner, name, vars(owner).get(name, _MISSING)))
        setattr(owner, name, value)

    def set_item(self, mapping: dict[str, Any], key: str, value: object) -> None:
        self._undo.append((mapping, key, mapping.get(key, _MISSING)))
        mapping[key] = value

    def undo(self) -> None:
        while self._undo:
            owner, name, previous = self._undo.pop()
            if isinstance(owner, dict):
                if previous is _MISSING:
                    owner.pop(name, None)
                else:
                    owner[name] = previous
            elif previous is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, previous)


@dataclass(frozen=True)
class Gap:
    """One place where moto differs from AWS in a way the story would notice."""

    key: str
    moto: str  # what moto 5.2.5 does
    aws: str  # what AWS does
    close: Callable[[Patcher], None]


def _original(owner: type, name: str) -> Callable[..., Any]:
    """The function behind a classmethod/staticmethod/plain method, as currently installed."""
    raw = vars(owner)[name]
    func: Callable[..., Any] = getattr(raw, "__func__", raw)
    return func


def _close_sfn_backend(patcher: Patcher) -> None:
    from moto.stepfunctions import models as sfn_models
    from moto.stepfunctions import responses as sfn_responses

    class _Region:
        def __init__(self, account_id: str) -> None:
            self._account_id = account_id

        def __getitem__(self, region: str) -> Any:
            return sfn_responses.get_backend(self._account_id, region)

    class _ApiBackends:
        """Looks like moto's BackendDict, but answers with the backend the API uses."""

        def __getitem__(self, account_id: str) -> _Region:
            return _Region(account_id)

    # The CloudFormation model looks this module global up at call time.
    patcher.set(sfn_models, "stepfunctions_backends", _ApiBackends())


def _substitution_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _with_definition_string(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
    """Turn `Definition` and `DefinitionSubstitutions` into the DefinitionString moto reads."""
    properties = dict(cloudformation_json.get("Properties") or {})
    if "Definition" in properties:
        properties["DefinitionString"] = json.dumps(properties.pop("Definition"))
    substitutions = properties.pop("DefinitionSubstitutions", None) or {}
    text = properties.get("DefinitionString")
    if substitutions and isinstance(text, str):
        properties["DefinitionString"] = re.sub(
            r"\$\{([^}]+)\}",
            lambda m: (
                _substitution_text(substitutions[m.group(1)])
                if m.group(1) in substitutions
                else m.group(0)
            ),
            text,
        )
    return {**cloudformation_json, "Properties": properties}


def _close_sfn_definition(patcher: Patcher) -> None:
    from moto.stepfunctions.models import StateMachine

    create = _original(StateMachine, _CREATE)
    update = _original(StateMachine, _UPDATE)

    def create_from_cloudformation_json(
        cls: type,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        cfn = _with_definition_string(cloudformation_json)
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
        return update(
            cls,
            original_resource=original_resource,
            new_resource_name=new_resource_name,
            cloudformation_json=_with_definition_string(cloudformation_json),
            account_id=account_id,
            region_name=region_name,
        )

    patcher.set(StateMachine, _CREATE, classmethod(create_from_cloudformation_json))
    patcher.set(StateMachine, _UPDATE, classmethod(update_from_cloudformation_json))


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context object that handlers (and Powertools) read."""

    function_name: str
    function_version: str = "$LATEST"
    invoked_function_arn: str = ""
    memory_limit_in_mb: int = 128
    timeout_seconds: int = 3
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "demo"

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


def _load_handler(function: Any) -> Callable[[Any, Any], Any]:
    runtime = function.run_time or ""
    if not runtime.startswith("python"):
        raise EmulatorError(f"{runtime or 'no runtime'}: the in-process runner runs Python only")
    module_name, _, attribute = (function.handler or "").rpartition(".")
    path = module_name.replace(".", "/") + ".py"
    with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as bundle:
        source = bundle.read(path)
    module = types.ModuleType(module_name)
    module.__file__ = f"/var/task/{path}"
    # Every invocation is a cold start: the module runs afresh, like a new sandbox.
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    handler: Callable[[Any, Any], Any] = getattr(module, attribute)
    return handler


def _invoke_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replacement for LambdaFunction._invoke_lambda: run this version's own zip here."""
    if isinstance(event, str):
        event = json.loads(event or "{}")
    context = FakeLambdaContext(
        function_name=self.function_name,
        function_version=str(self.version),
        invoked_function_arn=self.function_arn,
        memory_limit_in_mb=int(self.memory_size),
        timeout_seconds=int(self.timeout),
    )
    # The version's own Environment.Variables are the process environment while it runs
    # (one invoke at a time, since os.environ is shared by every thread).
    with _environment_lock, _environment(dict(self.environment_vars or {})):
        try:
            result = _load_handler(self)(event, context)
            return json.dumps(result), False, ""
        except Exception as error:  # the function's own failure becomes Lambda's error payload
            trace = traceback.format_exception(error)
            payload = {"errorMessage": str(error), "errorType": type(error).__name__}
            return json.dumps({**payload, "stackTrace": trace}), True, "".join(trace)


_environment_lock = threading.RLock()


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update({name: str(value) for name, value in variables.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _close_lambda_in_process(patcher: Patcher) -> None:
    from moto.awslambda.models import LambdaFunction

    patcher.set(LambdaFunction, "_invoke_lambda", _invoke_in_process)


def _close_zipfile_update(patcher: Patcher) -> None:
    from moto.awslambda.models import LambdaFunction

    update = _original(LambdaFunction, _UPDATE)

    def update_from_cloudformation_json(
        cls: Any,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        code = properties.get("Code")
        if isinstance(code, dict) and isinstance(code.get("ZipFile"), str):
            # CloudFormation's ZipFile is source text; zip it exactly as moto's create does.
            bundle = cls._create_zipfile_from_plaintext_code(code["ZipFile"])
            code = {**code, "ZipFile": base64.b64encode(bundle)}
            properties = {**properties, "Code": code}
            cloudformation_json = {**cloudformation_json, "Properties": properties}
        return update(
            cls,
            original_resource=original_resource,
            new_resource_name=new_resource_name,
            cloudformation_json=cloudformation_json,
            account_id=account_id,
            region_name=region_name,
        )

    patcher.set(LambdaFunction, _UPDATE, classmethod(update_from_cloudformation_json))


def _lambda_backend(account_id: str, region_name: str) -> Any:
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region_name)


def _close_version_ref(patcher: Patcher) -> None:
    from moto.awslambda.models import LambdaVersion
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    create = _original(LambdaVersion, _CREATE)

    def create_from_cloudformation_json(
        cls: type,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        version = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        name = cloudformation_json["Properties"]["FunctionName"]
        function = _lambda_backend(account_id, region_name).get_function(name)
        version.function_arn = f"{function.function_arn}:{version.version}"
        return version

    def physical_resource_id(self: Any) -> str:
        arn: str = self.function_arn
        return arn

    def get_cfn_attribute(self: Any, attribute_name: str) -> str:
        if attribute_name == "Version":
            return str(self.version)
        if attribute_name == "FunctionArn":
            return physical_resource_id(self)
        raise UnformattedGetAttTemplateException()

    def has_cfn_attr(cls: type, attr: str) -> bool:
        return attr in ("Version", "FunctionArn")

    patcher.set(LambdaVersion, _CREATE, classmethod(create_from_cloudformation_json))
    patcher.set(LambdaVersion, "physical_resource_id", property(physical_resource_id))
    patcher.set(LambdaVersion, "get_cfn_attribute", get_cfn_attribute)
    patcher.set(LambdaVersion, "has_cfn_attr", classmethod(has_cfn_attr))


def _close_version_publish(patcher: Patcher) -> None:
    from moto.awslambda.models import LambdaVersion
    from moto.cloudformation.exceptions import ValidationError

    create = _original(LambdaVersion, _CREATE)

    def create_from_cloudformation_json(
        cls: type,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        backend = _lambda_backend(account_id, region_name)
        function = backend.get_function(cloudformation_json["Properties"]["FunctionName"])
        published = list(backend.list_versions_by_function(function.function_name))[1:]
        if published and not function.code_or_config_updated:
            raise ValidationError(
                message=f"A version for this Lambda function exists ( {published[-1].version} )."
                " Modify the function to create a new version."
            )
        return create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    patcher.set(LambdaVersion, _CREATE, classmethod(create_from_cloudformation_json))


def _close_lambda_alias(patcher: Patcher) -> None:
    from moto.cloudformation import parsing

    # Not a CloudFormationModel subclass: moto builds its model map from that class's
    # subclasses on first use, and this one must not stay there once the layer is undone.
    class CfnAlias:
        """AWS::Lambda::Alias: Ref gives the alias ARN (the CloudFormation template reference,
        AWS::Lambda::Alias, "Return values")."""

        def __init__(self, alias: Any, function_name: str) -> None:
            self.alias = alias
            self.function_name = function_name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Lambda::Alias"

        def is_created(self) -> bool:
            return True

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @property
        def physical_resource_id(self) -> str:
            arn: str = self.alias.arn
            return arn

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "AliasArn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.physical_resource_id

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
            backend = _lambda_backend(account_id, region_name)
            name = backend.get_function(properties["FunctionName"]).function_name
            alias = backend.create_alias(
                properties["Name"],
                name,
                str(properties["FunctionVersion"]),
                properties.get("Description", ""),
                properties.get("RoutingConfig"),
            )
            return cls(alias, name)

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
            original_resource.alias.update(
                properties.get("Description"),
                str(properties["FunctionVersion"]),
                properties.get("RoutingConfig"),
            )
            return original_resource

        def delete(self, account_id: str, region_name: str) -> None:
            backend = _lambda_backend(account_id, region_name)
            if any(f.function_name == self.function_name for f in backend.list_functions()):
                backend.delete_alias(self.alias.name, self.function_name)

    patcher.set_item(parsing.get_model_map(), "AWS::Lambda::Alias", CfnAlias)


# --------------------------------------------------------------------------------------
# IAM on every Task invoke
# --------------------------------------------------------------------------------------

INVOKE_ACTION = "lambda:InvokeFunction"


def invoke_resource_arn(
    function_name: str, qualifier: str | None, region: str, account: str
) -> str:
    """The ARN IAM evaluates for an Invoke: a name or partial ARN is completed, and a
    `Qualifier` parameter is appended, as Lambda resolves them (Lambda API Invoke,
    FunctionName: "name, ARN or partial ARN, with an optional version or alias")."""
    name = function_name
    if not name.startswith("arn:"):
        if ":function:" in name:  # account-id:function:name[:qualifier]
            name = f"arn:aws:lambda:{region}:{name}"
        else:  # name[:qualifier]
            name = f"arn:aws:lambda:{region}:{account}:function:{name}"
    if qualifier and name.count(":") == 6:
        name = f"{name}:{qualifier}"
    return name


def role_allows(account_id: str, role_arn: str, action: str, resource: str) -> bool:
    """Does the role's identity-based policy allow `action` on `resource`?

    IAM's evaluation logic for one account and no resource policy: an explicit Deny in any
    policy wins, else an Allow in any policy allows, else the request is implicitly denied
    (IAM User Guide, "Policy evaluation logic"). The policies are the role's inline policies
    (its `Policies`, and every `AWS::IAM::Policy` / PutRolePolicy naming it) and its attached
    managed policies. Statements are judged by moto's own evaluator
    (`moto.iam.access_control.IAMPolicy`). A missing role allows nothing.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["aws"]
    role_name = role_arn.rsplit("/", 1)[-1]
    try:
        role = backend.get_role(role_name)
    except Exception:  # moto's NotFoundException: no such role
        return False
    policies: list[Any] = list(role.policies.values())
    policies.extend(role.managed_policies.values())
    allowed = False
    for policy in policies:
        result = IAMPolicy(policy).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return False
        allowed = allowed or result == PermissionResult.PERMITTED
    return allowed


def access_denied(role_arn: str, resource: str, action: str = INVOKE_ACTION) -> Any:
    """The ClientError Lambda answers an unauthorised Invoke with (HTTP 403)."""
    from botocore.exceptions import ClientError

    role_name = role_arn.rsplit("/", 1)[-1]
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ACCOUNT_ID
    message = (
        f"User: arn:aws:sts::{account}:assumed-role/{role_name}/states-execution is not "
        f"authorized to perform: {action} on resource: {resource} because no "
        f"identity-based policy allows the {action} action"
    )
    response: Any = {
        "Error": {"Code": "AccessDeniedException", "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": str(uuid.uuid4())},
    }
    return ClientError(response, "Invoke")


class _AuthorizingLambdaClient:
    """A Lambda client that asks IAM before it invokes, as the role `role_arn`."""

    def __init__(self, client: Any, role_arn: str, region: str) -> None:
        self._client = client
        self._role_arn = role_arn
        self._region = region

    def invoke(self, **parameters: Any) -> Any:
        account = self._role_arn.split(":")[4] if self._role_arn.count(":") >= 5 else ACCOUNT_ID
        resource = invoke_resource_arn(
            str(parameters.get("FunctionName", "")),
            parameters.get("Qualifier"),
            self._region,
            account,
        )
        if not role_allows(account, self._role_arn, INVOKE_ACTION, resource):
            raise access_denied(self._role_arn, resource)
        return self._client.invoke(**parameters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@functools.cache
def _lambda_invoke_errors() -> frozenset[str]:
    """The error codes Lambda's Invoke models (botocore's service model)."""
    model = _shared_session()._session.get_service_model("lambda")
    return frozenset(shape.name for shape in model.operation_model("Invoke").error_shapes)


def lambda_task_error(error: Any) -> tuple[str, str]:
    """Step Functions' (error, cause) for a Lambda API error met by a Lambda Task.

    Step Functions calls Lambda through the AWS SDK for Java: an error code Lambda's Invoke
    models keeps its name (`Lambda.ResourceNotFoundException`); any other, such as IAM's
    `AccessDeniedException`, surfaces as the SDK's generic `Lambda.AWSLambdaException`
    (Step Functions developer guide, "Handling errors": Lambda service exceptions; seen in
    awslabs/aws-deployment-framework#460). The cause is the message with the SDK's details.
    """
    code = str(error.response["Error"].get("Code", ""))
    message = str(error.response["Error"].get("Message", ""))
    metadata = error.response.get("ResponseMetadata", {})
    modeled = _lambda_invoke_errors()
    name = f"Lambda.{code}" if code in modeled else "Lambda.AWSLambdaException"
    details = "; ".join(
        [
            "Service: AWSLambda",
            f"Status Code: {metadata.get('HTTPStatusCode', 400)}",
            f"Error Code: {code}",
            f"Request ID: {metadata.get('RequestId', '')}",
            "Proxy: null",
        ]
    )
    return name, f"{message} ({details})"


def _close_sfn_task_iam(patcher: Patcher) -> None:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import (
        HistoryEventType,
        LambdaFunctionFailedEventDetails,
        TaskFailedEventDetails,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        lambda_eval_utils,
        state_task_lambda,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk,
        state_task_service_lambda,
    )

    def _event_details(**details: Any) -> Any:
        return details  # moto's EventDetails TypedDict, with the one key that applies

    for module in (lambda_eval_utils, state_task_service_aws_sdk):
        original = module.boto_client_for

        def boto_client_for(
            region: str,
            service: str,
            state_credentials: Any = None,
            _original: Callable[..., Any] = original,
        ) -> Any:
            client = _original(region=region, service=service, state_credentials=state_credentials)
            role_arn = getattr(state_credentials, "role_arn", None)
            if service == "lambda":
                # Step Functions always calls with a role: the Task's Credentials, else the
                # state machine's (Step Functions developer guide, "Credentials").
                return _AuthorizingLambdaClient(client, str(role_arn or ""), region)
            return client

        patcher.set(module, "boto_client_for", boto_client_for)

    legacy_from_error = _original(state_task_lambda.StateTaskLambda, "_from_error")

    def legacy_lambda_from_error(self: Any, env: Any, ex: Exception) -> Any:
        # A Task whose Resource is the function ARN reports Lambda API errors as
        # LambdaFunctionFailed with the SDK's error name (moto: error "Exception").
        if not isinstance(ex, ClientError):
            return legacy_from_error(self, env, ex)
        error, cause = lambda_task_error(ex)
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=_event_details(
                lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(
                    error=error, cause=cause
                )
            ),
        )

    service = state_task_service_lambda.StateTaskServiceLambda
    service_from_error = _original(service, "_from_error")

    def service_lambda_from_error(self: Any, env: Any, ex: Exception) -> Any:
        # arn:aws:states:::lambda:invoke(.waitForTaskToken): moto names every code
        # Lambda.<code>; the SDK has no class for AccessDeniedException.
        if not isinstance(ex, ClientError):
            return service_from_error(self, env, ex)
        error, cause = lambda_task_error(ex)
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error),
            event_type=HistoryEventType.TaskFailed,
            event_details=_event_details(
                taskFailedEventDetails=TaskFailedEventDetails(
                    error=error,
                    cause=cause,
                    resource=self._get_sfn_resource(),
                    resourceType=self._get_sfn_resource_type(),
                )
            ),
        )

    patcher.set(state_task_lambda.StateTaskLambda, "_from_error", legacy_lambda_from_error)
    patcher.set(service, "_from_error", service_lambda_from_error)


_SUB_REFERENCE = re.compile(r"\$\{([^!}][^}]*)\}")


def _references(node: Any, found: set[str]) -> None:
    """Logical IDs a template node points at: Ref, Fn::GetAtt, and `${X}` / `${X.Attr}`."""
    if isinstance(node, list):
        for item in node:
            _references(item, found)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found.add(value)
        elif key == "Fn::GetAtt":
            target = value.split(".", 1)[0] if isinstance(value, str) else value[0]
            if isinstance(target, str):
                found.add(target)
        elif key == "Fn::Sub":
            text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])
            names = frozenset(variables) if isinstance(variables, dict) else frozenset()
            if isinstance(text, str):
                for match in _SUB_REFERENCE.finditer(text):
                    name = match.group(1).split(".", 1)[0].strip()
                    if name not in names:
                        found.add(name)
            _references(variables, found)
        else:
            _references(value, found)


def _dependencies(resources: Mapping[str, Any]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        found: set[str] = set()
        _references({k: v for k, v in resource.items() if k != "DependsOn"}, found)
        depends_on = resource.get("DependsOn", [])
        found.update([depends_on] if isinstance(depends_on, str) else depends_on)
        graph[name] = {other for other in found if other in resources and other != name}
    return graph


def dependency_order(resources: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """`names` in an order where every resource comes after the resources it references."""
    wanted = set(names)
    order = graphlib.TopologicalSorter(_dependencies(resources)).static_order()
    return [name for name in order if name in wanted]


def _resolved_properties(resources: Any, name: str, resource: Mapping[str, Any]) -> Any:
    """A resource's Properties with every intrinsic resolved against the stack as it is
    now, or None when moto cannot resolve them (then the raw template decides)."""
    from moto.cloudformation import parsing

    try:
        return json.loads(
            json.dumps(parsing.clean_json(resource.get("Properties") or {}, resources), default=str)
        )
    except Exception:  # an attribute moto does not model: fall back to the raw template
        return None


def _record_resolved(resources: Any) -> None:
    resources._pv_resolved = {
        name: _resolved_properties(resources, name, resource)
        for name, resource in resources._resource_json_map.items()
        if name in resources._parsed_resources
    }


def _close_update_semantics(patcher: Patcher) -> None:
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError

    create = _original(parsing.ResourceMap, "create")

    def create_and_record(self: Any, template: dict[str, Any]) -> Any:
        result = create(self, template)
        _record_resolved(self)
        return result

    def update(
        self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None
    ) -> None:
        """ResourceMap.update, in CloudFormation's order.

        A resource is modified when its properties, resolved, differ from last time (a
        changed parameter or a replaced resource it references counts, as in CloudFormation).
        Adds and modifies follow the dependency graph (a Version after the function update it
        must publish, the state machine after the Version it names). A modify that needs
        replacement (the `update-replacement` gap) creates the new resource in its place in
        that order. Then the cleanup phase: removed resources in reverse dependency order,
        skipping DeletionPolicy Retain, and replaced ones, skipping UpdateReplacePolicy Retain.
        """
        actions = self.build_resource_diff(template, parameters)
        old_resources = dict(self._resource_json_map)
        old_resolved: dict[str, Any] = dict(getattr(self, "_pv_resolved", {}))
        self._template = template
        if parameters:
            self.input_parameters = parameters
        self.load_mapping()
        self.load_parameters()
        self.load_conditions()
        self._resource_json_map = template["Resources"]
        replacement = getattr(self, "_pv_requires_replacement", None)

        try:
            changing = dependency_order(template["Resources"], template["Resources"])
            removing = dependency_order(old_resources, actions["Remove"])
        except graphlib.CycleError as error:
            message = f"Circular dependency between resources: {error.args[1]}"
            raise ValidationError(message=message) from None
        replaced: list[tuple[str, Any]] = []
        for name in changing:
            resource_json = template["Resources"][name]
            if name in actions["Add"]:
                _ = self[name]  # moto creates a resource on first lookup
                continue
            before = old_resolved.get(name)
            after = _resolved_properties(self, name, resource_json)
            if before is None or after is None:
                if name not in actions["Modify"]:
                    continue
            elif before == after and name not in actions["Modify"]:
                continue
            if (
                replacement is not None
                and before is not None
                and after is not None
                and old_resources[name].get("Type") == resource_json.get("Type")
                and replacement(resource_json["Type"], before, after)
            ):
                previous = self._parsed_resources.pop(name, None)
                _ = self[name]  # the replacement, created before anything that names it
                if previous is not None:
                    replaced.append((name, previous))
                continue
            changed = parsing.parse_and_update_resource(
                name,
                resource_json,
                self,
                account_id=self._account_id,
                region_name=self._region_name,
            )
            if changed is not None:
                self._parsed_resources[name] = changed
        for name in reversed(removing):
            resource = self._parsed_resources.pop(name, None)
            if resource is not None and old_resources[name].get("DeletionPolicy") != "Retain":
                self._delete_resource(resource, old_resources[name])
        for name, previous in reversed(replaced):
            if old_resources[name].get("UpdateReplacePolicy") != "Retain":
                self._delete_resource(previous, old_resources[name])
        _record_resolved(self)

    patcher.set(parsing.ResourceMap, "create", create_and_record)
    patcher.set(parsing.ResourceMap, "update", update)


@functools.cache
def replacing_properties(resource_type: str) -> tuple[tuple[str, ...], ...]:
    """The property paths whose change makes CloudFormation replace a resource of this type.

    They are the `createOnlyProperties` of the type's CloudFormation resource provider
    schema ("Update requires: Replacement" in the template reference), read from the schemas
    cfn-lint bundles (us-east-1). For example AWS::Lambda::Function: FunctionName,
    PackageType; AWS::Lambda::Version: FunctionName, Description, CodeSha256,
    ProvisionedConcurrencyConfig, RuntimePolicy; AWS::IAM::Policy: none. A type cfn-lint
    does not know is never replaced.
    """
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type)
    except ResourceNotFoundError:
        return ()
    paths = schema.schema.get("createOnlyProperties") or []
    return tuple(tuple(path.split("/")[2:]) for path in paths if path.startswith("/properties/"))


def _at(properties: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(properties, Mapping):
            return None
        properties = properties.get(key)
    return properties


def requires_replacement(
    resource_type: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> bool:
    """Would CloudFormation replace this resource for this change of (resolved) properties?"""
    return any(
        _at(before, path) != _at(after, path) for path in replacing_properties(resource_type)
    )


def _close_update_replacement(patcher: Patcher) -> None:
    from moto.cloudformation import parsing

    def hook(self: Any, resource_type: str, before: Any, after: Any) -> bool:
        return requires_replacement(resource_type, before, after)

    patcher.set(parsing.ResourceMap, "_pv_requires_replacement", hook)


def _close_version_delete(patcher: Patcher) -> None:
    from moto.awslambda.models import LambdaStorage, LambdaVersion

    create = _original(LambdaVersion, _CREATE)

    def create_from_cloudformation_json(
        cls: type,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        version = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        function = _lambda_backend(account_id, region_name).get_function(
            cloudformation_json["Properties"]["FunctionName"]
        )
        version._pv_function_name = function.function_name
        return version

    def delete(self: Any, account_id: str, region_name: str) -> None:
        # Deleting an AWS::Lambda::Version resource deletes that version (DeleteFunction with
        # the version as Qualifier); nothing to do if its function, and so it, is gone.
        backend = _lambda_backend(account_id, region_name)
        name = getattr(self, "_pv_function_name", None)
        if name is None:
            return
        found = [
            v
            for v in backend.list_versions_by_function(name)
            if str(v.version) == str(self.version)
        ]
        if found:
            backend.delete_function(name, str(self.version))

    def publish_version(self: Any, name_or_arn: str, description: str = "") -> Any:
        # Lambda never reuses a version number, even after that version is deleted
        # (moto numbers the next one len(versions) + 1).
        function = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
        name = function.function_name
        if name not in self._functions or not self._functions[name]["latest"]:
            return None
        entry = self._functions[name]
        published = entry["versions"]
        last = max([int(v.version) for v in published] + [entry.get("_pv_last", 0)])
        if last and not function.code_or_config_updated and published:
            return published[-1]
        function.code_or_config_updated = False
        fn = copy.copy(entry["latest"])
        fn.set_version(last + 1)
        if description:
            fn.description = description
        published.append(fn)
        entry["_pv_last"] = last + 1
        self._arns[fn.function_arn] = fn
        return fn

    patcher.set(LambdaVersion, _CREATE, classmethod(create_from_cloudformation_json))
    patcher.set(LambdaVersion, "delete", delete)
    patcher.set(LambdaStorage, "publish_version", publish_version)


def _json_policies(properties: Mapping[str, Any]) -> dict[str, str]:
    """A role's inline Policies, as the JSON text IAM stores, by name."""
    documents: dict[str, str] = {}
    for policy in properties.get("Policies") or []:
        if policy is None:  # an Fn::If branch of AWS::NoValue: CloudFormation drops the entry
            continue
        document = policy["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document, default=str)
        documents[policy["PolicyName"]] = text
    return documents


def _close_iam_role_policies(patcher: Patcher) -> None:
    from moto.iam.models import Role

    create = _original(Role, _CREATE)
    update = _original(Role, _UPDATE)

    def create_from_cloudformation_json(
        cls: type,
        /,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        properties = dict(cloudformation_json["Properties"])
        documents = _json_policies(properties)
        properties.pop("Policies", None)
        cfn = {**cloudformation_json, "Properties": properties}
        role = create(cls, resource_name, cfn, account_id, region_name, **kwargs)
        for name, document in documents.items():
            role.put_policy(name, document)
        role._pv_template_policies = set(documents)
        return role

    def update_from_cloudformation_json(
        cls: type,
        /,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> Any:
        role = update(
            cls,
            original_resource=original_resource,
            new_resource_name=new_resource_name,
            cloudformation_json=cloudformation_json,
            account_id=account_id,
            region_name=region_name,
        )
        # CloudFormation removes the inline policies the previous template's Policies list
        # named and the new one does not; policies put by AWS::IAM::Policy stay.
        documents = _json_policies(cloudformation_json["Properties"])
        previous = getattr(original_resource, "_pv_template_policies", set(role.policies))
        for name in [name for name in previous if name not in documents]:
            if name in role.policies:
                role.delete_policy(name)
        for name, document in documents.items():
            role.put_policy(name, document)
        role._pv_template_policies = set(documents)
        return role

    patcher.set(Role, _CREATE, classmethod(create_from_cloudformation_json))
    patcher.set(Role, _UPDATE, classmethod(update_from_cloudformation_json))


def _close_update_parameters(patcher: Patcher) -> None:
    from moto.cloudformation import parsing

    load_parameters = _original(parsing.ResourceMap, "load_parameters")

    def load_parameters_of_this_template(self: Any) -> None:
        # moto keeps resolving the previous template's parameters on update.
        declared = self._template.get("Parameters") or {}
        self.resolved_parameters = {}
        self.input_parameters = {
            name: value for name, value in self.input_parameters.items() if name in declared
        }
        load_parameters(self)

    patcher.set(parsing.ResourceMap, "load_parameters", load_parameters_of_this_template)


GAPS: tuple[Gap, ...] = (
    Gap(
        key="sfn-backend",
        moto="a stack's AWS::StepFunctions::StateMachine goes to the plain Step Functions "
        "backend, while the API (and its interpreter) uses the executing one: the state "
        "machine is invisible to ListStateMachines and StartExecution",
        aws="a stack-created state machine is an ordinary state machine",
        close=_close_sfn_backend,
    ),
    Gap(
        key="sfn-definition",
        moto="the CloudFormation model reads DefinitionString only: a Definition object gives "
        "an empty definition and DefinitionSubstitutions are ignored",
        aws="Definition is serialised to JSON and ${key} placeholders are substituted",
        close=_close_sfn_definition,
    ),
    Gap(
        key="lambda-in-process",
        moto="Invoke runs the function in a docker container (no docker: an error payload)",
        aws="Invoke runs the code of the version asked for",
        close=_close_lambda_in_process,
    ),
    Gap(
        key="zipfile-update",
        moto="a stack update hands inline ZipFile source text to the code updater, which "
        "expects a base64 zip: the update fails or the code is garbage",
        aws="the new inline source becomes the function's code",
        close=_close_zipfile_update,
    ),
    Gap(
        key="version-ref",
        moto="Ref of an AWS::Lambda::Version gives its logical ID; no Fn::GetAtt attributes",
        aws="Ref gives the version ARN (function:name:7); GetAtt Version and FunctionArn exist",
        close=_close_version_ref,
    ),
    Gap(
        key="version-publish",
        moto="a new AWS::Lambda::Version with nothing new to publish silently reuses the "
        "latest version",
        aws='the deploy fails: "A version for this Lambda function exists ( N )"',
        close=_close_version_publish,
    ),
    Gap(
        key="iam-role-policies",
        moto="an AWS::IAM::Role's inline Policies are stored as Python objects (GetRolePolicy "
        "returns their repr, not JSON) and a stack update ignores changes to them",
        aws="inline policies are JSON documents, and an update adds, changes and removes them",
        close=_close_iam_role_policies,
    ),
    Gap(
        key="update-parameters",
        moto="on a stack update, parameters of the previous template stay in play: a "
        "parameter the new template no longer declares makes the update crash (KeyError)",
        aws="the new template's Parameters section alone decides the parameters",
        close=_close_update_parameters,
    ),
    Gap(
        key="update-semantics",
        moto="a stack update deletes removed resources first (ignoring DeletionPolicy Retain), "
        "then creates added ones, then modifies the rest: a new Version is published before "
        "the function update it was meant to capture; a change that reaches a resource only "
        "through a parameter inside Fn::Sub or a replaced resource it references is not seen",
        aws="adds and modifies follow the dependency graph; removals come last and Retain "
        "keeps the resource",
        close=_close_update_semantics,
    ),
    Gap(
        key="update-replacement",
        moto="a stack update changes a resource in place whatever changed: a new FunctionName "
        "renames nothing (the old function keeps serving), a changed AWS::Lambda::Version "
        "publishes nothing",
        aws='a change to a property marked "Update requires: Replacement" creates a new '
        "resource, repoints everything that references it, then deletes the old one in the "
        "cleanup phase unless UpdateReplacePolicy is Retain",
        close=_close_update_replacement,
    ),
    Gap(
        key="version-delete",
        moto="an AWS::Lambda::Version removed from the template (or replaced) is never "
        "deleted, and a later version reuses a deleted version's number",
        aws="removing the resource deletes the version unless DeletionPolicy is Retain; "
        "version numbers are never reused",
        close=_close_version_delete,
    ),
    Gap(
        key="lambda-alias",
        moto="no AWS::Lambda::Alias in CloudFormation: the resource is skipped with a warning "
        "(SAM AutoPublishAlias makes one) and DescribeStackResources lists it without a type",
        aws="the alias is created, repointed on update and deleted with the stack",
        close=_close_lambda_alias,
    ),
    Gap(
        key="sfn-task-iam",
        moto="the Step Functions interpreter invokes Lambda without asking IAM: a role with "
        "no grant for the ARN invoked still runs the function; Lambda API errors become "
        'error "Exception" on a Task whose Resource is a function ARN',
        aws="the call is made as the Task's Credentials role, else the state machine's role, "
        "and IAM denies it unless a policy of that role allows lambda:InvokeFunction on the "
        "ARN invoked: the Task fails with Lambda.AWSLambdaException (AccessDeniedException)",
        close=_close_sfn_task_iam,
    ),
    *emulator_services.gaps(Gap),
)
GAP_KEYS = tuple(gap.key for gap in GAPS)

_layer_lock = threading.Lock()


@contextmanager
def compat_layer(skip: Iterable[str] = ()) -> Iterator[tuple[str, ...]]:
    """Close every gap except those in `skip` (tests use it to show each gap is real)."""
    check_moto_version()
    skipped = set(skip)
    unknown = skipped - set(GAP_KEYS)
    if unknown:
        raise EmulatorError(f"unknown gap(s) {sorted(unknown)}; known: {list(GAP_KEYS)}")
    if not _layer_lock.acquire(blocking=False):
        raise EmulatorError("the compatibility layer is already active (patches are global)")
    patcher = Patcher()
    try:
        closed = tuple(gap.key for gap in GAPS if gap.key not in skipped)
        for gap in GAPS:
            if gap.key in closed:
                gap.close(patcher)
        yield closed
    finally:
        patcher.undo()
        _layer_lock.release()


# --------------------------------------------------------------------------------------
# The emulator and its deploy helper
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    stack_name: str
    operation: Literal["CREATE", "UPDATE"]
    status: str
    transforms: tuple[str, ...]
    template: dict[str, Any]  # what CloudFormation deployed, after every transform
    macro_logs: tuple[str, ...]  # what the macros wrote to their log streams


def _parameter_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def template_parameter_values(
    template: Mapping[str, Any], given: Mapping[str, str]
) -> dict[str, Any]:
    """What CloudFormation sends as templateParameterValues: given values, else defaults."""
    values: dict[str, Any] = {}
    for name, declaration in (template.get("Parameters") or {}).items():
        if name in given:
            raw: Any = given[name]
        elif "Default" in declaration:
            raw = declaration["Default"]
        else:
            continue
        kind = str(declaration.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            raw_list = raw if isinstance(raw, list) else str(raw).split(",")
            values[name] = [_parameter_text(item) for item in raw_list]
        else:
            values[name] = _parameter_text(raw)
    return values


def transform_names(template: Mapping[str, Any]) -> tuple[str, ...]:
    names, valid = declared_transforms(template)
    if not valid:
        raise DeployError("Template format error: Transform must be a string or a list of strings")
    return tuple(names)


def without_transform(template: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The template with one macro struck from its Transform list (the key goes when empty)."""
    remaining = [other for other in transform_names(template) if other != name]
    result = {key: copy.deepcopy(value) for key, value in template.items() if key != "Transform"}
    if remaining:
        result = {"Transform": remaining[0] if len(remaining) == 1 else remaining, **result}
    return result


@contextmanager
def _lambda_log_stream() -> Iterator[list[str]]:
    """Catch what a macro writes: its log lines belong to its log stream, not the terminal.

    print() follows sys.stdout, but Powertools binds its handler to the stdout of the moment
    it was imported, so file descriptor 1 is redirected too.
    """
    lines: list[str] = []
    original = sys.stdout
    original.flush()
    saved = os.dup(1)
    printed = io.StringIO()
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        try:
            with redirect_stdout(printed):
                yield lines
        finally:
            original.flush()
            if sys.__stdout__ is not None:
                sys.__stdout__.flush()
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            lines.extend(printed.getvalue().splitlines())
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


def run_transforms(
    template: Mapping[str, Any],
    *,
    macros: Mapping[str, MacroHandler],
    parameter_values: Mapping[str, Any],
    account_id: str = ACCOUNT_ID,
    region: str = REGION,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Run the template-level Transform list in order, as CloudFormation does.

    Returns the processed template and the macros' log lines.
    """
    fragment = {key: value for key, value in template.items() if key != "Transform"}
    logs: list[str] = []
    for name in transform_names(template):
        if name == SAM_TRANSFORM:
            fragment = _sam_transform(fragment, parameter_values, account_id, region)
            continue
        handler = macros.get(name)
        if handler is None:
            raise DeployError(f"No transform named {account_id}::{name} found.")
        request_id = str(uuid.uuid4())
        event = {
            "region": region,
            "accountId": account_id,
            "fragment": fragment,
            "transformId": f"{account_id}::{name}",
            "params": {},
            "requestId": request_id,
            "templateParameterValues": dict(parameter_values),
        }
        context = FakeLambdaContext(
            function_name=name,
            invoked_function_arn=f"arn:aws:lambda:{region}:{account_id}:function:{name}",
            aws_request_id=request_id,
        )
        # A Lambda sees JSON in and gives JSON out: round-trip both ways.
        with _lambda_log_stream() as lines:
            response = json.loads(json.dumps(handler(json.loads(json.dumps(event)), context)))
        logs.extend(lines)
        fragment = _macro_result(name, account_id, request_id, response)
    return fragment, tuple(logs)


def _sam_transform(
    fragment: Mapping[str, Any],
    parameter_values: Mapping[str, Any],
    account_id: str,
    region: str,
) -> dict[str, Any]:
    """The SAM transform, offline, as the command line runs it (`pin_versions.local.sam_local`,
    aws-sam-translator): what CloudFormation hands the next transform, or the deploy error."""
    from pin_versions.local.sam_local import translate
    from pin_versions.report import TransformError

    try:
        return translate(
            json.loads(json.dumps(fragment)),
            dict(parameter_values),
            region=region,
            account_id=account_id,
        )
    except TransformError as error:
        raise DeployError(f"Transform {SAM_TRANSFORM} failed with: {error}") from None


def _macro_result(name: str, account_id: str, request_id: str, response: Any) -> dict[str, Any]:
    prefix = f"Transform {account_id}::{name} failed with:"
    if not isinstance(response, dict):
        raise DeployError(f"{prefix} the macro response is not a JSON object")
    if response.get("requestId") != request_id:
        raise DeployError(f"{prefix} the response requestId does not match the request")
    status = response.get("status")
    if status == "failure" or (isinstance(status, str) and status.lower() == "failure"):
        raise DeployError(f"{prefix} {response.get('errorMessage', '(no errorMessage)')}")
    if status != "success":
        raise DeployError(f"{prefix} unknown status {status!r}")
    fragment = response.get("fragment")
    if not isinstance(fragment, dict):
        raise DeployError(f"{prefix} the response fragment is not a template")
    return fragment


@functools.cache
def _shared_session() -> Any:
    """One boto3 session for every Emulator: its botocore loader keeps the service models it
    has read (reading them again for each emulator costs about a second). One boto3 session,
    not one per emulator over a shared botocore session: each boto3 session registers its S3
    transfer methods on the botocore session, and a second registration fails the next S3
    client ("Cannot inject class attribute upload_file")."""
    import boto3
    import botocore.session

    return boto3.session.Session(
        botocore_session=botocore.session.get_session(), region_name=REGION
    )


class Emulator:
    """boto3 clients on moto, and deploys that behave like CloudFormation's."""

    def __init__(self, macros: Mapping[str, MacroHandler]) -> None:
        self.account_id = ACCOUNT_ID
        self.region = REGION
        self.macros = dict(macros)
        self._session = _shared_session()
        self.cloudformation = self.client("cloudformation")
        self.stepfunctions = self.client("stepfunctions")
        self.lambda_ = self.client("lambda")
        self.iam = self.client("iam")

    def client(self, service: str) -> Any:
        return self._session.client(service, region_name=self.region)

    def _stack_exists(self, stack_name: str) -> bool:
        summaries = self.cloudformation.list_stacks()["StackSummaries"]
        return any(
            s["StackName"] == stack_name and s["StackStatus"] != "DELETE_COMPLETE"
            for s in summaries
        )

    def deploy(
        self,
        stack_name: str,
        template: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
    ) -> Deployment:
        """Create or update `stack_name` from `template` (a parsed template with Transform)."""
        given = dict(parameters or {})
        declared = template.get("Parameters") or {}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise DeployError(f"Parameters: {unknown} do not exist in the template")
        processed, logs = run_transforms(
            template,
            macros=self.macros,
            parameter_values=template_parameter_values(template, given),
            account_id=self.account_id,
            region=self.region,
        )
        operation: Literal["CREATE", "UPDATE"] = (
            "UPDATE" if self._stack_exists(stack_name) else "CREATE"
        )
        request = {
            "StackName": stack_name,
            "TemplateBody": json.dumps(processed),
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()],
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        }
        from botocore.exceptions import ClientError

        try:
            if operation == "UPDATE":
                self.cloudformation.update_stack(**request)
            else:
                self.cloudformation.create_stack(**request)
        except ClientError as error:
            raise DeployError(f"{operation} {stack_name}: {error}") from error
        stack = self.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        return Deployment(
            stack_name=stack_name,
            operation=operation,
            status=stack["StackStatus"],
            transforms=transform_names(template),
            template=processed,
            macro_logs=logs,
        )

    def physical_id(self, stack_name: str, logical_id: str) -> str:
        found = self.cloudformation.describe_stack_resource(
            StackName=stack_name, LogicalResourceId=logical_id
        )
        physical: str = found["StackResourceDetail"]["PhysicalResourceId"]
        return physical


@contextmanager
def emulator(
    macros: Mapping[str, MacroHandler] | None = None,
    *,
    skip: Iterable[str] = (),
    seed: int = 7,
) -> Iterator[Emulator]:
    """A fresh embedded AWS: moto with the Step Functions interpreter on, and the layer."""
    check_moto_version()
    from moto import mock_aws
    from moto.moto_api._internal import mock_random

    config: Any = {
        "stepfunctions": {"execute_state_machine": True},
        # The "docker" backend is the one whose invoke we can reroute in-process.
        "lambda": {"use_docker": True},
        # Batch jobs without docker (moto's batch_simple): a submitted job succeeds at once.
        "batch": {"use_docker": False},
        "iam": {"load_aws_managed_policies": False},
    }
    with compat_layer(skip), mock_aws(config=config):
        # Seeded so physical names (and so the demo's output) are the same every run.
        mock_random.seed(seed)
        yield Emulator(macros or {})

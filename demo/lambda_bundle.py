"""Run a deployed Lambda function's own code, as Lambda runs it, and use a deployed macro.

The emulator's in-process runner (demo/emulator.py, gap ``lambda-in-process``) loads one
handler file from a function's zip: enough for the demo's inline functions, not for a bundle
that is a package with dependencies (``pin_versions.handler`` imports its siblings and
Powertools). This module runs such a bundle the way the Lambda runtime does: the zip
extracted into a fresh directory, a new Python process whose import path is that directory
and the standard library only (``-I -S``: no site-packages, no PYTHON* variables), the
function's environment variables, one event in, one JSON response out. What the code prints
is its log stream. A missing dependency fails here as it would fail on Lambda.

:func:`macro_resources` teaches moto the ``AWS::CloudFormation::Macro`` type, which moto
5.2.5 lacks (a stack with one deploys without it, then DescribeStackResource fails on the
missing resource): like CloudFormation, the resource registers a macro name for a function
in the stack's account and Region. :func:`deployed_macro` gives the macro a stack registered
as a handler that runs the deployed function's zip (:func:`run_bundle`), to be put in
``Emulator.macros``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from demo.emulator import ACCOUNT_ID, REGION, DeployError, Emulator, MacroHandler

MACRO_TYPE = "AWS::CloudFormation::Macro"

# Runs inside the new process: argv = [bundle directory, handler, result file, context JSON].
_BOOTSTRAP = """
import importlib, json, sys, types
bundle, handler, result_path, context_json = sys.argv[1:5]
sys.path.insert(0, bundle)
module_name, _, attribute = handler.rpartition(".")
function = getattr(importlib.import_module(module_name), attribute)
context = types.SimpleNamespace(**json.loads(context_json))
context.get_remaining_time_in_millis = lambda: context.timeout_seconds * 1000
event = json.loads(sys.stdin.read())
try:
    result = {"ok": function(event, context)}
except Exception as error:
    result = {"error": {"errorType": type(error).__name__, "errorMessage": str(error)}}
result["module_file"] = sys.modules[module_name].__file__
with open(result_path, "w", encoding="utf-8") as stream:
    json.dump(result, stream)
"""


class BundleError(RuntimeError):
    """The function's code did not answer: it failed to import, raised, or timed out."""


@dataclass(frozen=True)
class Invocation:
    response: Any  # the handler's return value, through JSON
    logs: tuple[str, ...]  # what the code wrote to stdout and stderr
    module_file: str  # where the handler module was imported from (inside the bundle)


def run_bundle(
    code: bytes,
    handler: str,
    event: Any,
    *,
    environment: Mapping[str, str] | None = None,
    function_name: str = "function",
    timeout_seconds: int = 60,
    memory_limit_in_mb: int = 128,
) -> Invocation:
    """Invoke ``handler`` (``module.attribute``) of the zip ``code`` with ``event``.

    Raises BundleError when the handler cannot be imported, raises, or runs past
    ``timeout_seconds`` (plus a few seconds for the interpreter to start).
    """
    request_id = str(uuid.uuid4())
    context = {
        "function_name": function_name,
        "function_version": "$LATEST",
        "invoked_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}",
        "memory_limit_in_mb": memory_limit_in_mb,
        "timeout_seconds": timeout_seconds,
        "aws_request_id": request_id,
        "log_group_name": f"/aws/lambda/{function_name}",
        "log_stream_name": "bundle",
    }
    with tempfile.TemporaryDirectory(prefix="lambda-task-") as task:
        bundle = Path(task, "task")
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(bundle)
        result_path = Path(task, "result.json")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            **dict(environment or {}),
        }
        try:
            process = subprocess.run(
                [
                    *(sys.executable, "-I", "-S", "-c", _BOOTSTRAP),
                    *(str(bundle), handler, str(result_path), json.dumps(context)),
                ],
                input=json.dumps(event),
                capture_output=True,
                text=True,
                env=env,
                cwd=bundle,
                timeout=timeout_seconds + 10,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise BundleError(f"{function_name}: timed out after {error.timeout} s") from None
        logs = tuple((process.stdout + process.stderr).splitlines())
        if not result_path.is_file():
            tail = "\n".join(logs[-20:])
            raise BundleError(
                f"{function_name}: {handler} did not run (exit {process.returncode})\n{tail}"
            )
        result = json.loads(result_path.read_text(encoding="utf-8"))
    if "error" in result:
        failure = result["error"]
        raise BundleError(f"{function_name}: {failure['errorType']}: {failure['errorMessage']}")
    return Invocation(result["ok"], logs, str(result["module_file"]))


@dataclass(frozen=True)
class RegisteredMacro:
    """What an AWS::CloudFormation::Macro resource registers."""

    name: str
    function_name: str  # FunctionName as the template resolves it: an ARN or a name
    stack_id: str


# (account, Region, macro name) -> the macro; filled by the Macro resources of deployed stacks.
_MACROS: dict[tuple[str, str, str], RegisteredMacro] = {}


@cache
def _macro_model() -> type[Any]:
    """The moto resource model of AWS::CloudFormation::Macro (built once, on first use)."""
    from moto.core.common_models import CloudFormationModel

    class Macro(CloudFormationModel):
        def __init__(self, key: tuple[str, str, str], macro: RegisteredMacro) -> None:
            self.key = key
            self.macro = macro

        @staticmethod
        def cloudformation_name_type() -> str:
            return "Name"

        @staticmethod
        def cloudformation_type() -> str:
            return MACRO_TYPE

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return False  # AWS::CloudFormation::Macro has no Fn::GetAtt attributes

        @property
        def physical_resource_id(self) -> str:
            return self.macro.name

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Macro:
            properties = cloudformation_json.get("Properties") or {}
            name, function = properties.get("Name"), properties.get("FunctionName")
            if not isinstance(name, str) or not isinstance(function, str):
                raise DeployError(f"{MACRO_TYPE}: Name and FunctionName must be strings")
            key = (account_id, region_name, name)
            if key in _MACROS:
                raise DeployError(f"A macro named {name} already exists in this account")
            macro = RegisteredMacro(name, function, str(kwargs.get("StackId", "")))
            _MACROS[key] = macro
            return cls(key, macro)

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> Macro:
            _MACROS.pop(original_resource.key, None)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )

        @classmethod
        def delete_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> None:
            _MACROS.pop((account_id, region_name, resource_name), None)

        def delete(self, account_id: str, region_name: str) -> None:
            _MACROS.pop(self.key, None)

        def is_created(self) -> bool:
            return True

    return Macro


@contextmanager
def macro_resources() -> Iterator[None]:
    """Within: stacks can declare AWS::CloudFormation::Macro. Use inside ``emulator()``."""
    from moto.cloudformation import parsing

    original = parsing.get_model_map

    def with_macros() -> dict[str, Any]:
        return {**original(), MACRO_TYPE: _macro_model()}

    parsing.get_model_map = with_macros  # type: ignore[assignment]
    try:
        yield
    finally:
        parsing.get_model_map = original
        _MACROS.clear()


def deployed_macro(emu: Emulator, stack_name: str) -> tuple[str, MacroHandler]:
    """The macro a deployed stack registered: its name, and a handler that runs the
    deployed function's zip (:func:`run_bundle`) with the function's configuration. Raises
    DeployError unless the stack registered exactly one macro."""
    stack_id = emu.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackId"]
    mine = [
        macro
        for (account, region, _), macro in _MACROS.items()
        if (account, region) == (emu.account_id, emu.region) and macro.stack_id == stack_id
    ]
    if len(mine) != 1:
        raise DeployError(f"{stack_name}: expected one {MACRO_TYPE}, found {len(mine)}")
    macro = mine[0]
    configuration = emu.lambda_.get_function(FunctionName=macro.function_name)["Configuration"]
    function_name = configuration["FunctionName"]
    code = _function_code(emu, function_name)

    def handler(event: dict[str, Any], context: Any) -> Any:
        invocation = run_bundle(
            code,
            configuration["Handler"],
            event,
            environment=(configuration.get("Environment") or {}).get("Variables") or {},
            function_name=function_name,
            timeout_seconds=int(configuration["Timeout"]),
            memory_limit_in_mb=int(configuration["MemorySize"]),
        )
        for line in invocation.logs:
            print(line)  # the emulator collects a macro's output as its log stream
        return invocation.response

    return macro.name, handler


def _function_code(emu: Emulator, function_name: str) -> bytes:
    """The zip Lambda stored for the function (moto keeps it; the API only gives a URL)."""
    from moto.awslambda.utils import get_backend

    function = get_backend(emu.account_id, emu.region).get_function(function_name)
    code: bytes = function.code_bytes
    return code

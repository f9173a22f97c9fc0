"""SAM's own translator (aws-sam-translator), run offline: no AWS calls, no credentials.

Used by the command line and the tests, never by the Lambda (which CloudFormation calls
after or before its own SAM transform).
"""

from __future__ import annotations

import copy
from typing import Any

from .inventory import partition_of
from .report import Diagnostic, TransformError

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


def translate(
    template: dict[str, Any],
    parameter_values: dict[str, Any] | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
) -> dict[str, Any]:
    """The template after the SAM transform, as CloudFormation would process it.

    Managed policy names resolve through the map aws-sam-translator bundles; a name it does
    not know is an error rather than an IAM lookup.
    """
    # Late imports: these are the command line's dependencies, not the Lambda's.
    from boto3.session import Session
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    fragment = copy.deepcopy({k: v for k, v in template.items() if k != "Transform"})
    values = dict(parameter_values or {})
    values.setdefault("AWS::Region", region)
    values.setdefault("AWS::Partition", partition_of(region))
    values.setdefault("AWS::AccountId", account_id)
    translator = Translator(None, Parser(), boto_session=Session(region_name=region))
    try:
        output: dict[str, Any] = translator.translate(
            fragment, parameter_values=values, get_managed_policy_map=dict
        )
    except InvalidDocumentException as error:
        raise TransformError(
            [Diagnostic("PV912", "", f"SAM: {cause.message}") for cause in error.causes]
        ) from None
    return output

"""SAM's own translator (aws-sam-translator), run offline: no AWS calls, no credentials.

Used by the command line and the tests, never by the Lambda (which CloudFormation calls
after or before its own SAM transform).
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

from ..inventory import partition_of
from ..report import Diagnostic, TransformError

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


class _OfflineRepository:
    """Stands in for the Serverless Application Repository client SAM's translator would
    create: an application's nested stack gets a placeholder template URL (PinVersions never
    reads nested stacks), and no AWS call is made."""

    def _template(self, ApplicationId: str, **_: Any) -> dict[str, Any]:
        name = ApplicationId.rsplit("/", 1)[-1]
        return {
            "ApplicationId": ApplicationId,
            "Status": "ACTIVE",
            "TemplateId": f"offline-{name}",
            "TemplateUrl": f"https://pin-versions.invalid/serverlessrepo/{name}.yaml",
        }

    def create_cloud_formation_template(self, **kwargs: Any) -> dict[str, Any]:
        return self._template(**kwargs)

    def get_cloud_formation_template(self, **kwargs: Any) -> dict[str, Any]:
        return self._template(**kwargs)

    def get_application(self, **kwargs: Any) -> dict[str, Any]:
        return {"ApplicationId": kwargs.get("ApplicationId", "")}


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
    from samtranslator.plugins.application.serverless_app_plugin import ServerlessAppPlugin
    from samtranslator.translator.translator import Translator

    # The translator reports its own metrics through logging: nothing for our user.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)

    fragment = copy.deepcopy({k: v for k, v in template.items() if k != "Transform"})
    values = dict(parameter_values or {})
    values.setdefault("AWS::Region", region)
    values.setdefault("AWS::Partition", partition_of(region))
    values.setdefault("AWS::AccountId", account_id)
    offline = ServerlessAppPlugin(sar_client=_OfflineRepository(), parameters=values)
    translator = Translator(
        None, Parser(), plugins=[offline], boto_session=Session(region_name=region)
    )
    try:
        output = translator.translate(
            fragment, parameter_values=values, get_managed_policy_map=dict
        )
    except InvalidDocumentException as error:
        raise TransformError(
            [Diagnostic("PV912", "", f"SAM: {cause.message}") for cause in error.causes]
        ) from None
    # CloudFormation hands the next macro JSON: plain dicts, not the translator's dict
    # subclasses (the pipeline tells a mapping by `type(x) is dict`).
    plain: dict[str, Any] = json.loads(json.dumps(output))
    return plain

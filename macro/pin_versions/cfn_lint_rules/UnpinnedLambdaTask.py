"""W9101: a state machine Task invokes a function of the template unqualified."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from pin_versions.local.checks import unpinned_targets


class UnpinnedLambdaTask(CloudFormationLintRule):
    """Tasks that would run new code under executions started before a deploy."""

    id = "W9101"
    shortdesc = "Task invokes an unpinned Lambda function of this template"
    description = (
        "A Step Functions Task that names a Lambda function of the same template without a "
        "version runs whatever code the function has when the Task runs, so a deploy breaks "
        "executions that wait through it. Add Transform: PinVersions, or invoke a version."
    )
    source_url = "https://github.com/pin-versions/pin-versions/blob/main/docs/troubleshooting.md"
    tags: ClassVar[list[str]] = ["resources", "stepfunctions", "lambda", "pin-versions"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        transforms = [str(t) for t in cfn.transform_pre.get("Transform", [])]
        if any(t == "PinVersions" or t.endswith("::PinVersions") for t in transforms):
            return []  # the macro pins them on deploy
        template = json.loads(json.dumps(cfn.template))
        return [RuleMatch(list(f.path), f.message) for f in unpinned_targets(template)]

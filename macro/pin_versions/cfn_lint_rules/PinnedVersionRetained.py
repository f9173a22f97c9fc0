"""E9102: a processed template where pinning would not protect running executions."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from pin_versions.local.checks import processed_problems


class PinnedVersionRetained(CloudFormationLintRule):
    """Versions state machines invoke must be retained and invokable by their role."""

    id = "E9102"
    shortdesc = "Pinned version not retained, or not invokable by the execution role"
    description = (
        "A Lambda version a state machine invokes must have DeletionPolicy Retain (the next "
        "deploy must not delete it under running executions), and the execution role must "
        "allow lambda:InvokeFunction on every version of the function (function:NAME:*). "
        "A StateMachineVersion a Task starts must be retained on both policies."
    )
    source_url = "https://github.com/pin-versions/pin-versions/blob/main/docs/troubleshooting.md"
    tags: ClassVar[list[str]] = ["resources", "stepfunctions", "lambda", "iam", "pin-versions"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        template = json.loads(json.dumps(cfn.template))
        return [RuleMatch(list(f.path), f.message) for f in processed_problems(template)]

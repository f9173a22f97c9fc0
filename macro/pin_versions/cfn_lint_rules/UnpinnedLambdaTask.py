"""W9101: a state machine Task calls something of the template a deploy can change under a
running execution (every target kind of the registry, targets.py; checks.unpinned_targets).
The module keeps its name (cfn-lint users may list it); the rule is generic."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from pin_versions.local.checks import unpinned_targets


class UnpinnedLambdaTask(CloudFormationLintRule):
    """Tasks that would call something new under executions started before a deploy."""

    id = "W9101"
    shortdesc = "Task calls something of this template a deploy can change under it"
    description = (
        "A Step Functions Task that calls a Lambda function or a child state machine of the "
        "same template unqualified, an ECS task definition or Batch job definition by name, "
        "or one by its revision without what keeps that revision ACTIVE (UpdateReplacePolicy "
        "and DeletionPolicy Retain; Batch ResourceRetentionPolicy.SkipDeregisterOnUpdate), "
        "calls whatever it is when the Task runs, so a deploy breaks executions that wait "
        "through it. Add Transform: PinVersions."
    )
    source_url = "https://github.com/pin-versions/pin-versions/blob/main/docs/troubleshooting.md"
    tags: ClassVar[list[str]] = [
        "resources",
        "stepfunctions",
        "lambda",
        "ecs",
        "batch",
        "pin-versions",
    ]

    def match(self, cfn: Any) -> list[RuleMatch]:
        transforms = [str(t) for t in cfn.transform_pre.get("Transform", [])]
        if any(t == "PinVersions" or t.endswith("::PinVersions") for t in transforms):
            return []  # the macro pins them on deploy
        template = json.loads(json.dumps(cfn.template))
        return [RuleMatch(list(f.path), f.message) for f in unpinned_targets(template)]

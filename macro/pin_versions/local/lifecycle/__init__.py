"""The day-2 lifecycle: what a deploy from one processed template to the next does to the
targets that executions started before it may still call (``pin-versions plan``): Lambda
functions and versions, and (issue 14, ``kind_uses``/``kinds``) child state machine versions,
ECS task definition and Batch job definition revisions, and the versions an alias routes to.

Generic on purpose: the input is two *processed* templates (plain CloudFormation, whatever
made them) and the model is CloudFormation's and IAM's rules, not the macro's output. Each
rule, with the AWS documentation it relies on, is in docs/lifecycle.md:

- Running executions keep the definition and role they started with (Step Functions
  ``UpdateStateMachine``), so the targets and roles are read from OLD.
- A resource that leaves the template is deleted unless OLD gives it ``DeletionPolicy:
  Retain`` (or ``RetainExceptOnCreate``); one whose create-only property changes is replaced,
  and the old one is deleted unless ``UpdateReplacePolicy: Retain`` (required in both
  templates here: CloudFormation does not apply an attribute-only change, so the stack may
  still hold the older one).
- Deleting a function deletes every version of it (Lambda ``DeleteFunction``).
- A retained ``AWS::IAM::Policy`` stays attached to its roles; inline policies go with the
  role's ``Policies`` property.

Pure: templates and contexts in, verdicts out. No AWS call. The package reads in this order:
``model`` (the sides and verdicts), ``transition`` (what CloudFormation does to each
resource), ``uses`` and ``kind_uses`` (what OLD's executions call), ``grants`` (what IAM
allows), ``judge`` and ``kinds`` (the verdicts; ``assess``).
"""

from __future__ import annotations

from .judge import assess
from .model import CREATE_ONLY, Lifecycle, Problem, Side, Status, Verdict
from .transition import Fate, Transition

__all__ = [
    "CREATE_ONLY",
    "Fate",
    "Lifecycle",
    "Problem",
    "Side",
    "Status",
    "Transition",
    "Verdict",
    "assess",
]

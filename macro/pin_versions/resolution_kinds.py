"""Which in-template resource of a kind other than Lambda (a state machine, an ECS task
definition, a Batch job definition: target_kinds.py) a Task names: resolution.py's
``classify`` for those kinds, with the same ``Resolution`` kinds and the kind's noun in the
reasons. Imported on first use, by a Task whose Resource is a service integration."""

from __future__ import annotations

from .references import Item, Leaf, Scope
from .resolution import (
    _LEAF_MARK,
    Resolution,
    _encode,
    _has_leaf,
    _if_branches,
    _is_version_number,
    _leaf_at,
    _other_region_or_account,
)
from .targets import PUBLISH, TargetKind


def integration_of(items: list[Item], kind: TargetKind) -> str | None:
    """The integration suffix (``""``, ``".sync"``, ``".sync:2"``, ``".waitForTaskToken"``)
    when a Task ``Resource`` is one of ``kind``'s service integrations, else None. A value
    the request does not know (``${AWS::Partition}`` unresolved) stands in as one character."""
    text = "".join(i if isinstance(i, str) else _LEAF_MARK for i in items)
    match = kind.integrations.fullmatch(text)
    if match is None:
        return None
    suffix = match.groupdict().get("s")
    return suffix or ""


def classify_target(kind: TargetKind, items: list[Item], inventory: Scope) -> Resolution:
    """Which in-template resource of ``kind`` (not Lambda: ``classify``) a Task's target
    field names: ``Ref X`` / ``Fn::GetAtt X.<ARN attribute>``, an ARN or (ECS, Batch) a name
    whose literal physical name is one of the template's (``inventory.kind_names``), or a
    state machine ARN built on ``${X.Name}``. ``function`` means pinnable (its logical ID in
    ``function``); ``version`` a fixed revision or version; ``mutable`` an alias;
    ``external`` names nothing of the template or cannot be told; ``other`` no target."""
    noun = kind.noun
    if not items:
        return Resolution("other")
    if len(items) == 1 and type(items[0]) is Leaf:
        return _classify_kind_leaf(kind, items[0], inventory)
    text, leaves = _encode(items)
    invalid = next((leaf for leaf in leaves if leaf.kind == "invalid"), None)
    if invalid is not None:
        return Resolution("external", None, invalid.ref)
    match = kind.arn.fullmatch(text)
    if match is None and kind.plain_name is not None:
        match = kind.plain_name.fullmatch(text)
    if match is None:
        return Resolution("external", None, f"cannot tell which {noun} this names")
    groups = match.groupdict()
    name = groups["n"]
    leaf = _leaf_at(name, leaves)
    target: str | None = None
    if leaf is not None and leaf.kind == "resource":
        logical_id, _, attribute = leaf.ref.partition(".")
        if attribute == "Name" and inventory.types.get(logical_id) in kind.resource_types:
            target = logical_id
    elif not _has_leaf(name):
        target = inventory.kind_names.get((kind.name, name))
    if target is None:
        if _has_leaf(name):
            return Resolution("external", None, f"cannot tell which {noun} this names")
        return Resolution("external", None, f"names no {noun} of this template")
    elsewhere = _other_region_or_account(groups.get("r"), groups.get("a"), inventory)
    if elsewhere:
        return Resolution("external", None, elsewhere.replace("a function", f"a {noun}"))
    qualifier = groups.get("q")
    if qualifier is not None:
        if _is_version_number(qualifier):
            return Resolution(
                "version", target, f"names revision {qualifier} of {target}, a fixed one"
            )
        return Resolution("mutable", target, f"names {target} through {qualifier!r}")
    return Resolution("function", target)


def _classify_kind_leaf(kind: TargetKind, leaf: Leaf, inventory: Scope) -> Resolution:
    noun = kind.noun
    if leaf.kind == "resource":
        logical_id, dot, attribute = leaf.ref.partition(".")
        rtype = inventory.types.get(logical_id)
        if rtype in kind.resource_types:
            if (not dot and kind.ref_gives == "arn") or attribute in kind.arn_attributes:
                return Resolution("function", logical_id)
            what = f"Fn::GetAtt {leaf.ref}" if dot else f"Ref {logical_id}"
            return Resolution("external", None, f"{what} is not the ARN of the {noun}")
        if kind.strategy == PUBLISH and rtype == kind.pin.type:
            # ``function`` names the version, so that the planner can keep it alive.
            return Resolution("version", logical_id, f"starts the published version {logical_id}")
        if rtype is not None and rtype == kind.alias_type:
            return Resolution("mutable", None, f"starts the alias {logical_id}")
        return Resolution("external", None, f"names {logical_id}, which is not a {noun}")
    if leaf.kind == "opaque":
        machine = sam_published_machine(kind, leaf.ref, inventory)
        if machine is not None:
            # What the macro itself writes for such a child (plan/kinds.py): the second pass
            # must read it as the first pass meant it.
            return Resolution(
                "version",
                leaf.ref,
                f"starts {leaf.ref}, the version SAM publishes for {machine} (AutoPublishAlias)",
            )
        return Resolution("external", None, f"cannot tell which {noun} {leaf.ref} names")
    if leaf.kind == "invalid":
        return Resolution("external", None, leaf.ref)
    if leaf.kind == "if":
        return _classify_kind_if(kind, leaf, inventory)
    return Resolution("external", None, f"names a Lambda function, not a {noun}")


def _classify_kind_if(kind: TargetKind, leaf: Leaf, inventory: Scope) -> Resolution:
    """An ``Fn::If`` (nested ones flattened): ``conditional`` when every branch names a
    resource of the kind in this template (or is AWS::NoValue), as Lambda's ``classify``;
    else what its first other branch is, or ``version`` when every branch is one."""
    targets: list[str] = []
    kinds: set[str] = set()
    for branch in _if_branches(leaf):
        if branch.kind == "novalue":
            continue
        items: list[Item] = [branch.ref] if branch.kind == "text" else [branch]
        resolution = classify_target(kind, items, inventory)
        kinds.add(resolution.kind)
        if resolution.kind == "function" and resolution.function is not None:
            if resolution.function not in targets:
                targets.append(resolution.function)
        elif resolution.kind != "version":
            return Resolution(resolution.kind, None, f"an Fn::If branch {resolution.reason}")
    if targets and kinds == {"function"}:
        return Resolution("conditional", targets[0], "", tuple(targets))
    if kinds == {"version"}:
        return Resolution("version", None, f"every Fn::If branch starts a published {kind.noun}")
    return Resolution(
        "external", None, f"an Fn::If branch names a {kind.noun}, another something else"
    )


SAM_STATE_MACHINE = "AWS::Serverless::StateMachine"
SAM_VERSION_SUFFIX = "Version"


def sam_published_machine(kind: TargetKind, name: str, inventory: Scope) -> str | None:
    """The SAM state machine whose ``AutoPublishAlias`` version ``name`` is, else None.

    Before SAM runs (``Transform: [PinVersions, AWS::Serverless-2016-10-31]``) the version is
    not in the template: SAM adds ``<StateMachine>Version`` (an
    ``AWS::StepFunctions::StateMachineVersion``) for a state machine with ``AutoPublishAlias``
    (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-statemachine.html,
    "AutoPublishAlias"). The macro pins a Task that starts such a child to ``${<SM>Version}``
    (plan/kinds.py ``_machine_version``); this is how its next pass knows that name."""
    if kind.strategy != PUBLISH or name in inventory.types:
        return None
    if not name.endswith(SAM_VERSION_SUFFIX):
        return None
    machine = name[: -len(SAM_VERSION_SUFFIX)]
    if inventory.types.get(machine) != SAM_STATE_MACHINE:
        return None
    resource = inventory.resources.get(machine)
    properties = resource.get("Properties") if type(resource) is dict else None
    if type(properties) is not dict or properties.get("AutoPublishAlias") is None:
        return None
    return machine

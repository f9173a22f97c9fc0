"""What the template holds: functions, state machines, versions, roles, and the values the
request knows (parameters, region, account).

Read-only: nothing here changes the template.
"""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

from collections.abc import Iterator
from typing import Any, NamedTuple

from .event import Context, partition_of
from .intrinsics import describe, intrinsic_name, ref_target
from .options import Options, skipped_by_metadata
from .references import literal_text
from .report import Diagnostic, Path, TransformError
from .resolution import function_of
from .targets import LAMBDA, kind_of_type

LAMBDA_FUNCTION = "AWS::Lambda::Function"
SAM_FUNCTION = "AWS::Serverless::Function"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
SAM_STATE_MACHINE = "AWS::Serverless::StateMachine"
LAMBDA_VERSION = LAMBDA.pin.type
LAMBDA_ALIAS = LAMBDA.alias_type
IAM_ROLE = "AWS::IAM::Role"

FOR_EACH = "Fn::ForEach::"

__all__ = ["Context", "Inventory", "Resource", "build_inventory", "partition_of"]

FUNCTION_TYPES = LAMBDA.resource_types  # the target kinds' types (targets.py)
STATE_MACHINE_TYPES = frozenset({STATE_MACHINE, SAM_STATE_MACHINE})


class Resource(NamedTuple):
    logical_id: str
    type: str
    resource: dict[str, Any]
    properties: dict[str, Any]
    condition: str | None
    skip: bool

    @property
    def sam(self) -> bool:
        return self.type.startswith("AWS::Serverless::")


class Inventory(NamedTuple):
    template: dict[str, Any]
    resources: dict[str, Any]
    context: Context
    types: dict[str, str]
    functions: dict[str, Resource]
    state_machines: dict[str, Resource]
    versions: dict[str, list[str]]  # function -> its AWS::Lambda::Version logical IDs
    aliases: dict[str, str]  # AWS::Lambda::Alias logical ID -> function (when known)
    globals_function: dict[str, Any]
    names: dict[str, str]  # physical name -> function (literal FunctionName values)
    # Left alone while reading, with the reason: (code, path, message).
    notes: list[tuple[str, Path | str, str]]
    # Issue 14 kinds (targets.py): ECS task definitions and Batch job definitions by
    # logical ID (state machines are in ``state_machines``), each kind's literal physical
    # names ((kind name, name) -> logical ID), and the kinds Metadata.PinVersions.Kinds
    # turned off.
    others: dict[str, Resource]
    kind_names: dict[tuple[str, str], str]
    disabled_kinds: frozenset[str]

    def function_properties(self, function: Resource) -> dict[str, Any]:
        """Its properties as the function will have them: SAM's Globals merged in."""
        if not function.sam or not self.globals_function:
            return function.properties
        merged: dict[str, Any] = sam_merge(self.globals_function, function.properties)
        return merged


# SAM replaces these Globals lists instead of concatenating them.
_SAM_REPLACED = frozenset({"Architectures"})


def sam_merge(global_value: Any, local_value: Any, top: bool = True) -> Any:
    """A function's properties with Globals.Function merged in, the way SAM merges them:
    mappings merge key by key, lists concatenate (globals first), anything else (and any
    intrinsic function) is taken from the function."""
    if type(global_value) is dict and type(local_value) is dict:
        if intrinsic_name(global_value) or intrinsic_name(local_value):
            return local_value
        merged = dict(global_value)
        for key, value in local_value.items():
            if key in merged and not (top and key in _SAM_REPLACED):
                merged[key] = sam_merge(merged[key], value, top=False)
            else:
                merged[key] = value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


def made_by_serverless_framework(function: str, version: str, resource: dict[str, Any]) -> bool:
    """Is ``version`` the one the Serverless Framework compiles for ``function``
    (``versionFunctions``, on by default): ``<Name>LambdaVersion<CodeSha256 letters and
    digits>`` next to ``<Name>LambdaFunction``, with a ``CodeSha256``? The framework publishes
    a new one when the code's SHA-256 changes, never for a configuration change."""
    base = function.removesuffix("LambdaFunction")
    properties = resource.get("Properties")
    return (
        base != function
        and version.startswith(f"{base}LambdaVersion")
        and type(properties) is dict
        and "CodeSha256" in properties
    )


def _chosen_properties(rtype: str, intrinsic: str) -> str:
    """The PV132 message for a function or state machine whose Properties is an intrinsic."""
    if rtype in STATE_MACHINE_TYPES:
        what = "this state machine is left alone, its Tasks as they are"
    else:
        what = "Tasks that invoke this function are left alone"
    return (
        f"left alone: Properties is an {intrinsic}, so the macro cannot see or change the "
        f"properties CloudFormation will choose; {what}. Write the {intrinsic} inside each "
        "property instead of around them to have them pinned"
    )


LOGICAL_ID_RULE = (
    "is not a logical ID CloudFormation takes: logical IDs are alphanumeric (A-Za-z0-9), "
    "at most 255 characters; "
    "rename the resource, and every Ref, Fn::GetAtt, Fn::Sub and DependsOn that names it"
)


def valid_logical_id(logical_id: object) -> bool:
    """True when ``logical_id`` is one CloudFormation takes: ASCII letters and digits only
    ("The logical ID must be alphanumeric (A-Za-z0-9) and unique within the template",
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resources-section-structure.html).
    The macro writes logical IDs into Fn::Sub placeholders (``${HelloVersion1a2b3c4d5e}``) and
    new logical IDs; one with other characters (``A.B``, ``${X}``, ``Hélló``) would make
    placeholders CloudFormation, and the macro's own second pass, refuse (PV924)."""
    # 255 characters at most: the "CloudFormation quotas" page (cloudformation-limits.html).
    ok = isinstance(logical_id, str) and logical_id.isascii() and logical_id.isalnum()
    return ok and len(str(logical_id)) <= 255


def _condition(resource: dict[str, Any]) -> str | None:
    condition = resource.get("Condition")
    return condition if isinstance(condition, str) else None


def build_inventory(template: dict[str, Any], context: Context, options: Options) -> Inventory:
    resources = template.get("Resources")
    if type(resources) is not dict:
        raise TransformError([Diagnostic("PV910", "Resources", "must be a mapping of resources")])
    errors: list[Diagnostic] = []
    types: dict[str, str] = {}
    functions: dict[str, Resource] = {}
    machines: dict[str, Resource] = {}
    version_ids: list[str] = []
    alias_ids: list[str] = []
    others: dict[str, Resource] = {}
    notes: list[tuple[str, Path | str, str]] = []
    for logical_id, resource in resources.items():
        path = f"Resources.{logical_id}"
        if isinstance(logical_id, str) and logical_id.startswith(FOR_EACH):
            # AWS::LanguageExtensions expands these into resources; before it has run, the
            # macro cannot see what they will make.
            notes.append(
                (
                    "PV131",
                    ("Resources", logical_id),
                    "left alone: AWS::LanguageExtensions has not expanded this loop yet, so the "
                    "macro cannot see the resources it makes; list PinVersions after "
                    "AWS::LanguageExtensions under Transform to pin them",
                )
            )
            continue
        if not valid_logical_id(logical_id):
            errors.append(Diagnostic("PV924", path, LOGICAL_ID_RULE))
            continue
        if type(resource) is not dict:
            errors.append(Diagnostic("PV910", path, "must be a mapping with a Type"))
            continue
        rtype = resource.get("Type")
        if not isinstance(rtype, str):
            errors.append(Diagnostic("PV910", f"{path}.Type", "must be a string"))
            continue
        types[logical_id] = rtype
        if not isinstance(resource.get("Condition", ""), str):
            # What the macro adds copies its resources' conditions: one it cannot copy is an
            # error here, as it is to CloudFormation, rather than a version with none.
            errors.append(Diagnostic("PV910", f"{path}.Condition", "must be a condition name"))
        _check_resource_metadata(resource, path, errors)
        if rtype not in FUNCTION_TYPES and rtype not in STATE_MACHINE_TYPES:
            if rtype == LAMBDA_VERSION:
                version_ids.append(logical_id)
            elif rtype == LAMBDA_ALIAS:
                alias_ids.append(logical_id)
            elif kind_of_type(rtype) is not None:
                props = resource.get("Properties", {})
                others[logical_id] = Resource(
                    logical_id,
                    rtype,
                    resource,
                    props if type(props) is dict else {},
                    _condition(resource),
                    logical_id in options.exclude
                    or skipped_by_metadata(resource)
                    or type(props) is not dict,
                )
            continue
        properties = resource.get("Properties", {})
        if type(properties) is not dict:
            errors.append(Diagnostic("PV910", f"{path}.Properties", "must be a mapping"))
            continue
        if rtype in STATE_MACHINE_TYPES:
            _check_depends_on(resource, path, errors)
        chosen = intrinsic_name(properties)
        if chosen is not None:
            # CloudFormation takes `Properties: Fn::If [...]` (cfn-lint#73): the properties
            # are chosen at deploy time, so the macro can neither read nor stamp them.
            notes.append(("PV132", f"{path}.Properties", _chosen_properties(rtype, chosen)))
        entry = Resource(
            logical_id,
            rtype,
            resource,
            properties,
            _condition(resource),
            logical_id in options.exclude or skipped_by_metadata(resource) or chosen is not None,
        )
        (functions if rtype in FUNCTION_TYPES else machines)[logical_id] = entry
    if errors:
        raise TransformError(errors)

    globals_section = template.get("Globals")
    globals_function: dict[str, Any] = {}
    if type(globals_section) is dict and type(globals_section.get("Function")) is dict:
        globals_function = globals_section["Function"]

    inventory = Inventory(
        template,
        resources,
        context,
        types,
        functions,
        machines,
        {},
        {},
        globals_function,
        {},
        notes,
        others,
        {},
        options.disabled_kinds,
    )
    for table in (machines, others):
        for logical_id, entry in table.items():
            kind = kind_of_type(entry.type)
            for key in kind.name_properties if kind is not None else ():
                name = entry.properties.get(key)
                text = literal_text(name, inventory) if name is not None else None
                if text and kind is not None:
                    inventory.kind_names.setdefault((kind.name, text), logical_id)
    for logical_id, function in functions.items():
        name = function.properties.get("FunctionName")
        if name is not None:
            text = literal_text(name, inventory)
            if text:
                inventory.names.setdefault(text, logical_id)
    for logical_id in version_ids:
        properties = resources[logical_id].get("Properties")
        if type(properties) is dict:
            owner = function_of(properties.get("FunctionName"), inventory)
            if owner is not None:
                inventory.versions.setdefault(owner, []).append(logical_id)
    for logical_id in alias_ids:
        properties = resources[logical_id].get("Properties")
        if type(properties) is dict:
            owner = function_of(properties.get("FunctionName"), inventory)
            if owner is not None:
                inventory.aliases[logical_id] = owner
    return inventory


def _check_depends_on(resource: dict[str, Any], path: str, errors: list[Diagnostic]) -> None:
    """A state machine's DependsOn, which the macro may add to, is what CloudFormation takes:
    a logical ID or a list of logical IDs (strings). Anything else is an error naming it,
    never a crash or a silently rewritten value."""
    if "DependsOn" not in resource:
        return
    value = resource["DependsOn"]
    if isinstance(value, str):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                errors.append(
                    Diagnostic(
                        "PV922",
                        f"{path}.DependsOn[{index}]",
                        f"is {describe(item)}; DependsOn lists logical IDs (strings), and "
                        "CloudFormation takes no intrinsic function there",
                    )
                )
        return
    errors.append(
        Diagnostic(
            "PV922",
            f"{path}.DependsOn",
            f"is {describe(value)}; DependsOn is a logical ID or a list of logical IDs "
            "(strings), and CloudFormation takes no intrinsic function there",
        )
    )


def _check_resource_metadata(resource: dict[str, Any], path: str, errors: list[Diagnostic]) -> None:
    metadata = resource.get("Metadata")
    if type(metadata) is not dict or "PinVersions" not in metadata:
        return
    ours = metadata["PinVersions"]
    where = f"{path}.Metadata.PinVersions"
    if type(ours) is not dict:
        errors.append(Diagnostic("PV903", where, "must be a mapping such as {Skip: true}"))
        return
    for key, value in ours.items():
        if key == "Alias":
            continue  # a state machine's own Alias option: plan/aliases.py reads it
        if key != "Skip":
            errors.append(
                Diagnostic("PV903", f"{where}.{key}", f"unknown option {key!r}; known: Skip, Alias")
            )
        elif not (isinstance(value, bool) or str(value).lower() in ("true", "false")):
            errors.append(Diagnostic("PV903", f"{where}.Skip", "must be true or false"))


# Policies attached to a role under a condition (iam.Coverage reads them).
def condition_name(resource: Any) -> str | None:
    """A resource's ``Condition`` name, if it has one."""
    condition = resource.get("Condition") if type(resource) is dict else None
    return condition if isinstance(condition, str) else None


def conditional_policy_documents(role: str, inventory: Inventory) -> Iterator[tuple[str, Any]]:
    """(condition, document) of every conditional AWS::IAM::Policy attached to ``role``."""
    for logical_id, rtype in inventory.types.items():
        if rtype != "AWS::IAM::Policy":
            continue
        resource = inventory.resources[logical_id]
        condition = condition_name(resource)
        props = resource.get("Properties")
        if condition is None or type(props) is not dict:
            continue
        if any(ref_target(r) == role for r in _as_list(props.get("Roles", []))):
            document = props.get("PolicyDocument")
            if type(document) is dict:
                yield condition, document


def guarded_policies(role: str, inventory: Inventory) -> Iterator[tuple[Any, Any]]:
    """Inline policies written ``Fn::If [Condition, Policy, ...]``: (condition, policy)."""
    properties = inventory.resources[role].get("Properties")
    if type(properties) is not dict:
        return
    for policy in _as_list(properties.get("Policies", [])):
        branches = policy.get("Fn::If") if type(policy) is dict and len(policy) == 1 else None
        if isinstance(branches, list) and len(branches) == 3 and type(branches[1]) is dict:
            yield branches[0], branches[1]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def retained_grant_nodes(inventory: Inventory) -> set[int]:
    """``id()`` of every object and list inside the PolicyDocument of each retained grant
    the macro wrote (``AWS::IAM::Policy`` named ``PinVersions...``): iam.Coverage counts
    their entries as staying behind on a rename."""
    found: set[int] = set()
    for resource in inventory.resources.values():
        if type(resource) is not dict:
            continue
        properties = resource.get("Properties")
        if (
            resource.get("Type") == "AWS::IAM::Policy"
            and type(properties) is dict
            and str(properties.get("PolicyName", "")).startswith("PinVersions")
        ):
            stack = [properties.get("PolicyDocument")]
            while stack:
                node = stack.pop()
                if isinstance(node, (dict, list)):
                    found.add(id(node))
                    stack.extend(node.values() if isinstance(node, dict) else node)
    return found

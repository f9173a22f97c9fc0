"""State machine definitions: every Task that invokes Lambda, in every definition form.

Text forms (``DefinitionString`` as a string, ``Fn::Sub`` or ``Fn::Join``) are rendered into
pieces; each hole (an intrinsic, a placeholder) becomes a sentinel in a *skeleton* string that
``json.loads`` parses in C. Targets are then found in the parsed tree and mapped back to the
pieces they came from, so that a rewrite edits the source in place. ``Definition`` objects
are walked directly (scan_object.py, scan_text.py; scan.py has what they share).
"""

from __future__ import annotations

from typing import Any

from .asl import Unwalkable
from .intrinsics import describe, intrinsic_name
from .inventory import Inventory, Resource
from .pieces import (
    Opaque,
    Path,
    TooDeep,
    render,
)
from .report import fail
from .scan import Credentials, DefinitionView, Target

__all__ = [
    "DEFINITION_PROPERTIES",
    "SAM_DEFINITION_PROPERTIES",
    "Credentials",
    "DefinitionView",
    "Target",
    "analyse",
    "definition_property",
]


DEFINITION_PROPERTIES = ("Definition", "DefinitionString", "DefinitionS3Location")


SAM_DEFINITION_PROPERTIES = ("Definition", "DefinitionUri")


def definition_property(machine: Resource) -> str | None:
    """The property that holds the definition. Raises TransformError (PV920) when there are
    several: CloudFormation's StateMachine handler fails such a resource ("only one of
    Definition, DefinitionString, DefinitionS3Location"), SAM refuses Definition with
    DefinitionUri, and the macro cannot tell which one the user meant to pin."""
    properties = machine.properties
    names = SAM_DEFINITION_PROPERTIES if machine.sam else DEFINITION_PROPERTIES
    present = [name for name in names if name in properties]
    if len(present) > 1:
        raise fail(
            "PV920",
            f"Resources.{machine.logical_id}.Properties",
            f"has both {' and '.join(present)}; a state machine takes exactly one of "
            f"{', '.join(names)} (CloudFormation fails the resource otherwise): keep one",
        )
    return present[0] if present else None


def analyse(machine: Resource, inventory: Inventory) -> DefinitionView:
    """The definition's targets; a definition the macro cannot walk as ASL (no ``States``,
    a state that is not an object, duplicate keys, nesting too deep) gives a view with no
    targets and a PV130 note: the macro is not an ASL validator, Step Functions judges it."""
    try:
        return _analyse(machine, inventory)
    except Unwalkable as why:
        view = DefinitionView(machine, "unwalkable", why.path, None)
        view.notes.append(
            (
                "PV130",
                why.path,
                f"not a definition the macro can walk ({why}); the state machine is left "
                "alone and Step Functions judges its definition",
            )
        )
        return view
    except TooDeep as why:
        view = DefinitionView(machine, "unwalkable", (), None)
        where = ("Resources", machine.logical_id, "Properties")
        view.notes.append(
            (
                "PV130",
                where,
                f"not a definition the macro can walk ({why}); the state machine is left alone",
            )
        )
        return view


def _analyse(machine: Resource, inventory: Inventory) -> DefinitionView:
    base: Path = ("Resources", machine.logical_id, "Properties")
    properties = machine.properties
    raw_subs = properties.get("DefinitionSubstitutions")
    # `DefinitionSubstitutions: !If [...]` is a one-key object, not a mapping of keys: read
    # as one, its values would go unseen and the macro's keys would be merged into the Fn::If.
    chosen = intrinsic_name(raw_subs)
    substitutions = raw_subs if type(raw_subs) is dict and chosen is None else None
    prop = definition_property(machine)
    if prop is None:
        return DefinitionView(machine, "none", base, substitutions)
    path = (*base, prop)
    value = properties[prop]
    if chosen is not None:
        view = DefinitionView(machine, "opaque", path, None)
        view.notes.append(
            (
                "PV105",
                (*base, "DefinitionSubstitutions"),
                f"DefinitionSubstitutions is an {chosen}, so the macro cannot see which values "
                "CloudFormation will choose and the definition's Tasks cannot be followed; "
                f"write the {chosen} inside each value that differs to have them pinned",
            )
        )
        return view
    if prop in ("DefinitionS3Location", "DefinitionUri"):
        view = DefinitionView(machine, "s3", path, substitutions)
        view.notes.append(
            (
                "PV105",
                path,
                "the definition lives outside the template; only DefinitionSubstitutions "
                "values that name functions, STANDARD state machines, task definitions or job "
                "definitions of this template are pinned",
            )
        )
        return view
    if raw_subs is not None and substitutions is None:
        view = DefinitionView(machine, "opaque", path, None)
        view.notes.append(
            (
                "PV105",
                (*base, "DefinitionSubstitutions"),
                "DefinitionSubstitutions is not a mapping; the definition cannot be read",
            )
        )
        return view
    if prop == "Definition":
        if type(value) is not dict:
            return _opaque(machine, path, substitutions, "Definition is not an object")
        view = DefinitionView(machine, "object", path, substitutions)
        # Each walker is imported by the first definition of its form: a template usually
        # has one form, and every cold start pays for what it imports (docs/performance.md).
        from .scan_object import ObjectScan

        ObjectScan(view, inventory).run(value)
        return view
    try:
        pieces = render(value, path, standalone=False)
    except TooDeep:
        raise
    except Opaque:
        why = (
            "DefinitionString is built by an intrinsic function"
            if intrinsic_name(value)
            else f"DefinitionString is {describe(value)}, not a string"
        )
        return _opaque(machine, path, substitutions, why)
    view = DefinitionView(machine, "string", path, substitutions)
    from .scan_text import TextScan

    TextScan(view, inventory, pieces).run()
    return view


def _opaque(
    machine: Resource, path: Path, substitutions: dict[str, Any] | None, why: str
) -> DefinitionView:
    view = DefinitionView(machine, "opaque", path, substitutions)
    view.notes.append(("PV105", path, f"{why}; its Tasks cannot be seen"))
    return view

"""What a value is made of (SPEC 4.3); resolution.py then says which function it names.

A value is resolved to *items*: literal text and *leaves* (a function's ARN, its name, a
version, a parameter nobody knows, ...). Pseudo parameters and parameters with known values
become text, so ``arn:${AWS::Partition}:lambda:${AWS::Region}:...:function:${F}`` and a
literal ARN are matched by the same patterns.
"""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from .event import Context
from .intrinsics import PSEUDO_PARAMETERS, describe, getatt_target, intrinsic_name, ref_target
from .pieces import BadSub, Opaque, Piece, TooDeep, render
from .targets import LAMBDA

MAX_DEPTH = 16


class _Target(Protocol):
    @property
    def sam(self) -> bool: ...


class Scope(Protocol):
    """What resolving a reference reads of the template: the request's values, each
    resource's type, the in-template targets by logical ID and their literal physical
    names. ``inventory.Inventory`` is one; this module does not import it, so the inventory
    can resolve its own references (names, versions, aliases) without an import circle."""

    @property
    def context(self) -> Context: ...
    @property
    def types(self) -> Mapping[str, str]: ...
    @property
    def functions(self) -> Mapping[str, _Target]: ...
    @property
    def names(self) -> Mapping[str, str]: ...
    @property
    def kind_names(self) -> Mapping[tuple[str, str], str]: ...
    @property
    def resources(self) -> Mapping[str, Any]: ...


class Leaf(NamedTuple):
    """A part of a value that is not literal text.

    kind: ``fn-arn`` (GetAtt F.Arn), ``fn-name`` (Ref F), ``version`` (Ref V: a version ARN),
    ``version-number`` (GetAtt V.Version), ``alias`` (Ref of an alias, SAM ``F.Alias``),
    ``sam-version`` (SAM ``F.Version``), ``resource`` (another resource), ``if`` (an
    ``Fn::If``: see ``branches``), ``opaque`` (an
    intrinsic or a parameter nobody knows: ``ref`` names it), ``invalid`` (a value
    CloudFormation would not take there, or nested too deeply: ``ref`` says what it is).
    """

    kind: str
    ref: str = ""
    # kind ``if``: ``ref`` is the condition and these the two branches, each a Leaf
    # (``novalue`` for AWS::NoValue, ``text`` for literal text in ``ref``).
    branches: tuple[Any, ...] = ()


Item = str | Leaf


def _name_leaf(name: str, inventory: Scope) -> Item:
    """What ``Ref name`` / ``${name}`` stands for."""
    context = inventory.context
    if name in PSEUDO_PARAMETERS:
        value = context.pseudo_value(name)
        return value if value is not None else Leaf("opaque", name)
    rtype = inventory.types.get(name)
    if rtype is not None:
        if name in inventory.functions:
            return Leaf("fn-name", name)
        if rtype == LAMBDA.pin.type:
            return Leaf("version", name)
        if rtype == LAMBDA.alias_type:
            return Leaf("alias", name)
        return Leaf("resource", name)
    if "." in name:
        logical_id, _, attribute = name.partition(".")
        return _attribute_leaf(logical_id, attribute, inventory)
    value = context.parameters.get(name)
    if isinstance(value, str):
        return value
    return Leaf("opaque", name)


def _attribute_leaf(logical_id: str, attribute: str, inventory: Scope) -> Leaf:
    if logical_id in inventory.functions:
        function = inventory.functions[logical_id]
        if attribute == LAMBDA.ref_attribute:
            return Leaf("fn-arn", logical_id)
        # SAM: F.Version and F.Alias exist when AutoPublishAlias is set.
        if function.sam and attribute == "Version":
            return Leaf("sam-version", logical_id)
        if function.sam and attribute == "Alias":
            return Leaf("alias", logical_id)
        return Leaf("resource", f"{logical_id}.{attribute}")
    rtype = inventory.types.get(logical_id)
    if rtype == LAMBDA.pin.type and attribute == LAMBDA.pin.number_attribute:
        return Leaf("version-number", logical_id)
    if rtype is not None:
        return Leaf("resource", f"{logical_id}.{attribute}")
    return Leaf("opaque", f"{logical_id}.{attribute}")


def resolve(value: Any, inventory: Scope, depth: int = 0) -> list[Item]:
    """The items of a template value."""
    if isinstance(value, str):
        return [value]
    if depth > MAX_DEPTH:
        return [Leaf("invalid", f"the value nests intrinsic functions more than {MAX_DEPTH} deep")]
    name = intrinsic_name(value)
    if name == "Ref":
        target = ref_target(value)
        return [_name_leaf(target, inventory)] if target else [Leaf("opaque", "Ref")]
    if name == "Fn::GetAtt":
        parts = getatt_target(value)
        if parts is None:
            return [Leaf("opaque", "Fn::GetAtt")]
        return [_attribute_leaf(parts[0], parts[1], inventory)]
    if name == "Fn::If":
        return [_if_leaf(value["Fn::If"], inventory, depth)]
    if name in ("Fn::Sub", "Fn::Join"):
        try:
            pieces = render(value, ())
        except (TooDeep, BadSub) as why:
            return [Leaf("invalid", str(why))]
        except Opaque:
            return [Leaf("opaque", name)]
        return resolve_pieces(pieces, inventory, None, depth + 1)
    if name is not None:
        return [Leaf("opaque", name)]
    return [
        Leaf("invalid", f"the value is {describe(value)}, not a string or an intrinsic function")
    ]


def _if_leaf(args: Any, inventory: Scope, depth: int) -> Leaf:
    """``Fn::If [Condition, A, B]`` as a leaf whose branches are leaves."""
    if not (isinstance(args, list) and len(args) == 3 and isinstance(args[0], str)):
        return Leaf("opaque", "Fn::If")
    branches: list[Leaf] = []
    for branch in args[1:]:
        if ref_target(branch) == "AWS::NoValue":
            branches.append(Leaf("novalue"))
            continue
        items = resolve(branch, inventory, depth + 1)
        if len(items) == 1 and isinstance(items[0], Leaf):
            branches.append(items[0])
        elif len(items) == 1 and isinstance(items[0], str):
            branches.append(Leaf("text", items[0]))
        else:
            branches.append(Leaf("opaque", "an Fn::If branch built of several parts"))
    return Leaf("if", args[0], tuple(branches))


def resolve_piece(
    piece: Piece, inventory: Scope, substitutions: dict[str, Any] | None, depth: int = 0
) -> list[Item]:
    if piece.kind == "value":
        return resolve(piece.value, inventory, depth)
    if piece.kind == "subref":
        variables = piece.container.variables
        if piece.name in variables:
            value = variables[piece.name]
            if not isinstance(value, str) and intrinsic_name(value) is None:
                return [
                    Leaf(
                        "invalid",
                        f"the Fn::Sub variable {piece.name} is {describe(value)}, which "
                        "CloudFormation rejects: a variable is a string or one intrinsic function",
                    )
                ]
            return resolve(value, inventory, depth + 1)
        return [_name_leaf(piece.name, inventory)]
    if piece.kind == "subst":
        if substitutions is not None and piece.name in substitutions:
            return resolve(substitutions[piece.name], inventory, depth + 1)
        return [piece.text]
    return [piece.text]


def resolve_pieces(
    pieces: list[Piece],
    inventory: Scope,
    substitutions: dict[str, Any] | None,
    depth: int = 0,
) -> list[Item]:
    items: list[Item] = []
    for piece in pieces:
        items.extend(resolve_piece(piece, inventory, substitutions, depth))
    return merge_text(items)


def merge_text(items: list[Item]) -> list[Item]:
    """Adjacent literal text joined, empty text dropped."""
    out: list[Item] = []
    for item in items:
        if isinstance(item, str):
            if not item:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + item
                continue
        out.append(item)
    return out


def literal_text(value: Any, inventory: Scope) -> str | None:
    """The value as plain text when everything in it is known, else None."""
    items = resolve(value, inventory)
    if not items:
        return ""
    if len(items) == 1 and isinstance(items[0], str):
        return items[0]
    return None

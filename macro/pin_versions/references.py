"""Which function a value names (SPEC 4.3).

A value is resolved to *items*: literal text and *leaves* (a function's ARN, its name, a
version, a parameter nobody knows, ...). Pseudo parameters and parameters with known values
become text, so ``arn:${AWS::Partition}:lambda:${AWS::Region}:...:function:${F}`` and a
literal ARN are matched by the same patterns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from .context import Context
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


# --- classification -------------------------------------------------------------------

# Leaves are encoded as private-use characters so that one regex covers text and leaves.
_LEAF_BASE = 0xF0000
_LEAF_MARK = chr(_LEAF_BASE)
# The ARN grammar and integrations of the target kind (targets.py).
_FULL_ARN = LAMBDA.arn
_PARTIAL_ARN = LAMBDA.partial_arn
_PLAIN_NAME = LAMBDA.plain_name
_INVOKE_INTEGRATION = LAMBDA.integrations
_DIGITS = re.compile(r"[0-9]+")


class Resolution(NamedTuple):
    """What a Task target invokes.

    kind: ``function`` (an in-template function, pinnable), ``version`` (already a published
    version), ``mutable`` (an alias or ``$LATEST``), ``external``, ``integration`` (the
    ``lambda:invoke`` service integration: look at FunctionName), ``other`` (not Lambda).
    """

    kind: str
    function: str | None = None
    reason: str = ""
    functions: tuple[str, ...] = ()  # kind ``conditional``: every function a branch names


def _encode(items: list[Item]) -> tuple[str, list[Leaf]]:
    leaves: list[Leaf] = []
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        else:
            out.append(chr(_LEAF_BASE + len(leaves)))
            leaves.append(item)
    return "".join(out), leaves


def _leaf_at(text: str, leaves: list[Leaf]) -> Leaf | None:
    if len(text) == 1 and ord(text) >= _LEAF_BASE:
        return leaves[ord(text) - _LEAF_BASE]
    return None


def _has_leaf(text: str) -> bool:
    return any(ord(ch) >= _LEAF_BASE for ch in text)


def classify(items: list[Item], inventory: Scope, *, name_allowed: bool) -> Resolution:
    """Classify a Task ``Resource`` (``name_allowed=False``) or a ``FunctionName``."""
    if not items:
        return Resolution("other")
    if len(items) == 1 and type(items[0]) is Leaf:
        if items[0].kind == "if":
            return _classify_if(items[0], inventory, name_allowed)
        return _classify_leaf(items[0])  # !GetAtt F.Arn and friends: most Tasks
    if any(isinstance(i, str) and i and max(i) >= _LEAF_MARK for i in items):
        # Characters the encoding below reserves: no Lambda ARN or name contains them.
        return Resolution("other")
    text, leaves = _encode(items)
    single = _leaf_at(text, leaves)
    if single is not None:
        return _classify_leaf(single)
    if not name_allowed and _INVOKE_INTEGRATION.fullmatch(text):
        return Resolution("integration")
    invalid = next((leaf for leaf in leaves if leaf.kind == "invalid"), None)
    if invalid is not None:
        return Resolution("external", None, invalid.ref)
    if any(leaf.kind == "if" for leaf in leaves) and ":states:" not in text:
        return _classify_leaf(Leaf("if"))

    first = leaves[0] if leaves and ord(text[0]) == _LEAF_BASE else None
    if first is not None and first.kind in ("fn-arn", "version", "alias", "sam-version"):
        # ${F.Arn}:qualifier
        rest = text[1:]
        if rest.startswith(":") and first.kind == "fn-arn":
            return _qualified(rest[1:], leaves, first.ref)
        return Resolution("external", None, "unrecognised ARN built on a function reference")

    match = _FULL_ARN.fullmatch(text)
    if match is None and _PARTIAL_ARN is not None:
        match = _PARTIAL_ARN.fullmatch(text)
    if match is None and name_allowed and _PLAIN_NAME is not None:
        match = _PLAIN_NAME.fullmatch(text)
    if match is None:
        if _has_leaf(text) and any(leaf.kind == "opaque" for leaf in leaves):
            if ":states:" in text or ":activity:" in text:
                return Resolution("other")
            return Resolution("external", None, "cannot tell which function this names")
        return Resolution("other")

    groups = match.groupdict()
    function = _function_named(groups["n"], leaves, inventory)
    if function is None:
        return Resolution("external", None, "names no function of this template")
    elsewhere = _other_region_or_account(groups.get("r"), groups.get("a"), inventory)
    if elsewhere:
        return Resolution("external", None, elsewhere)
    if groups.get("q") is not None:
        return _qualified(groups["q"], leaves, function)
    return Resolution("function", function)


def _classify_if(leaf: Leaf, inventory: Scope, name_allowed: bool) -> Resolution:
    """An ``Fn::If``: pinnable when every branch names a function of this template, a
    published version or AWS::NoValue; otherwise left alone for its first other branch."""
    functions: list[str] = []
    kinds: set[str] = set()
    for branch in _if_branches(leaf):
        if branch.kind == "novalue":
            continue
        item: Item = branch.ref if branch.kind == "text" else branch
        resolution = classify([item], inventory, name_allowed=name_allowed)
        kinds.add(resolution.kind)
        if resolution.kind == "function" and resolution.function is not None:
            if resolution.function not in functions:
                functions.append(resolution.function)
        elif resolution.kind in ("external", "mutable"):
            return Resolution(resolution.kind, None, f"an Fn::If branch {_branch(resolution)}")
    if functions:
        if kinds - {"function", "version"}:
            return Resolution(
                "external", None, "an Fn::If branch names a function, another something else"
            )
        return Resolution("conditional", functions[0], "", tuple(functions))
    if kinds == {"version"}:
        return Resolution("version", None, "every Fn::If branch invokes a published version")
    if "integration" in kinds or "version" in kinds:
        return Resolution("external", None, "cannot tell which function this Fn::If names")
    return Resolution("other")


def _if_branches(leaf: Leaf) -> list[Leaf]:
    """The branches of a (nested) Fn::If leaf, nested ones flattened."""
    out: list[Leaf] = []
    stack = list(reversed(leaf.branches))
    while stack:
        branch = stack.pop()
        if branch.kind == "if":
            stack.extend(reversed(branch.branches))
        else:
            out.append(branch)
    return out


def _branch(resolution: Resolution) -> str:
    reason = resolution.reason
    if reason.startswith(("cannot tell", "names", "invokes")):
        return reason
    return f"is left alone: {reason}"


@lru_cache(maxsize=4096)
def _classify_leaf(leaf: Leaf) -> Resolution:
    if leaf.kind in ("fn-arn", "fn-name"):
        return Resolution("function", leaf.ref)
    if leaf.kind in ("version", "sam-version"):
        return Resolution("version", None, f"invokes the published version {leaf.ref}")
    if leaf.kind == "alias":
        return Resolution("mutable", None, f"invokes the alias {leaf.ref}")
    if leaf.kind == "opaque":
        return Resolution("external", None, f"cannot tell which function {leaf.ref} names")
    if leaf.kind == "invalid":
        return Resolution("external", None, leaf.ref)
    if leaf.kind == "if":
        return Resolution(
            "external",
            None,
            "an Fn::If inside a longer value cannot be pinned; make the whole value one Fn::If",
        )
    return Resolution("other")


def _qualified(qualifier: str, leaves: list[Leaf], function: str) -> Resolution:
    leaf = _leaf_at(qualifier, leaves)
    if _DIGITS.fullmatch(qualifier) or (leaf is not None and leaf.kind == "version-number"):
        return Resolution("version", function, "already invokes a published version")
    if qualifier == "$LATEST":
        return Resolution("mutable", function, "invokes $LATEST")
    return Resolution("mutable", function, "invokes an alias")


def _function_named(name: str, leaves: list[Leaf], inventory: Scope) -> str | None:
    leaf = _leaf_at(name, leaves)
    if leaf is not None:
        return leaf.ref if leaf.kind == "fn-name" else None
    if _has_leaf(name):
        return None
    return inventory.names.get(name)


def _other_region_or_account(
    region: str | None, account: str | None, inventory: Scope
) -> str | None:
    context = inventory.context
    if region and not _has_leaf(region) and context.region and region != context.region:
        return f"names a function in region {region}"
    if account and not _has_leaf(account) and context.account_id and account != context.account_id:
        return f"names a function in account {account}"
    return None


def function_of(value: Any, inventory: Scope) -> str | None:
    """The in-template function a value (a version's or alias's FunctionName) names."""
    if value is None:
        return None
    resolution = classify(resolve(value, inventory), inventory, name_allowed=True)
    return resolution.function if resolution.kind == "function" else None

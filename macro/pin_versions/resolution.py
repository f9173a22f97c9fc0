"""Which function a value names: a Task ``Resource`` or ``FunctionName`` classified, from the
items references.py resolved it to, against the target kind's ARN grammar (targets.py).

``Resolution.kind``: ``function`` (pinnable), ``conditional`` (an ``Fn::If`` of functions),
``version``, ``mutable``, ``external``, ``integration``, ``other`` (SPEC 4.3).
"""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

from functools import lru_cache
from typing import Any, NamedTuple

from .references import Item, Leaf, Scope, resolve
from .targets import LAMBDA

# Leaves are encoded as private-use characters so that one regex covers text and leaves.
_LEAF_BASE = 0xF0000
_LEAF_MARK = chr(_LEAF_BASE)
# The ARN grammar and integrations of the target kind (targets.py).
_FULL_ARN = LAMBDA.arn
_PARTIAL_ARN = LAMBDA.partial_arn
_PLAIN_NAME = LAMBDA.plain_name
_INVOKE_INTEGRATION = LAMBDA.integrations


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


def _is_version_number(qualifier: str) -> bool:
    """``[0-9]+`` without a regex: ``isdigit`` alone also accepts non-ASCII digits."""
    return qualifier.isascii() and qualifier.isdigit()


def _qualified(qualifier: str, leaves: list[Leaf], function: str) -> Resolution:
    leaf = _leaf_at(qualifier, leaves)
    if _is_version_number(qualifier) or (leaf is not None and leaf.kind == "version-number"):
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

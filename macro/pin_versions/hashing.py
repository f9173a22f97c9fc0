"""The hash contract: which properties of a function a version locks, and how they hash.

Changing anything here changes the logical ID of every version this macro creates, which
publishes a new version of every function on the next deploy. Golden tests pin concrete
values; a change that moves them is a breaking change.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .intrinsics import PSEUDO_PARAMETERS, parse_sub, ref_target, sub_args

# CPython's built-in SHA-256 gives the same digest as hashlib's without the few
# milliseconds OpenSSL takes to load, which every Lambda cold start would pay.
try:
    from _sha2 import sha256  # type: ignore[import-not-found, unused-ignore]  # 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found, unused-ignore]  # 3.11
    except ImportError:  # pragma: no cover - interpreters without them
        from hashlib import sha256
from .inventory import Context
from .targets import LAMBDA

HASH_LENGTH = 10
HASH_PREFIX = "pin-versions/1\n"

# The property lists live in the target-kind registry (targets.LAMBDA); these names stay
# for the hashing contract's readers. What a version does not snapshot (SPEC 5); every other
# property is hashed. HASHED_PROPERTIES: every property known when this was written.
EXCLUDED_PROPERTIES = LAMBDA.excluded_properties
HASHED_PROPERTIES = LAMBDA.hashed_properties
SAM_EXCLUDED_PROPERTIES = LAMBDA.sam_excluded_properties

# A pattern string, compiled on first use through re's own cache: a request that never
# needs it does not pay for its compile at cold import (docs/performance.md, issue 13).
_STAMP = rf" ?\[pin [0-9a-f]{{{HASH_LENGTH}}}\]$"


def stamp_text(digest: str) -> str:
    return f"[pin {digest}]"


def strip_stamp(description: str) -> str:
    """The user's description, without a stamp an earlier pass added."""
    return re.sub(_STAMP, "", description)


class Conditions:
    """The template's conditions, evaluated from the request's parameter values where they
    can be (``Fn::Equals`` of known values, ``Fn::And``, ``Fn::Or``, ``Fn::Not``)."""

    def __init__(self, conditions: Any, context: Context) -> None:
        self.conditions = conditions if type(conditions) is dict else {}
        self.context = context
        self.values: dict[str, bool | None] = {}

    def value(self, name: Any) -> bool | None:
        if not isinstance(name, str) or name not in self.conditions:
            return None
        if name not in self.values:
            self.values[name] = None  # a condition that refers to itself stays unknown
            self.values[name] = self.evaluate(self.conditions[name])
        return self.values[name]

    def evaluate(self, expression: Any) -> bool | None:
        if type(expression) is not dict or len(expression) != 1:
            return None
        ((function, args),) = expression.items()
        if function == "Condition":
            return self.value(args)
        if not isinstance(args, list):
            return None
        if function == "Fn::Equals" and len(args) == 2:
            left, right = (resolve_known_values(a, self.context, self) for a in args)
            if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
                return None
            return str(left) == str(right)  # CloudFormation compares them as strings
        values = [self.evaluate(a) for a in args]
        if function == "Fn::Not" and len(values) == 1:
            return None if values[0] is None else not values[0]
        if function == "Fn::And":
            return False if False in values else None if None in values else True
        if function == "Fn::Or":
            return True if True in values else None if None in values else False
        return None


def resolve_known_values(value: Any, context: Context, conditions: Conditions | None = None) -> Any:
    """``Ref`` to parameters and pseudo parameters replaced by the request's values, and
    ``Fn::If`` by the branch its condition picks when those values decide it.

    Placeholders of ``Fn::Sub`` strings that name them are substituted too, so that a
    parameter change shows as a hash change in whichever form it is written.
    """
    if isinstance(value, list):
        return [resolve_known_values(v, context, conditions) for v in value]
    if type(value) is not dict:
        return value
    target = ref_target(value)
    if target is not None:
        known = _known(target, context)
        return value if known is None else known
    branches = value.get("Fn::If") if len(value) == 1 else None
    if conditions is not None and isinstance(branches, list) and len(branches) == 3:
        chosen = conditions.value(branches[0])
        if chosen is not None:
            return resolve_known_values(branches[1 if chosen else 2], context, conditions)
    sub = sub_args(value)
    if sub is not None:
        template, variables = sub
        rendered = _substitute(template, variables, context)
        resolved_vars = {
            k: resolve_known_values(v, context, conditions) for k, v in variables.items()
        }
        return {"Fn::Sub": [rendered, resolved_vars] if variables else rendered}
    return {k: resolve_known_values(v, context, conditions) for k, v in value.items()}


def _known(name: str, context: Context) -> Any:
    if name in PSEUDO_PARAMETERS:
        return context.pseudo_value(name)
    return context.parameters.get(name)


def _substitute(template: str, variables: dict[str, Any], context: Context) -> str:
    out: list[str] = []
    for token in parse_sub(template):
        source = template[token.start : token.end]
        if token.kind == "ref" and token.text not in variables:
            known = _known(token.text, context)
            if isinstance(known, str):
                out.append(known.replace("${", "${!"))
                continue
        out.append(source)
    return "".join(out)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def locked_configuration(
    properties: dict[str, Any], excluded: frozenset[str] = EXCLUDED_PROPERTIES
) -> dict[str, Any]:
    """The properties a version snapshots, with an earlier stamp removed."""
    locked = {k: v for k, v in properties.items() if k not in excluded}
    description = locked.get("Description")
    if isinstance(description, str):
        stripped = strip_stamp(description)
        if stripped:
            locked["Description"] = stripped
        else:
            del locked["Description"]
    elif description is not None:
        unstamped = unstamp_intrinsic(description)
        if unstamped is not None:
            locked["Description"] = unstamped
    return locked


def unstamp_intrinsic(description: Any) -> Any:
    """``Fn::Join ["", [X, " [pin h]"]]`` (how a non-literal description is stamped) -> X."""
    if type(description) is dict and list(description) == ["Fn::Join"]:
        args = description["Fn::Join"]
        if (
            isinstance(args, list)
            and len(args) == 2
            and args[0] == ""
            and isinstance(args[1], list)
            and len(args[1]) == 2
            and isinstance(args[1][1], str)
            and re.fullmatch(_STAMP, args[1][1])
        ):
            return args[1][0]
    return None


def version_hash(
    properties: dict[str, Any],
    context: Context,
    excluded: frozenset[str] = EXCLUDED_PROPERTIES,
    conditions: Any = None,
) -> str:
    """Ten hex digits of SHA-256 over the canonical locked configuration. ``conditions``:
    the template's Conditions section, to resolve ``Fn::If`` the parameters decide."""
    evaluated = Conditions(conditions, context)
    locked = resolve_known_values(locked_configuration(properties, excluded), context, evaluated)
    digest: str = sha256((HASH_PREFIX + canonical_json(locked)).encode("utf-8")).hexdigest()
    return digest[:HASH_LENGTH]


def identity_hash(prefix: str, value: Any) -> str:
    """Ten hex digits of SHA-256 over ``prefix`` + canonical JSON of ``value``: for logical
    IDs other than versions' (grants), under their own prefix so they never meet a version
    hash."""
    digest: str = sha256((prefix + canonical_json(value)).encode("utf-8")).hexdigest()
    return digest[:HASH_LENGTH]

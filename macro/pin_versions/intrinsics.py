"""CloudFormation intrinsic functions as data: recognise them, read their arguments, and
parse and render ``Fn::Sub`` strings with their ``${!Literal}`` escapes.

Nothing here knows about Lambda or Step Functions.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)


def intrinsic_name(value: Any) -> str | None:
    """``"Fn::Sub"`` for ``{"Fn::Sub": ...}``, ``"Ref"`` for ``{"Ref": ...}``, else None."""
    if type(value) is dict and len(value) == 1:
        (key,) = value
        if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
            return str(key)
    return None


def ref_target(value: Any) -> str | None:
    """The logical ID or parameter named by ``{"Ref": name}``."""
    if type(value) is dict and len(value) == 1:
        target = value.get("Ref")
        if isinstance(target, str):
            return target
    return None


def getatt_target(value: Any) -> tuple[str, str] | None:
    """``(logical_id, attribute)`` for ``{"Fn::GetAtt": [id, attr]}`` or ``"id.attr"``."""
    if type(value) is not dict or len(value) != 1:
        return None
    args = value.get("Fn::GetAtt")
    if isinstance(args, str):
        logical_id, dot, attribute = args.partition(".")
        return (logical_id, attribute) if dot and logical_id and attribute else None
    if (
        isinstance(args, list)
        and len(args) == 2
        and isinstance(args[0], str)
        and isinstance(args[1], str)
    ):
        return args[0], args[1]
    return None


def sub_args(value: Any) -> tuple[str, dict[str, Any]] | None:
    """``(template_string, variables)`` for both forms of ``Fn::Sub``, else None."""
    if type(value) is not dict or len(value) != 1 or "Fn::Sub" not in value:
        return None
    args = value["Fn::Sub"]
    if isinstance(args, str):
        return args, {}
    if (
        isinstance(args, list)
        and len(args) == 2
        and isinstance(args[0], str)
        and type(args[1]) is dict
    ):
        return args[0], args[1]
    return None


def join_args(value: Any) -> tuple[str, list[Any]] | None:
    """``(delimiter, parts)`` for ``{"Fn::Join": [delimiter, [parts]]}``, else None."""
    if type(value) is not dict or len(value) != 1 or "Fn::Join" not in value:
        return None
    args = value["Fn::Join"]
    if (
        isinstance(args, list)
        and len(args) == 2
        and isinstance(args[0], str)
        and isinstance(args[1], list)
    ):
        return args[0], args[1]
    return None


# One token of a Sub string: a placeholder, an escaped placeholder, or a bare escape.
_SUB_TOKEN = re.compile(r"\$\{!([^}]*)\}|\$\{([^}]*)\}|\$\{!")
# What CloudFormation accepts as a placeholder name: Param, Resource.Attr, AWS::Region.
_SUB_NAME = re.compile(r"[A-Za-z0-9_:.\-]+")


class SubToken(NamedTuple):
    """A piece of a parsed ``Fn::Sub`` string, with its offsets in the source string.

    ``kind`` is ``"text"`` (literal, rendered as is), ``"escape"`` (``${!...`` rendered
    without the ``!``) or ``"ref"`` (a placeholder ``${name}``).
    """

    kind: str
    start: int
    end: int
    text: str  # the rendered text for text/escape, the placeholder name for ref


def parse_sub(template: str) -> list[SubToken]:
    """Split a Sub string into literal text, escapes and placeholders."""
    tokens: list[SubToken] = []
    pos = 0
    for match in _SUB_TOKEN.finditer(template):
        start, end = match.span()
        escaped, name = match.group(1), match.group(2)
        if name is not None and not _SUB_NAME.fullmatch(name):
            continue  # not a placeholder CloudFormation would resolve: literal text
        if start > pos:
            tokens.append(SubToken("text", pos, start, template[pos:start]))
        if escaped is not None:
            tokens.append(SubToken("escape", start, end, "${" + escaped + "}"))
        elif name is not None:
            tokens.append(SubToken("ref", start, end, name))
        else:
            tokens.append(SubToken("escape", start, end, "${"))
        pos = end
    if pos < len(template):
        tokens.append(SubToken("text", pos, len(template), template[pos:]))
    return tokens


def escape_sub_text(text: str) -> str:
    """Literal text made safe inside a Sub string: every ``${`` becomes ``${!``."""
    return text.replace("${", "${!")


def sub_placeholder_names(template: str) -> list[str]:
    """Every placeholder name of a Sub string, in order, duplicates kept."""
    return [token.text for token in parse_sub(template) if token.kind == "ref"]

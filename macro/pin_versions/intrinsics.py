"""CloudFormation intrinsic functions as data: recognise them, read their arguments, and
parse and render ``Fn::Sub`` strings with their ``${!Literal}`` escapes.

Nothing here knows about Lambda or Step Functions.
"""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

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


def describe(value: Any) -> str:
    """A template value's shape in CloudFormation's words (never a Python type name)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "the boolean " + ("true" if value else "false")
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if type(value) is dict:
        if not value:
            return "an empty object"
        keys = [str(k)[:40] for k in list(value)[:4]]
        more = ", ..." if len(value) > 4 else ""
        noun = "key" if len(value) == 1 else "keys"
        return f"an object with {len(value)} {noun} ({', '.join(keys)}{more})"
    return "a value of no JSON type"


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


# One token of a Sub string: an escaped placeholder, a placeholder, a bare escape, or a ``${``
# that starts none of them. An escape never spans a ``$``: in ``${!a ... ${B}`` the ``${B}``
# is still a placeholder, as it is to CloudFormation.
_SUB_TOKEN = re.compile(r"\$\{!([^}$]*)\}|\$\{([A-Za-z0-9_:.\-]+)\}|\$\{!|\$\{")


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
    """Split a Sub string into literal text, escapes and placeholders. A ``${`` that starts
    no placeholder (see ``sub_syntax_error``) is kept as text, and the scan goes on right
    after it, so that the placeholders behind it are still found."""
    tokens: list[SubToken] = []
    pos = 0
    for match in _SUB_TOKEN.finditer(template):
        start, end = match.span()
        escaped, name = match.group(1), match.group(2)
        if escaped is None and name is None and not match.group(0).endswith("!"):
            continue  # a stray ${: literal text (sub_syntax_error reports it)
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


def sub_syntax_error(template: str) -> str | None:
    """What is wrong with a Sub string CloudFormation would refuse, or None.

    CloudFormation reads every ``${`` of an ``Fn::Sub`` string as a variable and rejects the
    template when the name is not made of letters, digits, ``_``, ``.`` and ``:``
    ("Template error: variable names in Fn::Sub syntax must contain only alphanumeric
    characters, underscores, periods, and colons"); a literal ``${`` is written ``${!``.
    """
    for match in _SUB_TOKEN.finditer(template):
        if match.group(1) is None and match.group(2) is None and match.group(0) == "${":
            offset = match.start()
            line = template.count("\n", 0, offset) + 1
            column = offset - (template.rfind("\n", 0, offset) + 1) + 1
            after = template[offset : offset + 24]
            closed = template.find("}", offset) >= 0
            what = "is not closed by }" if not closed else "does not start a variable name"
            return (
                f"the ${{ at line {line} column {column} ({after!r}) {what}; CloudFormation "
                "rejects Fn::Sub variables whose names are not letters, digits, _, . and : "
                "(write ${! for a literal ${)"
            )
    return None


def escape_sub_text(text: str) -> str:
    """Literal text made safe inside a Sub string: every ``${`` becomes ``${!``."""
    return text.replace("${", "${!")


def sub_placeholder_names(template: str) -> list[str]:
    """Every placeholder name of a Sub string, in order, duplicates kept."""
    return [token.text for token in parse_sub(template) if token.kind == "ref"]

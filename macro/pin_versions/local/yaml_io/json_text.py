"""JSON templates read as JSON, strictly: NaN, Infinity and numbers too large for a double
are refused with their line; duplicate keys hand the text to the YAML reader, which reports
them with a line."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .reader import _error_at, _non_finite_problem


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")  # the YAML path then reports it with a line
    return result


class _NonFinite(Exception):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _refuse_constant(token: str) -> Any:
    raise _NonFinite(token)  # NaN, Infinity, -Infinity: Python's json reads them, JSON has none


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _NonFinite(token)  # 1e999 overflows to infinity
    return value


# Outside strings, valid JSON text has only numbers, literals and punctuation, so the first
# match that is not a string is the offending token.
_JSON_STRING_OR_NUMBER = re.compile(
    r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?'
)


def _locate_token(text: str, token: str) -> tuple[int, int]:
    for match in _JSON_STRING_OR_NUMBER.finditer(text):
        if match[0] == token:
            start = match.start()
            return text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
    return 1, 1


def _try_json(text: str, filename: str = "<template>") -> tuple[bool, Any]:
    """``(True, data)`` for a JSON object, ``(False, None)`` for anything else (YAML).

    Raises TemplateLoadError for JSON that Python's reader accepts but JSON does not have
    (NaN, Infinity, a number too large for a double): read back as YAML it would become a
    string, and written out it would not be JSON.
    """
    if not text.lstrip().startswith("{"):
        return False, None
    try:
        data = json.loads(
            text,
            object_pairs_hook=_unique_pairs,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except _NonFinite as exc:
        line, column = _locate_token(text, exc.token)
        raise _error_at(filename, _non_finite_problem(exc.token), line, column) from None
    except (ValueError, RecursionError):
        return False, None
    return True, data

"""Templates out: JSON (two-space indent) and YAML in block style with short-form intrinsic
tags, no aliases, and strings quoted where YAML 1.1 would read them as something else."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.nodes import Node

from .reader import _MAP, _SEQ, _SHORT_TAGS, _STD, _STR


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- YAML out -------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style, no aliases, sequences indented under their key, short-form intrinsics."""

    def ignore_aliases(self, data: Any) -> bool:
        return True  # write shared objects out in full: CloudFormation users do not use anchors

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        # A tagged scalar (!Ref X) is always a string, so it may be plain whatever it looks
        # like; PyYAML would quote it because its tag is not the one the text implies.
        event: Any = self.event
        tag = getattr(event, "tag", None)
        if tag and tag.startswith("!") and not event.style:
            if self.analysis is None:
                self.analysis = self.analyze_scalar(event.value)
            analysis = self.analysis
            allowed = analysis.allow_flow_plain if self.flow_level else analysis.allow_block_plain
            if allowed and not analysis.empty and not analysis.multiline:
                return ""
        style: str = super().choose_scalar_style()
        return style


# Quote strings other YAML readers (1.2 core schema, YAML 1.1 y/n) would take for numbers or
# booleans, not only those PyYAML would: the output is read by CloudFormation and other tools.
_Dumper.add_implicit_resolver(
    _STD + "float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)
_Dumper.add_implicit_resolver(
    _STD + "int", re.compile(r"^(?:0o[0-7]+|[-+]?0[xX][0-9a-fA-F_]+)$"), list("-+0")
)
_Dumper.add_implicit_resolver(_STD + "bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))

# Line breaks that YAML 1.1 readers normalise inside block scalars and quoted folds.
_ODD_BREAKS = re.compile("[\r\x85\u2028\u2029]")


def _str_style(value: str) -> str | None:
    if _ODD_BREAKS.search(value):
        return '"'
    # The emitter falls back to a quoted style when a literal block would not round trip.
    return "|" if "\n" in value else None


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(_STR, data, style=_str_style(data))


def _is_short_form(data: Any) -> bool:
    return isinstance(data, dict) and len(data) == 1 and next(iter(data)) in _SHORT_TAGS


def _represent_short_form(dumper: yaml.SafeDumper, key: str, value: Any) -> Node | None:
    tag = _SHORT_TAGS[key]
    if key == "Fn::GetAtt":
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(part, str) for part in value)
            and "." not in value[0]
        ):
            return dumper.represent_scalar(tag, f"{value[0]}.{value[1]}")
        if not isinstance(value, list):
            return None  # a string would come back split into a list
    if isinstance(value, str):
        return dumper.represent_scalar(tag, value, style=_str_style(value))
    if key in ("Ref", "Condition"):
        return None
    node: Node
    if isinstance(value, list):
        node = dumper.represent_sequence(_SEQ, value)
    elif isinstance(value, dict) and not _is_short_form(value):
        # A node has one tag: `!Base64 !Sub x` is not YAML, so nested short forms stay long.
        node = dumper.represent_mapping(_MAP, value)
    else:
        return None  # numbers, booleans, null would come back as strings
    node.tag = tag
    return node


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> Node:
    if _is_short_form(data):
        ((key, value),) = data.items()
        node = _represent_short_form(dumper, key, value)
        if node is not None:
            return node
    return dumper.represent_mapping(_MAP, data)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dict, _represent_dict)


def dump_yaml(data: Any) -> str:
    """CloudFormation YAML: key order kept, block style, short-form intrinsics where simple."""
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=float("inf"),
        indent=2,
    )
    return text

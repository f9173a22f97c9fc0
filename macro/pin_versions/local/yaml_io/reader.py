"""The YAML reader: a PyYAML node tree (SafeLoader's scanner, parser and resolver) built into
plain data here, so that short-form tags, mapping keys, duplicates (last wins, with a
warning), aliases (capped) and the line of every key and item are decided in one pass."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# A location in the data: ("Resources", "Workflow", "Properties", "DefinitionString").
JsonPath = tuple[str | int, ...]

# Expanded alias references allowed per document: a few shared blocks are normal, a billion
# laughs is not.
MAX_ALIAS_REFERENCES = 1000

_STD = "tag:yaml.org,2002:"
_MAP, _SEQ, _STR, _MERGE = _STD + "map", _STD + "seq", _STD + "str", _STD + "merge"
# Only tags that build plain JSON-like data; !!binary, !!set, !!timestamp, python/... are out.
_SCALAR_TAGS = frozenset(_STD + name for name in ("str", "int", "float", "bool", "null"))

# Intrinsics written in short form by dump_yaml, and the only local tags loading accepts:
# CloudFormation's documented intrinsic functions (Template Reference, "Intrinsic function
# reference", including the AWS::LanguageExtensions ones Fn::ToJsonString and Fn::Length)
# and its rule functions ("Rule functions"). Any other tag (`!Bogus x`, `!Rain::Embed`) is
# refused with its line: read as `Fn::Bogus` it would only fail later, far from the cause.
_FN_NAMES = [
    *("Base64", "Cidr", "FindInMap", "GetAZs", "GetAtt", "ImportValue", "Join", "Select"),
    *("Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or", "ToJsonString"),
    "Length",
]
_RULE_FN_NAMES = ("Contains", "EachMemberEquals", "EachMemberIn", "RefAll", "ValueOf", "ValueOfAll")
_SHORT_TAGS = {"Ref": "!Ref", "Condition": "!Condition"} | {f"Fn::{n}": f"!{n}" for n in _FN_NAMES}
_KNOWN_TAGS = frozenset(("Ref", "Condition", *_FN_NAMES, *_RULE_FN_NAMES))


class TemplateLoadError(Exception):
    """A template that cannot be read or parsed. The message is one line."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line = line  # 1-based, when known
        self.column = column


def _error(filename: str, problem: str, mark: yaml.Mark | None) -> TemplateLoadError:
    if mark is None:
        return TemplateLoadError(f"{filename}: {problem}")
    return _error_at(filename, problem, mark.line + 1, mark.column + 1)


def _error_at(filename: str, problem: str, line: int, column: int) -> TemplateLoadError:
    return TemplateLoadError(
        f"{filename}: line {line} column {column}: {problem}", line=line, column=column
    )


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_STD) if tag.startswith(_STD) else tag


def _timestampless_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    # CloudFormation reads 2012-10-17 as a string. "=" (YAML 1.1 !!value) has no safe
    # constructor, so it is a string too.
    dropped = {_STD + "timestamp", _STD + "value"}
    return {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in dropped]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _Loader(yaml.SafeLoader):
    """SafeLoader that stops at the node tree and bounds alias expansion."""

    yaml_implicit_resolvers = _timestampless_resolvers()

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._alias_uses = 0
        self._alias_weight: dict[str, int] = {}  # aliases inside each anchored node, expanded
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent):
            anchor: str = event.anchor or ""
            mark: Any = event.start_mark
            if anchor in self._open_anchors:
                raise ComposerError(None, None, f"found recursive alias *{anchor}", mark)
            # Count what expansion would cost: this alias plus every alias inside its anchor.
            self._alias_uses += 1 + self._alias_weight.get(anchor, 0)
            if self._alias_uses > MAX_ALIAS_REFERENCES:
                raise ComposerError(
                    None,
                    None,
                    f"too many alias references (more than {MAX_ALIAS_REFERENCES} after expansion)",
                    mark,
                )
            return super().compose_node(parent, index)
        if not isinstance(event, NodeEvent) or event.anchor is None:
            return super().compose_node(parent, index)
        anchor = event.anchor
        before = self._alias_uses
        self._open_anchors.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._open_anchors.discard(anchor)
        self._alias_weight[anchor] = self._alias_uses - before
        return node


class _Builder:
    """Node tree -> plain data (fresh objects for every alias), plus path -> line."""

    def __init__(self, loader: _Loader, filename: str, warnings: list[str]) -> None:
        self.loader = loader
        self.filename = filename
        self.warnings = warnings

    def fail(self, problem: str, node: Node) -> TemplateLoadError:
        return _error(self.filename, problem, node.start_mark)

    def build(self, node: Node, path: JsonPath, lines: dict[JsonPath, int], tag: str = "") -> Any:
        tag = tag or node.tag
        if tag.startswith("!"):
            return self.intrinsic(node, path, lines)
        if isinstance(node, ScalarNode):
            if tag not in _SCALAR_TAGS:
                raise self.fail(self.bad_tag(tag, "a scalar"), node)
            try:
                value = self.loader.construct_object(node)
            except (ValueError, KeyError):  # an explicit tag on the wrong text: !!int abc
                raise self.fail(f"cannot read {node.value!r} as {_short_tag(tag)}", node) from None
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail(_non_finite_problem(node.value), node)
            return value
        if isinstance(node, SequenceNode):
            if tag != _SEQ:
                raise self.fail(self.bad_tag(tag, "a sequence"), node)
            items = []
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*path, index), lines))
            return items
        if tag != _MAP or not isinstance(node, MappingNode):
            raise self.fail(self.bad_tag(tag, "a mapping"), node)
        return self.mapping(node, path, lines)

    def bad_tag(self, tag: str, kind: str) -> str:
        if tag in _SCALAR_TAGS or tag in (_MAP, _SEQ):
            return f"tag {_short_tag(tag)} cannot be used on {kind}"
        return f"found undefined tag {_short_tag(tag)}"

    def intrinsic(self, node: Node, path: JsonPath, lines: dict[JsonPath, int]) -> dict[str, Any]:
        name = node.tag[1:]
        if name not in _KNOWN_TAGS:
            raise self.fail(
                f"found undefined tag {node.tag} (CloudFormation knows only the short "
                "forms of its intrinsic functions, such as !Ref, !Sub and !GetAtt)",
                node,
            )
        key = name if name in ("Ref", "Condition") else "Fn::" + name
        inner = (*path, key)
        lines[inner] = node.start_mark.line + 1
        if not isinstance(node, ScalarNode):
            plain = _MAP if isinstance(node, MappingNode) else _SEQ
            return {key: self.build(node, inner, lines, plain)}
        value: str = node.value
        if key != "Fn::GetAtt":
            return {key: value}
        parts = value.split(".", 1)  # !GetAtt A.B.C is [A, B.C]: only the logical ID is dotless
        for index in range(len(parts)):
            lines[(*inner, index)] = lines[inner]
        return {key: parts}

    def mapping(
        self, node: MappingNode, path: JsonPath, lines: dict[JsonPath, int]
    ) -> dict[str, Any]:
        explicit: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        merged: dict[str, Any] = {}  # from "<<" keys, earlier sources win, explicit keys win
        merged_lines: dict[JsonPath, int] = {}
        depth = len(path)
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, MappingNode):
                        raise self.fail("a merge key (<<) takes mappings only", source)
                    source_lines: dict[JsonPath, int] = {}
                    for k, v in self.build(source, path, source_lines).items():
                        merged.setdefault(k, v)
                    for p, line in source_lines.items():
                        merged_lines.setdefault(p, line)
                continue
            key = self.key(key_node)
            line = key_node.start_mark.line + 1
            if key in explicit:
                # CloudFormation accepts a repeated key and keeps the last value: so do we,
                # and say so (cfn-lint 1.58 reports it as E0000).
                mark = key_node.start_mark
                self.warnings.append(
                    f"{self.filename}: line {mark.line + 1} column {mark.column + 1}: "
                    f"duplicate key {json.dumps(key, ensure_ascii=False)} (first defined at "
                    f"line {key_lines[key]}); the last value wins, as in CloudFormation"
                )
            key_lines[key] = line
            lines[(*path, key)] = line
            explicit[key] = self.build(value_node, (*path, key), lines)
        if not merged:
            return explicit
        for p, line in merged_lines.items():
            if p[depth] not in explicit:
                lines[p] = line
        return {k: explicit.get(k, v) for k, v in merged.items()} | explicit

    def key(self, node: Node) -> str:
        # CloudFormation keys are JSON strings: keep the text as written (200, yes, 1.0).
        if isinstance(node, ScalarNode) and not node.tag.startswith("!"):
            value: str = node.value
            return value
        kind = "a sequence" if isinstance(node, SequenceNode) else "a mapping"
        if isinstance(node, ScalarNode):
            kind = f"a {node.tag} tag"
        raise self.fail(f"a mapping key must be a string, found {kind}", node)


def _parse_yaml(
    text: str, filename: str, warnings: list[str] | None = None
) -> tuple[Any, dict[JsonPath, int]]:
    lines: dict[JsonPath, int] = {}
    warnings = [] if warnings is None else warnings
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        problem = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
        raise _error_at(filename, problem, line, column) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, lines
        lines[()] = root.start_mark.line + 1
        return _Builder(loader, filename, warnings).build(root, (), lines), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            # PyYAML splits one sentence in two: "while parsing X" + "expected Y".
            context, where = exc.context, exc.context_mark
            if where is not None and mark is not None and where.line != mark.line:
                context = f"{context} (line {where.line + 1})"
            problem = f"{context}, {exc.problem}"
        raise _error(filename, problem, mark) from None
    except yaml.YAMLError as exc:
        raise _error(filename, str(exc).replace("\n", " "), None) from None
    except RecursionError:
        raise _error(filename, "the template is nested too deeply", None) from None
    finally:
        loader.dispose()


def _non_finite_problem(token: str) -> str:
    return (
        f"{token} is not a number CloudFormation accepts: JSON has no NaN or infinity; "
        "write the value as a string if it is meant as text"
    )

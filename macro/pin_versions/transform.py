"""The pipeline: options -> inventory -> plan -> apply. Pure: no I/O, no logging, no AWS.

The Lambda handler and the command line are two thin doors into ``transform``.
"""

# Annotations are evaluated (no `from __future__ import annotations`): typing.NamedTuple
# compiles a string annotation into a ForwardRef, ~10 us a field at cold import
# (docs/performance.md, issue 13).

import json
import re
from functools import partial
from typing import Any, NamedTuple

from .inventory import Context, build_inventory
from .options import Options, collect_options
from .plan import Planner
from .report import Diagnostic, InternalError, Report, TransformError, fail, format_path
from .rewrite import Writer, apply_aliases, apply_edits, finish

# CloudFormation's limit for a processed template (passed as an S3 object).
MAX_TEMPLATE_BYTES = 1_048_576


class Result(NamedTuple):
    template: dict[str, Any]
    report: Report


def transform(
    template: Any, context: Context | None = None, max_bytes: int | None = MAX_TEMPLATE_BYTES
) -> Result:
    """Pin every Lambda function the template's state machines invoke.

    Raises TransformError (with every problem found) and changes nothing when the template
    cannot be processed; a bug of the macro is an InternalError (PV900) naming the resource
    it was processing. Never mutates ``template``. ``max_bytes`` is the processed-template
    size limit to enforce (None: none).
    """
    if type(template) is not dict:
        raise fail("PV910", "", "the template must be a JSON object")
    context = context or Context()
    progress: dict[str, Planner] = {}
    too_deep, depth = deeper_than(template, MAX_NESTING)
    if too_deep is not None:
        raise fail("PV910", too_deep, _TOO_DEEP)
    try:
        result = _transform(template, context, max_bytes, progress)
        # The macro's edits nest a few levels deeper (a stamped Description in an Fn::Join,
        # a grant in an Fn::If): an output its next pass would refuse is refused now, so that
        # both passes agree. Only an input near the limit can get there: one walk, not two.
        if depth > MAX_NESTING - EDIT_NESTING:
            too_deep, _ = deeper_than(result.template, MAX_NESTING)
            if too_deep is not None:
                raise fail("PV910", too_deep, "with the macro's edits, " + _TOO_DEEP)
        return result
    except TransformError:
        raise
    except RecursionError:
        # JSON nested hundreds of levels deep: no template CloudFormation takes is.
        raise fail("PV910", "", "the template is nested too deeply to process") from None
    except UnicodeError:
        # Only text that is not Unicode fails to encode: a lone surrogate ("\ud800") that a
        # JSON request can carry. Say where, rather than UnicodeEncodeError.
        located = lone_surrogate(template, context)
        if located is None:
            raise
        raise fail(
            "PV923",
            located,
            "contains a lone UTF-16 surrogate (such as \\ud800), which is not Unicode text "
            "and cannot be encoded; remove it",
        ) from None
    except Exception as error:
        planner = progress.get("planner")
        raise InternalError(planner.current if planner else "", error) from error


# Objects and lists nested in one another, the template itself being level 1. Real templates
# nest about 25 levels (the deepest of tests/corpus: 24); 256 leaves room for any of them and
# keeps every pass of the macro, and the JSON encoding of its answer, well inside the 970 frames
# a Lambda handler has (Python's default recursion limit of 1,000), so that a template is
# accepted or refused for its shape, never for how deep the caller's stack happened to be.
MAX_NESTING = 256
# The most levels one of the macro's edits adds to what it edits (an Fn::If around an
# Fn::Sub list: 5), with room to spare (tests/test_nesting.py pushes an input over by edits).
EDIT_NESTING = 16

_TOO_DEEP = (
    f"nests objects and lists more than {MAX_NESTING} levels deep (the template being level 1), "
    "more than the macro takes; flatten it (nested Parallel or Map states: a child state "
    "machine; nested Fn::Join: one Fn::Join or Fn::Sub)"
)


def deeper_than(template: dict[str, Any], limit: int) -> tuple[str | None, int]:
    """The path of the first section or resource (``Resources.Hello``) that nests objects and
    lists more than ``limit`` levels deep, the template being level 1 (None when none does),
    and the deepest level seen. Iterative, so it answers for any depth."""
    deepest = 1
    sections: list[tuple[str, Any, int]] = []
    for key, value in template.items():
        if key == "Resources" and type(value) is dict:
            sections.extend((f"Resources.{name}", res, 3) for name, res in value.items())
        else:
            sections.append((str(key), value, 2))
    for where, value, level in sections:
        # Level by level: only containers are kept (strings, most of a template, are not).
        layer = [value] if type(value) in (dict, list) else []
        while layer:
            if level > limit:
                return where, level
            deepest = max(deepest, level)
            below: list[Any] = []
            for node in layer:
                for child in node.values() if type(node) is dict else node:
                    if type(child) is dict or type(child) is list:
                        below.append(child)
            layer, level = below, level + 1
    return None, deepest


def lone_surrogate(template: dict[str, Any], context: Context) -> str | None:
    """The path of the first string (or key) holding a lone surrogate: in the template, then
    in the parameter values (``Parameters.Name (value)``). None when there is none."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(template, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if has_lone_surrogate(node):
                return format_path(path) or "the template"
        elif type(node) is dict:
            for key, value in node.items():
                if isinstance(key, str) and has_lone_surrogate(key):
                    return format_path(path) + " (a key)"
                stack.append((value, (*path, str(key))))
        elif isinstance(node, list):
            stack.extend((value, (*path, index)) for index, value in enumerate(node))
    for name, value in context.parameters.items():
        if has_lone_surrogate(str(name)) or (isinstance(value, str) and has_lone_surrogate(value)):
            return f"Parameters.{name} (the value passed for it)"
    return None


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate (U+D800-U+DFFF), which JSON cannot encode.
    ``str.isascii`` answers in constant time for the usual ASCII string; the pattern is compiled
    (through ``re``'s own cache) only for a string that is not ASCII, since compiling this range
    at import cost 0.2 ms of the handler's cold import."""
    return not text.isascii() and re.search(_SURROGATE, text) is not None


_SURROGATE = "[\ud800-\udfff]"


def _transform(
    template: dict[str, Any],
    context: Context,
    max_bytes: int | None,
    progress: dict[str, Planner],
) -> Result:
    # Every problem is collected and reported in one failure: invalid options, then the
    # inventory's, then every state machine's and the plan's (Planner.finish raises them).
    errors: list[Diagnostic] = []
    options = collect_options(template, errors)
    try:
        inventory = build_inventory(template, context, options)
    except TransformError as error:
        raise TransformError(errors + error.diagnostics) from None
    planner = Planner(inventory, options, errors)
    progress["planner"] = planner
    # Each state machine's edits are applied as soon as they are planned, to a copy: if
    # planning fails later, the copy is dropped and nothing was changed.
    writer = Writer(template)
    for edits in planner.machines():
        apply_edits(writer, edits)
    # The Alias option (issue 15): its errors join the planner's, raised by finish(). Its
    # modules are imported only for a template that has the option or an alias.
    aliases = None
    if _has_aliases(inventory.resources, options):
        from .plan.aliases import plan_aliases

        aliases = plan_aliases(inventory, options, planner.errors, planner.report, planner.taken)
        planner.plan.alias_resources = aliases.new_ids()
    plan = planner.finish()
    output = finish(writer, plan)
    if aliases is not None:
        output = apply_aliases(writer, aliases)
    if max_bytes is not None and plan.report.pins:
        _check_size(template, output, max_bytes)
    return Result(output, plan.report)


def _has_aliases(resources: dict[str, Any], options: Options) -> bool:
    """The template has the Alias option (template-wide or on a resource) or a state machine
    alias (whose grants plan/aliases.py may fix)."""
    if options.alias is not None:
        return True
    for resource in resources.values():
        if type(resource) is not dict:
            continue
        if resource.get("Type") == "AWS::StepFunctions::StateMachineAlias":
            return True
        metadata = resource.get("Metadata")
        ours = metadata.get("PinVersions") if type(metadata) is dict else None
        if type(ours) is dict and "Alias" in ours:
            return True
    return False


def _size(template: dict[str, Any], ascii_only: bool = False) -> int:
    """Bytes of the template as compact JSON (UTF-8; or with non-ASCII escaped, which is
    faster and never shorter). Serialised resource by resource, so the peak memory is one
    resource's text, not the template's."""
    encode = partial(
        json.dumps, separators=(",", ":"), ensure_ascii=ascii_only, check_circular=False
    )

    def size(value: Any) -> int:
        text = encode(value)
        return len(text) if ascii_only else len(text.encode())

    total = 1 + max(len(template) - 1, 0) + 1  # braces and commas
    for key, value in template.items():
        total += size(key) + 1
        if key == "Resources" and type(value) is dict:
            total += 1 + max(len(value) - 1, 0) + 1
            for name, resource in value.items():
                total += size(name) + 1 + size(resource)
        else:
            total += size(value)
    return total


def _check_size(template: dict[str, Any], output: dict[str, Any], max_bytes: int) -> None:
    """Only a template the macro grew can be the macro's fault; measure that one."""
    if _size(output, ascii_only=True) <= max_bytes:
        return
    size = _size(output)
    if size > max_bytes:
        added = size - _size(template)
        raise fail(
            "PV909",
            "",
            f"the processed template would be {size:,} bytes (the macro adds {added:,}), over "
            f"CloudFormation's {max_bytes:,}-byte limit for processed templates; split the "
            "stack or exclude functions with Metadata.PinVersions.Exclude",
        )

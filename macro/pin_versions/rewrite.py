"""The only place that writes: applies a plan to a copy of the template.

Copy-on-write: only the dicts and lists on the path to a change are copied, so the input is
never mutated and unchanged parts are shared, not duplicated (a 1 MB template is not copied
to change a few strings).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .intrinsics import escape_sub_text
from .pieces import Container, Path
from .plan.model import Edit, Plan, VersionPlan
from .targets import LAMBDA

if TYPE_CHECKING:
    from .plan.alias_model import AliasPlan


class Writer:
    """Copy-on-write access to a template."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = dict(root)
        self._owned: set[int] = {id(self.root)}
        self._alive: list[Any] = [self.root]  # keeps ids unique while we hold them

    def get(self, path: Path) -> Any:
        node: Any = self.root
        for key in path:
            node = node[key]
        return node

    def _own(self, value: Any) -> Any:
        if id(value) in self._owned:
            return value
        copy: Any = dict(value) if type(value) is dict else list(value)
        self._owned.add(id(copy))
        self._alive.append(copy)
        return copy

    def writable(self, path: Path) -> Any:
        """The container at ``path``, copied (with its parents) if not copied yet."""
        node: Any = self.root
        for key in path:
            child = self._own(node[key])
            node[key] = child
            node = child
        return node

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's Properties, writable; created when the resource has none (a SAM
        function may take everything from Globals)."""
        resource = self.writable(("Resources", logical_id))
        if type(resource.get("Properties")) is not dict:
            created: dict[str, Any] = {}
            resource["Properties"] = created
            self._owned.add(id(created))
            self._alive.append(created)
            return created
        properties: dict[str, Any] = self.writable(("Resources", logical_id, "Properties"))
        return properties

    def set(self, path: Path, value: Any) -> None:
        parent = self.writable(path[:-1])
        parent[path[-1]] = value


def finish(writer: Writer, plan: Plan) -> dict[str, Any]:
    """Everything but the definition edits (applied as each machine was planned)."""
    for machine, added in plan.substitutions.items():
        properties = writer.properties(machine)
        current = properties.get("DefinitionSubstitutions")
        merged = dict(current) if type(current) is dict else {}
        merged.update(added)
        properties["DefinitionSubstitutions"] = merged
    for function, description in plan.descriptions.items():
        writer.properties(function)["Description"] = description
    for version in plan.retain:
        resource = writer.writable(("Resources", version))
        resource["DeletionPolicy"] = "Retain"
        resource["UpdateReplacePolicy"] = "Retain"
    for version, description in plan.version_descriptions.items():
        writer.properties(version)["Description"] = description
    for function in plan.replace_retain:
        resource = writer.writable(("Resources", function))
        resource["UpdateReplacePolicy"] = "Retain"
        if not str(resource.get("Type")).startswith("AWS::Serverless::"):
            resource.setdefault("DeletionPolicy", "Delete")
    for logical_id, update in plan.kind_updates.items():
        _update_resource(writer, logical_id, update)
    for function, wanted in plan.sam_properties.items():
        writer.properties(function).update(wanted)
    for machine, waits_for in plan.depends_on.items():
        _add_depends_on(writer, machine, waits_for)
    if plan.conditions:
        current = writer.root.get("Conditions")
        merged = dict(current) if type(current) is dict else {}
        merged.update(plan.conditions)
        writer.root["Conditions"] = merged
    after: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for planned in plan.versions.values():
        if planned.created:
            after.setdefault(planned.function, []).append(
                (planned.version, version_resource(planned))
            )
    for logical_id, (owner, resource) in plan.kind_resources.items():
        after.setdefault(owner, []).append((logical_id, resource))
    for logical_id, (owner, resource) in plan.grants.items():
        after.setdefault(owner, []).append((logical_id, resource))
    if after:
        writer.root["Resources"] = _with_additions(writer.get(("Resources",)), after)
    return writer.root


def apply_aliases(writer: Writer, plan: AliasPlan) -> dict[str, Any]:
    """The Alias option's plan (issue 15): moved callers and fixed grants, attributes and
    properties of reused resources, DependsOn, and new resources after their owner."""
    from .plan.alias_parents import swap_version

    for path, value in plan.values:
        writer.set(path, value)
    for parent, swaps in plan.swaps.items():
        properties = writer.get(("Resources", parent)).get("Properties")
        for key in ("Definition", "DefinitionString", "DefinitionSubstitutions"):
            if type(properties) is not dict or key not in properties:
                continue
            value = properties[key]
            for version, alias in swaps:
                value = swap_version(value, version, alias)
            if value is not properties[key]:
                writer.set(("Resources", parent, "Properties", key), value)
    for logical_id, attributes in plan.attributes.items():
        writer.writable(("Resources", logical_id)).update(attributes)
    for logical_id, properties in plan.properties.items():
        writer.properties(logical_id).update(properties)
    for logical_id, waits_for in plan.depends_on.items():
        _add_depends_on(writer, logical_id, waits_for)
    if plan.added:
        resources = writer.get(("Resources",))
        added: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for owner, new in plan.added.items():
            anchor = owner
            for new_id, resource in new:
                if new_id in resources:
                    # The nested kind added the same <SM>Version (one function names both):
                    # kept once, and what follows it here goes after it.
                    anchor = new_id
                    continue
                added.setdefault(anchor, []).append((new_id, resource))
        writer.root["Resources"] = _with_additions(resources, added)
    return writer.root


def _add_depends_on(writer: Writer, logical_id: str, waits_for: list[str]) -> None:
    """Append to a resource's DependsOn (a string or a list), each name once."""
    resource = writer.writable(("Resources", logical_id))
    current = resource.get("DependsOn", [])
    depends = [current] if isinstance(current, str) else list(current)
    resource["DependsOn"] = depends + [d for d in waits_for if d not in depends]


def _update_resource(writer: Writer, logical_id: str, update: dict[str, Any]) -> None:
    """Resource attributes (DeletionPolicy, ...) and properties a kind's pin sets on an
    existing resource (plan/kinds.py)."""
    resource = writer.writable(("Resources", logical_id))
    for key, value in update.items():
        if key != "Properties":
            resource[key] = value
    if "Properties" in update:
        writer.properties(logical_id).update(update["Properties"])


def version_resource(version: VersionPlan) -> dict[str, Any]:
    """The retained resource that pins the version (targets.TargetKind.pin_resource)."""
    return LAMBDA.pin_resource(version.function, version.condition)


def _with_additions(
    resources: dict[str, Any], after: dict[str, list[tuple[str, dict[str, Any]]]]
) -> dict[str, Any]:
    """New resources right after the resource they belong to, for a readable template."""
    out: dict[str, Any] = {}
    for logical_id, resource in resources.items():
        out[logical_id] = resource
        for new_id, new_resource in after.get(logical_id, []):
            out[new_id] = new_resource
    return out


def apply_edits(writer: Writer, edits: list[Edit]) -> None:
    by_container: dict[int, list[Edit]] = defaultdict(list)
    containers: dict[int, Container] = {}
    for edit in edits:
        by_container[id(edit.container)].append(edit)
        containers[id(edit.container)] = edit.container
    # Deepest first: a nested Join's new value is in place before its parent is spliced.
    order = sorted(containers, key=lambda key: len(containers[key].path), reverse=True)
    for key in order:
        container = containers[key]
        current = writer.get(container.path)
        writer.set(container.path, _edit_value(container, current, by_container[key]))


def _edit_value(container: Container, current: Any, edits: list[Edit]) -> Any:
    kind = container.kind
    if kind == "mapping":  # a variable or substitution key left unused: remove it
        return {k: v for k, v in current.items() if k not in {e.container.value for e in edits}}
    if kind in ("slot", "value"):
        (edit,) = edits
        (item,) = edit.items
        return item
    if kind == "join":
        return _splice(list(current), edits, container.delimiter)
    text = str(current)
    if kind == "plain" and any(isinstance(i, dict) for e in edits for i in e.items):
        # Plain text with a reference to a version: it becomes an Fn::Sub string.
        return {"Fn::Sub": _rebuild(text, edits, escape_sub_text, _sub_text)}
    if kind == "sub":
        return _rebuild(text, edits, _same, _sub_text)
    return _rebuild(text, edits, _same, str)


def _same(text: str) -> str:
    return text


def _rebuild(
    text: str,
    edits: list[Edit],
    keep: Callable[[str], str],
    render: Callable[[Any], str],
) -> str:
    """The text with every edit applied, in one pass (k edits to one long definition would
    otherwise copy it k times); ``keep`` renders the untouched stretches."""
    out: list[str] = []
    position = 0
    for edit in sorted(edits, key=lambda e: e.start):
        assert isinstance(edit.start, int) and isinstance(edit.end, int)
        out.append(keep(text[position : edit.start]))
        out.extend(render(item) for item in edit.items)
        position = edit.end
    out.append(keep(text[position:]))
    return "".join(out)


def _sub_text(item: str | dict[str, Any]) -> str:
    if isinstance(item, str):
        return escape_sub_text(item)
    if "Ref" in item:
        return "${" + str(item["Ref"]) + "}"
    logical_id, attribute = item["Fn::GetAtt"]
    return "${" + f"{logical_id}.{attribute}" + "}"


def _splice(parts: list[Any], edits: list[Edit], delimiter: str) -> list[Any]:
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        assert isinstance(edit.start, tuple) and isinstance(edit.end, tuple)
        (first, lo), (last, hi) = edit.start, edit.end
        head = _before(parts[first], lo)
        tail = _after(parts[last], hi)
        segment = _merge([*head, *edit.items, *tail])
        if delimiter and len(segment) != 1:
            # A delimiter would land between the new parts: keep them in one part.
            segment = [{"Fn::Join": ["", segment]}]
        parts[first : last + 1] = segment
    return parts


def _before(part: Any, offset: int) -> list[Any]:
    """What stays of a Join part in front of an edit starting at ``offset``."""
    if isinstance(part, str):
        return [part[:offset]]
    return [part] if offset == 1 else []  # 1: the edit starts after this intrinsic


def _after(part: Any, offset: int) -> list[Any]:
    """What stays of a Join part behind an edit ending at ``offset``."""
    if isinstance(part, str):
        return [part[offset:]]
    return [part] if offset == 0 else []  # 0: the edit ends before this intrinsic


def _merge(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            if not item:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += item
                continue
        out.append(item)
    return out

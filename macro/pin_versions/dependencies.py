"""Which resources a resource depends on (Ref, Fn::GetAtt, Fn::Sub placeholders, DependsOn),
so that the macro never adds a reference that closes a dependency cycle."""

from __future__ import annotations

from typing import Any

from .intrinsics import getatt_target, ref_target, sub_args, sub_placeholder_names


def names_in(value: Any) -> set[str]:
    """Logical IDs (and parameter names) a value refers to: Ref, Fn::GetAtt and Fn::Sub
    placeholders (not its own variables), at any depth."""
    found: set[str] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if type(node) is not dict:
            continue
        target = ref_target(node)
        if target is not None:
            found.add(target)
            continue
        attribute = getatt_target(node)
        if attribute is not None:
            found.add(attribute[0])
            continue
        sub = sub_args(node)
        if sub is not None:
            template, variables = sub
            for name in sub_placeholder_names(template):
                if name not in variables:
                    found.add(name.split(".", 1)[0])
            stack.extend(variables.values())
            continue
        stack.extend(node.values())
    return found


class Dependencies:
    def __init__(self, resources: dict[str, Any]) -> None:
        self.resources = resources
        self._direct: dict[str, set[str]] = {}

    def direct(self, logical_id: str) -> set[str]:
        cached = self._direct.get(logical_id)
        if cached is not None:
            return cached
        resource = self.resources.get(logical_id)
        names: set[str] = set()
        if type(resource) is dict:
            depends_on = resource.get("DependsOn", [])
            names.update(
                d
                for d in (depends_on if isinstance(depends_on, list) else [depends_on])
                if isinstance(d, str)
            )
            names |= names_in(resource.get("Properties"))
        names &= set(self.resources)
        self._direct[logical_id] = names
        return names

    def reaches(self, start: str, target: str) -> bool:
        """Does ``start`` depend on ``target``, directly or through others?"""
        seen = {start}
        stack = [start]
        while stack:
            for name in self.direct(stack.pop()):
                if name == target:
                    return True
                if name not in seen:
                    seen.add(name)
                    stack.append(name)
        return False

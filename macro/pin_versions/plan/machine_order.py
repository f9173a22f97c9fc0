"""The order state machines are planned in: children before the parents that start them
(a child's definition changes when its own targets are pinned, so a parent must name the
version of the child as pinned), and the start edges that lie on a cycle (PV140). Imported
by the planner only when a template has a startExecution Task."""

from __future__ import annotations

from ..asl import mentions
from ..definition import analyse
from ..inventory import Inventory, Resource

STATE_MACHINE_KIND = "state-machine"  # targets.STATE_MACHINE.name, without importing it


def _cycle_edges(edges: dict[str, list[str]]) -> set[tuple[str, str]]:
    """The (parent, child) edges that lie on a cycle: both ends in one strongly connected
    component (Tarjan's algorithm), a self-loop included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    counter = [0, 0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for child in edges.get(node, []):
            if child not in index:
                connect(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component[member] = counter[1]
                if member == node:
                    break
            counter[1] += 1

    for node in list(edges):
        if node not in index:
            connect(node)
    return {
        (parent, child)
        for parent, children in edges.items()
        for child in children
        if component.get(parent) == component.get(child) is not None
    }


def machine_order(
    inventory: Inventory, machines: list[Resource]
) -> tuple[list[Resource], set[tuple[str, str]]]:
    """``machines`` with children before the parents that start them (template order
    otherwise), and the (parent, child) Task edges that lie on a cycle. Only definitions
    that mention a startExecution integration are read twice."""
    if STATE_MACHINE_KIND in inventory.disabled_kinds:
        return machines, set()
    edges: dict[str, list[str]] = {}
    for machine in machines:
        if not mentions(machine.properties, ":startExecution"):
            continue
        try:
            view = analyse(machine, inventory)
        except Exception:
            continue
        children = [
            child
            for t in view.targets
            if t.kind == STATE_MACHINE_KIND
            for child in (
                (t.resolution.function,)
                if t.resolution.kind == "function"
                else t.resolution.functions
            )
            if child is not None
        ]
        if children:
            edges[machine.logical_id] = children
    if not edges:
        return machines, set()
    by_id = {m.logical_id: m for m in machines}
    order: list[Resource] = []
    placed: set[str] = set()

    def place(name: str, stack: set[str]) -> None:
        if name in placed or name in stack or name not in by_id:
            return
        stack.add(name)
        for child in edges.get(name, []):
            place(child, stack)
        stack.discard(name)
        placed.add(name)
        order.append(by_id[name])

    for machine in machines:
        place(machine.logical_id, set())
    return order, _cycle_edges(edges)

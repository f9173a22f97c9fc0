"""The core's shape (issue 13): what the Lambda runs imports no tooling and has no import
cycle. Read from the source with ``ast``, not from sys.modules, so that an import inside a
function or under TYPE_CHECKING counts too."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "macro" / "pin_versions"

# What the Lambda runs: the handler and everything it imports.
CORE = (
    "__init__",
    "alias_options",
    "asl",
    "definition",
    "dependencies",
    "event",
    "handler",
    "hashing",
    "iam",
    "iam_kinds",
    "intrinsics",
    "inventory",
    "kind_record",
    "options",
    "pieces",
    "plan/__init__",
    "plan/alias_callers",
    "plan/alias_grants",
    "plan/alias_model",
    "plan/alias_parents",
    "plan/alias_sam",
    "plan/aliases",
    "plan/grants",
    "plan/kind_grants",
    "plan/kinds",
    "plan/machine_order",
    "plan/machine_versions",
    "plan/model",
    "plan/planner",
    "plan/retarget",
    "plan/versions",
    "references",
    "report",
    "resolution",
    "resolution_kinds",
    "rewrite",
    "scan",
    "scan_object",
    "scan_text",
    "target_kinds",
    "targets",
    "transform",
)
# The command line, prune and the cfn-lint rules: never imported by the core.
TOOLING = {
    "checks",
    "cli",
    "explain",
    "lifecycle",
    "packaging",
    "prune",
    "sam_local",
    "stackset",
    "yaml_io",
    "cfn_lint_rules",
    "local",
}


def _module_name(relative: str) -> str:
    return "pin_versions." + relative.replace("/", ".").removesuffix(".__init__").rstrip(".")


def _package_of(relative: str) -> list[str]:
    parts = ["pin_versions", *relative.split("/")]
    return parts[:-1]


def _imports(relative: str) -> set[str]:
    """The pin_versions modules ``relative`` imports (absolute names)."""
    tree = ast.parse((PACKAGE / f"{relative}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(relative)[: len(_package_of(relative)) - node.level + 1]
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                module = node.module or ""
            if module.startswith("pin_versions"):
                for alias in node.names:
                    # `from . import x` / `from .plan import model`: x may be a module.
                    candidate = f"{module}.{alias.name}"
                    found.add(candidate if _exists(candidate) else module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pin_versions"))
    return found


def _exists(module: str) -> bool:
    relative = module.removeprefix("pin_versions").lstrip(".").replace(".", "/")
    return (PACKAGE / f"{relative}.py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module_name(relative): _imports(relative) for relative in CORE}


def test_every_core_module_is_listed_and_imports() -> None:
    on_disk = {
        str(path.relative_to(PACKAGE).with_suffix(""))
        for path in PACKAGE.rglob("*.py")
        if path.parts[len(PACKAGE.parts)] not in TOOLING
        and path.stem not in TOOLING
        and "__pycache__" not in path.parts
    }
    assert on_disk == set(CORE)
    for relative in CORE:
        importlib.import_module(_module_name(relative))


MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250


def test_no_core_module_or_class_is_too_big() -> None:
    too_big: list[str] = []
    for relative in CORE:
        text = (PACKAGE / f"{relative}.py").read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            too_big.append(f"{relative}.py: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno is not None
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    too_big.append(f"{relative}.py: class {node.name}: {size} lines")
    assert not too_big, too_big


def test_the_core_imports_no_tooling() -> None:
    for module, imported in _graph().items():
        tooling = {
            name for name in imported if name.removeprefix("pin_versions.").split(".")[0] in TOOLING
        }
        assert not tooling, f"{module} imports {sorted(tooling)}"


def test_the_core_has_no_import_cycle() -> None:
    graph = _graph()
    # A package's __init__ is imported with any of its modules: an edge to a package is an
    # edge to its __init__; an edge from a module to its own package's __init__ is not a
    # cycle the interpreter sees unless the __init__ imports the module back.
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> None:
        if module in done:
            return
        if module in path:
            cycle = [*path[path.index(module) :], module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if target in graph:
                visit(target)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)

"""llmctl's layering, read from the import graph of its source (every import, also
those inside functions): commands -> domain subpackages -> base, no cycles, no command
importing another, hub never importing plan. The map in docs/development.md names
the same packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "llmctl"
DEVELOPMENT_DOC = Path(__file__).resolve().parents[3] / "docs" / "development.md"

# The base: what every concern may use. app and options are the click plumbing of
# the commands; the domain never takes them.
BASE = {"llmctl", "errors", "datafiles", "stack", "fsutil", "flags", "output", "gguf"}
COMMAND_PLUMBING = {"app", "options"}
# Domain package -> the other domain packages it may import.
DOMAIN = {
    "library": set(),
    "hub": {"library"},
    "plan": {"library", "hub"},
    "serving": {"library", "plan"},
    "status": set(),
    "verify": {"status"},  # the GPU check judges with status.gpu_use
    "render": {"library", "plan", "serving"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The llmctl modules `path` imports (`from llmctl.hub import files` is llmctl.hub.files)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "llmctl"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "llmctl":
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, set(known)) - {name} for name, path in known.items()}


def unit(module: str) -> str:
    """The layering unit of a module: `commands`, `cli`, a domain package or a base name."""
    parts = module.split(".")
    if len(parts) == 1:
        return "llmctl"
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def test_every_module_belongs_to_a_layer(graph):
    units = {unit(name) for name in graph}
    assert units <= BASE | COMMAND_PLUMBING | set(DOMAIN) | {"commands", "cli"}, units
    assert not (PACKAGE / "core").exists(), "core/ is gone: one subpackage per concern"


def test_commands_never_import_another_command(graph):
    wrong = {
        (name, target)
        for name, targets in graph.items()
        for target in targets
        if unit(name) == "commands" and unit(target) == "commands" and target != "llmctl.commands"
    }
    assert wrong == set()


def test_domain_imports_only_the_base_and_the_packages_below_it(graph):
    wrong = set()
    for name, targets in graph.items():
        package = unit(name)
        if package not in DOMAIN:
            continue
        allowed = BASE | {package} | DOMAIN[package]
        wrong |= {(name, target) for target in targets if unit(target) not in allowed}
    assert wrong == set()


def test_base_imports_only_the_base_and_the_plumbing_only_the_base(graph):
    allowed = {**dict.fromkeys(BASE, BASE), **dict.fromkeys(COMMAND_PLUMBING, BASE | COMMAND_PLUMBING)}
    wrong = {
        (name, target)
        for name, targets in graph.items()
        if unit(name) in allowed
        for target in targets
        if unit(target) not in allowed[unit(name)]
    }
    assert wrong == set()


def test_hub_never_imports_plan(graph):
    assert not [(n, t) for n, ts in graph.items() if unit(n) == "hub" for t in ts if unit(t) == "plan"]


def test_the_transient_error_stays_inside_hub():
    users = [
        name
        for name, path in modules().items()
        if "TransientError" in path.read_text(encoding="utf-8") and unit(name) != "hub"
    ]
    assert users == []


def test_no_import_cycles(graph):
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target] if target in trail else [node, target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
    packages = {(unit(n), unit(t)) for n, ts in graph.items() for t in ts if unit(n) != unit(t)}
    assert not [(a, b) for a, b in packages if (b, a) in packages], "packages import each other"


def test_development_doc_maps_every_package():
    text = DEVELOPMENT_DOC.read_text(encoding="utf-8")
    start = text.index("## Map of llmctl")
    section = text[start : text.index("\n## ", start + 1)]
    names = set(DOMAIN) | (BASE - {"llmctl"}) | COMMAND_PLUMBING | {"commands", "cli"}
    missing = [name for name in sorted(names) if f"`{name}" not in section]
    assert missing == [], "docs/development.md's map lacks these"

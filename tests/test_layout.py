"""The package reads as the table of contents: no import cycle, no private name across modules, short modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from povanalysis import config

PACKAGE = config.PROJ_ROOT / "povanalysis"
MAX_LINES = 800
#: The phrase a module longer than MAX_LINES uses at the top of its docstring to say why it is one module.
LONG_REASON = "One module because"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _imports(module: str, path: Path, *, for_cycles: bool) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of the imports of a povanalysis module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    if for_cycles:
        # Every import but those of deprecation shims (a module's __getattr__, or a deprecated
        # method, importing an old name's new home on demand) and of typing-only blocks.
        shims = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef) and (n.name == "__getattr__" or "DeprecationWarning" in ast.unparse(n))
        ]
        skip = {id(x) for shim in shims for x in ast.walk(shim)}
        skip |= {
            id(x)
            for n in ast.walk(tree)
            if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
            for x in ast.walk(n)
        }
        nodes = [n for n in ast.walk(tree) if id(n) not in skip]
    else:
        nodes = list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node.level, node.module) if node.level else (node.module or "")
            for alias in node.names:
                found.append((target, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, None, node.lineno))
    return [f for f in found if f[0] == "povanalysis" or f[0].startswith("povanalysis.")]


def test_no_import_cycle():
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for m, path in modules.items():
        for target, name, _ in _imports(m, path, for_cycles=True):
            sub = f"{target}.{name}" if name else target
            dep = sub if sub in modules else target
            if dep in modules and dep != m and not m.startswith(dep + "."):
                graph[m].add(dep)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_private_name_is_imported_from_another_module():
    offences = []
    for m, path in _modules().items():
        for target, name, line in _imports(m, path, for_cycles=False):
            if name and name.startswith("_") and not name.startswith("__"):
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name} from {target}")
    assert not offences, "\n".join(offences)


def test_long_modules_say_why():
    long = []
    for path in _modules().values():
        text = path.read_text(encoding="utf-8")
        n = text.count("\n")
        doc = ast.get_docstring(ast.parse(text)) or ""
        if n > MAX_LINES and LONG_REASON not in doc:
            long.append(f"{path.relative_to(PACKAGE.parent)}: {n} lines")
    assert not long, f"modules over {MAX_LINES} lines without '{LONG_REASON} …' in their docstring:\n" + "\n".join(long)


def test_tests_mirror_the_layout():
    tests = config.PROJ_ROOT / "tests"
    subpackages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    folders = {p.name for p in tests.iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    assert folders <= subpackages, f"test folders without a subpackage: {sorted(folders - subpackages)}"


def test_test_modules_have_unique_names():
    """pytest imports test modules by their file name: two with the same name cannot both run."""
    names: dict[str, list[str]] = {}
    for path in sorted((config.PROJ_ROOT / "tests").rglob("test_*.py")):
        if "_artifacts" not in path.parts:
            names.setdefault(path.name, []).append(str(path.relative_to(config.PROJ_ROOT)))
    assert not {n: p for n, p in names.items() if len(p) > 1}

"""trainables/ in layers: trials -> synthetic -> gans -> (core, configs) -> (data, nets); the
packages above it each import only what they may (PACKAGE_MAY_IMPORT); inside study/ and analysis/
imports point one way (no cycle); and every module stays under its package's line limit. Read from
the source with `ast`, so a wrong import fails here even where nothing runs it (an import inside a
function)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAINABLES = ROOT / "trainables"
LAYERS = {"data": 0, "nets": 0, "configs": 1, "core": 1, "gans": 2, "synthetic": 3, "fused": 3, "trials": 4}  # an import may only point down or sideways
MAX_MODULES_PER_FOLDER = 13


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(TRAINABLES.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """The trainables modules `path` imports, anywhere in it (`from trainables.x import y`
    counts as trainables.x.y when that is a module, else trainables.x)."""
    known = modules()
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("trainables"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("trainables"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return found


def layer(name: str) -> int | None:
    parts = name.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_imports_from_a_higher_layer(name):
    own = layer(name)
    if own is None:
        return
    upward = sorted(m for m in imported(modules()[name]) if (layer(m) or 0) > own)
    assert not upward, f"{name} imports from a higher layer: {upward}"


def test_every_module_sits_in_a_layer():
    assert [n for n in modules() if n != "trainables" and layer(n) is None] == []


def test_no_import_cycle_between_trainables_modules():
    """Over configs, core, gans, synthetic and trials: a cycle through data or nets would
    need an upward import, which the test above fails."""
    known = {n: p for n, p in modules().items() if (layer(n) or 0) > 0}
    graph = {name: sorted(m for m in imported(path) if m in known and m != name) for name, path in known.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_folder_holds_more_than_13_modules():
    folders = {p.parent for p in TRAINABLES.rglob("*.py")}
    crowded = {str(f.relative_to(ROOT)): n for f in folders
               if (n := len([p for p in f.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]))
               > MAX_MODULES_PER_FOLDER}
    assert not crowded, f"folders over {MAX_MODULES_PER_FOLDER} modules: {crowded}"


# The most lines a module may have: a module over it holds more than one concern. The
# exceptions hold one each: a layout is one study's tables and figures, and the papers'
# numbers are data kept in one file by the project's standards.
MAX_LINES = {"trainables": 350, "study": 250, "analysis": 250}
LONGER_ALLOWED = {"analysis/layouts/": 350, "analysis/references.py": 320}


def line_limit(path: Path) -> int:
    relative = path.relative_to(ROOT).as_posix()
    allowed = [n for prefix, n in LONGER_ALLOWED.items() if relative.startswith(prefix)]
    return allowed[0] if allowed else MAX_LINES[relative.split("/")[0]]


@pytest.mark.parametrize("package", sorted(MAX_LINES))
def test_no_module_is_longer_than_its_packages_limit(package):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / package).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > line_limit(p)}
    assert not long, f"modules over {package}'s limit of {MAX_LINES[package]} lines: {long}"


def test_a_modules_limit_is_its_packages_unless_named_longer():
    assert line_limit(ROOT / "study" / "x.py") == 250 and line_limit(ROOT / "analysis" / "layouts" / "x.py") == 350


def package_graph(package: str) -> dict[str, list[str]]:
    """Which of `package`'s modules each of its modules imports, anywhere in it."""
    known = {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}
    graph = {}
    for name, path in known.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in known)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level \
                    and node.module.split(".")[0] == package:
                found.update(f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                             for a in node.names)
        graph[name] = sorted(m for m in found if m in known and m != name)
    return graph


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> list[str] | None:
        state[name] = "open"
        for dep in graph[name]:
            if state.get(dep) == "open":
                return path + [name, dep]
            if dep not in state and (cycle := visit(dep, path + [name])):
                return cycle
        state[name] = "done"
        return None

    for name in graph:
        if name not in state and (cycle := visit(name, [])):
            return cycle[cycle.index(cycle[-1]):]
    return None


@pytest.mark.parametrize("package", ["study", "analysis"])
def test_imports_within_the_driver_and_the_analysis_point_one_way(package):
    """No module of `package` imports another that imports it back, however indirectly: a
    launch's modules (arguments, preflight, runner, tune_run, …) and the analysis's (runs,
    cells, gates, verdicts, layouts, …) form a one-way chain from the entry points down."""
    cycle = find_cycle(package_graph(package))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_a_planted_cycle_is_found():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": [], "c": ["a", "b"]}) is None


def test_no_source_function_is_named_like_a_test():
    """pytest collects a function named `test_*` from any module a test imports it into."""
    named = [f"{p.relative_to(ROOT)}:{node.lineno} {node.name}"
             for package in ("analysis", "bench", "search_spaces", "study", "trainables")
             for p in (ROOT / package).rglob("*.py")
             for node in ast.walk(ast.parse(p.read_text()))
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")]
    assert not named, f"source functions named like tests: {named}"


# The packages: analysis reads runs and exports, never the code that made them; trainables knows
# nothing above it; bench times trainables; study (the driver) and search_spaces use the rest. Every
# write that must be whole or not at all goes through atomic, which imports none of them.
PACKAGE_MAY_IMPORT = {
    "atomic": set(),
    "trainables": {"atomic"},
    "analysis": {"atomic"},
    "bench": {"trainables", "atomic"},
    "study": {"trainables", "analysis", "bench", "search_spaces", "atomic"},
    "search_spaces": {"study", "trainables"},
}


def package_imports(path: Path) -> set[str]:
    """The project's top-level packages `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in PACKAGE_MAY_IMPORT)
    return found


@pytest.mark.parametrize("package", sorted(PACKAGE_MAY_IMPORT))
def test_each_package_imports_only_the_packages_it_may(package):
    allowed = PACKAGE_MAY_IMPORT[package] | {package}
    wrong = {str(p.relative_to(ROOT)): sorted(found - allowed) for p in sorted((ROOT / package).rglob("*.py"))
             if (found := package_imports(p)) - allowed}
    assert not wrong, f"{package} may import {sorted(PACKAGE_MAY_IMPORT[package]) or 'no other package'}: {wrong}"

"""The import rules that make the folders the architecture, checked on every module's own import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
# What each library folder of model/ may import from model/ (besides itself): imports flow one way.
MAY_IMPORT = {
    "core": set(),
    "decoding": {"core"},
    "importing": {"core"},
    "links": {"core", "decoding"},
    "analysis": {"core", "decoding", "links"},
    "training": {"core", "decoding", "links", "analysis"},
    "cli_support": {"core"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement in the file names, at any depth (a function's local import counts too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from model.core import hooks`
    return names


MODEL_FILES = python_files("model")
MODULES = {module_name(p): p for p in MODEL_FILES}
COMMANDS = sorted(m for m in MODULES if m.count(".") == 1 and not (ROOT / m.replace(".", "/")).is_dir())


def project_imports(path: Path) -> set[str]:
    return {name for name in imported_modules(path) if name in MODULES}


def test_the_commands_are_the_ones_the_readme_and_cards_use():
    assert {c.split(".")[1] for c in COMMANDS} >= {
        "translate",
        "train",
        "evaluate",
        "card",
        "analyze",
        "corpus",
        "align_eval",
        "deck",
        "prepare_general",
        "diagnostics",
    }


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_parses_arguments_and_calls_the_library(command):
    tree = ast.parse(MODULES[command].read_text())
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert "main" in functions, f"{command} has no main(argv)"
    assert set(functions) <= {"main", "parse_args", "build_parser"}, f"{command} defines library code: {functions}"
    assert not [n for n in tree.body if isinstance(n, ast.ClassDef)], f"{command} defines a class"


@pytest.mark.parametrize(
    "path",
    [p for p in MODEL_FILES if module_name(p).count(".") >= 2 or p.parent != ROOT / "model"],
    ids=lambda p: module_name(p),
)
def test_library_imports_flow_one_way_and_never_reach_a_command(path):
    folder = module_name(path).split(".")[1]
    for name in project_imports(path):
        assert name not in COMMANDS, f"{module_name(path)} imports the command {name}"
        target = name.split(".")[1] if name.count(".") >= 1 and name != "model" else None
        if target and target != folder:
            assert target in MAY_IMPORT[folder], f"{module_name(path)} ({folder}) may not import {name} ({target})"


def test_no_library_module_or_package_shares_a_commands_name():
    """`python -m model.corpus` is the command; what it runs is named for what it holds (analysis/corpus_run.py)."""
    commands = {c.split(".")[1] for c in COMMANDS}
    library = {name.split(".")[-1]: name for name in MODULES if name not in COMMANDS and name != "model"}
    clashes = sorted(library[short] for short in library.keys() & commands)
    assert clashes == [], f"library modules named like a command: {clashes}"


def test_no_import_cycles_in_model():
    graph = nx.DiGraph()
    for name, path in MODULES.items():
        graph.add_node(name)
        graph.add_edges_from((name, other) for other in project_imports(path) if other != name)
    assert list(nx.simple_cycles(graph)) == []


@pytest.mark.parametrize("path", python_files("model", "viz", "ui") + [ROOT / "app.py"], ids=lambda p: module_name(p))
def test_what_each_part_may_never_import(path):
    imports = {name.split(".")[0] for name in imported_modules(path)}
    part = path.relative_to(ROOT).parts[0]
    assert "transformers" not in imports, "only the tests and benchmarks import transformers"
    if part == "model":
        # One command draws: `model.deck --handout` hands the library's numbers to viz. The library never does.
        drawing = {"viz"} if module_name(path) == "model.deck" else set()
        assert not imports & ({"streamlit", "plotly", "ui", "viz"} - drawing)
    if part == "viz":
        assert not imports & {"torch", "streamlit", "model", "ui"}


def commands_and_their_helpers(path: Path) -> set[str]:
    """What the app and the benchmarks must not import: the commands, and model.cli_support (what they share)."""
    return {
        name for name in imported_modules(path) if name in COMMANDS or name.split(".")[:2] == ["model", "cli_support"]
    }


@pytest.mark.parametrize("path", python_files("ui", "bench") + [ROOT / "app.py"], ids=lambda p: module_name(p))
def test_the_app_and_bench_import_only_the_library(path):
    found = commands_and_their_helpers(path)
    assert not found, f"{path.name} imports {sorted(found)}, the commands' side; import the library below them"


def test_the_rules_can_fail(tmp_path):
    """The checks above see an import inside a function, and a command by its dotted name."""
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from model.translate import main\n    import streamlit\n")
    assert {"model.translate", "streamlit"} <= imported_modules(source)
    assert "model.translate" in COMMANDS
    source.write_text(
        "from model.cli_support.common import run\nimport model.cli_support\nfrom model.core import checkpoint\n"
    )
    assert commands_and_their_helpers(source) == {
        "model.cli_support",
        "model.cli_support.common",
        "model.cli_support.common.run",
    }

"""The documentation names only what exists: every `python -m model.X` is a command that answers `--help`, and every
URL parameter is one the app reads. (`python -m mkdocs build --strict` in .ci/run checks links and pages.)"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = re.compile(r"python -m model\.([a-z_][a-z0-9_]*)\b")  # lower case: model.NAME is a placeholder
# `?view=heads&kind=cross`, `&beam=4`: a name right after ? or & and before =
URL_PARAMETER = re.compile(r"[?&]([a-z_]+)=")
SET_UP = (
    "pip install -r requirements.txt && streamlit run app.py --server.fileWatcherType none",
    "apt-get update && apt-get install -y chromium && pip install -r requirements-dev.txt && python -m pytest -q",
)


def doc_pages() -> dict[str, str]:
    pages = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    for path in sorted((ROOT / "docs").rglob("*.md")):
        pages[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return pages


def named_commands() -> dict[str, list[str]]:
    """Command name -> the pages naming it."""
    found: dict[str, list[str]] = {}
    for page, text in doc_pages().items():
        for name in COMMAND.findall(text):
            found.setdefault(name, []).append(page)
    return found


def named_url_parameters() -> dict[str, list[str]]:
    """URL parameter -> the pages naming it in a link (`?a=1&b=2`); docs/links.md generates its table."""
    found: dict[str, list[str]] = {}
    for page, text in doc_pages().items():
        for name in set(URL_PARAMETER.findall(text)):
            found.setdefault(name, []).append(page)
    return found


def app_url_parameters() -> set[str]:
    """The parameters the app reads from its URL: the one parameter table (model/analysis/view_parameters.py) where it
    exists, else the defaults app.py hands to `init_from_url`, read from the source."""
    if (ROOT / "model" / "analysis" / "view_parameters.py").is_file():
        from model.analysis.view_parameters import PARAMS

        return {param.name for param in PARAMS}
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "init_from_url" and node.args:
            defaults = node.args[0]
            if isinstance(defaults, ast.Dict):
                return {ast.literal_eval(key) for key in defaults.keys}
    raise AssertionError("app.py no longer calls init_from_url with a dict of defaults: point this test at the table")


def test_readme_keeps_the_two_set_up_commands_exactly():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in SET_UP:
        assert f"\n{command}\n" in readme, command


def test_docs_name_commands_and_parameters_at_all():
    # The checks below pass vacuously on empty pages: make sure they see what the pages are known to hold.
    assert {"translate", "train", "corpus"} <= set(named_commands())
    assert {"view", "kind", "layer", "head", "lang"} <= set(named_url_parameters())


@pytest.mark.parametrize("name", sorted(named_commands()))
def test_every_command_named_in_the_docs_exists_and_answers_help(name, capsys):
    path = ROOT / "model" / f"{name}.py"
    pages = ", ".join(sorted(set(named_commands()[name])))
    assert path.is_file(), f"{pages} name python -m model.{name}, but model/{name}.py does not exist"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body), (
        f"model/{name}.py has no main()"
    )
    module = importlib.import_module(f"model.{name}")
    out = io.StringIO()
    with pytest.raises(SystemExit) as stop, contextlib.redirect_stdout(out):
        module.main(["--help"])
    assert stop.value.code in (0, None)
    assert "usage:" in out.getvalue()


def test_every_url_parameter_named_in_the_docs_is_read_by_the_app():
    app = app_url_parameters()
    unknown = {name: pages for name, pages in named_url_parameters().items() if name not in app}
    assert not unknown, f"parameters the docs name but the app does not read: {unknown}"

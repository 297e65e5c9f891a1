"""The documentation names only what exists: every `python -m model.X` is a command that answers `--help`, and every
URL parameter is one the app reads. (`python -m mkdocs build --strict` in .ci/run checks links and pages.)"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = re.compile(r"python -m model\.([a-z_][a-z0-9_]*)\b")  # lower case: model.NAME is a placeholder
# `?view=corpus&kind=cross`, `&beam=4`: a name right after ? or & and before =
URL_PARAMETER = re.compile(r"[?&]([a-z_]+)=")
SET_UP = (
    "pip install -r requirements.txt && streamlit run app.py --server.fileWatcherType none",
    "apt-get update && apt-get install -y chromium haproxy && "
    "pip install -r requirements-dev.txt && python -m pytest -q",
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
    """The parameters the app reads from its URL: the one parameter table (model/links/parameters.py) where it
    exists, else the defaults app.py hands to `init_from_url`, read from the source."""
    if (ROOT / "model" / "links" / "parameters.py").is_file():
        from model.links.parameters import PARAMS

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


def docs_hooks():
    """docs/hooks.py, the site's build hooks, as a module (it is not a package)."""
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_rows(table: str) -> dict[str, list[str]]:
    """A markdown table's rows by their first cell (the header and the rule left out)."""
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] not in ("measure", "---"):
            assert cells[0] not in rows, f"{cells[0]} has two rows"
            rows[cells[0]] = cells
    return rows


def test_the_benchmark_table_has_one_row_per_measure_the_latest():
    import json

    hooks = docs_hooks()
    results = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
    rows = table_rows(hooks.benchmarks_table())  # fails on a measure shown twice
    assert set(rows) == {r["measure"] for r in results}
    # client_switch_ms was measured in one run only; page_to_first_heatmap_s on 2026-11-24 (2.99 s) and 2026-12-02
    assert rows["page_to_first_heatmap_s"][1] == "1.710"

    older = {"measure": "m", "value": 1.0, "unit": "s", "run": "2026-01-02 · one machine · one command"}
    newer = {"measure": "m", "value": 2.0, "unit": "s", "run": "2026-03-04 · another · another"}
    same_day = {"measure": "m", "value": 3.0, "unit": "s", "run": "2026-03-04 · a third · later that day"}
    assert hooks.latest_rows([older, newer])["m"]["value"] == 2.0
    assert hooks.latest_rows([newer, older])["m"]["value"] == 2.0  # by date, not by place in the file
    assert hooks.latest_rows([older, newer, same_day])["m"]["value"] == 3.0
    with pytest.raises(hooks.PluginError, match="names no run"):
        hooks.latest_rows([{"measure": "m", "value": 1.0, "unit": "s"}])


class _Page:
    def __init__(self, src_uri: str):
        self.file = type("File", (), {"src_uri": src_uri})()


def test_korean_pages_say_lang_ko():
    hooks = docs_hooks()
    html = '<!doctype html>\n<html lang="en" class="no-js">\n<head></head><body lang="en">x</body></html>'
    assert '<html lang="ko" class="no-js">' in hooks.on_post_page(html, _Page("lesson.ko.md"), {})
    assert hooks.on_post_page(html, _Page("lesson.md"), {}) == html
    assert hooks.on_post_page(html, _Page("models/general-en-de.md"), {}) == html
    # the theme writes the tag the hook rewrites (built pages: NO_MKDOCS_2_WARNING=1 python -m mkdocs build)
    import material

    base = (Path(material.__file__).parent / "templates" / "base.html").read_text(encoding="utf-8")
    assert hooks.HTML_LANG.search(base.replace("{{ lang.t('language') }}", "en"))


def requirement_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower()] = version
    return pins


def test_requirement_files_agree_and_the_notebook_has_jupyter():
    files = sorted(ROOT.glob("requirements*.txt"))
    pins: dict[str, dict[str, str]] = {}
    for path in files:
        for name, version in requirement_pins(path).items():
            pins.setdefault(name, {})[path.name] = version
    assert {"torch", "streamlit", "jupyterlab"} <= set(pins)
    disagree = {name: found for name, found in pins.items() if len(set(found.values())) > 1}
    assert not disagree, disagree
    notebook = (ROOT / "requirements-notebook.txt").read_text(encoding="utf-8")
    assert "-r requirements.txt" in notebook and "jupyter lab examples/notebook.ipynb" in notebook
    for path in ("requirements.txt", "requirements-dev.txt"):  # as docs/notebook.md says: the tests need no Jupyter
        assert "jupyterlab" not in requirement_pins(ROOT / path) and "notebook" not in requirement_pins(ROOT / path)


CODE_FOLDERS = ("model", "ui", "viz", "harness", "bench")


def modules_named_on_the_layout_page(text: str) -> set[str]:
    return set(re.findall(r"`((?:model|ui|viz|harness|bench)/[\w/]+\.py)`", text))


def test_the_layout_page_names_every_module_and_no_other():
    """docs/layout.md has one line per module: a module added, moved or removed shows there."""
    named = modules_named_on_the_layout_page((ROOT / "docs" / "layout.md").read_text(encoding="utf-8"))
    modules = {
        p.relative_to(ROOT).as_posix()
        for folder in CODE_FOLDERS
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "__init__.py"
    }
    assert sorted(modules - named) == [], "modules docs/layout.md does not name"
    assert sorted(named - modules) == [], "docs/layout.md names modules that do not exist"
    example = "`model/x/y.py` and `ui/z.py`, not model/w.py"
    assert modules_named_on_the_layout_page(example) == {"model/x/y.py", "ui/z.py"}

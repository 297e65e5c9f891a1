"""Every example link in the docs opens cleanly on the default model: the app, on the shipped checkpoints, given the
link's parameters, shows its view with no warning (a value not usable as given), no error and no traceback."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import app_checkpoints

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "checkpoints"
# `?view=steps&step=3`, `/?text=A%20dog%20runs.`: a ? not inside a word, then name=value pairs joined by &
LINK = re.compile(r"(?<![\w?])/?\?([a-z_]+=[^\s`&)'\"<>]*(?:&[a-z_]+=[^\s`&)'\"<>]*)*)")
PLACEHOLDER = re.compile(r"^([A-Z_]+)?$")  # `?view=NAME`, `?view=`: a template, not an example
IMPORT = re.compile(r"python -m model\.import_hf[^\n]*")


def doc_pages() -> dict[str, str]:
    pages = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    for path in sorted((ROOT / "docs").glob("*.md")):
        pages[f"docs/{path.name}"] = path.read_text(encoding="utf-8")
    return pages


def example_links(text: str) -> list[str]:
    """The example links a page gives, templates left out."""
    links = []
    for query in LINK.findall(text):
        pairs = parse_qsl(query, keep_blank_values=True)
        if pairs and not any(PLACEHOLDER.match(value) for _, value in pairs):
            links.append(query)
    return list(dict.fromkeys(links))


def shipped() -> set[str]:
    return {p.name for p in CHECKPOINTS.iterdir() if (p / "config.json").is_file()}


ALL_LINKS = [(page, link) for page, text in doc_pages().items() for link in example_links(text)]
# Links to a model the same page imports first (NLLB-200, OPUS-MT): not openable without the internet.
IMPORTED = [(p, q) for p, q in ALL_LINKS if dict(parse_qsl(q)).get("ckpt", next(iter(shipped()))) not in shipped()]
OPENABLE = [item for item in ALL_LINKS if item not in IMPORTED]


def open_link(query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for key, value in parse_qsl(query, keep_blank_values=True):
        at.query_params[key] = value
    return at.run()


@pytest.fixture()
def shipped_models(monkeypatch):
    """The app on the real shipped checkpoints (not the tiny test model), caches cleared around each link."""
    with app_checkpoints(monkeypatch, CHECKPOINTS):
        yield


def test_the_docs_give_example_links_at_all():
    # the checks below pass vacuously on no links: make sure they see the ones the pages are known to hold
    assert len(OPENABLE) >= 10, OPENABLE
    assert ("docs/links.md", "present=1&screen=720") in OPENABLE
    assert not example_links("`?view=NAME` and `?view=` are templates")
    assert example_links("open `/?text=A%20dog%20runs.` or (`?view=steps&step=3`)") == [
        "text=A%20dog%20runs.",
        "view=steps&step=3",
    ]


@pytest.mark.parametrize(("page", "query"), OPENABLE, ids=[f"{p}:?{q}" for p, q in OPENABLE])
def test_every_example_link_opens_without_a_warning(shipped_models, page, query):
    at = open_link(query)
    assert not at.exception, (page, query, [e.value for e in at.exception])
    assert not at.error, (page, query, [e.value for e in at.error])
    assert not at.warning, (page, query, [w.value for w in at.warning])
    for key, value in parse_qsl(query):  # the link's values are the page's: none was replaced by a default
        if key in at.session_state and key not in ("text", "ckpt"):
            assert str(link_form(at.session_state[key])) == value, (page, query, key, at.session_state[key])


def link_form(value) -> str:
    return str(int(value)) if isinstance(value, bool) else str(value)


@pytest.mark.parametrize(("page", "query"), IMPORTED, ids=[f"{p}:?{q}" for p, q in IMPORTED])
def test_a_link_to_a_model_not_shipped_follows_the_command_that_imports_it(page, query):
    name = dict(parse_qsl(query))["ckpt"]
    commands = IMPORT.findall(doc_pages()[page])
    assert any(re.search(rf"(^|[/\s]){re.escape(name)}(\s|$)", c) for c in commands), (page, name, commands)


def test_the_examples_are_where_the_docs_say(shipped_models):
    """docs/views.md: the sidebar's "Examples" picker, under the views, offers the model's gallery first; picking one
    translates it, and what to look at in it is written under the picker; the ⓘ beside the translation holds only
    notes about it, and is drawn only when there is one."""
    import json

    gallery = json.loads((CHECKPOINTS / "general-en-de" / "gallery.json").read_text(encoding="utf-8"))
    at = open_link("view=translate")
    picker = at.sidebar.selectbox(key="example")
    assert picker.label == "Examples"
    assert picker.options[1 : len(gallery) + 1] == [g["text"] for g in gallery]
    assert not at.main.get("popover")  # the default sentence is typed as the model likes it: nothing to note
    chosen = gallery[2]
    picker.set_value(chosen["text"]).run()
    assert at.text_input(key="text").value == chosen["text"]
    assert any(h.value.startswith("#### DE: ") for h in at.markdown)
    sidebar_captions = [c.value for c in at.sidebar.caption]
    assert any(chosen["look"][:40] in c for c in sidebar_captions), sidebar_captions
    assert at.sidebar.selectbox(key="example").value == chosen["text"]
    at.text_input(key="text").set_value("A dog runs.").run()  # not an example: the picker and its line let go of it
    assert not at.sidebar.selectbox(key="example").value
    assert not any(chosen["look"][:40] in c.value for c in at.sidebar.caption)
    at.text_input(key="text").set_value(chosen["text"].lower().rstrip(".?")).run()  # typed casually: tidied, said so
    assert at.sidebar.selectbox(key="example").value == chosen["text"]  # it is the example once tidied
    assert at.main.get("popover")
    assert any("Translated as" in c.value for c in at.main.caption)

"""A failure inside one view is a short message in that view; the rest of the page keeps working."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, figures
from tests.test_app import heading


def test_broken_view_shows_a_message_and_the_page_survives(monkeypatch, app_env):
    from ui.views import VIEWS

    def broken(ctx):
        raise RuntimeError("the model view broke")

    monkeypatch.setitem(VIEWS, "model", broken)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    at.query_params["view"] = "model"
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This view failed: RuntimeError: the model view broke"]
    assert heading(at).startswith("#### DE:")  # the translation above the view still shows
    at.radio(key="view").set_value("translate").run()  # other views still work
    assert not at.error and figures(at)

"""Responsiveness: controls never re-translate; long sentences (150 pieces) work in every view."""

from __future__ import annotations

import pytest

from model.core.checkpoint import save_checkpoint
from tests.conftest import app_checkpoints, tiny_model
from tests.test_app import VIEWS, charts, no_failures, open_app


def test_moving_controls_never_retranslates(app_env, monkeypatch):
    from ui import cache as state

    calls = []
    real = state.translate
    monkeypatch.setattr(state, "translate", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    at = open_app(text="A dog runs on the beach.", view="translate")
    assert len(calls) == 1
    at.slider(key="layer").set_value(0).run()
    at.select_slider(key="head").set_value("2").run()
    at.selectbox(key="kind").set_value("decoder").run()
    at.toggle(key="words").set_value(True).run()
    at.radio(key="view").set_value("steps").run()
    at.slider(key="step").set_value(1).run()
    assert len(calls) == 1 and no_failures(at)


@pytest.fixture()
def long_model_env(monkeypatch, tmp_path, tokenizer):
    path = tmp_path / "long" / "tiny-long"
    save_checkpoint(path, tiny_model(tokenizer.vocab_size, max_len=256), tokenizer, "en", "de")
    with app_checkpoints(monkeypatch, path.parent):
        yield tokenizer


@pytest.mark.parametrize("view", VIEWS)
def test_150_pieces_in_every_view(long_model_env, view):
    tok = long_model_env
    words = [
        "a",
        "man",
        "with",
        "a",
        "red",
        "hat",
        "and",
        "a",
        "small",
        "dog",
        "walks",
        "past",
        "the",
        "old",
        "market",
        "near",
        "the",
        "river",
        "bank",
    ]
    text, n = "", 0
    while n < 149:
        text += words[n % len(words)] + " "
        n = len(tok.encode(text))
    at = open_app(text=text.strip(), view=view, max_len=150, kind="cross")
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    assert charts(at) or (view == "corpus" and at.info)  # heads: no corpus run for the test model

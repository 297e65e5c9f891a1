"""The Streamlit app through AppTest: every view renders, widgets change the figures, the URL restores a view."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, figures
from ui.views import VIEWS as APP_VIEWS

APP = str(ROOT / "app.py")
VIEWS = tuple(APP_VIEWS)  # the app's own list: a new view is covered without editing the tests
SENTENCE = "A man in a blue shirt is playing the guitar."


def open_app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = str(value)
    return at.run()


def charts(at: AppTest) -> list[dict]:
    return figures(at)


def array(value) -> np.ndarray:
    """A Plotly data array from the spec JSON (plain list or base64 typed array)."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            data = data.reshape([int(s) for s in str(shape).split(",")])
        return data
    return np.asarray(value, dtype=float)


def heading(at: AppTest) -> str:
    """The translation as the page shows it ("#### DE: …")."""
    return next(m.value for m in at.markdown if m.value.startswith("#### "))


def no_failures(at: AppTest) -> bool:
    return not at.exception and not [e for e in at.error if "failed" in e.value]


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_renders_from_a_url(app_env, view):
    at = open_app(text=SENTENCE, view=view)
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    assert charts(at) or (view == "corpus" and at.info), f"{view} drew no chart"  # heads: no corpus run here
    assert at.query_params["view"] == [view] or at.query_params["view"] == view
    assert heading(at).startswith("#### DE:") or "empty translation" in heading(at)


def test_url_text_translates_without_a_click(app_env):
    at = open_app(text="A dog runs.", kind="encoder", layer=1, head=2)
    assert at.text_input(key="text").value == "A dog runs."
    spec = charts(at)[0]
    assert spec["layout"]["title"]["text"] == "Encoder self-attention, layer 1, head 2"
    tick = spec["layout"]["xaxis"]["ticktext"]
    assert tick[-1] == "&lt;/s&gt;" and len(tick) == len(array(spec["data"][0]["z"])[0])


def test_layer_head_and_kind_controls_change_the_figure(app_env):
    at = open_app(text=SENTENCE, kind="cross", layer=0, head=0)
    z0 = array(charts(at)[0]["data"][0]["z"])
    at.slider(key="layer").set_value(1).run()
    z1 = array(charts(at)[0]["data"][0]["z"])
    at.select_slider(key="head").set_value("3").run()
    z2 = array(charts(at)[0]["data"][0]["z"])
    assert not np.allclose(z0, z1) and not np.allclose(z1, z2)
    assert at.query_params["layer"] in ("1", ["1"]) and at.query_params["head"] in ("3", ["3"])
    at.selectbox(key="kind").set_value("encoder").run()
    spec = charts(at)[0]
    z3 = array(spec["data"][0]["z"])
    assert spec["layout"]["title"]["text"] == "Encoder self-attention, layer 1, head 3"
    assert z3.shape[0] == z3.shape[1] == len(spec["layout"]["xaxis"]["ticktext"])


def test_word_toggle_merges_pieces(app_env):
    at = open_app(text="The snowboarders are unbelievably acrobatic.", kind="encoder")
    pieces = charts(at)[0]["layout"]["xaxis"]["ticktext"]
    at.toggle(key="words").set_value(True).run()
    words = charts(at)[0]["layout"]["xaxis"]["ticktext"]
    assert len(words) < len(pieces) and not any("\u2581" in w for w in words)
    np.testing.assert_allclose(array(charts(at)[0]["data"][0]["z"]).sum(-1), 1.0, atol=1e-5)


def test_step_slider_moves_through_decoding(app_env):
    at = open_app(text=SENTENCE, view="steps", step=0)
    first = array(charts(at)[0]["data"][0]["z"])
    at.slider(key="step").set_value(2).run()
    second = array(charts(at)[0]["data"][0]["z"])
    assert first.shape == second.shape and not np.allclose(first, second)
    assert "Step 2" in charts(at)[0]["layout"]["title"]["text"]


def test_model_view_has_every_head(app_env, model):
    at = open_app(text=SENTENCE, view="model", kind="cross")
    spec = charts(at)[0]
    meta = spec["layout"]["meta"]
    assert (meta["layers"], meta["heads"]) == (model.cfg.n_decoder_layers, model.cfg.n_heads)


def test_head_view_query_slider(app_env):
    at = open_app(text=SENTENCE, view="inside", kind="cross", layer=1, head=1)
    before = at.dataframe[0].value["softmax"].to_numpy()
    at.select_slider(key="head_query").set_value(2).run()
    after = at.dataframe[0].value["softmax"].to_numpy()
    assert before.sum() == pytest.approx(1.0, abs=1e-5) and not np.allclose(before, after)


def test_empty_input_gets_a_message_not_a_traceback(app_env):
    at = open_app(text="   ")
    assert not at.exception and any("empty" in i.value for i in at.info)


def test_presentation_mode_uses_large_type(app_env):
    at = open_app(text=SENTENCE, present=1)
    assert charts(at)[0]["layout"]["font"]["size"] == 20


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_in_presentation_mode_sizes_its_first_figure_for_the_screen(app_env, view):
    at = open_app(text=SENTENCE, view=view, present=1, screen=720)
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    if view == "corpus" and not charts(at):  # no corpus run for the test model: a sentence says how to make one
        assert at.info
        return
    first = charts(at)[0]["layout"]
    assert 720 - 190 - 60 <= first["height"] <= 720 - 190, first["height"]  # the screen less the rows of controls
    axes = [
        v for k, v in first.items() if k.startswith(("xaxis", "yaxis")) and v.get("showticklabels", True) is not False
    ]
    assert axes and all(a.get("tickfont", {}).get("size", 0) >= 18 for a in axes), view


def test_forced_prefix_from_the_url_reaches_every_view(app_env):
    at = open_app(text=SENTENCE, view="steps", prefix="Ein Hund")
    assert no_failures(at)
    assert heading(at).startswith("#### DE: Ein Hund")
    assert any("forced by you" in m.value for m in at.markdown)
    at.text_input(key="text").set_value("A dog runs.").run()  # a new sentence drops the forced start
    assert at.query_params.get("prefix") in (None, "", [""]) and not heading(at).startswith("#### DE: Ein Hund")


def test_what_if_view_draws_the_beam_tree_and_contributions(app_env):
    at = open_app(text=SENTENCE, view="whatif", beam=3)
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    titles = [c["layout"]["title"]["text"] for c in charts(at)]
    assert any(t.startswith("Beam search") for t in titles)
    assert any(t.startswith("Contributions") for t in titles) and any(t.startswith("Weights") for t in titles)
    at.button(key="flow_go").click().run()
    assert any(c["layout"]["title"]["text"].startswith("Attention flow") for c in charts(at))


def test_the_general_model_is_the_default_when_shipped(app_env, checkpoint_dir, tmp_path, monkeypatch):
    import shutil

    for name in ("aaa-en-de", "general-en-de", "multi30k-en-de"):  # the general model is not first in name order
        shutil.copytree(checkpoint_dir, tmp_path / name)
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(tmp_path))
    at = open_app(text="A dog runs.")
    assert no_failures(at) and at.session_state.ckpt == "general-en-de"
    shutil.rmtree(tmp_path / "general-en-de")
    at = open_app(text="A dog runs.")
    assert no_failures(at) and at.session_state.ckpt == "aaa-en-de"  # without it, the first in name order


@pytest.mark.parametrize("value, threads", [(None, 1), ("3", 3), ("0", 1), ("-2", 1), ("two", 1), ("", 1)])
def test_the_server_runs_torch_on_one_thread_unless_told_more(monkeypatch, value, threads):
    from ui.cache import torch_threads

    if value is None:
        monkeypatch.delenv("HEADLIGHT_THREADS", raising=False)
    else:
        monkeypatch.setenv("HEADLIGHT_THREADS", value)
    assert torch_threads() == threads


SHIPPED = sorted(p for p in (ROOT / "checkpoints").glob("*") if (p / "config.json").is_file())


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_every_view_on_every_shipped_checkpoint_with_each_gallery_sentence(monkeypatch, folder):
    """The app's own list of views (a new view is covered without editing this test), on each shipped model, with the
    default sentence and every sentence of the model's gallery: no view fails, each draws a figure."""
    import streamlit as st

    from ui.examples import load_gallery

    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(folder.parent))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = open_app(ckpt=folder.name)
    sentences = [at.session_state.text] + [g["text"] for g in load_gallery(folder)]
    assert len(sentences) > 1
    for sentence in sentences:
        at.text_input(key="text").set_value(sentence).run()
        for view in VIEWS:
            at.sidebar.radio(key="view").set_value(view).run()
            assert no_failures(at), (folder.name, sentence, view, [e.value for e in at.exception + at.error])
            assert charts(at), (folder.name, sentence, view)
    st.cache_data.clear()
    st.cache_resource.clear()


def test_ablation_with_a_forced_start_compares_against_the_same_forced_translation(app_env, checkpoint_dir):
    """With a forced prefix, both sides of the ablation keep it: the heads-off translation starts with the forced
    pieces, and the log-probability is that of the translation made with the prefix (the one the page shows)."""
    from model.core.checkpoint import load_checkpoint
    from model.decoding.trace_from_hooks import forward_trace
    from model.decoding.translation import translate
    from ui import cache

    ckpt, prefix, heads = load_checkpoint(checkpoint_dir), "Ein Hund", [("cross", 1, h) for h in range(4)]
    shown = translate(ckpt.model, ckpt.tokenizer, SENTENCE, prefix=prefix)  # what the page shows
    ablated, logprob = cache.cached_ablation(str(checkpoint_dir), SENTENCE, 1, 0, prefix, "cross:1:*")
    forced = ckpt.tokenizer.encode_target(prefix)
    assert shown.forced == ablated.forced == len(forced) and ablated.out_ids[: len(forced)] == forced
    expected = forward_trace(ckpt.model, ckpt.tokenizer, shown.src_ids, shown.out_ids, ablate=heads)[1]
    assert logprob == pytest.approx(expected, abs=1e-5)
    at = open_app(text=SENTENCE, view="analysis", prefix=prefix)
    assert no_failures(at)

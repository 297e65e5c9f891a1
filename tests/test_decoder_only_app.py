"""A decoder-only checkpoint in the app's folder: one sentence in the page, the picker and other models keep working."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from model.import_hf import main as import_main
from tests.conftest import ROOT
from tests.test_decoder_only import bpe, qwen_folder  # noqa: F401 - fixtures used by name


@pytest.fixture()
def models(qwen_folder, checkpoint_dir, tmp_path, monkeypatch):  # noqa: F811
    import streamlit as st

    folder = tmp_path / "models"
    assert import_main([str(qwen_folder), "--dest", str(folder / "qwen-tiny")]) == 0
    shutil.copytree(checkpoint_dir, folder / "tiny-en-de")
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(folder))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield folder
    st.cache_data.clear()
    st.cache_resource.clear()


def test_a_decoder_only_model_is_one_sentence_and_the_picker_stays(models):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["ckpt"] = "qwen-tiny"
    at.query_params["text"] = "A dog runs."
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    said = [i.value for i in at.info]
    assert said == [
        "qwen-tiny is a decoder-only language model: it loads and checks out, but the views draw encoder-decoder "
        "translators only, so far. Choose another model in the sidebar."
    ]
    at.selectbox(key="ckpt").set_value("tiny-en-de").run()
    assert not at.exception and not at.info

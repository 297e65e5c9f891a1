"""Hostile checkpoint folders: one clear error in the UI and the CLI, nothing executed, other models still served."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from model.core.checkpoint import CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE
from tests.conftest import ROOT, figures
from tests.test_checkpoint import CodeRunningPayload


def make_bad(root, good, marker):
    """Next to a good checkpoint, one folder per way of being broken."""

    def copy(name):
        path = root / name
        shutil.copytree(good, path)
        return path

    copy("pickle-payload").joinpath(WEIGHTS_FILE).write_bytes(pickle.dumps(CodeRunningPayload(marker)))
    truncated = copy("truncated-weights") / WEIGHTS_FILE
    truncated.write_bytes(truncated.read_bytes()[:1000])
    cfg = copy("mismatched-config") / CONFIG_FILE
    data = json.loads(cfg.read_text())
    data["model"]["d_model"] = 64
    cfg.write_text(json.dumps(data))
    (copy("missing-tokenizer") / TOKENIZER_FILE).unlink()
    (copy("foreign-tokenizer") / TOKENIZER_FILE).write_bytes(b"\x00\x01 not sentencepiece")
    empty = root / "empty-folder"
    empty.mkdir()
    (empty / CONFIG_FILE).write_text("")  # listed as a checkpoint, but nothing usable
    return [
        "empty-folder",
        "foreign-tokenizer",
        "mismatched-config",
        "missing-tokenizer",
        "pickle-payload",
        "truncated-weights",
    ]


@pytest.fixture()
def zoo(tmp_path, checkpoint_dir, monkeypatch):
    root = tmp_path / "zoo"
    root.mkdir()
    shutil.copytree(checkpoint_dir, root / "a-good-model")
    marker = tmp_path / "payload-ran"
    bad = make_bad(root, checkpoint_dir, marker)
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(root))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield root, bad, marker
    st.cache_data.clear()
    st.cache_resource.clear()


def test_ui_shows_one_error_per_bad_checkpoint_and_keeps_serving(zoo):
    root, bad, marker = zoo
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    at.run()
    assert at.selectbox(key="ckpt").value == "a-good-model" and figures(at)
    for name in bad:
        at.selectbox(key="ckpt").set_value(name).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert len(at.error) == 1 and at.error[0].value.startswith("This checkpoint cannot be used"), name
        assert not figures(at)
    at.selectbox(key="ckpt").set_value("a-good-model").run()
    assert not at.error and figures(at)
    assert not marker.exists()


def test_cli_gives_one_line_of_error_for_each(zoo):
    root, bad, marker = zoo
    for name in bad:
        result = subprocess.run(
            [sys.executable, "-m", "model.translate", "--checkpoint", str(root / name), "A dog."],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, name
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, (
            name,
            result.stderr,
        )
    assert not marker.exists()

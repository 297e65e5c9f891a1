"""Shared fixtures: a small SentencePiece model and tiny random Transformers (fast on 2 CPU cores)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.core.checkpoint import save_checkpoint  # noqa: E402
from model.core.config import TransformerConfig  # noqa: E402
from model.core.text_files import read_lines  # noqa: E402
from model.core.tokenizer import Tokenizer  # noqa: E402
from model.core.transformer import Transformer  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "multi30k"
torch.set_num_threads(1)  # tiny models: a second thread only adds synchronisation


@pytest.fixture(scope="session")
def corpus() -> tuple[list[str], list[str]]:
    return read_lines(DATA / "train.en.gz")[:1000], read_lines(DATA / "train.de.gz")[:1000]


@pytest.fixture(scope="session")
def tokenizer(corpus) -> Tokenizer:
    return Tokenizer.train(corpus[0] + corpus[1], vocab_size=300)


def tiny_model(vocab_size: int, seed: int = 0, **overrides) -> Transformer:
    torch.manual_seed(seed)
    sizes = dict(d_model=32, n_heads=4, d_ff=64, n_encoder_layers=2, n_decoder_layers=2, max_len=64) | overrides
    cfg = TransformerConfig(vocab_size=vocab_size, **sizes)
    return Transformer(cfg).eval()


@pytest.fixture(scope="session")
def model(tokenizer) -> Transformer:
    return tiny_model(tokenizer.vocab_size)


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory, model, tokenizer) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny-en-de"
    save_checkpoint(path, model, tokenizer, "en", "de", card={"note": "random weights for tests"})
    return path


@pytest.fixture()
def app_env(monkeypatch, checkpoint_dir):
    """The app on the tiny test checkpoint, with Streamlit's caches cleared around each test."""
    import streamlit as st

    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(checkpoint_dir.parent))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def run_concurrently(session: Callable[[str], None], inputs: list[str], timeout: float = 300) -> list[Exception]:
    """Start one thread per input, released together by a barrier; return the exceptions they raised."""
    barrier, errors = threading.Barrier(len(inputs)), []

    def run(item: str) -> None:
        try:
            barrier.wait()
            session(item)
        except Exception as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return errors


def figures(at) -> list[dict]:
    """Every Plotly figure in an AppTest page, as the JSON the browser gets (the main area first, then the sidebar):
    the app's own figure component (ui/figure.py) and `st.plotly_chart` alike."""
    out = []
    for block in (at.main, at.sidebar):
        for node in block:
            if node.type == "plotly_chart":
                out.append(json.loads(node.proto.spec))
            elif node.type == "bidi_component" and node.proto.component_name == "headlight_figure":
                data = json.loads(node.proto.json)
                if "figure" in data:  # not the page's plotly.js preload
                    out.append(json.loads(data["figure"]))
    return out

"""Shared app state: cached model and results, URL parameters, and the controls every page uses."""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from model.ablation import quality
from model.checkpoint import Checkpoint, CheckpointError, find_checkpoints, load_checkpoint
from model.decode import InputError, Translation, forward_trace, inspect_head, parse_head_spec, translate
from model.trace import KIND_LABELS, KINDS, Trace
from viz.attention import COLORSCALE, HIGH_CONTRAST, merge_tokens, merge_words

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEXT = "A little girl climbs into a wooden playhouse."
URL_KEYS = ("text", "ckpt", "view", "kind", "layer", "head", "step")


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def cached_checkpoint(path: str) -> Checkpoint:
    """One loaded model per checkpoint and process, shared by all sessions (capture is per call)."""
    return load_checkpoint(path)


def available_checkpoints() -> list[Path]:
    """Checkpoint folders under $HEADLIGHT_CHECKPOINTS, or the shipped checkpoints/."""
    return find_checkpoints(os.environ.get("HEADLIGHT_CHECKPOINTS", ROOT / "checkpoints"))


def load(path: str) -> Checkpoint | None:
    """The checkpoint, or None after showing why it cannot be used."""
    try:
        return cached_checkpoint(path)
    except CheckpointError as exc:
        st.error(f"This checkpoint cannot be used: {exc}")
        return None


TRANSLATION_CACHE_ENTRIES = 32  # a 150-piece trace is ~6.5 MB: this caps the cache near 200 MB


@st.cache_data(max_entries=TRANSLATION_CACHE_ENTRIES, show_spinner="Translating…")
def cached_translation(path: str, text: str, beam: int, max_len: int) -> Translation:
    """Per-sentence results, bounded so a long-running server keeps its memory flat."""
    ckpt = cached_checkpoint(path)
    return translate(ckpt.model, ckpt.tokenizer, text, beam=beam, max_len=max_len or None)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_head_detail(path: str, src_ids: tuple[int, ...], out_ids: tuple[int, ...], kind: str, layer: int, head: int) -> dict:
    ckpt = cached_checkpoint(path)
    return inspect_head(ckpt.model, list(src_ids), list(out_ids), kind, layer, head)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_embedding_norms(path: str, src_ids: tuple[int, ...]) -> np.ndarray:
    return np.array(cached_checkpoint(path).model.embedding_norms(list(src_ids)))


@st.cache_data(max_entries=4, show_spinner=False)
def positional_table(path: str) -> np.ndarray:
    """The model's whole positional-encoding table [max_len, d_model]."""
    return cached_checkpoint(path).model.positional_encoding.cpu().numpy()


def card_summary(ckpt: Checkpoint) -> str:
    cfg = ckpt.model.cfg
    text = (f"{ckpt.src_lang} → {ckpt.tgt_lang} · {ckpt.model.num_parameters() / 1e6:.1f}M parameters · "
            f"{cfg.n_layers} layers × {cfg.n_heads} heads")
    scores = ckpt.card.get("evaluation", {}).get("test_2016_flickr", {}).get("beam4")
    return text + (f" · BLEU {scores['bleu']:.1f} on test_2016_flickr (beam 4)" if scores else "")


def run_translation(path: str, text: str, beam: int, max_len: int) -> Translation | None:
    try:
        return cached_translation(path, text, beam, max_len)
    except InputError as exc:
        st.info(str(exc))
        return None


def guarded(view):
    """Show an exception inside one view as a short message there; the rest of the page keeps working.

    Applied under `st.fragment`, so it also covers the fragment's own reruns.
    """

    @functools.wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure stays inside this view
            st.error(f"This view failed: {type(exc).__name__}: {exc}")
            return None

    return run


MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def md_escape(text: str) -> str:
    """Text shown literally inside markdown (no links, images, emphasis or HTML)."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", text)


# -- URL <-> widgets ---------------------------------------------------------------------------


def init_from_url(defaults: dict) -> None:
    """Seed widget state from the URL once per session, so a shared link reopens the same view."""
    if st.session_state.get("_url_loaded"):
        return
    params = st.query_params
    for key, default in defaults.items():
        raw = params.get(key)
        if raw is None:
            st.session_state.setdefault(key, default)
            continue
        try:
            st.session_state[key] = type(default)(raw) if not isinstance(default, bool) else raw in ("1", "true")
        except ValueError:
            st.session_state[key] = default
    st.session_state["_url_loaded"] = True


def write_url(**values) -> None:
    for key, value in values.items():
        value = str(int(value)) if isinstance(value, bool) else str(value)
        if st.query_params.get(key) != value:
            st.query_params[key] = value


# -- shared controls ---------------------------------------------------------------------------


@dataclass
class Selection:
    kind: str
    layer: int
    head: int | None  # None: mean over heads


def kind_layer_head(trace: Trace, key: str = "", allow_mean: bool = True, horizontal: bool = True) -> Selection:
    """Kind / layer / head pickers bound to the session (and so to the URL)."""
    cols = st.columns(3) if horizontal else [st.container()] * 3
    kind = cols[0].selectbox("Attention", KINDS, format_func=KIND_LABELS.get, key=f"{key}kind")
    if not 0 <= st.session_state.get(f"{key}layer", -1) < trace.n_layers:  # -1 or too deep: the last layer
        st.session_state[f"{key}layer"] = trace.n_layers - 1
    layer = cols[1].slider("Layer", 0, trace.n_layers - 1, key=f"{key}layer")
    head_options = (["mean"] if allow_mean else []) + [str(h) for h in range(trace.n_heads)]
    if str(st.session_state.get(f"{key}head", "0")) not in head_options:
        st.session_state[f"{key}head"] = head_options[0]
    head = cols[2].select_slider("Head", head_options, key=f"{key}head")
    return Selection(kind, layer, None if head == "mean" else int(head))


def selected_matrix(trace: Trace, sel: Selection, words: bool) -> tuple[np.ndarray, list[str], list[str]]:
    """The [queries, keys] matrix of a selection, with its axis labels, optionally merged into words."""
    attention = trace.attention(sel.kind)[sel.layer]
    matrix = attention.mean(0) if sel.head is None else attention[sel.head]
    q_tokens, k_tokens = trace.axis_tokens(sel.kind)
    if not words:
        return matrix, q_tokens, k_tokens
    q_starts, k_starts = axis_word_starts(trace, sel.kind)
    return merge_words(matrix, q_starts, k_starts), merge_tokens(q_tokens, q_starts), merge_tokens(k_tokens, k_starts)


def produced_pieces(trace: Trace, kind: str, words: bool) -> list[str] | None:
    """For decoder and cross rows, the piece each step produced (row i reads piece i, produces piece i + 1)."""
    return None if kind == "encoder" or words else trace.out_tokens


def axis_word_starts(trace: Trace, kind: str) -> tuple[list[bool], list[bool]]:
    return {
        "encoder": (trace.src_word_starts, trace.src_word_starts),
        "decoder": (trace.tgt_word_starts, trace.tgt_word_starts),
        "cross": (trace.tgt_word_starts, trace.src_word_starts),
    }[kind]


def describe(sel: Selection) -> str:
    head = "mean of heads" if sel.head is None else f"head {sel.head}"
    return f"{KIND_LABELS[sel.kind]}, layer {sel.layer}, {head}"


def colorscale():
    return HIGH_CONTRAST if st.session_state.get("present") else COLORSCALE


def font_size() -> int:
    return 20 if st.session_state.get("present") else 12


# -- head analysis -----------------------------------------------------------------------------


def validation_sample(src_lang: str, tgt_lang: str, n: int) -> tuple[list[str], list[str]] | None:
    """The first n shipped validation sentences and references, if both languages are shipped."""
    folder = ROOT / "checkpoints" / "samples"
    files = [folder / f"val200.{lang}.txt" for lang in (src_lang, tgt_lang)]
    if not all(f.is_file() for f in files):
        return None
    src, ref = (f.read_text(encoding="utf-8").splitlines()[:n] for f in files)
    return src, ref


@st.cache_data(max_entries=32, show_spinner="Translating with heads switched off…")
def cached_ablation(path: str, text: str, beam: int, max_len: int, spec: str) -> tuple[Translation, float]:
    """The translation with `spec` heads off, and the log-probability it now gives the original translation."""
    ckpt = cached_checkpoint(path)
    cfg = ckpt.model.cfg
    heads = parse_head_spec(spec, cfg.n_layers, cfg.n_heads)
    ablated = translate(ckpt.model, ckpt.tokenizer, text, beam=beam, max_len=max_len or None, with_trace=False, ablate=heads)
    original = cached_translation(path, text, beam, max_len)
    _, logprob = forward_trace(ckpt.model, ckpt.tokenizer, original.src_ids, original.out_ids, ablate=heads)
    return ablated, logprob


@st.cache_data(max_entries=16, show_spinner=False)
def cached_quality(path: str, n: int, spec: str) -> dict[str, float]:
    ckpt = cached_checkpoint(path)
    src, ref = validation_sample(ckpt.src_lang, ckpt.tgt_lang, n)
    cfg = ckpt.model.cfg
    return quality(ckpt.model, ckpt.tokenizer, src, ref, parse_head_spec(spec, cfg.n_layers, cfg.n_heads))

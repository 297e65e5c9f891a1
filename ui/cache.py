"""Cached models and results: one model per checkpoint and process, bounded per-sentence results."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from model.analysis.ablation import quality
from model.analysis.attribution import Contributions, contributions
from model.core.checkpoint import Checkpoint, find_checkpoints, load_checkpoint
from model.core.defaults import checkpoints_folder
from model.core.head_selection import parse_head_spec
from model.core.language_codes import language_of
from model.decoding.search import BeamTreeRow, beam_tree_rows
from model.decoding.trace_from_hooks import HeadInside, forward_trace, inspect_head
from model.decoding.translation import Translation, translate
from viz.training import training_curve

ROOT = Path(__file__).resolve().parent.parent


def torch_threads() -> int:
    """One intra-op thread unless $HEADLIGHT_THREADS says more: a sentence's ops are too small to split, and while the
    browser shares the cores (every page load) a second thread waits for the busy one."""
    value = os.environ.get("HEADLIGHT_THREADS", "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


TRANSLATION_CACHE_ENTRIES = 32  # a 150-piece trace is ~6.5 MB: this caps the cache near 200 MB


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def cached_checkpoint(path: str) -> Checkpoint:
    """One loaded model per checkpoint and process, shared by all sessions (capture is per call)."""
    torch.set_num_threads(torch_threads())  # before the first translation; later script threads inherit it
    return load_checkpoint(path)


@st.cache_resource(max_entries=4, show_spinner=False)
def cached_training_curve(path: str):
    """The sidebar's curve, built once per checkpoint (Plotly's validation costs tens of ms on every rerun); not
    mutated."""
    return training_curve(cached_checkpoint(path).card["curve"])


LABS_ENV = "HEADLIGHT_LABS"


def labs_folder() -> Path:
    """Where the live lab (ui/lab_panel.py) keeps its runs (runs/) and finished models: $HEADLIGHT_LABS, or labs/
    beside the checkpoints folder (never inside it: the shipped checkpoints are not written to)."""
    return Path(os.environ.get(LABS_ENV) or Path(checkpoints_folder()).resolve().parent / "labs")


def available_checkpoints() -> list[Path]:
    """Checkpoint folders under $HEADLIGHT_CHECKPOINTS, or the shipped checkpoints/; then the live lab's models."""
    return find_checkpoints(checkpoints_folder()) + find_checkpoints(labs_folder())


@dataclass
class Searched:
    """A translation and, for a beam search, the tree of hypotheses that search kept (rows for viz.whatif)."""

    translation: Translation
    beam_tree: list[BeamTreeRow] | None = None


def request_translate(
    path: str, text: str, beam: int, max_len: int, prefix: str, src_lang: str | None, tgt_lang: str | None, **options
) -> Translation:
    """The app's one call of `translate` with a request's settings (max_len 0: the model's own limit); `options`
    (tree, with_trace, ablate) go to it as they are."""
    ckpt = cached_checkpoint(path)
    return translate(
        ckpt.model,
        ckpt.tokenizer,
        text,
        beam=beam,
        max_len=max_len or None,
        prefix=prefix,
        src_lang=src_lang,
        tgt_lang=tgt_lang,
        **options,
    )


@st.cache_data(max_entries=TRANSLATION_CACHE_ENTRIES, show_spinner="Translating…")
def cached_search(
    path: str,
    text: str,
    beam: int,
    max_len: int,
    prefix: str = "",
    src_lang: str | None = None,
    tgt_lang: str | None = None,
) -> Searched:
    """Per-sentence results, bounded so a long-running server keeps its memory flat; `prefix` forces the start;
    `src_lang`/`tgt_lang` a multilingual model's pair (None: its default). A beam search records its tree as it runs:
    the What-if view shows it without searching again."""
    tree: list | None = [] if beam > 1 else None
    result = request_translate(path, text, beam, max_len, prefix, src_lang, tgt_lang, tree=tree)
    if tree is None:
        return Searched(result)
    tokenizer = cached_checkpoint(path).tokenizer
    return Searched(result, beam_tree_rows(tree, result.out_ids, lambda token: tokenizer.target_pieces([token])[0]))


def cached_translation(*request, **named) -> Translation:
    """The translation alone of `cached_search` (the same arguments)."""
    return cached_search(*request, **named).translation


@st.cache_data(max_entries=16, show_spinner="Teacher-forcing the partial hypothesis…")
def cached_forward_trace(path: str, src_ids: tuple[int, ...], out_ids: tuple[int, ...]):
    ckpt = cached_checkpoint(path)
    return forward_trace(ckpt.model, ckpt.tokenizer, list(src_ids), list(out_ids))[0]


@st.cache_data(max_entries=16, show_spinner="Measuring contributions…")
def cached_contributions(path: str, src_ids: tuple[int, ...], out_ids: tuple[int, ...]) -> Contributions:
    ckpt = cached_checkpoint(path)
    return contributions(ckpt.model, list(src_ids), list(out_ids))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_head_detail(
    path: str, src_ids: tuple[int, ...], out_ids: tuple[int, ...], kind: str, layer: int, head: int
) -> HeadInside:
    ckpt = cached_checkpoint(path)
    return inspect_head(ckpt.model, list(src_ids), list(out_ids), kind, layer, head)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_embedding_norms(path: str, src_ids: tuple[int, ...]) -> np.ndarray:
    return np.array(cached_checkpoint(path).model.embedding_norms(list(src_ids)))


@st.cache_data(max_entries=4, show_spinner=False)
def positional_table(path: str) -> np.ndarray:
    """The model's whole positional-encoding table [max_len, d_model], in the model's own layout."""
    return cached_checkpoint(path).model.positional_encoding.cpu().numpy()


def validation_sample(src_lang: str, tgt_lang: str, n: int) -> tuple[list[str], list[str]] | None:
    """The first n shipped validation sentences and references, if both languages are shipped (val200.en.txt holds
    English, whatever family's code names it: en, eng_Latn, en_XX)."""
    folder = ROOT / "checkpoints" / "samples"
    files = [folder / f"val200.{language_of(code) or code}.txt" for code in (src_lang, tgt_lang)]
    if not all(f.is_file() for f in files):
        return None
    src, ref = (f.read_text(encoding="utf-8").splitlines()[:n] for f in files)
    return src, ref


@st.cache_data(max_entries=32, show_spinner="Translating with heads switched off…")
def cached_ablation(
    path: str,
    text: str,
    beam: int,
    max_len: int,
    prefix: str,
    spec: str,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
) -> tuple[Translation, float]:
    """The translation with `spec` heads off, and the log-probability it now gives the original translation; both
    with the same forced start and language pair as the original."""
    ckpt = cached_checkpoint(path)
    heads = parse_head_spec(spec, ckpt.model.cfg)
    ablated = request_translate(path, text, beam, max_len, prefix, src_lang, tgt_lang, with_trace=False, ablate=heads)
    original = cached_translation(path, text, beam, max_len, prefix, src_lang, tgt_lang)
    _, logprob = forward_trace(ckpt.model, ckpt.tokenizer, original.src_ids, original.out_ids, ablate=heads)
    return ablated, logprob


@st.cache_data(max_entries=16, show_spinner=False)
def cached_quality(
    path: str, n: int, spec: str, src_lang: str | None = None, tgt_lang: str | None = None
) -> dict[str, float]:
    ckpt = cached_checkpoint(path)
    tokenizer = ckpt.tokenizer.with_languages(src_lang, tgt_lang) if src_lang or tgt_lang else ckpt.tokenizer
    src, ref = validation_sample(src_lang or ckpt.src_lang, tgt_lang or ckpt.tgt_lang, n)
    return quality(ckpt.model, tokenizer, src, ref, parse_head_spec(spec, ckpt.model.cfg))

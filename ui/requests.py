"""Where the app asks the model for a checkpoint and a translation: each answer, or one sentence in the page saying
why there is none."""

from __future__ import annotations

import contextlib

import streamlit as st

from model.core.checkpoint import Checkpoint, CheckpointError
from model.core.decoder_only import DecoderOnlyTransformer
from model.decoding.translation import InputError
from ui.cache import Searched, cached_checkpoint, cached_search
from ui.context import Request
from ui.lab_panel import note_shown
from ui.text import plain


def load(path: str) -> Checkpoint | None:
    """The checkpoint, or None after showing why it cannot be used."""
    note_shown(path)  # a lab's model in use is not deleted when a new lab starts
    try:
        ckpt = cached_checkpoint(path)
        if isinstance(ckpt.model, DecoderOnlyTransformer):
            st.info(
                f"{plain(ckpt.name)} is a decoder-only language model: it loads and checks out, but the views draw "
                "encoder-decoder translators only, so far. Choose another model in the sidebar."
            )
            return None
        return ckpt
    except CheckpointError as exc:
        st.error(f"This checkpoint cannot be used: {plain(exc)}")
    except Exception as exc:  # noqa: BLE001 - a check load_checkpoint lacks must not take the page (and picker) down
        first_line = next(iter(str(exc).strip().splitlines()), "")
        st.error(f"This checkpoint cannot be used: {type(exc).__name__}: {plain(first_line)}")
    return None


def search(request: Request) -> Searched:
    """The request's translation (and its beam's search tree), from the bounded cache."""
    fields = (request.source, request.beam, request.max_len, request.prefix, request.src_lang, request.tgt_lang)
    return cached_search(request.path, *fields)


def run_search(request: Request) -> Searched | None:
    """The request's translation, or None after saying in one sentence why not."""
    try:
        return search(request)
    except InputError as exc:
        st.info(plain(exc))
        return None


def translate_first(request: Request) -> None:
    """Fill the translation cache before the page sends anything. Alone, a translation takes tens of milliseconds; run
    while the server streams the browser its scripts, every small torch op waits for the GIL and it takes ten times
    longer."""
    with contextlib.suppress(InputError):  # said where the translation is shown
        search(request)

"""The kind / layer / head pickers every view shares, and the matrix they select."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from model.core.head_selection import MEAN, head_from_value
from model.core.hook_names import KINDS
from model.decoding.trace import KIND_LABELS, Trace
from ui.i18n import kind_label, t
from viz.attention import head_title, merge_tokens, merge_words


@dataclass
class Selection:
    kind: str
    layer: int
    head: int | None  # None: mean over heads


def clamp_layer(trace: Trace, kind: str, layer: int) -> int:
    """A layer of this kind's own stack; -1 or too deep means its last layer."""
    return layer if 0 <= layer < trace.layers(kind) else trace.layers(kind) - 1


def kind_layer_head(
    trace: Trace,
    key: str = "",
    allow_mean: bool = True,
    horizontal: bool = True,
    containers=None,
    compact: bool = False,
    columns=None,
) -> Selection:
    """Kind / layer / head pickers bound to the session (and so to the URL).

    `containers`: where to put them in presentation mode's one row: with `compact`, three label-less selectboxes;
    without, only the kind (the figure itself switches layer and head). `columns`: three places for the usual
    labelled kind / layer / head widgets (default: a new row of three, or one above the other).
    """
    if containers is not None and compact:
        return compact_pickers(trace, key, allow_mean, containers)
    if containers is not None:
        kind = containers[0].selectbox(
            t("ctl.attention"), KINDS, format_func=kind_label, key=f"{key}kind", label_visibility="collapsed"
        )
        layer = clamp_layer(trace, kind, int(st.session_state.get(f"{key}layer", -1)))
        head = str(st.session_state.get(f"{key}head", MEAN))
        head_options = [MEAN] + [str(h) for h in range(trace.heads(kind))]
        head = head if head in head_options else MEAN
        containers[1].caption(t("ctl.figure_switches"))
        return Selection(kind, layer, head_from_value(head))
    cols = columns or (st.columns(3) if horizontal else [st.container()] * 3)
    kind = cols[0].selectbox(t("ctl.attention"), KINDS, format_func=kind_label, key=f"{key}kind")
    head_options = settle_layer_and_head(trace, kind, key, allow_mean)
    n_layers = trace.layers(kind)
    if n_layers > 1:
        layer = cols[1].slider(t("ctl.layer"), 0, n_layers - 1, key=f"{key}layer")
    else:  # a slider needs two values
        layer = 0
        cols[1].caption(t("ctl.only_layer"))
    head = cols[2].select_slider(t("ctl.head"), head_options, key=f"{key}head")
    return Selection(kind, layer, head_from_value(head))


def settle_layer_and_head(trace: Trace, kind: str, key: str, allow_mean: bool) -> list[str]:
    """Bring the session's layer and head into what `kind` has (before their widgets are drawn); the head options."""
    st.session_state[f"{key}layer"] = clamp_layer(trace, kind, int(st.session_state.get(f"{key}layer", -1)))
    head_options = ([MEAN] if allow_mean else []) + [str(h) for h in range(trace.heads(kind))]
    if str(st.session_state.get(f"{key}head", "0")) not in head_options:
        st.session_state[f"{key}head"] = head_options[0]
    return head_options


def compact_pickers(trace: Trace, key: str, allow_mean: bool, containers) -> Selection:
    """Kind, layer and head as three one-line selectboxes (same session keys and values as the sliders)."""
    kind = containers[0].selectbox(
        t("ctl.attention"), KINDS, format_func=kind_label, key=f"{key}kind", label_visibility="collapsed"
    )
    head_options = settle_layer_and_head(trace, kind, key, allow_mean)
    layer = containers[1].selectbox(
        t("ctl.layer"),
        list(range(trace.layers(kind))),
        key=f"{key}layer",
        label_visibility="collapsed",
        format_func=lambda l: f"{t('ctl.layer')} {l}",
    )
    head = containers[2].selectbox(
        t("ctl.head"),
        head_options,
        key=f"{key}head",
        label_visibility="collapsed",
        format_func=lambda h: t("ctl.mean") if h == MEAN else f"{t('ctl.head')} {h}",
    )
    return Selection(kind, layer, head_from_value(head))


def selected_matrix(trace: Trace, sel: Selection, words: bool) -> tuple[np.ndarray, list[str], list[str]]:
    """The [queries, keys] matrix of a selection, with its axis labels, optionally merged into words."""
    attention = trace.attention(sel.kind)[sel.layer]
    matrix = attention.mean(0) if sel.head is None else attention[sel.head]
    q_tokens, k_tokens = trace.axis_tokens(sel.kind)
    if not words:
        return matrix, q_tokens, k_tokens
    q_starts, k_starts = trace.axis_word_starts(sel.kind)
    return merge_words(matrix, q_starts, k_starts), merge_tokens(q_tokens, q_starts), merge_tokens(k_tokens, k_starts)


def produced_pieces(trace: Trace, kind: str, words: bool) -> list[str] | None:
    """For decoder and cross rows, the piece each step produced (row i reads piece i, produces piece i + 1)."""
    return None if kind == "encoder" or words else trace.out_pieces


def describe(sel: Selection) -> str:
    """The selection's figure title; titles stay English: tests and exports read them."""
    return head_title(KIND_LABELS[sel.kind], sel.layer, sel.head)

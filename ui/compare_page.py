"""Compare: two heads side by side, their difference and distance; all heads' similarity."""

from __future__ import annotations

import streamlit as st

from model.core.hook_names import KINDS
from model.decoding.trace import KIND_LABELS
from ui.context import PageContext
from ui.controls import describe, kind_layer_head, selected_matrix
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import kind_label, t
from viz.attention import attention_heatmap, difference_heatmap, head_similarity, mean_js, similarity_heatmap


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    trace = ctx.trace
    st.session_state.setdefault("cmp_b_head", "1" if trace.heads("encoder") > 1 else "0")  # open on two different heads
    # one row: A's three pickers, then B's; each figure under its own
    row = st.columns([3, 2, 2, 3, 2, 2])
    a = kind_layer_head(trace, key="cmp_a_", allow_mean=False, containers=row[:3], compact=True)
    b = kind_layer_head(trace, key="cmp_b_", allow_mean=False, containers=row[3:], compact=True)
    left, right = st.columns(2)
    ma, qa, ka = selected_matrix(trace, a, words=False)
    mb, qb, kb = selected_matrix(trace, b, words=False)
    for side, matrix, q, k, sel, key in ((left, ma, qa, ka, a, "cmp_a"), (right, mb, qb, kb, b, "cmp_b")):
        show_figure(
            ctx.theme.fit(
                attention_heatmap(
                    matrix, q, k, title=describe(sel), colorscale=ctx.theme.colorscale, font_size=ctx.theme.font_size
                )
            ),
            key=key,
            container=side,
        )
    if ma.shape == mb.shape and (qa, ka) == (qb, kb):
        distance = mean_js(ma, mb)
        st.metric(t("cmp.js"), f"{distance:.3f}")
        show_figure(difference_heatmap(ma, mb, qa, ka, title="A − B"), key="cmp_diff")
    else:
        st.info(t("cmp.pick"))
    kind = st.selectbox(t("cmp.similarity"), KINDS, format_func=kind_label, key="cmp_sim_kind")
    sim = head_similarity(trace.attention(kind))
    show_figure(
        similarity_heatmap(sim, trace.heads(kind), title=f"{KIND_LABELS[kind]}: head x head similarity (1 − JS)"),
        key="cmp_similarity",
    )

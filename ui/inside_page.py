"""Inside one head: the real numbers of scaled dot-product attention for one query."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui.cache import cached_head_detail
from ui.context import PageContext
from ui.controls import describe, kind_layer_head
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import t
from ui.text import plain
from viz.inside_head import FORMULA, pipeline_figure, pipeline_table


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    trace, translation = ctx.trace, ctx.translation
    present = ctx.theme.present
    row = st.columns([3, 2, 2, 3])  # one row of pickers, the query beside them; the formula goes below the figure
    if present:
        sel = kind_layer_head(trace, allow_mean=False, containers=row[:3], compact=True)
    else:
        sel = kind_layer_head(trace, allow_mean=False, columns=row[:3])
    q_tokens, k_tokens = trace.axis_tokens(sel.kind)
    labels = [f"{i}: {token}" for i, token in enumerate(q_tokens)]
    if present:
        if st.session_state.get("head_query", 0) not in range(len(q_tokens)):
            st.session_state.head_query = 0
        query = row[3].selectbox(
            t("hd.query"),
            range(len(q_tokens)),
            format_func=labels.__getitem__,
            key="head_query",
            label_visibility="collapsed",
        )
    else:
        query = row[3].select_slider(
            t("hd.query"), range(len(q_tokens)), format_func=labels.__getitem__, key="head_query"
        )
    detail = cached_head_detail(
        ctx.path, tuple(translation.src_ids), tuple(translation.out_ids), sel.kind, sel.layer, sel.head
    )
    d_k = detail.q.shape[1]
    theme = ctx.theme
    fig = pipeline_figure(
        detail,
        query,
        q_tokens,
        k_tokens,
        tick_size=theme.tick_size,
        width=theme.narrowest_figure_px,
        height=theme.main_figure_height if present else None,
    )
    show_figure(theme.fit(fig), key="head_pipeline")
    st.latex(FORMULA)
    st.caption(t("hd.caption", sel=describe(sel), query=plain(labels[query]), d_k=d_k, sqrt=np.sqrt(d_k)))
    table = pipeline_table(detail, query, k_tokens)
    st.dataframe(table.style.format({c: "{:.4f}" for c in table.columns if c != "key"}, na_rep="−∞"), key="head_table")

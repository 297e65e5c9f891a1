"""Positional encoding: the table, its waves, its geometry, and why sinusoids."""

from __future__ import annotations

import streamlit as st

from ui.cache import cached_embedding_norms, positional_table
from ui.context import PageContext
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import t
from viz.positional import norms_chart, pe_dot_by_offset, pe_heatmap, pe_waves, why_sinusoids

PE_FORMULAS = {
    "interleaved": r"PE_{(pos, 2i)} = \sin\left(pos / 10000^{2i/d_{model}}\right), \quad "
    r"PE_{(pos, 2i+1)} = \cos\left(pos / 10000^{2i/d_{model}}\right)",
    "halves": r"PE_{(pos, i)} = \sin\left(pos / 10000^{2i/d_{model}}\right), \quad "
    r"PE_{(pos, i + d_{model}/2)} = \cos\left(pos / 10000^{2i/d_{model}}\right)",
}


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    pe = positional_table(ctx.path)
    d_model = pe.shape[1]
    n = st.slider(
        t("pe.positions"), 10, pe.shape[0], min(100, pe.shape[0]), key="pe_positions", label_visibility=ctx.theme.label
    )
    layout = ctx.ckpt.model.cfg.pe_layout
    show_figure(ctx.theme.fit(pe_heatmap(pe[:n])), key="pe_heatmap")  # the picture first; the formula below it
    st.latex(PE_FORMULAS[layout])
    if layout == "halves":
        st.caption(t("pe.halves"))
    dims = st.multiselect(t("pe.dims"), list(range(d_model)), default=[0, 1, 4, 20, d_model // 2], key="pe_dims")
    show_figure(pe_waves(pe[:n], dims), key="pe_waves")
    show_figure(pe_dot_by_offset(pe[:n], [0, n // 4, n // 2]), key="pe_dot")
    translation = ctx.translation
    token_norms = cached_embedding_norms(ctx.path, tuple(translation.src_ids))
    show_figure(norms_chart(ctx.trace.src_tokens, token_norms, pe), key="pe_norms")
    st.subheader(t("pe.why"))
    train_max = ctx.ckpt.card.get("data", {}).get("max_train_pieces")
    st.dataframe(why_sinusoids(pe, train_max, layout=layout), hide_index=True, key="pe_why")

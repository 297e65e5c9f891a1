"""Positional encoding: the table, its waves, its geometry, and why sinusoids; the formula the model really uses
(`model.core.positions.position_formula`) beside the paper's where they differ."""

from __future__ import annotations

import streamlit as st

from model.core.config import TransformerConfig
from model.core.positions import position_formula
from ui.cache import cached_embedding_norms, positional_table
from ui.context import PageContext
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import t
from viz.positional import norms_chart, pe_dot_by_offset, pe_heatmap, pe_waves, why_sinusoids


def formula_variant(cfg: TransformerConfig) -> str:
    """Which of position_formula's cases the model is (its i18n key): learned, fairseq, halves or paper."""
    if cfg.position_kind == "learned":
        return "learned"
    if cfg.pe_formula == "fairseq":
        return "fairseq"
    return "halves" if cfg.pe_layout == "halves" else "paper"


def show_formula(cfg: TransformerConfig, container=st) -> None:
    """The model's own formula, in LaTeX with one sentence; the paper's below it when the two differ."""
    formula = position_formula(cfg)
    offset = formula.first_position
    start = t("pe.start.offset", offset=offset) if offset else t("pe.start.plain")
    differs = formula.latex != formula.paper
    if differs:
        container.caption(t("pe.model_formula"))
    container.latex(formula.latex)
    container.caption(t(f"pe.summary.{formula_variant(cfg)}", start=start))
    if differs:
        container.caption(t("pe.paper_formula"))
        container.latex(formula.paper)


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    pe = positional_table(ctx.path)
    d_model = pe.shape[1]
    n = st.slider(
        t("pe.positions"), 10, pe.shape[0], min(100, pe.shape[0]), key="pe_positions", label_visibility=ctx.theme.label
    )
    cfg = ctx.loaded.model.cfg
    show_figure(ctx.theme.fit(pe_heatmap(pe[:n])), key="pe_heatmap")  # the picture first; the formula below it
    show_formula(cfg)
    dims = st.multiselect(
        t("pe.dims"),
        list(range(d_model)),
        default=sorted({min(d, d_model - 1) for d in (0, 1, 4, 20, d_model // 2)}),
        key="pe_dims",
    )
    show_figure(pe_waves(pe[:n], dims), key="pe_waves")
    show_figure(pe_dot_by_offset(pe[:n], [0, n // 4, n // 2]), key="pe_dot")
    translation = ctx.translation
    token_norms = cached_embedding_norms(ctx.path, tuple(translation.src_ids))
    show_figure(norms_chart(ctx.trace.src_pieces, token_norms, pe), key="pe_norms")
    st.subheader(t("pe.why"))
    if cfg.position_kind == "learned":  # the sinusoids' properties are not this table's
        st.caption(t("pe.learned"))
        return
    train_max = ctx.loaded.card.get("data", {}).get("max_train_pieces")
    st.dataframe(
        why_sinusoids(pe, train_max, layout=cfg.pe_layout, formula=cfg.pe_formula), hide_index=True, key="pe_why"
    )

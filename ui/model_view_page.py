"""Model view: every layer x head of one kind at once; pick a cell to open it large."""

from __future__ import annotations

import streamlit as st

from model.core.head_selection import head_from_value, head_value
from model.core.hook_names import KINDS
from model.decoding.trace import KIND_LABELS
from ui.context import PageContext
from ui.controls import Selection, clamp_layer, describe, produced_pieces, selected_matrix
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import kind_label, t
from ui.url import write_url
from viz.attention import attention_heatmap, model_view, model_view_cell


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    trace = ctx.trace
    row = st.columns([2, 3]) if ctx.theme.present else [st.container()]
    kind = row[0].selectbox(
        t("ctl.attention"), KINDS, format_func=kind_label, key="kind", label_visibility=ctx.theme.label
    )
    q_tokens, k_tokens = trace.axis_tokens(kind)
    title = f"{KIND_LABELS[kind]}: all layers and heads"
    fig = model_view(trace.attention(kind), q_tokens, k_tokens, title=title, colorscale=ctx.theme.colorscale)
    clicked = show_figure(ctx.theme.fit(fig), key=f"model_view_{kind}", clickable=True)
    if clicked:
        cell = model_view_cell(fig.layout.meta, clicked["x"], clicked["y"])
        if cell is not None:
            st.session_state.layer, st.session_state.head = cell[0], str(cell[1])
    (row[-1] if ctx.theme.present else st).caption(t("mv.click"))
    layer = int(st.session_state.get("layer", -1))
    sel = Selection(kind, clamp_layer(trace, kind, layer), head_from_value(st.session_state.get("head", "0")))
    matrix, q, k = selected_matrix(trace, sel, words=False)
    show_figure(
        attention_heatmap(
            matrix,
            q,
            k,
            title=describe(sel),
            colorscale=ctx.theme.colorscale,
            font_size=ctx.theme.font_size,
            produced=produced_pieces(trace, kind, words=False),
        ),
        key="model_view_cell",
    )
    write_url(kind=kind, layer=sel.layer, head=head_value(sel.head))

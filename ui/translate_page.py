"""Translate: the sentence's pieces and one attention heatmap, with downloads."""
from __future__ import annotations

import streamlit as st

from model.trace import KIND_LABELS
from ui.context import PageContext
from ui.controls import describe, kind_layer_head, produced_pieces, selected_matrix
from ui.errors import guarded
from ui.url import write_url
from viz.attention import attention_heatmap, attention_table
from viz.export import figure_html, npz_bytes

WORD_RULE = ("Word view: a word receives the **sum** of the weights on its pieces (rows still sum to 1); "
             "a word attends with the **mean** of its pieces' rows.")


def render(ctx: PageContext) -> None:
    trace = ctx.trace
    with st.expander(f"Pieces: {len(trace.src_tokens)} source, {len(trace.tgt_tokens)} target", expanded=False):
        st.text("source  " + " ".join(trace.src_tokens))
        st.text("target  " + " ".join(trace.tgt_tokens))
    heatmap_panel(ctx)


@st.fragment
@guarded
def heatmap_panel(ctx: PageContext) -> None:
    trace = ctx.trace
    sel = kind_layer_head(trace)
    words = st.toggle("Merge subword pieces into words", key="words", help=WORD_RULE)
    matrix, q_tokens, k_tokens = selected_matrix(trace, sel, words)
    fig = attention_heatmap(matrix, q_tokens, k_tokens, title=describe(sel), colorscale=ctx.theme.colorscale, font_size=ctx.theme.font_size,
                            produced=produced_pieces(trace, sel.kind, words))
    st.plotly_chart(fig, key="translate_heatmap", config={"toImageButtonOptions": {"format": "png", "scale": 2}})
    if words:
        st.caption(WORD_RULE)
    write_url(kind=sel.kind, layer=sel.layer, head="mean" if sel.head is None else sel.head)
    name = f"{sel.kind}-L{sel.layer}-{'mean' if sel.head is None else f'H{sel.head}'}"
    q_all, k_all = trace.axis_tokens(sel.kind)
    # Deferred: built only when clicked (the offline HTML alone embeds ~4.5 MB of plotly.js); no rerun on click.
    cols = st.columns(3)
    cols[0].download_button("Figure (HTML, offline)", lambda: figure_html(fig), f"headlight-{name}.html", "text/html", key="dl_html",
                            on_click="ignore")
    cols[1].download_button(f"{KIND_LABELS[sel.kind]} (CSV)",
                            lambda: attention_table(trace.attention(sel.kind), q_all, k_all, sel.kind).to_csv(index=False),
                            f"headlight-{sel.kind}.csv", "text/csv", key="dl_csv", on_click="ignore")
    cols[2].download_button("Whole trace (NPZ)", lambda: npz_bytes(trace.npz_arrays()), "headlight-trace.npz",
                            "application/octet-stream", key="dl_npz", on_click="ignore")

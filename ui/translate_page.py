"""Translate: the sentence's pieces and one attention heatmap, with downloads."""
from __future__ import annotations

import streamlit as st

from model.trace import KIND_LABELS, KINDS
from ui.context import PageContext
from ui.controls import describe, kind_layer_head, produced_pieces, selected_matrix
from ui.errors import guarded
from ui.url import write_url
from viz.attention import attention_heatmap, attention_table, merge_tokens, merge_words
from viz.export import figure_html, npz_bytes
from viz.switch import Panel, switchable_heatmap

WORD_RULE = ("Word view: a word receives the **sum** of the weights on its pieces (rows still sum to 1); "
             "a word attends with the **mean** of its pieces' rows.")


def panels(trace, kinds, words: bool) -> list[Panel]:
    """Each kind's whole attention with its axis labels, merged into words if asked."""
    out = []
    for kind in kinds:
        attention, (q, k) = trace.attention(kind), trace.axis_tokens(kind)
        if words:
            q_starts, k_starts = trace.axis_word_starts(kind)
            attention, q, k = merge_words(attention, q_starts, k_starts), merge_tokens(q, q_starts), merge_tokens(k, k_starts)
        out.append(Panel(kind, KIND_LABELS[kind], attention, q, k))
    return out


def render(ctx: PageContext) -> None:
    trace = ctx.trace
    if not ctx.theme.present:  # presentation mode keeps the screen for the picture
        pieces(trace)
    heatmap_panel(ctx)


def pieces(trace) -> None:
    with st.expander(f"Pieces: {len(trace.src_tokens)} source, {len(trace.tgt_tokens)} target", expanded=False):
        st.text("source  " + " ".join(trace.src_tokens))
        st.text("target  " + " ".join(trace.tgt_tokens))


@st.fragment
@guarded
def heatmap_panel(ctx: PageContext) -> None:
    trace = ctx.trace
    if ctx.theme.present:  # one row of controls; switching happens in the figure itself, with no round trip
        cols = st.columns([3, 2, 2])
        sel = kind_layer_head(trace, containers=cols)
        words = cols[2].toggle("Words", key="words", help=WORD_RULE)
        in_browser = True
    else:
        sel = kind_layer_head(trace)
        cols = st.columns(2)
        words = cols[0].toggle("Merge subword pieces into words", key="words", help=WORD_RULE)
        in_browser = cols[1].toggle("Switch layers and heads in the browser", key="client_switch",
                                    help="Every layer and head of this kind travels with the figure: its own slider and buttons "
                                         "switch instantly, with no round trip to the server (for talks).")
    matrix, q_tokens, k_tokens = selected_matrix(trace, sel, words)
    fig = attention_heatmap(matrix, q_tokens, k_tokens, title=describe(sel), colorscale=ctx.theme.colorscale, font_size=ctx.theme.font_size,
                            produced=produced_pieces(trace, sel.kind, words))
    if in_browser:
        switch = switchable_heatmap(panels(trace, [sel.kind], words), (sel.kind, sel.layer, sel.head),
                                    ctx.theme.colorscale, max(ctx.theme.font_size, 18) if ctx.theme.present else ctx.theme.font_size)
        if ctx.theme.present:
            switch.update_layout(height=ctx.theme.main_figure_height)
        st.plotly_chart(switch, key="translate_switch")
    else:
        st.plotly_chart(fig, key="translate_heatmap", config={"toImageButtonOptions": {"format": "png", "scale": 2}})
    if words:
        st.caption(WORD_RULE)
    write_url(kind=sel.kind, layer=sel.layer, head="mean" if sel.head is None else sel.head)
    name = f"{sel.kind}-L{sel.layer}-{'mean' if sel.head is None else f'H{sel.head}'}"
    q_all, k_all = trace.axis_tokens(sel.kind)
    # Deferred: built only when clicked (the offline HTML alone embeds ~4.5 MB of plotly.js); no rerun on click.
    cols = st.columns(3)
    everything = lambda: figure_html(switchable_heatmap(panels(trace, KINDS, words), (sel.kind, sel.layer, sel.head),  # noqa: E731
                                                        ctx.theme.colorscale, ctx.theme.font_size))
    cols[0].download_button("Figure (HTML, offline: every kind, layer and head)", everything, f"headlight-{name}.html", "text/html",
                            key="dl_html", on_click="ignore")
    cols[1].download_button(f"{KIND_LABELS[sel.kind]} (CSV)",
                            lambda: attention_table(trace.attention(sel.kind), q_all, k_all, sel.kind).to_csv(index=False),
                            f"headlight-{sel.kind}.csv", "text/csv", key="dl_csv", on_click="ignore")
    cols[2].download_button("Whole trace (NPZ)", lambda: npz_bytes(trace.npz_arrays()), "headlight-trace.npz",
                            "application/octet-stream", key="dl_npz", on_click="ignore")

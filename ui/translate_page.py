"""Translate: the sentence's pieces and one attention heatmap, with downloads."""

from __future__ import annotations

import streamlit as st

from model.core.hook_names import KINDS
from model.decoding.trace import KIND_LABELS
from ui.context import PageContext
from ui.controls import describe, kind_layer_head, produced_pieces, selected_matrix
from ui.errors import guarded
from ui.figure import BUNDLE_JS, show_figure
from ui.i18n import kind_label, t
from ui.url import write_url
from viz.attention import attention_heatmap, attention_table, merge_tokens, merge_words
from viz.export import figure_html, npz_bytes
from viz.switch import Panel, switchable_heatmap


def panels(trace, kinds, words: bool) -> list[Panel]:
    """Each kind's whole attention with its axis labels, merged into words if asked."""
    out = []
    for kind in kinds:
        attention, (q, k) = trace.attention(kind), trace.axis_tokens(kind)
        if words:
            q_starts, k_starts = trace.axis_word_starts(kind)
            attention, q, k = (
                merge_words(attention, q_starts, k_starts),
                merge_tokens(q, q_starts),
                merge_tokens(k, k_starts),
            )
        out.append(Panel(kind, KIND_LABELS[kind], attention, q, k))
    return out


def render(ctx: PageContext) -> None:
    heatmap_panel(ctx)
    if not ctx.theme.present:  # presentation mode keeps the screen for the picture
        pieces(ctx.trace)


def pieces(trace) -> None:
    with st.expander(t("translate.pieces", s=len(trace.src_tokens), t=len(trace.tgt_tokens)), expanded=False):
        st.text("source  " + " ".join(trace.src_tokens))
        st.text("target  " + " ".join(trace.tgt_tokens))


@st.fragment
@guarded
def heatmap_panel(ctx: PageContext) -> None:
    trace = ctx.trace
    if ctx.theme.present:  # one row of controls; switching happens in the figure itself, with no round trip
        cols = st.columns([3, 2, 2])
        sel = kind_layer_head(trace, containers=cols)
        words = cols[2].toggle(t("translate.words"), key="words", help=t("translate.word_rule"))
        in_browser, figure_place = True, st.container()
    else:  # the picture right under its pickers; the options below it
        sel = kind_layer_head(trace)
        figure_place = st.container()
        cols = st.columns(2)
        words = cols[0].toggle(t("translate.merge"), key="words", help=t("translate.word_rule"))
        in_browser = cols[1].toggle(t("translate.switch"), key="client_switch", help=t("translate.switch_help"))
    if in_browser:
        switch = switchable_heatmap(
            panels(trace, [sel.kind], words),
            (sel.kind, sel.layer, sel.head),
            ctx.theme.colorscale,
            max(ctx.theme.font_size, 18) if ctx.theme.present else ctx.theme.font_size,
        )
        if ctx.theme.present:
            switch.update_layout(height=ctx.theme.main_figure_height)
        show_figure(ctx.theme.fill_window(switch), key="translate_switch", container=figure_place)
    else:
        matrix, q_tokens, k_tokens = selected_matrix(trace, sel, words)
        fig = attention_heatmap(
            matrix,
            q_tokens,
            k_tokens,
            title=describe(sel),
            colorscale=ctx.theme.colorscale,
            font_size=ctx.theme.font_size,
            produced=produced_pieces(trace, sel.kind, words),
        )
        show_figure(
            ctx.theme.fill_window(fig),
            key="translate_heatmap",
            config={"toImageButtonOptions": {"format": "png", "scale": 2}},
            container=figure_place,
        )
    if words:
        st.caption(t("translate.word_rule"))
    write_url(kind=sel.kind, layer=sel.layer, head="mean" if sel.head is None else sel.head)
    name = f"{sel.kind}-L{sel.layer}-{'mean' if sel.head is None else f'H{sel.head}'}"
    q_all, k_all = trace.axis_tokens(sel.kind)
    # Deferred: built only when clicked (the offline HTML embeds the app's 1.2 MB plotly.js); no rerun on click.
    cols = st.columns(3)

    def everything():
        selected = (sel.kind, sel.layer, sel.head)
        figure = switchable_heatmap(panels(trace, KINDS, words), selected, ctx.theme.colorscale, ctx.theme.font_size)
        return figure_html(figure, BUNDLE_JS)

    cols[0].download_button(
        t("translate.dl_html"), everything, f"headlight-{name}.html", "text/html", key="dl_html", on_click="ignore"
    )
    cols[1].download_button(
        t("translate.dl_csv", kind=kind_label(sel.kind)),
        lambda: attention_table(trace.attention(sel.kind), q_all, k_all, sel.kind).to_csv(index=False),
        f"headlight-{sel.kind}.csv",
        "text/csv",
        key="dl_csv",
        on_click="ignore",
    )
    cols[2].download_button(
        t("translate.dl_npz"),
        lambda: npz_bytes(trace.npz_arrays()),
        "headlight-trace.npz",
        "application/octet-stream",
        key="dl_npz",
        on_click="ignore",
    )

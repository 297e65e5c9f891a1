"""Translate: the sentence's pieces and one attention heatmap, with downloads."""

from __future__ import annotations

import streamlit as st

from model.core.head_selection import head_value
from model.core.hook_names import KINDS
from model.decoding.trace import KIND_LABELS
from ui.context import PageContext
from ui.controls import Selection, describe, kind_layer_head, produced_pieces, selected_matrix
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
    with st.expander(t("translate.pieces", s=len(trace.src_pieces), t=len(trace.tgt_pieces)), expanded=False):
        st.text("source  " + " ".join(trace.src_pieces))
        st.text("target  " + " ".join(trace.tgt_pieces))


@st.fragment
@guarded
def heatmap_panel(ctx: PageContext) -> None:
    sel, words, in_browser, figure_place = pickers(ctx)
    if in_browser:
        switching_figure(ctx, sel, words, figure_place)
    else:
        one_heatmap(ctx, sel, words, figure_place)
    if words:
        st.caption(t("translate.word_rule"))
    write_url(kind=sel.kind, layer=sel.layer, head=head_value(sel.head))
    downloads(ctx, sel, words)


def pickers(ctx: PageContext) -> tuple[Selection, bool, bool, object]:
    """Kind / layer / head, words or pieces, switching in the browser or not; and the place for the figure."""
    if ctx.theme.present:  # one row of controls; switching happens in the figure itself, with no round trip
        cols = st.columns([3, 2, 2])
        sel = kind_layer_head(ctx.trace, containers=cols)
        words = cols[2].toggle(t("translate.words"), key="words", help=t("translate.word_rule"))
        return sel, words, True, st.container()
    # the picture right under its pickers; the options below it
    sel = kind_layer_head(ctx.trace)
    figure_place = st.container()
    cols = st.columns(2)
    words = cols[0].toggle(t("translate.merge"), key="words", help=t("translate.word_rule"))
    in_browser = cols[1].toggle(t("translate.switch"), key="client_switch", help=t("translate.switch_help"))
    return sel, words, in_browser, figure_place


def switching_figure(ctx: PageContext, sel: Selection, words: bool, place) -> None:
    """Every layer and head of the selected kind in one figure that switches in the browser."""
    theme = ctx.theme
    font_size = max(theme.font_size, 18) if theme.present else theme.font_size
    height = theme.main_figure_height if theme.present else None
    panel = panels(ctx.trace, [sel.kind], words)
    fig = switchable_heatmap(panel, (sel.kind, sel.layer, sel.head), theme.colorscale, font_size, height)
    show_figure(fig, key="translate_switch", container=place, fill=theme.fill())


def one_heatmap(ctx: PageContext, sel: Selection, words: bool, place) -> None:
    matrix, q_tokens, k_tokens = selected_matrix(ctx.trace, sel, words)
    fig = attention_heatmap(
        matrix,
        q_tokens,
        k_tokens,
        title=describe(sel),
        colorscale=ctx.theme.colorscale,
        font_size=ctx.theme.font_size,
        produced=produced_pieces(ctx.trace, sel.kind, words),
    )
    config = {"toImageButtonOptions": {"format": "png", "scale": 2}}
    show_figure(fig, key="translate_heatmap", config=config, container=place, fill=ctx.theme.fill())


def downloads(ctx: PageContext, sel: Selection, words: bool) -> None:
    """The figure of every kind as offline HTML, the kind's attention as CSV, the whole trace as NPZ. Deferred: built
    only when clicked (the offline HTML embeds the app's 1.2 MB plotly.js); no rerun on click."""
    trace = ctx.trace
    name = f"{sel.kind}-L{sel.layer}-{'mean' if sel.head is None else f'H{sel.head}'}"
    q_all, k_all = trace.axis_tokens(sel.kind)
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

"""What if: force the translation's start, watch the beam, and see where a prediction's information came from."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from model.analysis.attribution import attention_flow, contribution_graph, routes_to
from ui.cache import cached_contributions, cached_forward_trace
from ui.context import PageContext, code_labels, labelled_trace
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import t
from ui.text import plain
from ui.theme import TAB_STRIP_PX
from viz.attention import attention_heatmap
from viz.steps import heads_rows
from viz.whatif import beam_tree_figure, head_ranking, routes_figure


def render(ctx: PageContext) -> None:
    contrib_tab, force_tab, beam_tab, flow_tab = st.tabs(
        [t("wi.tab_contrib"), t("wi.tab_force"), t("wi.tab_beam"), t("wi.tab_flow")]
    )
    with force_tab:
        force(ctx)
    with beam_tab:
        beam_tree(ctx)
    with contrib_tab:
        contributions_view(ctx)
    with flow_tab:
        flow(ctx)


def force_and_rerun(text: str) -> None:
    """A new forced start changes the translation every view shows: rerun the whole page, not this fragment."""
    st.session_state.prefix = text
    st.rerun(scope="app")


@st.fragment
@guarded
def force(ctx: PageContext) -> None:
    translation, tokenizer = ctx.translation, ctx.loaded.tokenizer
    st.caption(t("wi.force_help"))
    cols = st.columns([4, 1, 1])
    typed = cols[0].text_input(t("wi.forced_input"), value=ctx.request.prefix, key="prefix_input")
    if cols[1].button(t("wi.continue"), key="prefix_go"):
        force_and_rerun(typed)
    if cols[2].button(t("wi.clear"), key="prefix_clear"):
        force_and_rerun("")
    pieces = tokenizer.target_pieces(translation.out_ids)
    step = st.select_slider(
        t("wi.at_step"), range(len(pieces)), format_func=lambda i: f"{i}: {pieces[i]}", key="force_step"
    )
    candidates = ctx.trace.candidates[step] if ctx.trace.candidates else []
    options = [piece for piece, _ in candidates if piece != pieces[step]]
    if options:
        labels = {piece: plain(f"{piece} (p = {prob:.3f})") for piece, prob in candidates}  # options are markdown
        pick = st.radio(t("wi.pick"), options, format_func=labels.get, horizontal=True, key="force_pick")
        chosen = translation.out_ids[:step] + [tokenizer.piece_to_id(pick)]
        if st.button(t("wi.force_go", text=plain(tokenizer.decode(chosen))), key="force_pick_go"):
            force_and_rerun(tokenizer.decode(chosen))
    rows = [
        {
            "step": i,
            "piece": p,
            "forced": i < translation.forced,
            "log-probability": lp,
            "probability": float(np.exp(lp)),
        }
        for i, (p, lp) in enumerate(zip(pieces, translation.logprobs))
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="force_table")
    if translation.forced:
        st.caption(t("wi.forced_note", n=translation.forced))


@st.fragment
@guarded
def beam_tree(ctx: PageContext) -> None:
    rows = ctx.beam_tree  # recorded by the translation's own beam search: no second search
    if not rows:
        st.caption(t("wi.greedy"))
        if st.button(t("wi.use_beam"), key="use_beam"):
            st.session_state.beam = 4  # a new request: the whole page translates again
            st.rerun(scope="app")
        return
    nodes = pd.DataFrame(rows)
    fig = beam_tree_figure(nodes, font_size=ctx.theme.font_size)
    event = st.plotly_chart(fig, key="beam_tree", on_select="rerun", selection_mode="points")
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else event.selection.points
    picked = next((p for p in points if len(p.get("customdata") or []) == 3), None)
    tokenizer = ctx.loaded.tokenizer
    labels = [f"step {r.step}: {tokenizer.decode(r.ids)}" + (" (finished)" if r.finished else "") for r in rows]
    if picked is not None:
        st.session_state.beam_node = int(picked["customdata"][2])
    st.caption(t("wi.kept", n=len(nodes), steps=nodes["step"].max() + 1, done=int(nodes["finished"].sum())))
    choice = st.selectbox(
        t("wi.open"),
        [None] + list(range(len(rows))),
        format_func=lambda i: "—" if i is None else labels[i],
        key="beam_node",
    )
    if choice is None:
        return
    node = rows[choice]
    partial = cached_forward_trace(ctx.path, tuple(ctx.translation.src_ids), tuple(node.ids))
    trace = labelled_trace(partial, code_labels(ctx.loaded.tokenizer))  # language codes as the other views show them
    partial_text = plain(ctx.loaded.tokenizer.decode(node.ids))
    st.markdown(t("wi.partial", step=node.step, score=node.score, text=partial_text))
    layer = trace.layers("cross") - 1
    show_figure(
        attention_heatmap(
            trace.cross[layer].mean(0),
            trace.tgt_pieces,
            trace.src_pieces,
            title=f"Its cross-attention, last layer ({layer}), mean of heads",
            colorscale=ctx.theme.colorscale,
            font_size=ctx.theme.font_size,
            produced=trace.out_pieces,
        ),
        key="beam_node_attention",
    )


def node_labels(trace, n_enc: int, n_dec: int) -> tuple[dict, list[str]]:
    columns = ["source"] + [f"enc {l + 1}" for l in range(n_enc)] + ["target"]
    for l in range(n_dec):
        columns += [f"dec {l} self", f"dec {l} cross"]
    labels = {}
    for s, piece in enumerate(trace.src_pieces):
        for l in range(n_enc + 1):
            labels[("enc", l, s)] = (l, s, piece if l == 0 else "")
    for i, piece in enumerate(trace.tgt_pieces):
        labels[("dec", 0, i)] = (n_enc + 1, i, piece)
        for l in range(n_dec):
            labels[("self", l, i)] = (n_enc + 2 + 2 * l, i, "")
            labels[("dec", l + 1, i)] = (n_enc + 3 + 2 * l, i, trace.out_pieces[i] if l == n_dec - 1 else "")
    return labels, columns


@st.fragment
@guarded
def contributions_view(ctx: PageContext) -> None:
    translation, trace = ctx.translation, ctx.trace
    contrib = cached_contributions(ctx.path, tuple(translation.src_ids), tuple(translation.out_ids))
    out = trace.out_pieces
    step = st.select_slider(
        t("wi.output_piece"),
        range(len(out)),
        format_func=lambda i: f"{i}: {out[i]}",
        key="contrib_step",
        label_visibility=ctx.theme.label,
    )
    weights, norms = contrib.cross.weights[:, :, step, :], contrib.cross.norms[:, :, step, :]
    left, right = st.columns(2)
    fit = lambda fig: ctx.theme.fit(fig, above=TAB_STRIP_PX, thin_y=True)  # noqa: E731
    show_figure(
        fit(heads_rows(weights, trace.src_pieces, f"Weights α while producing {out[step]}", ctx.theme.colorscale)),
        key="contrib_weights",
        container=left,
    )
    show_figure(
        fit(
            heads_rows(
                norms,
                trace.src_pieces,
                f"Contributions ‖α·v·W_O‖ while producing {out[step]}",
                ctx.theme.colorscale,
                zmax=float(norms.max()) or 1.0,
                measure="‖α v W_O‖",
            )
        ),
        key="contrib_norms",
        container=right,
    )
    st.caption(t("wi.contrib_help"))
    ranking = head_ranking(weights, norms)
    st.dataframe(ranking, hide_index=True, key="contrib_ranking")
    threshold = st.slider(t("wi.routes"), 0.01, 0.5, 0.05, 0.01, key="contrib_threshold")
    graph = contribution_graph(contrib, min_share=threshold)
    n_enc, n_dec = contrib.encoder.layers, contrib.decoder.layers
    routes = routes_to(graph, ("dec", n_dec, step), threshold)
    if routes.number_of_edges() == 0:
        st.info(t("wi.no_route"))
        return
    edges = pd.DataFrame(
        [(u, v, d["weight"]) for u, v, d in routes.edges(data=True)], columns=["source", "target", "weight"]
    )
    labels, columns = node_labels(trace, n_enc, n_dec)
    show_figure(
        routes_figure(
            edges, labels, columns, f"Routes from the source pieces to {out[step]} (share ≥ {threshold:.2f})"
        ),
        key="contrib_routes",
    )


@st.fragment
@guarded
def flow(ctx: PageContext) -> None:
    trace = ctx.trace
    src = trace.src_pieces
    st.caption(t("wi.flow_help"))
    rows = st.multiselect(
        t("wi.flow_rows"), list(range(len(src))), default=[0], format_func=lambda i: f"{i}: {src[i]}", key="flow_rows"
    )
    if not rows or not st.button(t("wi.flow_go", n=len(rows)), key="flow_go"):
        st.caption(t("wi.flow_cost", n=len(src)))
        return
    start = time.perf_counter()
    values = attention_flow(trace.encoder, rows=rows)
    elapsed = time.perf_counter() - start
    show_figure(
        attention_heatmap(
            values,
            [src[i] for i in rows],
            src,
            title="Attention flow (encoder)",
            colorscale=ctx.theme.colorscale,
            font_size=ctx.theme.font_size,
            zmax=float(values.max()) or 1.0,
        ),
        key="flow_heatmap",
    )
    st.caption(t("wi.flow_time", rows=len(rows), n=len(src), s=elapsed, per=elapsed / max(len(rows), 1)))

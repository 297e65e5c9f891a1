"""Decoding, step by step: what each head attended to when each target token was produced."""

from __future__ import annotations

import time

import streamlit as st

from ui.context import PageContext
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import t
from ui.text import plain
from ui.url import write_url
from viz.steps import candidates_chart, step_cross_attention, step_self_attention


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    trace = ctx.trace
    n_steps = len(trace.out_pieces)
    if ctx.beam > 1:
        st.caption(t("st.beam", beam=ctx.beam))
    if st.session_state.get("step", 0) >= n_steps:
        st.session_state.step = 0
    controls = st.columns([5, 1])
    step = (
        controls[0].slider(
            t("st.step"), 0, n_steps - 1, key="step", help=t("st.step_help"), label_visibility=ctx.theme.label
        )
        if n_steps > 1
        else 0
    )
    play = controls[1].button(t("st.play"), key="play")
    area = st.empty()
    for shown in range(step, n_steps) if play else [step]:
        with area.container():
            draw_step(ctx, shown)
        if play:
            time.sleep(0.7)
    write_url(step=step)


def draw_step(ctx: PageContext, step: int) -> None:
    trace = ctx.trace
    produced = trace.out_pieces[step]
    note = ""
    if step < trace.forced:
        note = f" · :orange-background[{t('st.forced')}]"
    if trace.out_logprobs:
        note += " · " + t("st.logprob", lp=trace.out_logprobs[step])
    st.markdown(t("st.line", t=step, read=plain(trace.tgt_pieces[step]), produced=plain(produced)) + note)
    left, right = st.columns([3, 2])
    fit, present = ctx.theme.fit, ctx.theme.present
    line = 40  # the step's line above the figures
    show_figure(
        fit(
            step_cross_attention(trace.cross, step, trace.src_pieces, produced, ctx.theme.colorscale),
            above=line,
            thin_y=True,
        ),
        key=f"step_cross_{step}",
        container=left,
    )
    if trace.candidates:
        show_figure(
            fit(candidates_chart(trace.candidates[step], produced, title="Next-piece candidates"), above=line),
            key=f"step_cands_{step}",
            container=right,
        )
    # presentation mode: the prefix's self-attention goes below the fold, where it has room for its rows
    below = st if present else right
    show_figure(
        step_self_attention(trace.decoder, step, trace.tgt_pieces, ctx.theme.colorscale),
        key=f"step_self_{step}",
        container=below,
    )

"""Decoding, step by step: what each head attended to when each target token was produced."""
from __future__ import annotations

import time

import streamlit as st

from ui.context import PageContext
from ui.errors import guarded
from ui.text import md_escape
from ui.url import write_url
from viz.steps import candidates_chart, step_cross_attention, step_self_attention


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    trace = ctx.trace
    n_steps = len(trace.out_tokens)
    if ctx.beam > 1:
        st.caption(f"Beam search (beam {ctx.beam}): showing the beam that won.")
    if st.session_state.get("step", 0) >= n_steps:
        st.session_state.step = 0
    controls = st.columns([5, 1])
    step = controls[0].slider("Step", 0, n_steps - 1, key="step",
                              help="Step t reads target piece t and produces piece t + 1.") if n_steps > 1 else 0
    play = controls[1].button("▶ Play", key="play")
    area = st.empty()
    for t in range(step, n_steps) if play else [step]:
        with area.container():
            draw_step(ctx, t)
        if play:
            time.sleep(0.7)
    write_url(step=step)


def draw_step(ctx: PageContext, t: int) -> None:
    trace = ctx.trace
    produced = trace.out_tokens[t]
    note = ""
    if t < trace.forced:
        note = " · :orange-background[forced by you]"
    if trace.out_logprobs:
        note += f" · the model's log-probability of it: {trace.out_logprobs[t]:.3f}"
    st.markdown(f"**Step {t}** · reads **{md_escape(trace.tgt_tokens[t])}** → produces **{md_escape(produced)}**{note}")
    left, right = st.columns([3, 2])
    left.plotly_chart(step_cross_attention(trace.cross, t, trace.src_tokens, produced, ctx.theme.colorscale), key=f"step_cross_{t}")
    if trace.candidates:
        right.plotly_chart(candidates_chart(trace.candidates[t], produced, title="Next-piece candidates"), key=f"step_cands_{t}")
    right.plotly_chart(step_self_attention(trace.decoder, t, trace.tgt_tokens, ctx.theme.colorscale), key=f"step_self_{t}")

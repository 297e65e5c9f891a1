"""Lesson: the paper's forward pass, one section per step, with this sentence's real numbers (English or Korean)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from model.analysis.lesson import LessonChoice, lesson_numbers, position_alternatives
from model.core.hook_names import KINDS
from ui.cache import cached_checkpoint, positional_table
from ui.context import PageContext
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import t
from viz.lesson import bars, first_values, matrix_figure

EQUATIONS = {
    "sec.embedding": r"x_{\text{emb}} = E[\text{id}] \cdot \sqrt{d_{model}}",
    "sec.positions": r"x = x_{\text{emb}} + PE_{pos}",
    "sec.qkv": r"Q = X W^Q_i,\quad K = X W^K_i,\quad V = X W^V_i",
    "sec.scores": r"\text{score}(q, k) = \frac{q \cdot k}{\sqrt{d_k}}",
    "sec.mask": r"M_{ij} = \begin{cases} 0 & \text{may attend} \\ -\infty & \text{masked} \end{cases}",
    "sec.softmax": r"\alpha_{ij} = \frac{e^{s_{ij} + M_{ij}}}{\sum_{j'} e^{s_{ij'} + M_{ij'}}}",
    "sec.weighted_values": r"\text{head}_i = \alpha V",
    "sec.concat_heads": r"\text{MultiHead} = \text{Concat}(\text{head}_1, \ldots, \text{head}_h) W^O",
    "sec.add_norm": r"\text{LayerNorm}(x + \text{Sublayer}(x))",
    "sec.feed_forward": r"\text{FFN}(x) = \max(0, x W_1 + b_1) W_2 + b_2",
    "sec.output": r"P(y_t \mid y_{<t}, x) = \text{softmax}(h_t W_{\text{out}} + b)",
}


@st.cache_data(max_entries=16, show_spinner=False)
def cached_lesson(path: str, src_ids: tuple, out_ids: tuple, kind: str, layer: int, head: int, position: int) -> dict:
    ckpt = cached_checkpoint(path)
    return lesson_numbers(ckpt.model, list(src_ids), list(out_ids), LessonChoice(kind, layer, head, position))


PRE_NORM = r"x + \text{Sublayer}(\text{LayerNorm}(x))"
# presentation mode offers these: one picture each
WITH_FIGURE = (
    "sec.embedding",
    "sec.positions",
    "sec.qkv",
    "sec.mask",
    "sec.softmax",
    "sec.decoder_self",
    "sec.cross",
    "sec.output",
)


class Sections:
    """Which sections to draw, and where a section's figure goes: after its text, or (presentation mode, one section
    at a time) right under its title, so that the picture is on the first screen."""

    def __init__(self, present: bool, chosen: str):
        self.present, self.chosen = present, chosen

    def shown(self, key: str) -> bool:
        return not self.present or key == self.chosen

    def __call__(self, key: str, **values):
        st.subheader(t(f"{key}.title"))
        slot = st.container() if self.present else st
        if key in EQUATIONS:
            st.latex(EQUATIONS[key])
        st.markdown(t(f"{key}.text", **values))
        return slot


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    trace, translation, cfg, tok = ctx.trace, ctx.translation, ctx.ckpt.model.cfg, ctx.ckpt.tokenizer
    present = ctx.theme.present
    if present:  # one section at a time, picked in the row of controls
        cols = st.columns([4, 3, 2, 2, 2])
        chosen = cols.pop(0).selectbox(
            t("lesson.section"),
            WITH_FIGURE,
            format_func=lambda k: t(f"{k}.title"),
            key="lesson_section",
            label_visibility="collapsed",
        )
    else:
        st.info(t("lesson.intro"))
        cols, chosen = st.columns(4), ""
    section = Sections(present, chosen)
    fit = lambda fig: ctx.theme.fit(fig, above=60)  # noqa: E731  (the section's title)
    label = ctx.theme.label
    kind = cols[0].selectbox(
        t("lesson.kind"), KINDS, format_func=lambda k: t(f"lesson.kind.{k}"), key="lesson_kind", label_visibility=label
    )
    layer = cols[1].selectbox(
        t("lesson.layer"),
        list(range(cfg.layers(kind))),
        index=cfg.layers(kind) - 1,
        key="lesson_layer",
        label_visibility=label,
        format_func=lambda l: f"{t('lesson.layer')} {l}" if present else str(l),
    )
    head = cols[2].selectbox(
        t("lesson.head"),
        list(range(cfg.n_heads)),
        key="lesson_head",
        label_visibility=label,
        format_func=lambda h: f"{t('lesson.head')} {h}" if present else str(h),
    )
    q_tokens, k_tokens = trace.axis_tokens(kind)
    position = cols[3].selectbox(
        t("lesson.position"),
        list(range(len(q_tokens))),
        format_func=lambda i: f"{i}: {q_tokens[i]}",
        index=min(1, len(q_tokens) - 1),
        key="lesson_position",
        label_visibility=label,
    )
    n = cached_lesson(ctx.path, tuple(translation.src_ids), tuple(translation.out_ids), kind, layer, head, position)
    hd = n["head"]
    d, d_k = cfg.d_model, cfg.d_k
    stream_tokens = trace.src_tokens if kind == "encoder" else trace.tgt_tokens
    row = min(position, len(stream_tokens) - 1)
    dec_layer = min(layer, trace.layers("decoder") - 1)
    step = min(position, len(trace.out_tokens) - 1) if kind != "encoder" else 0

    if section.shown("sec.pieces"):
        section("sec.pieces")
        ids_table = pd.DataFrame(
            [trace.src_tokens, [str(i) for i in translation.src_ids]], index=[t("col.piece"), t("col.id")]
        )
        st.dataframe(ids_table, key="lesson_ids")  # all strings: one table column mixes pieces and ids
    if section.shown("sec.embedding"):
        slot = section("sec.embedding", scale=n["embedding_scale"])
        st.caption(t("lesson.first_values", n=6, d=d))
        st.dataframe(first_values({stream_tokens[row]: n["token_embedding"][row]}), key="lesson_emb")
        show_figure(
            fit(matrix_figure(n["token_embedding"], stream_tokens, "E[id] · √d_model", highlight=position)),
            key="lesson_emb_fig",
            container=slot,
        )
    if section.shown("sec.positions"):
        slot = section("sec.positions")
        st.dataframe(
            first_values({"E·√d": n["token_embedding"][row], "PE": n["positional"][row], "x": n["layer_input"][row]}),
            key="lesson_pe",
        )
        show_figure(
            fit(matrix_figure(n["positional"], [str(i) for i in range(len(n["positional"]))], "PE", highlight=row)),
            key="lesson_pe_fig",
            container=slot,
        )
        pe, emb_norm = positional_table(ctx.path), float(np.linalg.norm(n["token_embedding"], axis=-1).mean())
        alt = position_alternatives(pe, emb_norm, len(trace.src_tokens))
        with st.expander(t("why.pe.title"), expanded=True):
            st.markdown(
                "- " + t("why.pe.integer", last=alt["integer_last"], ratio=alt["integer_last_vs_embedding"]) + "\n"
                "- "
                + t("why.pe.fraction", frac=alt["fraction_same_value"][0], other=alt["fraction_same_value"][1])
                + "\n"
                "- "
                + t(
                    "why.pe.sin",
                    norm=alt["sinusoid_norm"],
                    dist=alt["sinusoid_min_distance"],
                    n=alt["positions_defined"],
                )
            )
    if section.shown("sec.qkv"):
        slot = section("sec.qkv", d_k=d_k)
        st.dataframe(
            first_values(
                {
                    "q": hd["q"][position],
                    "k": hd["k"][min(position, len(hd["k"]) - 1)],
                    "v": hd["v"][min(position, len(hd["v"]) - 1)],
                }
            ),
            key="lesson_qkv",
        )
        left, mid, right = slot.columns(3)
        show_figure(fit(matrix_figure(hd["q"], q_tokens, "Q", highlight=position)), key="lesson_q", container=left)
        show_figure(fit(matrix_figure(hd["k"], k_tokens, "K")), key="lesson_k", container=mid)
        show_figure(fit(matrix_figure(hd["v"], k_tokens, "V")), key="lesson_v", container=right)
    if section.shown("sec.scores"):
        section("sec.scores", sqrt=math.sqrt(d_k))
        table = pd.DataFrame(
            {
                t("col.key"): k_tokens,
                "q·k": hd["q"][position] @ hd["k"].T,
                t("col.score"): hd["scores"][position],
                "+ M": hd["masked_scores"][position],
                t("col.weight"): hd["weights"][position],
            }
        )
        st.dataframe(table, key="lesson_scores", hide_index=True)
        ws = n["why_scale"]
        with st.expander(t("why.scale.title"), expanded=True):
            st.markdown(
                t(
                    "why.scale.text",
                    var=ws["dot_variance"],
                    d_k=d_k,
                    h_raw=ws["entropy_unscaled_bits"],
                    m_raw=ws["max_weight_unscaled"],
                    h_scaled=ws["entropy_scaled_bits"],
                    m_scaled=ws["max_weight_scaled"],
                    h_uniform=ws["uniform_bits"],
                )
            )
    if section.shown("sec.mask"):
        show_figure(
            fit(
                matrix_figure(hd["masked_scores"], q_tokens, "QKᵀ/√d_k + M", highlight=position, column_labels=k_tokens)
            ),
            key="lesson_mask",
            container=section("sec.mask"),
        )
    if section.shown("sec.softmax"):
        show_figure(
            fit(bars(k_tokens, hd["weights"][position].tolist(), f"softmax · {q_tokens[position]}")),
            key="lesson_softmax",
            container=section("sec.softmax"),
        )
    if section.shown("sec.weighted_values"):
        section("sec.weighted_values")
        st.dataframe(first_values({"αV": hd["head_out"][position]}), key="lesson_out")
    if section.shown("sec.concat_heads"):
        section("sec.concat_heads", h=cfg.n_heads, d_k=d_k, d=d)
        st.dataframe(
            first_values(
                {
                    "concat": n["heads_concat"][position],
                    "× W_O + b": n["heads_concat"][position] @ n["w_o"].T + n["w_o_bias"],
                }
            ),
            key="lesson_concat",
        )
    if section.shown("sec.add_norm"):
        section("sec.add_norm", d=d)
        sub = n["heads_concat"][position] @ n["w_o"].T + n["w_o_bias"]
        if cfg.norm_first:  # this model normalises before each sub-layer: say so, with its own formula
            st.latex(PRE_NORM)
            st.caption(t("lesson.pre_norm"))
        names = (
            ("Sublayer(LayerNorm(x))", "x + Sublayer(LayerNorm(x))")
            if cfg.norm_first
            else ("Sublayer(x)", "LayerNorm(x + Sublayer(x))")
        )
        st.dataframe(
            first_values({"x": n["stream_in"][position], names[0]: sub, names[1]: n["add_norm_out"][position]}),
            key="lesson_addnorm",
        )
    if section.shown("sec.feed_forward"):
        section("sec.feed_forward", d=d, d_ff=cfg.d_ff, act=cfg.activation)
    if section.shown("sec.layers"):
        section("sec.layers", n_enc=cfg.n_encoder_layers, n_dec=cfg.n_decoder_layers)
        with st.expander(t("why.residual.title"), expanded=True):
            st.markdown(t("why.residual.text"))
            st.dataframe(
                pd.DataFrame(n["residual"]).rename(
                    columns={
                        "stack": t("col.stack"),
                        "layer": t("col.layer"),
                        "sublayer": t("col.sublayer"),
                        "residual_norm": t("col.residual"),
                        "sublayer_norm": t("col.added"),
                    }
                ),
                hide_index=True,
                key="lesson_residual",
            )
        wa = n["why_attention"]
        with st.expander(t("why.rnn.title"), expanded=True):
            st.markdown(t("why.rnn.text", n=wa["pieces"], rnn=wa["rnn_path"], layers=wa["attention_sequential_steps"]))
    if section.shown("sec.decoder_self"):
        show_figure(
            fit(
                matrix_figure(
                    trace.decoder[dec_layer, head],
                    trace.tgt_tokens,
                    f"decoder · layer {dec_layer} · head {head}",
                    column_labels=trace.tgt_tokens,
                    colorscale="Viridis",
                )
            ),
            key="lesson_dec",
            container=section("sec.decoder_self"),
        )
    if section.shown("sec.cross"):
        show_figure(
            fit(
                matrix_figure(
                    trace.cross[dec_layer, head],
                    trace.tgt_tokens,
                    f"cross · layer {dec_layer} · head {head}",
                    column_labels=trace.src_tokens,
                    colorscale="Viridis",
                )
            ),
            key="lesson_cross",
            container=section("sec.cross"),
        )
    if section.shown("sec.output"):
        top = tok.target_pieces(n["final_top_ids"][step].tolist())
        show_figure(
            fit(bars(top, n["final_top_probs"][step].tolist(), f"P(· | {trace.tgt_tokens[step]})")),
            key="lesson_top",
            container=section("sec.output", v=cfg.vocab_size),
        )
    if section.shown("sec.layer_by_layer"):
        section("sec.layer_by_layer")
        rows = [
            {
                t("col.layer"): r["layer"],
                t("col.prediction"): " ".join(tok.target_pieces(r["top_ids"][:, 0].tolist())),
                t("col.prob"): float(r["top_probs"][step, 0]),
            }
            for r in n["per_layer"]
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="lesson_lens")
        st.caption(t("lesson.first_values", n=6, d=d))
        st.dataframe(
            first_values({f"{t('col.layer')} {r['layer']}": r["stream"][step] for r in n["per_layer"]}),
            key="lesson_streams",
        )

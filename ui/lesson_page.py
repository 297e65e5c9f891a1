"""Lesson: the paper's forward pass, one section per step, with this sentence's real numbers (English or Korean)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from model.analysis.lesson import LessonChoice, lens_numbers, lesson_numbers, position_alternatives
from model.core.hook_names import KINDS
from ui.cache import cached_checkpoint, positional_table
from ui.context import PageContext
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import t
from ui.positional_page import show_formula
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
    """The lesson's numbers for one choice, but the logit lens: the same for every choice, it comes from `cached_lens`
    when its section is drawn (last, so the first pictures do not wait for it)."""
    ckpt = cached_checkpoint(path)
    choice = LessonChoice(kind, layer, head, position)
    return lesson_numbers(ckpt.model, list(src_ids), list(out_ids), choice, with_lens=False)


@st.cache_data(max_entries=16, show_spinner="Every layer's prediction (the logit lens)…")
def cached_lens(path: str, src_ids: tuple, out_ids: tuple) -> list[dict]:
    """Once per translation: at a 256k vocabulary it costs seconds, and another head or piece does not change it."""
    ckpt = cached_checkpoint(path)
    return lens_numbers(ckpt.model, list(src_ids), list(out_ids))


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
    """Which sections to draw (presentation mode: one at a time), each with its figure right under its title, so that
    the picture comes first."""

    def __init__(self, present: bool, chosen: str):
        self.present, self.chosen = present, chosen

    def shown(self, key: str) -> bool:
        return not self.present or key == self.chosen

    def __call__(self, key: str, container=st, **values):
        container.subheader(t(f"{key}.title"))
        slot = container.container()  # the section's figure, right under its title: the picture first
        if key in EQUATIONS:
            container.latex(EQUATIONS[key])
        container.markdown(t(f"{key}.text", **values))
        return slot


@dataclass
class Lesson:
    """What every section reads: the sentence's trace, the model, the chosen head and position, and its numbers."""

    ctx: PageContext
    section: Sections
    kind: str
    layer: int
    head: int
    position: int
    q_tokens: list[str]
    k_tokens: list[str]
    n: dict  # model.analysis.lesson.lesson_numbers

    @property
    def trace(self):
        return self.ctx.trace

    @property
    def translation(self):
        return self.ctx.translation

    @property
    def cfg(self):
        return self.ctx.ckpt.model.cfg

    @property
    def tok(self):
        return self.ctx.ckpt.tokenizer

    @property
    def hd(self) -> dict:
        return self.n["head"]

    @property
    def d(self) -> int:
        return self.cfg.d_model

    @property
    def d_k(self) -> int:
        return self.cfg.d_k

    @property
    def stream_tokens(self) -> list[str]:
        return self.trace.src_tokens if self.kind == "encoder" else self.trace.tgt_tokens

    @property
    def row(self) -> int:
        return min(self.position, len(self.stream_tokens) - 1)

    @property
    def dec_layer(self) -> int:
        return min(self.layer, self.trace.layers("decoder") - 1)

    @property
    def step(self) -> int:
        return min(self.position, len(self.trace.out_tokens) - 1) if self.kind != "encoder" else 0

    def fit(self, fig):
        """Presentation mode: the section's one figure fills the window below its title."""
        return self.ctx.theme.fit(fig, above=60) if self.ctx.theme.present else fig


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    lesson = choose(ctx)
    for sections in (input_sections, attention_sections, layer_sections, output_sections):
        sections(lesson)


def choose(ctx: PageContext) -> Lesson:
    """The row of pickers (presentation mode: the section first, one at a time); the chosen head's numbers."""
    cfg, trace, present = ctx.ckpt.model.cfg, ctx.trace, ctx.theme.present
    cols = st.columns([4, 3, 2, 2, 2] if present else [3, 2, 2, 3, 0.8], vertical_alignment="bottom")
    if present:
        chosen = cols.pop(0).selectbox(
            t("lesson.section"),
            WITH_FIGURE,
            format_func=lambda k: t(f"{k}.title"),
            key="lesson_section",
            label_visibility="collapsed",
        )
    else:
        cols.pop().popover("ⓘ").markdown(t("lesson.intro"))
        chosen = ""
    label = "collapsed"  # one line of pickers: each option says what it is
    kind = cols[0].selectbox(
        t("lesson.kind"), KINDS, format_func=lambda k: t(f"lesson.kind.{k}"), key="lesson_kind", label_visibility=label
    )
    layer = cols[1].selectbox(
        t("lesson.layer"),
        list(range(cfg.layers(kind))),
        index=cfg.layers(kind) - 1,
        key="lesson_layer",
        label_visibility=label,
        format_func=lambda l: f"{t('lesson.layer')} {l}",
    )
    head = cols[2].selectbox(
        t("lesson.head"),
        list(range(cfg.n_heads)),
        key="lesson_head",
        label_visibility=label,
        format_func=lambda h: f"{t('lesson.head')} {h}",
    )
    q_tokens, k_tokens = trace.axis_tokens(kind)
    position = cols[3].selectbox(
        t("lesson.position"),
        list(range(len(q_tokens))),
        format_func=lambda i: f"{t('lesson.position')} {i}: {q_tokens[i]}",
        index=min(1, len(q_tokens) - 1),
        key="lesson_position",
        label_visibility=label,
    )
    translation = ctx.translation
    n = cached_lesson(ctx.path, tuple(translation.src_ids), tuple(translation.out_ids), kind, layer, head, position)
    return Lesson(ctx, Sections(present, chosen), kind, layer, head, position, q_tokens, k_tokens, n)


def input_sections(lesson: Lesson) -> None:
    """Sections 1-3: the pieces, their embeddings and positions."""
    if lesson.section.shown("sec.pieces"):  # the text beside the table: the next section's picture comes sooner
        text, table = st.columns([1, 1], vertical_alignment="center")
        lesson.section("sec.pieces", container=text)
        ids_table = pd.DataFrame(
            [lesson.trace.src_tokens, [str(i) for i in lesson.translation.src_ids]], index=[t("col.piece"), t("col.id")]
        )
        table.dataframe(ids_table, key="lesson_ids")  # all strings: one table column mixes pieces and ids
    if lesson.section.shown("sec.embedding"):
        slot = lesson.section("sec.embedding", scale=lesson.n["embedding_scale"])
        st.caption(t("lesson.first_values", n=6, d=lesson.d))
        st.dataframe(
            first_values({lesson.stream_tokens[lesson.row]: lesson.n["token_embedding"][lesson.row]}), key="lesson_emb"
        )
        show_figure(
            lesson.fit(
                matrix_figure(
                    lesson.n["token_embedding"], lesson.stream_tokens, "E[id] · √d_model", highlight=lesson.position
                )
            ),
            key="lesson_emb_fig",
            container=slot,
        )
    if lesson.section.shown("sec.positions"):
        slot = lesson.section("sec.positions")
        cfg = lesson.ctx.ckpt.model.cfg
        show_formula(cfg)  # what this model adds as PE, beside the paper's where they differ
        st.dataframe(
            first_values(
                {
                    "E·√d": lesson.n["token_embedding"][lesson.row],
                    "PE": lesson.n["positional"][lesson.row],
                    "x": lesson.n["layer_input"][lesson.row],
                }
            ),
            key="lesson_pe",
        )
        show_figure(
            lesson.fit(
                matrix_figure(
                    lesson.n["positional"],
                    [str(i) for i in range(len(lesson.n["positional"]))],
                    "PE",
                    highlight=lesson.row,
                )
            ),
            key="lesson_pe_fig",
            container=slot,
        )
        pe, emb_norm = (
            positional_table(lesson.ctx.path),
            float(np.linalg.norm(lesson.n["token_embedding"], axis=-1).mean()),
        )
        alt = position_alternatives(pe, emb_norm, len(lesson.trace.src_tokens))
        if cfg.position_kind == "learned":  # a learned table: the case for sinusoids is not this model's
            return
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


def attention_sections(lesson: Lesson) -> None:
    """Sections 4-9: one head's attention, step by step, and the heads put together."""
    if lesson.section.shown("sec.qkv"):
        slot = lesson.section("sec.qkv", d_k=lesson.d_k)
        st.dataframe(
            first_values(
                {
                    "q": lesson.hd["q"][lesson.position],
                    "k": lesson.hd["k"][min(lesson.position, len(lesson.hd["k"]) - 1)],
                    "v": lesson.hd["v"][min(lesson.position, len(lesson.hd["v"]) - 1)],
                }
            ),
            key="lesson_qkv",
        )
        left, mid, right = slot.columns(3)
        show_figure(
            lesson.fit(matrix_figure(lesson.hd["q"], lesson.q_tokens, "Q", highlight=lesson.position)),
            key="lesson_q",
            container=left,
        )
        show_figure(lesson.fit(matrix_figure(lesson.hd["k"], lesson.k_tokens, "K")), key="lesson_k", container=mid)
        show_figure(lesson.fit(matrix_figure(lesson.hd["v"], lesson.k_tokens, "V")), key="lesson_v", container=right)
    if lesson.section.shown("sec.scores"):
        lesson.section("sec.scores", sqrt=math.sqrt(lesson.d_k))
        table = pd.DataFrame(
            {
                t("col.key"): lesson.k_tokens,
                "q·k": lesson.hd["q"][lesson.position] @ lesson.hd["k"].T,
                t("col.score"): lesson.hd["scores"][lesson.position],
                "+ M": lesson.hd["masked_scores"][lesson.position],
                t("col.weight"): lesson.hd["weights"][lesson.position],
            }
        )
        st.dataframe(table, key="lesson_scores", hide_index=True)
        ws = lesson.n["why_scale"]
        with st.expander(t("why.scale.title"), expanded=True):
            st.markdown(
                t(
                    "why.scale.text",
                    var=ws["dot_variance"],
                    d_k=lesson.d_k,
                    h_raw=ws["entropy_unscaled_bits"],
                    m_raw=ws["max_weight_unscaled"],
                    h_scaled=ws["entropy_scaled_bits"],
                    m_scaled=ws["max_weight_scaled"],
                    h_uniform=ws["uniform_bits"],
                )
            )
    if lesson.section.shown("sec.mask"):
        show_figure(
            lesson.fit(
                matrix_figure(
                    lesson.hd["masked_scores"],
                    lesson.q_tokens,
                    "QKᵀ/√lesson.d_k + M",
                    highlight=lesson.position,
                    column_labels=lesson.k_tokens,
                )
            ),
            key="lesson_mask",
            container=lesson.section("sec.mask"),
        )
    if lesson.section.shown("sec.softmax"):
        show_figure(
            lesson.fit(
                bars(
                    lesson.k_tokens,
                    lesson.hd["weights"][lesson.position].tolist(),
                    f"softmax · {lesson.q_tokens[lesson.position]}",
                )
            ),
            key="lesson_softmax",
            container=lesson.section("sec.softmax"),
        )
    if lesson.section.shown("sec.weighted_values"):
        lesson.section("sec.weighted_values")
        st.dataframe(first_values({"αV": lesson.hd["head_out"][lesson.position]}), key="lesson_out")
    if lesson.section.shown("sec.concat_heads"):
        lesson.section("sec.concat_heads", h=lesson.cfg.n_heads, d_k=lesson.d_k, d=lesson.d)
        st.dataframe(
            first_values(
                {
                    "concat": lesson.n["heads_concat"][lesson.position],
                    "× W_O + b": lesson.n["heads_concat"][lesson.position] @ lesson.n["w_o"].T + lesson.n["w_o_bias"],
                }
            ),
            key="lesson_concat",
        )


def layer_sections(lesson: Lesson) -> None:
    """Sections 10-12: the sub-layer around attention, the feed-forward network, the stack of layers."""
    if lesson.section.shown("sec.add_norm"):
        lesson.section("sec.add_norm", d=lesson.d)
        sub = lesson.n["heads_concat"][lesson.position] @ lesson.n["w_o"].T + lesson.n["w_o_bias"]
        if lesson.cfg.norm_first:  # this model normalises before each sub-layer: say so, with its own formula
            st.latex(PRE_NORM)
            st.caption(t("lesson.pre_norm"))
        names = (
            ("Sublayer(LayerNorm(x))", "x + Sublayer(LayerNorm(x))")
            if lesson.cfg.norm_first
            else ("Sublayer(x)", "LayerNorm(x + Sublayer(x))")
        )
        st.dataframe(
            first_values(
                {
                    "x": lesson.n["stream_in"][lesson.position],
                    names[0]: sub,
                    names[1]: lesson.n["add_norm_out"][lesson.position],
                }
            ),
            key="lesson_addnorm",
        )
    if lesson.section.shown("sec.feed_forward"):
        lesson.section("sec.feed_forward", d=lesson.d, d_ff=lesson.cfg.d_ff, act=lesson.cfg.activation)
    if lesson.section.shown("sec.layers"):
        lesson.section("sec.layers", n_enc=lesson.cfg.n_encoder_layers, n_dec=lesson.cfg.n_decoder_layers)
        with st.expander(t("why.residual.title"), expanded=True):
            st.markdown(t("why.residual.text"))
            st.dataframe(
                pd.DataFrame(lesson.n["residual"]).rename(
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
        wa = lesson.n["why_attention"]
        with st.expander(t("why.rnn.title"), expanded=True):
            st.markdown(t("why.rnn.text", n=wa["pieces"], rnn=wa["rnn_path"], layers=wa["attention_sequential_steps"]))


def output_sections(lesson: Lesson) -> None:
    """Sections 13-16: the decoder's own attention, cross-attention, the output, layer by layer."""
    if lesson.section.shown("sec.decoder_self"):
        show_figure(
            lesson.fit(
                matrix_figure(
                    lesson.trace.decoder[lesson.dec_layer, lesson.head],
                    lesson.trace.tgt_tokens,
                    f"decoder · layer {lesson.dec_layer} · lesson.head {lesson.head}",
                    column_labels=lesson.trace.tgt_tokens,
                    colorscale="Viridis",
                )
            ),
            key="lesson_dec",
            container=lesson.section("sec.decoder_self"),
        )
    if lesson.section.shown("sec.cross"):
        show_figure(
            lesson.fit(
                matrix_figure(
                    lesson.trace.cross[lesson.dec_layer, lesson.head],
                    lesson.trace.tgt_tokens,
                    f"cross · layer {lesson.dec_layer} · lesson.head {lesson.head}",
                    column_labels=lesson.trace.src_tokens,
                    colorscale="Viridis",
                )
            ),
            key="lesson_cross",
            container=lesson.section("sec.cross"),
        )
    if lesson.section.shown("sec.output"):
        top = lesson.tok.target_pieces(lesson.n["final_top_ids"][lesson.step].tolist())
        show_figure(
            lesson.fit(
                bars(
                    top,
                    lesson.n["final_top_probs"][lesson.step].tolist(),
                    f"P(· | {lesson.trace.tgt_tokens[lesson.step]})",
                )
            ),
            key="lesson_top",
            container=lesson.section("sec.output", v=lesson.cfg.vocab_size),
        )
    if lesson.section.shown("sec.layer_by_layer"):
        lesson.section("sec.layer_by_layer")
        translation = lesson.translation
        per_layer = cached_lens(lesson.ctx.path, tuple(translation.src_ids), tuple(translation.out_ids))
        rows = [
            {
                t("col.layer"): r["layer"],
                t("col.prediction"): " ".join(lesson.tok.target_pieces(r["top_ids"][:, 0].tolist())),
                t("col.prob"): float(r["top_probs"][lesson.step, 0]),
            }
            for r in per_layer
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="lesson_lens")
        st.caption(t("lesson.first_values", n=6, d=lesson.d))
        st.dataframe(
            first_values({f"{t('col.layer')} {r['layer']}": r["stream"][lesson.step] for r in per_layer}),
            key="lesson_streams",
        )

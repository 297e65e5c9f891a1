"""Lesson: the paper's forward pass, one section per step, with this sentence's real numbers (English or Korean)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from model.analysis.lesson import (
    HeadSteps,
    LensLayer,
    LessonChoice,
    LessonNumbers,
    lens_numbers,
    lesson_numbers,
    position_alternatives,
)
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
def cached_lesson(
    path: str, src_ids: tuple, out_ids: tuple, kind: str, layer: int, head: int, position: int
) -> LessonNumbers:
    """The lesson's numbers for one choice, but the logit lens: the same for every choice, it comes from `cached_lens`
    when its section is drawn (last, so the first pictures do not wait for it)."""
    ckpt = cached_checkpoint(path)
    choice = LessonChoice(kind, layer, head, position)
    return lesson_numbers(ckpt.model, list(src_ids), list(out_ids), choice, with_lens=False)


@st.cache_data(max_entries=16, show_spinner="Every layer's prediction (the logit lens)…")
def cached_lens(path: str, src_ids: tuple, out_ids: tuple) -> list[LensLayer]:
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
    numbers: LessonNumbers

    @property
    def trace(self):
        return self.ctx.trace

    @property
    def translation(self):
        return self.ctx.translation

    @property
    def cfg(self):
        return self.ctx.loaded.model.cfg

    @property
    def tokenizer(self):
        return self.ctx.loaded.tokenizer

    @property
    def head_steps(self) -> HeadSteps:
        return self.numbers.head_steps

    @property
    def stream_tokens(self) -> list[str]:
        return self.trace.src_pieces if self.kind == "encoder" else self.trace.tgt_pieces

    @property
    def row(self) -> int:
        return min(self.position, len(self.stream_tokens) - 1)

    @property
    def dec_layer(self) -> int:
        return min(self.layer, self.trace.layers("decoder") - 1)

    @property
    def step(self) -> int:
        return min(self.position, len(self.trace.out_pieces) - 1) if self.kind != "encoder" else 0

    def fit(self, fig):
        """Presentation mode: the section's one figure fills the window below its title."""
        return self.ctx.theme.fit(fig, above=60) if self.ctx.theme.present else fig


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    lesson = choose(ctx)
    for key, draw in SECTIONS:
        if lesson.section.shown(key):
            draw(lesson)


def choose(ctx: PageContext) -> Lesson:
    """The row of pickers (presentation mode: the section first, one at a time); the chosen head's numbers."""
    cfg, trace, present = ctx.loaded.model.cfg, ctx.trace, ctx.theme.present
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
    numbers = cached_lesson(
        ctx.path, tuple(translation.src_ids), tuple(translation.out_ids), kind, layer, head, position
    )
    return Lesson(ctx, Sections(present, chosen), kind, layer, head, position, q_tokens, k_tokens, numbers)


# Sections 1-3: the pieces, their embeddings and positions.


def pieces_section(lesson: Lesson) -> None:
    text, table = st.columns([1, 1], vertical_alignment="center")  # the next section's picture comes sooner
    lesson.section("sec.pieces", container=text)
    ids_table = pd.DataFrame(
        [lesson.trace.src_pieces, [str(i) for i in lesson.translation.src_ids]], index=[t("col.piece"), t("col.id")]
    )
    table.dataframe(ids_table, key="lesson_ids")  # all strings: one table column mixes pieces and ids


def embedding_section(lesson: Lesson) -> None:
    numbers = lesson.numbers
    slot = lesson.section("sec.embedding", scale=numbers.embedding_scale)
    st.caption(t("lesson.first_values", n=6, d=lesson.cfg.d_model))
    st.dataframe(
        first_values({lesson.stream_tokens[lesson.row]: numbers.token_embedding[lesson.row]}), key="lesson_emb"
    )
    figure = matrix_figure(numbers.token_embedding, lesson.stream_tokens, "E[id] · √d_model", highlight=lesson.position)
    show_figure(lesson.fit(figure), key="lesson_emb_fig", container=slot)


def positions_section(lesson: Lesson) -> None:
    numbers, row = lesson.numbers, lesson.row
    slot = lesson.section("sec.positions")
    show_formula(lesson.cfg)  # what this model adds as PE, beside the paper's where they differ
    values = {"E·√d": numbers.token_embedding[row], "PE": numbers.positional[row], "x": numbers.layer_input[row]}
    st.dataframe(first_values(values), key="lesson_pe")
    labels = [str(i) for i in range(len(numbers.positional))]
    figure = matrix_figure(numbers.positional, labels, "PE", highlight=row)
    show_figure(lesson.fit(figure), key="lesson_pe_fig", container=slot)
    if lesson.cfg.position_kind == "learned":  # a learned table: the case for sinusoids is not this model's
        return
    emb_norm = float(np.linalg.norm(numbers.token_embedding, axis=-1).mean())
    alt = position_alternatives(positional_table(lesson.ctx.path), emb_norm, len(lesson.trace.src_pieces))
    with st.expander(t("why.pe.title"), expanded=True):
        st.markdown(
            "- " + t("why.pe.integer", last=alt.integer_last, ratio=alt.integer_last_vs_embedding) + "\n"
            "- " + t("why.pe.fraction", frac=alt.fraction_same_value[0], other=alt.fraction_same_value[1]) + "\n"
            "- " + t("why.pe.sin", norm=alt.sinusoid_norm, dist=alt.sinusoid_min_distance, n=alt.positions_defined)
        )


# Sections 4-9: one head's attention, step by step, and the heads put together.


def qkv_section(lesson: Lesson) -> None:
    steps, position = lesson.head_steps, lesson.position
    slot = lesson.section("sec.qkv", d_k=lesson.cfg.d_k)
    row_k = min(position, len(steps.k) - 1)
    st.dataframe(first_values({"q": steps.q[position], "k": steps.k[row_k], "v": steps.v[row_k]}), key="lesson_qkv")
    left, mid, right = slot.columns(3)
    q_figure = matrix_figure(steps.q, lesson.q_tokens, "Q", highlight=position)
    show_figure(lesson.fit(q_figure), key="lesson_q", container=left)
    show_figure(lesson.fit(matrix_figure(steps.k, lesson.k_tokens, "K")), key="lesson_k", container=mid)
    show_figure(lesson.fit(matrix_figure(steps.v, lesson.k_tokens, "V")), key="lesson_v", container=right)


def scores_section(lesson: Lesson) -> None:
    steps, position, d_k = lesson.head_steps, lesson.position, lesson.cfg.d_k
    lesson.section("sec.scores", sqrt=math.sqrt(d_k))
    table = pd.DataFrame(
        {
            t("col.key"): lesson.k_tokens,
            "q·k": steps.q[position] @ steps.k.T,
            t("col.score"): steps.scores[position],
            "+ M": steps.masked_scores[position],
            t("col.weight"): steps.weights[position],
        }
    )
    st.dataframe(table, key="lesson_scores", hide_index=True)
    why = lesson.numbers.why_scale
    with st.expander(t("why.scale.title"), expanded=True):
        st.markdown(
            t(
                "why.scale.text",
                var=why.dot_variance,
                d_k=d_k,
                h_raw=why.entropy_unscaled_bits,
                m_raw=why.max_weight_unscaled,
                h_scaled=why.entropy_scaled_bits,
                m_scaled=why.max_weight_scaled,
                h_uniform=why.uniform_bits,
            )
        )


def mask_section(lesson: Lesson) -> None:
    figure = matrix_figure(
        lesson.head_steps.masked_scores,
        lesson.q_tokens,
        "QKᵀ/√d_k + M",
        highlight=lesson.position,
        column_labels=lesson.k_tokens,
    )
    show_figure(lesson.fit(figure), key="lesson_mask", container=lesson.section("sec.mask"))


def softmax_section(lesson: Lesson) -> None:
    weights = lesson.head_steps.weights[lesson.position].tolist()
    figure = bars(lesson.k_tokens, weights, f"softmax · {lesson.q_tokens[lesson.position]}")
    show_figure(lesson.fit(figure), key="lesson_softmax", container=lesson.section("sec.softmax"))


def weighted_values_section(lesson: Lesson) -> None:
    lesson.section("sec.weighted_values")
    st.dataframe(first_values({"αV": lesson.head_steps.head_out[lesson.position]}), key="lesson_out")


def concat_heads_section(lesson: Lesson) -> None:
    cfg, numbers, position = lesson.cfg, lesson.numbers, lesson.position
    lesson.section("sec.concat_heads", h=cfg.n_heads, d_k=cfg.d_k, d=cfg.d_model)
    values = {"concat": numbers.heads_concat[position], "× W_O + b": numbers.sublayer_output(position)}
    st.dataframe(first_values(values), key="lesson_concat")


# Sections 10-12: the sub-layer around attention, the feed-forward network, the stack of layers.


def add_norm_section(lesson: Lesson) -> None:
    cfg, numbers, position = lesson.cfg, lesson.numbers, lesson.position
    lesson.section("sec.add_norm", d=cfg.d_model)
    if cfg.norm_first:  # this model normalises before each sub-layer: say so, with its own formula
        st.latex(PRE_NORM)
        st.caption(t("lesson.pre_norm"))
    names = (
        ("Sublayer(LayerNorm(x))", "x + Sublayer(LayerNorm(x))")
        if cfg.norm_first
        else ("Sublayer(x)", "LayerNorm(x + Sublayer(x))")
    )
    values = {
        "x": numbers.stream_in[position],
        names[0]: numbers.sublayer_output(position),
        names[1]: numbers.add_norm_out[position],
    }
    st.dataframe(first_values(values), key="lesson_addnorm")


def feed_forward_section(lesson: Lesson) -> None:
    cfg = lesson.cfg
    lesson.section("sec.feed_forward", d=cfg.d_model, d_ff=cfg.d_ff, act=cfg.activation)


RESIDUAL_COLUMNS = {
    "stack": "col.stack",
    "layer": "col.layer",
    "sublayer": "col.sublayer",
    "residual_norm": "col.residual",
    "sublayer_norm": "col.added",
}


def layers_section(lesson: Lesson) -> None:
    cfg = lesson.cfg
    lesson.section("sec.layers", n_enc=cfg.n_encoder_layers, n_dec=cfg.n_decoder_layers)
    with st.expander(t("why.residual.title"), expanded=True):
        st.markdown(t("why.residual.text"))
        table = pd.DataFrame(lesson.numbers.residual).rename(columns={k: t(v) for k, v in RESIDUAL_COLUMNS.items()})
        st.dataframe(table, hide_index=True, key="lesson_residual")
    paths = lesson.numbers.why_attention
    with st.expander(t("why.rnn.title"), expanded=True):
        st.markdown(t("why.rnn.text", n=paths.pieces, rnn=paths.rnn_path, layers=paths.attention_sequential_steps))


# Sections 13-16: the decoder's own attention, cross-attention, the output, layer by layer.


def attention_map_section(lesson: Lesson, kind: str) -> None:
    """The decoder's self-attention or its cross-attention, at the chosen head (the decoder's layer nearest the
    chosen one)."""
    trace, layer, head = lesson.trace, lesson.dec_layer, lesson.head
    _, k_tokens = trace.axis_tokens(kind)
    figure = matrix_figure(
        trace.attention(kind)[layer, head],
        trace.tgt_pieces,
        f"{kind} · layer {layer} · head {head}",
        column_labels=k_tokens,
        colorscale="Viridis",
    )
    key = {"decoder": "lesson_dec", "cross": "lesson_cross"}[kind]
    section = {"decoder": "sec.decoder_self", "cross": "sec.cross"}[kind]
    show_figure(lesson.fit(figure), key=key, container=lesson.section(section))


def output_section(lesson: Lesson) -> None:
    numbers, step = lesson.numbers, lesson.step
    top = lesson.tokenizer.target_pieces(numbers.final_top_ids[step].tolist())
    figure = bars(top, numbers.final_top_probs[step].tolist(), f"P(· | {lesson.trace.tgt_pieces[step]})")
    show_figure(lesson.fit(figure), key="lesson_top", container=lesson.section("sec.output", v=lesson.cfg.vocab_size))


def layer_by_layer_section(lesson: Lesson) -> None:
    lesson.section("sec.layer_by_layer")
    translation, step, pieces = lesson.translation, lesson.step, lesson.tokenizer.target_pieces
    per_layer = cached_lens(lesson.ctx.path, tuple(translation.src_ids), tuple(translation.out_ids))
    rows = [
        {
            t("col.layer"): lens.layer,
            t("col.prediction"): " ".join(pieces(lens.top_ids[:, 0].tolist())),
            t("col.prob"): float(lens.top_probs[step, 0]),
        }
        for lens in per_layer
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="lesson_lens")
    st.caption(t("lesson.first_values", n=6, d=lesson.cfg.d_model))
    streams = {f"{t('col.layer')} {lens.layer}": lens.stream[step] for lens in per_layer}
    st.dataframe(first_values(streams), key="lesson_streams")


SECTIONS = (  # in the paper's order
    ("sec.pieces", pieces_section),
    ("sec.embedding", embedding_section),
    ("sec.positions", positions_section),
    ("sec.qkv", qkv_section),
    ("sec.scores", scores_section),
    ("sec.mask", mask_section),
    ("sec.softmax", softmax_section),
    ("sec.weighted_values", weighted_values_section),
    ("sec.concat_heads", concat_heads_section),
    ("sec.add_norm", add_norm_section),
    ("sec.feed_forward", feed_forward_section),
    ("sec.layers", layers_section),
    ("sec.decoder_self", lambda lesson: attention_map_section(lesson, "decoder")),
    ("sec.cross", lambda lesson: attention_map_section(lesson, "cross")),
    ("sec.output", output_section),
    ("sec.layer_by_layer", layer_by_layer_section),
)

"""Head analysis: per-head statistics and labels, ablation and importance, rollout and word alignment."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from model.analysis.head_statistics import (
    LABEL_RULES,
    STATS,
    alignment_pairs,
    attention_rollout,
    average_stats,
    source_attribution,
    trace_stats,
)
from model.analysis.importance import sentence_stats, sweep_record
from model.analysis.side_files import read_sweep
from model.core.checkpoint import CheckpointError
from model.core.head_selection import all_heads
from model.core.hook_names import KINDS
from model.decoding.trace import KIND_LABELS
from ui.cache import cached_ablation, cached_quality, validation_sample
from ui.context import PageContext
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import kind_label, t
from ui.text import plain
from ui.theme import TAB_STRIP_PX
from viz.analysis import alignment_figure, head_grid, token_diff
from viz.attention import attention_heatmap, merge_tokens, merge_words


def render(ctx: PageContext) -> None:
    stats_tab, ablation_tab, rollout_tab = st.tabs([t("an.tab_stats"), t("an.tab_ablation"), t("an.tab_rollout")])
    with stats_tab:
        statistics(ctx)
    with ablation_tab:
        ablation(ctx)
    with rollout_tab:
        rollout(ctx)


def progress_bar(label: str):
    bar = st.progress(0.0, text=label)
    return lambda done, total: bar.progress(done / total, text=f"{label} {done}/{total}")


@st.fragment
@guarded
def statistics(ctx: PageContext) -> None:
    row = (
        st.columns([3, 3, 2]) if ctx.theme.present else [st.container()] + st.columns(2)
    )  # presentation: one row of controls
    scope = row[0].radio(
        t("an.over"),
        ["this sentence", "validation sentences"],
        horizontal=True,
        key="stats_scope",
        format_func=lambda o: t("an.scope_sentence") if o == "this sentence" else t("an.scope_validation"),
        label_visibility=ctx.theme.label,
    )
    if scope == "this sentence":
        table = average_stats([trace_stats(ctx.trace)])
    else:
        n = st.number_input(t("an.sentences"), 5, 200, 20, step=5, key="stats_n")
        sample = validation_sample(ctx.loaded.src_lang, ctx.loaded.tgt_lang, n)
        if sample is None:
            st.info(t("an.no_sample", pair=plain(f"{ctx.loaded.src_lang}–{ctx.loaded.tgt_lang}")))
            return
        key = f"stats::{ctx.path}::{ctx.loaded.src_lang}::{ctx.loaded.tgt_lang}::{n}"
        if key not in st.session_state:
            if not st.button(t("an.compute", n=n), key="stats_go"):
                return
            st.session_state[key] = sentence_stats(ctx.loaded, sample[0], progress_bar("Translating"))
        table = st.session_state[key]
    kind = row[1].selectbox(
        t("ctl.attention"), KINDS, format_func=kind_label, key="stats_kind", label_visibility=ctx.theme.label
    )
    stat = row[2].selectbox(t("an.statistic"), STATS, key="stats_value", label_visibility=ctx.theme.label)
    show_figure(
        ctx.theme.fit(
            head_grid(
                table,
                kind,
                stat,
                title=f"{KIND_LABELS[kind]}: {stat} (label = dominant behaviour)",
                colorscale=ctx.theme.colorscale,
            ),
            above=TAB_STRIP_PX,
        ),
        key="stats_grid",
    )
    st.dataframe(table, hide_index=True, key="stats_table")
    st.download_button(
        t("an.stats_csv"), table.to_csv(index=False), "headlight-head-stats.csv", "text/csv", key="stats_csv"
    )
    with st.expander(t("an.labels")):
        st.markdown(t("an.first_rule") + "\n\n" + "\n".join(f"- **{name}**: {rule}" for name, rule, _ in LABEL_RULES))


def head_options(ctx: PageContext) -> tuple[list[str], list[str]]:
    cfg = ctx.loaded.model.cfg
    heads = [f"{k}:{l}:{h}" for k, l, h in all_heads(cfg)]
    layers = [f"{k}:{l}:*" for k in KINDS for l in range(cfg.layers(k))]
    return heads, layers


@st.fragment
@guarded
def ablation(ctx: PageContext) -> None:
    heads, layers = head_options(ctx)
    cols = st.columns(2)
    chosen = cols[0].multiselect(t("an.off_heads"), heads, key="ablate_heads")
    chosen += cols[1].multiselect(t("an.off_layers"), layers, key="ablate_layers")
    spec = ",".join(chosen)
    if not spec:
        st.caption(t("an.pick_off"))
    else:
        original = ctx.translation
        request = ctx.request
        ablated, logprob = cached_ablation(
            request.path,
            request.source,
            request.beam,
            request.max_len,
            request.prefix,
            spec,
            request.src_lang,
            request.tgt_lang,
        )
        tokenizer = ctx.loaded.tokenizer
        st.markdown(t("an.before", text=plain(original.text)))
        marked = " ".join(
            f":red-background[{plain(p)}]" if tag == "changed" else plain(p)
            for p, tag in token_diff(
                tokenizer.target_pieces(original.out_ids), tokenizer.target_pieces(ablated.out_ids)
            )
        )
        st.markdown(t("an.after", text=plain(ablated.text), marked=marked))
        st.metric(t("an.logprob"), f"{logprob:.3f}", f"{logprob - original.score:+.3f}")
        n = st.number_input(t("an.val_n"), 10, 200, 50, step=10, key="ablate_n")
        if validation_sample(ctx.loaded.src_lang, ctx.loaded.tgt_lang, n) and st.button(
            t("an.measure_go"), key="ablate_go"
        ):
            with st.spinner("Translating the validation sample twice…"):
                pair = (ctx.request.src_lang, ctx.request.tgt_lang)
                base, off = cached_quality(ctx.path, n, "", *pair), cached_quality(ctx.path, n, spec, *pair)
            c = st.columns(3)
            c[0].metric(t("an.bleu"), f"{off['bleu']:.2f}", f"{off['bleu'] - base['bleu']:+.2f}")
            c[1].metric(t("an.chrf"), f"{off['chrf']:.2f}", f"{off['chrf'] - base['chrf']:+.2f}")
            c[2].metric(t("an.ref_logprob"), f"{off['logprob']:.3f}", f"{off['logprob'] - base['logprob']:+.3f}")
    importance(ctx)


def importance(ctx: PageContext) -> None:
    st.subheader(t("an.importance"))
    record = st.session_state.get(f"sweep::{ctx.path}")
    if record is None:
        try:
            record = read_sweep(ctx.path)
        except CheckpointError as exc:  # the sweep can still be run here
            st.error(plain(str(exc)))
    n = st.number_input(t("an.sweep_n"), 10, 200, 50, step=10, key="sweep_n")
    sample = validation_sample(ctx.loaded.src_lang, ctx.loaded.tgt_lang, n)
    if sample and st.button(t("an.sweep_go", n=n), key="sweep_go"):
        record = sweep_record(ctx.loaded, *sample, progress_bar("Switching off head"))
        st.session_state[f"sweep::{ctx.path}"] = record
    if record is None:
        st.caption(t("an.no_sweep"))
        return
    table = pd.DataFrame(record["heads"])
    base = record["baseline"]
    st.caption(t("an.drop", n=record["sentences"], bleu=base["bleu"], chrf=base["chrf"]))
    cols = st.columns(2)
    measure = cols[0].selectbox(t("an.measure"), ["bleu_drop", "chrf_drop", "logprob_drop"], key="sweep_measure")
    kinds = [k for k in KINDS if (table["kind"] == k).any()]
    kind = cols[1].selectbox(t("ctl.attention"), kinds, format_func=kind_label, key="sweep_kind")
    show_figure(
        head_grid(table, kind, measure, title=f"{KIND_LABELS[kind]}: {measure}", colorscale="RdBu_r", zmid=0),
        key="sweep_grid",
    )
    st.dataframe(table.sort_values(measure, ascending=False), hide_index=True, key="sweep_table")


@st.fragment
@guarded
def rollout(ctx: PageContext) -> None:
    trace = ctx.trace
    words = st.toggle(t("an.words"), value=True, key="rollout_words")
    src, tgt = trace.src_pieces, trace.tgt_pieces
    roll = attention_rollout(trace.encoder)
    attribution = source_attribution(trace.cross, trace.encoder)
    if words:
        roll = merge_words(roll, trace.src_word_starts, trace.src_word_starts)
        attribution = merge_words(attribution, trace.tgt_word_starts, trace.src_word_starts)
        src, tgt = merge_tokens(src, trace.src_word_starts), merge_tokens(tgt, trace.tgt_word_starts)
    left, right = st.columns(2)
    for values, rows, title, key, place in (
        (roll, src, "Encoder attention rollout", "rollout_encoder", left),
        (attribution, tgt, "Source attribution of each target position", "rollout_attribution", right),
    ):
        heatmap = attention_heatmap(
            values,
            rows,
            src,
            title=title,
            colorscale=ctx.theme.colorscale,
            font_size=ctx.theme.font_size,
            zmax=float(values.max()),
        )
        show_figure(heatmap, key=key, container=place)
    st.caption(t("an.rollout"))
    st.subheader(t("an.alignment"))
    cfg = ctx.loaded.model.cfg
    cols = st.columns(3)
    layer = cols[0].selectbox(t("ctl.layer"), ["all"] + list(range(cfg.n_decoder_layers)), key="align_layer")
    head = cols[1].selectbox(t("ctl.head"), ["mean"] + list(range(cfg.n_heads)), key="align_head")
    threshold = cols[2].slider(t("an.links"), 0.0, 1.0, 0.3, 0.05, key="align_threshold")
    cross = trace.cross if layer == "all" else trace.cross[[layer]]
    matrix = cross.mean(axis=(0, 1)) if head == "mean" else cross[:, head].mean(0)
    # row t of cross-attention produced piece t + 1: group and label target rows by what they produced
    out_starts = ctx.word_starts(trace.out_pieces)  # a language code stays a word of its own
    matrix = merge_words(matrix, out_starts, trace.src_word_starts)
    src_words = merge_tokens(trace.src_pieces, trace.src_word_starts)
    produced = merge_tokens(trace.out_pieces, out_starts)
    show_figure(
        alignment_figure(
            matrix,
            src_words,
            produced,
            threshold,
            title="Lines: target word (below) → source words it attended to (above)",
        ),
        key="align_fig",
    )
    pairs = alignment_pairs(matrix)
    st.dataframe(
        pd.DataFrame(
            [(produced[t], src_words[s], w) for t, s, w in pairs], columns=["target", "strongest source", "weight"]
        ),
        hide_index=True,
        key="align_table",
    )

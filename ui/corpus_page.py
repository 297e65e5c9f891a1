"""Heads across a corpus: one dashboard per (kind, layer, head), from the checkpoint's corpus run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from model.analysis.corpus_run import CorpusError, CorpusSummary, corpus_summary
from model.analysis.head_statistics import STATS
from model.analysis.side_files import read_alignment_table
from model.core.checkpoint import CheckpointError
from ui.context import PageContext
from ui.controls import kind_layer_head
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import t
from ui.text import plain
from ui.url import write_url
from viz.analysis import head_grid
from viz.corpus_heads import against_all_heads, extremes_table, heads_scatter, qk_projection, typical_pattern


@st.cache_data(max_entries=4, show_spinner="Reading the corpus run…")
def cached_summary(folder: str, mtime: float) -> CorpusSummary:
    """`mtime` (progress.json's) is only part of the cache key: a run that goes on is read again."""
    return corpus_summary(Path(folder))


def alignment_section(ctx: PageContext) -> None:
    """AER of every cross head against human gold alignments, from `python -m model.align_eval --out
    DIR/alignment_GOLD.csv`."""
    files = sorted(Path(ctx.path).glob("alignment_*.csv"))
    if not files:
        return
    st.subheader(t("hs.aer"))
    for file in files:
        try:
            table = read_alignment_table(file)
        except CheckpointError as exc:  # the other tables still show
            st.error(plain(str(exc)))
            continue
        gold = file.stem.removeprefix("alignment_")
        measure = st.selectbox(
            t("hs.variant", gold=plain(gold)), [c for c in table.columns if c.startswith("aer")], key=f"aer_{gold}"
        )
        heads = table[table["head"] != "mean"].astype({"head": int}).assign(kind="cross")
        left, right = st.columns([3, 2])
        show_figure(
            head_grid(heads, "cross", measure, title=f"{gold}: {measure} per cross head", colorscale="Viridis_r"),
            key=f"aer_grid_{gold}",
            container=left,
        )
        right.dataframe(table.sort_values(measure).head(10), hide_index=True, key=f"aer_table_{gold}")


@st.fragment
@guarded
def render(ctx: PageContext) -> None:
    folder = Path(ctx.path) / "corpus"
    if not (folder / "progress.json").is_file():
        st.info(t("hs.no_corpus"))
        st.code(f"python -m model.corpus --checkpoint {ctx.path} --input SENTENCES --out {folder}", language="bash")
        alignment_section(ctx)
        return
    try:
        summary = cached_summary(str(folder), (folder / "progress.json").stat().st_mtime)
        for problem in summary.problems:  # chunks left out: the rest of the run is shown
            st.warning(plain(problem))
        dashboard(ctx, summary)
    except CorpusError as exc:  # the alignment tables below do not depend on the run
        st.error(plain(str(exc)))
    alignment_section(ctx)


def dashboard(ctx: PageContext, summary: CorpusSummary) -> None:
    """One head against all heads, its most extreme sentences and typical pattern, two statistics across heads, and
    its queries and keys."""
    row = st.columns(3)
    if ctx.theme.present:
        sel = kind_layer_head(ctx.trace, allow_mean=False, containers=row, compact=True)
    else:
        sel = kind_layer_head(ctx.trace, allow_mean=False, columns=row)
    write_url(kind=sel.kind, layer=sel.layer, head=sel.head)
    chosen = summary.head_index(sel.kind, sel.layer, sel.head)
    table = summary.head_table()
    stats = [s for s in STATS if np.isfinite(table[s].to_numpy(dtype=float)).any()]
    if not ctx.theme.present:  # presentation mode: the picture first
        st.caption(run_line(summary))
    show_figure(ctx.theme.fit(against_all_heads(table, stats, chosen)), key="heads_against")
    if ctx.theme.present:
        st.caption(run_line(summary))
    left, right = st.columns(2)
    stat = left.selectbox(
        t("hs.extreme"), [s for s in stats if np.isfinite(summary.head_values(chosen, s)).any()], key="heads_stat"
    )
    top = summary.extremes(chosen, stat)
    link = {"ckpt": ctx.loaded.name, "view": "translate", "kind": sel.kind, "layer": sel.layer, "head": sel.head}
    left.dataframe(
        extremes_table(stat, summary.head_values(chosen, stat)[top], [str(s) for s in summary.source[top]], link),
        hide_index=True,
        key="heads_top",
        column_config={"open": st.column_config.LinkColumn("open", display_text="open in Translate")},
    )
    show_figure(typical_pattern(summary.pattern[chosen], sel.kind == "cross"), key="heads_pattern", container=right)
    sx, sy = st.columns(2)
    x = sx.selectbox(t("hs.x"), stats, index=stats.index("entropy"), key="heads_x")
    y = sy.selectbox(t("hs.y"), stats, index=stats.index("max_weight") if "max_weight" in stats else 0, key="heads_y")
    show_figure(heads_scatter(table, x, y, chosen), key="heads_scatter")
    points = summary.projection(chosen, sel.kind)
    color_by = st.radio(t("hs.colour"), ["query/key", "position"], horizontal=True, key="heads_color")
    show_figure(
        qk_projection(
            points.queries,
            points.keys,
            points.query_labels,
            points.key_labels,
            points.query_positions,
            points.key_positions,
            color_by,
        ),
        key="heads_qk",
    )


def run_line(summary: CorpusSummary) -> str:
    """How the run was made: sentences, time, memory, greedy or teacher-forced, and low-precision weights."""
    run = summary.run
    how = t("hs.forced") if run.teacher_forced else t("hs.greedy")
    line = t("hs.run", n=run.done, s=run.seconds, mb=run.peak_rss_mb, how=how)
    if run.weights != "float32":  # an opt-in low-precision run: its numbers are not float32's
        line += " " + t("hs.weights", weights=plain(run.weights))
    return line

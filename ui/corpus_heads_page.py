"""Heads across a corpus: one dashboard per (kind, layer, head), from the checkpoint's corpus run."""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from model.analysis.corpus import CorpusError, corpus_summary, joint_projection
from model.analysis.head_statistics import STATS
from model.analysis.side_files import read_alignment_table
from model.core.checkpoint import CheckpointError
from model.core.hook_names import KINDS
from ui.context import PageContext
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import kind_label, t
from ui.text import plain
from ui.url import write_url
from viz.analysis import head_grid
from viz.corpus_heads import against_all_heads, heads_scatter, qk_projection, typical_pattern


@st.cache_data(max_entries=4, show_spinner="Reading the corpus run…")
def cached_summary(folder: str, stamp: float) -> dict:
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
            t("hs.variant", gold=gold), [c for c in table.columns if c.startswith("aer")], key=f"aer_{gold}"
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
        st.info(
            t(
                "hs.no_corpus",
                command=f"`python -m model.corpus --checkpoint {ctx.path} --input SENTENCES --out {folder}`",
            )
        )
        alignment_section(ctx)
        return
    try:
        data = cached_summary(str(folder), (folder / "progress.json").stat().st_mtime)
    except CorpusError as exc:  # the alignment tables below do not depend on the run
        st.error(plain(str(exc)))
        alignment_section(ctx)
        return
    for problem in data["problems"]:  # chunks left out: the rest of the run is shown
        st.warning(plain(problem))
    meta = data["meta"]
    heads = [tuple(h) for h in meta["heads"]]
    with (
        warnings.catch_warnings()
    ):  # a statistic that a kind does not have (e.g. monotonicity of self-attention) is all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        table = pd.DataFrame(np.nanmean(data["stats"], axis=0), columns=STATS)
    table.insert(0, "kind", [h[0] for h in heads])
    table.insert(1, "layer", [h[1] for h in heads])
    table.insert(2, "head", [h[2] for h in heads])
    table["name"] = [f"{k} {l}:{h}" for k, l, h in heads]
    present = ctx.theme.present
    cols = st.columns(3)
    kind = cols[0].selectbox(
        t("ctl.attention"), KINDS, format_func=kind_label, key="kind", label_visibility=ctx.theme.label
    )
    layers = sorted({h[1] for h in heads if h[0] == kind})
    layer = int(st.session_state.get("layer", -1))
    layer = cols[1].selectbox(
        t("ctl.layer"),
        layers,
        index=layers.index(layer) if layer in layers else len(layers) - 1,
        key="heads_layer",
        label_visibility=ctx.theme.label,
        format_func=lambda l: f"{t('ctl.layer')} {l}" if present else str(l),
    )
    head_ids = sorted({h[2] for h in heads if h[0] == kind})
    current = st.session_state.get("head", "0")
    head = cols[2].selectbox(
        t("ctl.head"),
        head_ids,
        index=head_ids.index(int(current)) if str(current).isdigit() and int(current) in head_ids else 0,
        key="heads_head",
        label_visibility=ctx.theme.label,
        format_func=lambda h: f"{t('ctl.head')} {h}" if present else str(h),
    )
    write_url(kind=kind, layer=layer, head=head)
    chosen = heads.index((kind, layer, head))
    run_line = t(
        "hs.run",
        n=meta["done"],
        s=meta["seconds"],
        mb=meta.get("peak_rss_mb", 0),
        how=t("hs.forced") if meta.get("teacher_forced") else t("hs.greedy"),
    )
    if meta.get("weights", "float32") != "float32":  # an opt-in low-precision run: its numbers are not float32's
        run_line += " " + t("hs.weights", weights=plain(meta["weights"]))
    if not present:  # presentation mode: the picture first
        st.caption(run_line)
    stats = [s for s in STATS if np.isfinite(table[s].to_numpy(dtype=float)).any()]
    show_figure(ctx.theme.fit(against_all_heads(table, stats, chosen)), key="heads_against")
    if present:
        st.caption(run_line)
    left, right = st.columns(2)
    stat = left.selectbox(
        t("hs.extreme"),
        [s for s in stats if np.isfinite(data["stats"][:, chosen, STATS.index(s)]).any()],
        key="heads_stat",
    )
    values = data["stats"][:, chosen, STATS.index(stat)]
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf))[:8]
    rows = []
    for i in order:
        link = "?" + urlencode(
            {
                "text": str(data["source"][i]),
                "ckpt": ctx.ckpt.name,
                "view": "translate",
                "kind": kind,
                "layer": layer,
                "head": head,
            }
        )
        rows.append({stat: float(values[i]), "sentence": str(data["source"][i]), "open": link})
    left.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        key="heads_top",
        column_config={"open": st.column_config.LinkColumn("open", display_text="open in Translate")},
    )
    show_figure(typical_pattern(data["pattern"][chosen], kind == "cross"), key="heads_pattern", container=right)
    sx, sy = st.columns(2)
    x = sx.selectbox(t("hs.x"), stats, index=stats.index("entropy"), key="heads_x")
    y = sy.selectbox(t("hs.y"), stats, index=stats.index("max_weight") if "max_weight" in stats else 0, key="heads_y")
    show_figure(heads_scatter(table, x, y, chosen), key="heads_scatter")
    q, k = data["q"][:, chosen].reshape(-1, data["q"].shape[-1]), data["k"][:, chosen].reshape(-1, data["k"].shape[-1])
    q_ok, k_ok = np.isfinite(q).all(1), np.isfinite(k).all(1)
    q_axis, k_axis = ("src", "src") if kind == "encoder" else ("tgt", "tgt") if kind == "decoder" else ("tgt", "src")
    tokens = {
        "src": [str(t).split(" ") for t in data["src_tokens"]],
        "tgt": [str(t).split(" ") for t in data["tgt_tokens"]],
    }
    n_sent, samples = data["q"].shape[0], data["q"].shape[2]
    sent = np.repeat(np.arange(n_sent), samples)
    q_pos, k_pos = data["q_pos"][:, chosen].reshape(-1), data["k_pos"][:, chosen].reshape(-1)

    def label(axis, s, p):
        toks = tokens[axis][s]
        return f"{toks[p] if 0 <= p < len(toks) else '?'} · {str(data['source'][s])[:60]}"

    q2, k2 = joint_projection(q[q_ok].astype(np.float32), k[k_ok].astype(np.float32))
    color_by = st.radio(t("hs.colour"), ["query/key", "position"], horizontal=True, key="heads_color")
    show_figure(
        qk_projection(
            q2,
            k2,
            [label(q_axis, s, p) for s, p in zip(sent[q_ok], q_pos[q_ok])],
            [label(k_axis, s, p) for s, p in zip(sent[k_ok], k_pos[k_ok])],
            q_pos[q_ok],
            k_pos[k_ok],
            color_by,
        ),
        key="heads_qk",
    )
    alignment_section(ctx)

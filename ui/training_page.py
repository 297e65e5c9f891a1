"""Training: the model's training film (how its heads' attention changed while it learnt), or the live lab's as it
learns; the loss and BLEU curves and every head's statistic over training below it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from model.analysis.film import Film, FilmError, has_film, load_film
from model.analysis.head_statistics import STATS
from model.core.head_selection import head_value
from model.core.hook_names import KINDS
from model.decoding.trace import KIND_LABELS
from model.links.parameters import link_value
from ui import lab_panel
from ui.cache import available_checkpoints
from ui.context import PageContext
from ui.controls import Selection, describe, kind_layer_head, produced_pieces, selected_matrix
from ui.errors import guarded
from ui.figure import show_figure
from ui.i18n import t
from ui.text import plain
from ui.theme import Theme
from ui.url import write_url
from viz.attention import attention_heatmap
from viz.film import film_grid, film_heatmap, head_timeline, training_curves

POLL_S = 1.0  # while a lab trains: how often the view looks for a new frame on disk
KEPT = ("kind", "layer", "head", "frame", "film_sentence", "film_grid", "film_stat")
_LAST_GOOD: dict[str, Film] = {}  # a live film's last readable state (a frame may be half-written when looked at)


class FilmShape:
    """What the kind / layer / head pickers (ui/controls.py) ask of a trace, for a film."""

    def __init__(self, film: Film):
        self.film = film

    def layers(self, kind: str) -> int:
        return self.film.layers[kind]

    def heads(self, kind: str) -> int:
        return self.film.heads


def stamp(folder: Path) -> tuple:
    """Changes whenever the film on disk does (the recorder replaces both files whole)."""
    out = []
    for name in ("film.json", "film.npz"):
        try:
            info = (folder / name).stat()
            out += [info.st_mtime_ns, info.st_size]
        except OSError:
            out += [0, 0]
    return tuple(out)


@st.cache_resource(max_entries=6, show_spinner=False)
def cached_film(folder: str, when: tuple) -> Film:
    """One loaded film per folder and state on disk, shared by all sessions (never changed)."""
    return load_film(Path(folder))


def read_film(folder: Path, live: bool) -> Film:
    """The film in `folder`; while it is being written (`live`), its last readable state."""
    try:
        film = cached_film(str(folder), stamp(folder))
    except FilmError:
        if live and str(folder) in _LAST_GOOD:
            return _LAST_GOOD[str(folder)]
        raise
    if live:
        _LAST_GOOD[str(folder)] = film
    return film


def films_elsewhere(this: str) -> list[str]:
    """Names of the other checkpoints that have a film."""
    return [p.name for p in available_checkpoints() if p.name != this and has_film(p)]


def render(ctx: PageContext) -> None:
    lab = lab_panel.current()
    live_lab = lab is not None and lab.running()
    source = st.session_state.get("film_source", "lab" if live_lab else "model")
    if source == "lab" and lab is None:
        source = "model"
    st.session_state.film_source = source
    watching = source == "lab"
    folder = lab.film_folder() if watching else Path(ctx.path)
    live = watching and live_lab
    section = st.fragment(film_section, run_every=POLL_S if live else None)
    section(ctx, folder, live)
    lab_panel.panel(watching=live)


@guarded
def film_section(ctx: PageContext, folder: Path, live: bool) -> None:
    for key in KEPT:  # a fragment run that does not draw a widget (no frame yet) would forget its value
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    lab = lab_panel.current()
    if live and not lab.running():  # it has just finished: the whole page again, the picker lists its model
        st.rerun()
    if lab is not None:
        st.radio(
            t("training.source"),
            ["model", "lab"],
            format_func=lambda s: t(f"training.source.{s}", name=plain(ctx.request.checkpoint), lab=plain(lab.name)),
            key="film_source",
            horizontal=True,
            label_visibility=ctx.theme.label,
        )
    if live:
        lab_panel.progress(lab)
    if not has_film(folder):
        if live:  # no frame yet
            st.info(t("training.waiting"))
            return
        no_film(ctx)
        return
    try:
        film = read_film(folder, live)
    except FilmError as exc:
        st.error(t("training.bad_film", why=plain(exc)))
        return
    show_film(ctx, film, folder, live)


def no_film(ctx: PageContext) -> None:
    """One sentence (which model has a film, or the lab), and the picture there is: the finished model's attention
    for the typed sentence, the film's last frame had there been one."""
    others = films_elsewhere(ctx.request.checkpoint)
    name = plain(ctx.request.checkpoint)
    if others:
        st.info(t("training.no_film_other", name=name, other=plain(others[0])))
    else:
        st.info(t("training.no_film_lab", name=name))
    trace = ctx.trace
    sel = (
        kind_layer_head(trace, containers=st.columns(3), compact=True) if ctx.theme.present else kind_layer_head(trace)
    )
    matrix, q_tokens, k_tokens = selected_matrix(trace, sel, words=False)
    fig = attention_heatmap(
        matrix,
        q_tokens,
        k_tokens,
        title=f"{describe(sel)}: the finished model (no film)",
        colorscale=ctx.theme.colorscale,
        font_size=ctx.theme.font_size,
        produced=produced_pieces(trace, sel.kind, words=False),
    )
    show_figure(ctx.theme.fit(fig), key="training_no_film")
    write_url(kind=sel.kind, layer=sel.layer, head=head_value(sel.head))


@st.cache_resource(max_entries=16, show_spinner=False)
def cached_film_figure(
    _film: Film,
    folder: str,
    when: tuple,
    sentence: int,
    kind: str,
    layer: int,
    head: int | None,
    grid: bool,
    start: int,
    present: bool,
    screen: int,
):
    """The film's figure for one selection, every frame in it: built once per film state on disk (`folder`, `when`)
    and selection, shared by all sessions, never changed after."""
    film, theme = _film, Theme.for_mode(present, screen)
    s = film.sentences[sentence]
    steps, epochs = film.steps(), [f.epoch for f in film.frames]
    translations = [f.translations[sentence] if sentence < len(f.translations) else None for f in film.frames]
    attention = film.attention[sentence, kind]
    font = max(theme.font_size, 18) if theme.present else theme.font_size
    height = theme.main_figure_height if theme.present else None
    if grid:
        return film_grid(
            attention, steps, epochs, translations, KIND_LABELS[kind], start, theme.colorscale, font, height
        )
    sel = Selection(kind, layer, head)
    matrix = attention[:, layer].mean(1) if head is None else attention[:, layer, head]
    q_tokens, k_tokens = s.axes(kind)
    return film_heatmap(
        matrix, q_tokens, k_tokens, steps, epochs, translations, describe(sel), start, theme.colorscale, font, height
    )


def statistics_of(film: Film) -> list[str]:
    """The statistics the film has a value of for some head."""
    return [name for name in (*STATS, "aer") if any(np.isfinite(film.statistic(name, k)).any() for k in KINDS)]


def show_film(ctx: PageContext, film: Film, folder: Path, live: bool) -> None:
    present = ctx.theme.present
    s = st.session_state
    n = len(film.frames)
    if s.get("film_sentence", 0) not in range(len(film.sentences)):
        s.film_sentence = 0
    shape = FilmShape(film)
    if present:  # one row: sentence, kind, layer, head; the figure switches frames itself
        row = st.columns([3, 2, 2, 2])
        sentence_picker(film, row[0], collapsed=True)
        sel = kind_layer_head(shape, containers=row[1:], compact=True)
        grid = False
    else:
        row = st.columns([3, 2, 2, 2, 1.3], vertical_alignment="bottom")
        sentence_picker(film, row[0], collapsed=False)
        sel = kind_layer_head(shape, columns=row[1:4])
        grid = row[4].toggle(t("training.grid"), key="film_grid", help=t("training.grid_help"))
    frame = int(s.get("frame", -1))
    start = -1 if live or frame < 0 or frame >= n else frame
    theme = ctx.theme
    when = stamp(folder)
    fig = cached_film_figure(
        film,
        str(folder),
        when,
        s.film_sentence,
        sel.kind,
        sel.layer,
        sel.head,
        grid,
        start,
        theme.present,
        theme.screen_height,
    )
    show_figure(ctx.theme.fill_window(fig), key="training_film")
    write_url(
        kind=sel.kind,
        layer=sel.layer,
        head=head_value(sel.head),
        frame=link_value("frame", -1 if start == -1 else start),
    )
    if present:
        return
    st.caption(t("training.look"))
    below(film, start % n)


def sentence_picker(film: Film, where, collapsed: bool) -> None:
    where.selectbox(
        t("training.sentence"),
        list(range(len(film.sentences))),
        format_func=lambda i: film.sentences[i].source[:70],
        key="film_sentence",
        label_visibility="collapsed" if collapsed else "visible",
    )


def below(film: Film, current: int) -> None:
    """The frame the curves mark (the film's first frame on the page), the curves, and every head over training."""
    steps = film.steps()
    cols = st.columns([3, 2], vertical_alignment="bottom")
    st.session_state.film_frame_pick = current
    cols[0].select_slider(
        t("training.frame"),
        list(range(len(steps))),
        format_func=lambda i: f"{steps[i]}",
        key="film_frame_pick",
        on_change=pick_frame,
        args=(len(steps),),
        help=t("training.frame_help"),
    )
    names = statistics_of(film)
    if st.session_state.get("film_stat") not in names:
        st.session_state.film_stat = "aer" if "aer" in names else "max_weight"
    statistic = cols[1].selectbox(
        t("training.statistic"), names, format_func=lambda x: t(f"training.stat.{x}"), key="film_stat"
    )
    frames = film.frames
    curves = training_curves(
        steps,
        [f.epoch for f in frames],
        [f.train_loss for f in frames],
        [f.val_loss for f in frames],
        [f.bleu for f in frames],
        current,
    )
    show_figure(curves, key="training_curves")
    timeline = head_timeline(
        {kind: film.statistic(statistic, kind) for kind in KINDS}, KIND_LABELS, steps, statistic, current
    )
    show_figure(timeline, key="training_timeline")


def pick_frame(n: int) -> None:
    picked = int(st.session_state.film_frame_pick)
    st.session_state.frame = -1 if picked == n - 1 else picked

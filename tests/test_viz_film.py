"""The training film's pictures against hand-written arrays: each frame holds its own matrix and title, the slider and
▶ animate the frames in the browser, the curves sit on a log axis with update 0 drawn, every head's statistic lands in
its row and column."""

from __future__ import annotations

import numpy as np
import pytest

from viz.film import ZERO_AT, film_grid, film_heatmap, head_timeline, log_ticks, slider_labels, training_curves

STEPS = [0, 1, 10, 100]
EPOCHS = [0.0, 0.01, 0.1, 1.0]
TRANSLATIONS = ["", "Ein", "Ein Mann", "Ein <b>Mann</b> läuft"]


def grid(z) -> list[list[float]]:
    return [list(row) for row in z]


def one_hot_film() -> np.ndarray:
    """[4 frames, 2 queries, 3 keys]: frame f puts all of query 0's weight on key f % 3 and query 1's on key 2."""
    a = np.zeros((4, 2, 3))
    for f in range(4):
        a[f, 0, f % 3] = 1.0
        a[f, 1, 2] = 1.0
    return a


def test_each_frame_holds_its_own_matrix_and_title():
    fig = film_heatmap(one_hot_film(), ["<s>", "▁Ein"], ["▁A", "▁man", "</s>"], STEPS, EPOCHS, TRANSLATIONS, "cross")
    frames = fig.frames
    assert [f.name for f in frames] == ["0", "1", "2", "3"]
    assert grid(frames[1].data[0].z) == [[0, 1, 0], [0, 0, 1]]  # frame 1: query 0 on key 1
    assert grid(frames[3].data[0].z) == [[1, 0, 0], [0, 0, 1]]  # frame 3: key 3 % 3 = 0
    assert frames[2].layout.title.text == "<b>cross · update 10 · epoch 0.10</b>"
    assert frames[2].layout.title.subtitle.text == "→ Ein Mann"
    assert frames[0].layout.title.subtitle.text == "→ (empty)"  # an empty translation is said, not blank
    assert (
        frames[3].layout.title.subtitle.text == "→ Ein &lt;b&gt;Mann&lt;/b&gt; läuft"
    )  # a translation is text, never markup
    # opens at the last frame by default: its matrix and its title
    assert (
        grid(fig.data[0].z) == grid(frames[3].data[0].z)
        and fig.layout.title.subtitle.text == frames[3].layout.title.subtitle.text
    )
    # numeric axes labelled with the pieces (Plotly would merge repeated category labels)
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2] and list(fig.layout.xaxis.ticktext) == [
        "▁A",
        "▁man",
        "&lt;/s&gt;",
    ]
    assert list(fig.data[0].x) == [0, 1, 2] and list(fig.data[0].y) == [0, 1]


def test_the_slider_and_play_animate_frames_in_the_browser():
    fig = film_heatmap(one_hot_film(), ["a", "b"], ["x", "y", "z"], STEPS, EPOCHS, TRANSLATIONS, "cross", start=1)
    slider = fig.layout.sliders[0]
    assert slider.active == 1 and grid(fig.data[0].z) == grid(fig.frames[1].data[0].z)
    assert [s.method for s in slider.steps] == ["animate"] * 4
    assert [list(s.args[0]) for s in slider.steps] == [["0"], ["1"], ["2"], ["3"]]  # each step names its frame
    assert [s.label for s in slider.steps] == ["0", "1", "10", "100"]
    play, pause = fig.layout.updatemenus[0].buttons
    assert play.method == "animate" and play.args[0] is None and play.args[1]["fromcurrent"]
    assert list(pause.args[0]) == [None] and pause.args[1]["mode"] == "immediate"


def test_only_about_eight_slider_labels_are_written():
    labels = slider_labels(list(range(0, 600, 10)))  # 60 frames: every 8th, and the last
    written = [x for x in labels if x]
    assert written == ["0", "80", "160", "240", "320", "400", "480", "560", "590"]


def test_a_film_that_does_not_fit_its_titles_is_refused():
    with pytest.raises(ValueError, match="4 frames"):
        film_heatmap(one_hot_film(), ["a", "b"], ["x", "y", "z"], STEPS[:3], EPOCHS, TRANSLATIONS, "cross")
    with pytest.raises(ValueError, match="does not fit"):
        film_heatmap(one_hot_film(), ["a"], ["x", "y", "z"], STEPS, EPOCHS, TRANSLATIONS, "cross")


def test_the_grid_holds_every_head_of_every_frame():
    a = np.zeros((4, 2, 3, 2, 2))  # frames, layers, heads, q, k: the value names its frame, layer and head
    for f in range(4):
        for layer in range(2):
            for head in range(3):
                a[f, layer, head] = f / 10 + layer / 100 + head / 1000
    fig = film_grid(a, STEPS, EPOCHS, TRANSLATIONS, "cross", start=0)
    assert len(fig.data) == 6 and all(len(frame.data) == 6 for frame in fig.frames)
    assert list(fig.frames[2].traces) == [0, 1, 2, 3, 4, 5]
    # trace 5 is layer 1, head 2; in frame 2 its value is 0.2 + 0.01 + 0.002, kept to 2 decimals
    assert fig.frames[2].data[5].z[0][0] == 0.21
    assert fig.data[4].z[1][1] == 0.01  # opens at frame 0, to as many decimals as every frame: layer 1, head 1
    for start in (0, 2):  # the frame it opens at is that animation frame, digit for digit
        fig = film_grid(a, STEPS, EPOCHS, TRANSLATIONS, "cross", start=start)
        assert [trace.z for trace in fig.data] == [trace.z for trace in fig.frames[start].data]
    assert fig.layout.meta["layers"] == 2 and fig.layout.meta["heads"] == 3


def test_the_curves_put_update_zero_on_the_log_axis_and_mark_the_frame():
    fig = training_curves(STEPS, EPOCHS, [None, 5.0, 4.0, 3.0], [6.0, 5.5, None, 2.5], [None, None, None, 20.0], 2)
    by_name = {trace.name: trace for trace in fig.data}
    assert list(by_name["training loss"].x) == [1.0, 10.0, 100.0]  # no value at update 0: left out, never a zero
    assert list(by_name["validation loss"].x) == [ZERO_AT, 1.0, 100.0] and list(by_name["validation loss"].y) == [
        6.0,
        5.5,
        2.5,
    ]
    assert list(by_name["validation BLEU"].y) == [20.0] and by_name["validation BLEU"].yaxis == "y2"
    line = fig.layout.shapes[0]
    assert line.x0 == line.x1 == 10.0  # frame 2 is update 10
    assert fig.layout.xaxis.type == "log"
    assert list(fig.layout.xaxis.tickvals) == [ZERO_AT, 1, 10, 100] and list(fig.layout.xaxis.ticktext) == [
        "0",
        "1",
        "10",
        "100",
    ]


def test_log_ticks_reach_the_last_update():
    assert log_ticks(999) == ([ZERO_AT, 1.0, 10.0, 100.0], ["0", "1", "10", "100"])
    assert log_ticks(1000)[1][-1] == "1,000"


def test_every_head_of_every_kind_has_its_row_and_each_frame_its_column():
    frames, layers, heads = 4, 2, 3
    values = {}
    for k, kind in enumerate(("encoder", "decoder", "cross")):
        v = np.zeros((frames, layers, heads))
        for f in range(frames):
            for layer in range(layers):
                for head in range(heads):
                    v[f, layer, head] = (k * 1000 + f * 100 + layer * 10 + head) / 10000
        values[kind] = v
    labels = {"encoder": "Encoder", "decoder": "Decoder", "cross": "Cross"}
    fig = head_timeline(values, labels, STEPS, "max_weight", current=1)
    assert len(fig.data) == 3 and [a.text for a in fig.layout.annotations] == ["Encoder", "Decoder", "Cross"]
    cross = fig.data[2]
    # row = layer * heads + head, column = frame: layer 1, head 2 (row 5) at frame 3 of cross is 0.2000+0.0300+0.0012
    assert cross.z[5][3] == pytest.approx(0.2312)
    assert list(fig.layout.yaxis3.ticktext) == ["L0 H0", "L0 H1", "L0 H2", "L1 H0", "L1 H1", "L1 H2"]
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)  # a share: always 0..1
    outlines = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(outlines) == 3 and all((s.x0, s.x1) == (0.5, 1.5) for s in outlines)  # frame 1 outlined
    separators = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.y0 for s in separators] == [2.5, 2.5, 2.5]  # between layer 0's three heads and layer 1's


def test_a_statistic_only_some_kinds_have_leaves_the_others_out():
    nan = np.full((4, 1, 2), np.nan)
    aer = np.array([0.9, 0.7, 0.4, 0.2])[:, None, None] * np.ones((4, 1, 2))
    fig = head_timeline({"encoder": nan, "decoder": nan, "cross": aer}, {"cross": "Cross"}, STEPS, "aer")
    assert len(fig.data) == 1 and fig.layout.meta["kinds"] == ["cross"]
    assert list(fig.data[0].z[1]) == [0.9, 0.7, 0.4, 0.2]
    assert fig.layout.coloraxis.colorscale[0][1] != fig.layout.coloraxis.colorscale[-1][1]
    assert fig.layout.coloraxis.colorscale[0][1].lower() == "#fde725"  # reversed: a low error is bright
    with pytest.raises(ValueError, match="no aer"):
        head_timeline({"encoder": nan}, {}, STEPS, "aer")


def test_missing_values_are_gaps_and_an_open_statistic_scales_to_its_largest():
    v = np.array([[[2.0]], [[np.nan]], [[1.0]], [[0.5]]])  # entropy in bits
    fig = head_timeline({"cross": v}, {"cross": "Cross"}, STEPS, "entropy")
    assert list(fig.data[0].z[0]) == [2.0, None, 1.0, 0.5]
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 2.0)

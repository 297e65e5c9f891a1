"""viz/lesson.py against figures and tables worked out by hand from small matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from viz.lesson import bars, first_values, matrix_figure


def z_of(fig) -> list[list[float]]:
    return [[float(v) for v in row] for row in fig.data[0].z]


def test_a_masked_score_matrix_shows_gaps_and_a_diverging_scale_around_zero():
    scores = [[1.0, -math.inf], [-2.0, 0.5]]  # the causal mask's −∞ above the diagonal
    fig = matrix_figure(np.array(scores), ["<s>", "▁Ein"], "scores", highlight=1)
    (heat,) = fig.data
    z = z_of(fig)
    assert z[0][0] == 1.0 and math.isnan(z[0][1]) and z[1] == [-2.0, 0.5]  # −∞ becomes a gap (NaN)
    assert list(heat.x) == [0, 1] and list(heat.y) == [0, 1]
    assert (heat.zmid, heat.zmin, heat.zmax) == (0, None, None)
    assert list(fig.layout.yaxis.ticktext) == ["&lt;s&gt;", "▁Ein"] and fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.xaxis.showticklabels is False  # no column labels given
    (box,) = fig.layout.shapes  # the highlighted row, drawn around row 1 across both columns
    assert (box.type, box.x0, box.x1, box.y0, box.y1) == ("rect", -0.5, 1.5, 0.5, 1.5)
    assert fig.layout.title.text == "scores" and fig.layout.height == 260


def test_weights_start_at_zero_and_end_at_the_largest_magnitude():
    weights = np.array([[0.25, 0.75, -math.inf], [1.5, -0.5, 0.0]])
    fig = matrix_figure(weights, ["a", "b"], "weights", column_labels=["x", "<y>", "z"], colorscale="Viridis")
    heat = fig.data[0]
    assert (heat.zmid, heat.zmin, heat.zmax) == (None, 0, 1.5)  # max |finite value|
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2] and list(fig.layout.xaxis.ticktext) == ["x", "&lt;y&gt;", "z"]
    assert fig.layout.xaxis.tickangle == -45 and not fig.layout.shapes
    nothing_finite = matrix_figure(np.full((1, 2), -math.inf), ["a"], "masked", colorscale="Viridis")
    assert nothing_finite.data[0].zmax == 1.0


@pytest.mark.parametrize(
    "n, columns, q_row",
    [
        (2, ["0", "1", "…"], ["+0.123", "-1.000", "…"]),
        (4, ["0", "1", "2"], ["+0.123", "-1.000", "+2.500"]),  # all three values: nothing elided
    ],
)
def test_first_values_side_by_side(n, columns, q_row):
    table = first_values({"q": np.array([0.12345, -1.0, 2.5]), "k": np.array([0.0, 0.0004, -0.0006])}, n=n)
    assert list(table.columns) == columns and list(table.index) == ["q", "k"]
    assert list(table.loc["q"]) == q_row
    assert list(table.loc["k"])[:2] == ["+0.000", "+0.000"]


def test_bars_label_each_piece_literally():
    fig = bars(["▁A", "<unk>", "</s>"], [0.2, 0.5, 0.3], "attention of one query", height=200)
    (bar,) = fig.data
    assert bar.type == "bar" and list(bar.x) == [0, 1, 2] and list(bar.y) == [0.2, 0.5, 0.3]
    assert list(bar.customdata) == ["▁A", "&lt;unk&gt;", "&lt;/s&gt;"]
    assert list(fig.layout.xaxis.ticktext) == ["▁A", "&lt;unk&gt;", "&lt;/s&gt;"]
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2] and fig.layout.height == 200

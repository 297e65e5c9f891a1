"""viz/whatif.py against figures and tables worked out by hand: a two-row beam, four heads, three route nodes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from viz.whatif import beam_tree_figure, head_ranking, routes_figure

# A beam of 2 over three steps: "▁A ▁dog </s>" wins; "▁A </s>" finished early; "▁The ▁cat" was kept and lost.
NODES = pd.DataFrame(
    [
        # step, row, parent, piece, score, normalised, finished, best
        (0, 0, -1, "▁A", -0.5, -0.5, False, True),
        (0, 1, -1, "▁The", -1.0, -1.0, False, False),
        (1, 0, 0, "▁dog", -1.2, -0.6, False, True),
        (1, 1, 1, "▁cat", -2.0, -1.0, False, False),
        (1, 0, 0, "</s>", -3.0, -3.0, True, False),
        (2, 0, 0, "</s>", -1.5, -0.5, True, True),
    ],
    columns=["step", "row", "parent", "piece", "score", "normalised", "finished", "best"],
)


def as_list(values) -> list:
    return [None if v is None else float(v) for v in values]


def test_the_beam_tree_joins_each_hypothesis_to_the_one_it_extends():
    fig = beam_tree_figure(NODES)
    edges, best, hypotheses, start, pick = fig.data
    # Rows 0 and 1 sit at y = row; a finished one below the 2 rows, at 2 + 0.5 + its place among its step's nodes.
    y = [0.0, 1.0, 0.0, 1.0, 2 + 0.5 + 2, 2 + 0.5 + 0]
    assert list(hypotheses.x) == [0, 0, 1, 1, 1, 2] and as_list(hypotheses.y) == y
    # Lines from (step - 1, parent's y) to (step, y); step 0 starts at the start node (-1, 0). Grey: the lost ones.
    assert as_list(edges.x) == [-1, 0, None, 0, 1, None, 0, 1, None]
    assert as_list(edges.y) == [0, 1, None, 1, 1, None, 0, 4.5, None]
    assert as_list(best.x) == [-1, 0, None, 0, 1, None, 1, 2, None]  # the returned translation, thick and red
    assert as_list(best.y) == [0, 0, None, 0, 0, None, 0, 2.5, None]
    assert best.line.width == 4 and best.line.color == "#d62728"
    assert list(hypotheses.text) == ["▁A", "▁The", "▁dog", "▁cat", "&lt;/s&gt;", "&lt;/s&gt;"]
    assert list(hypotheses.marker.symbol) == ["circle"] * 4 + ["square"] * 2
    assert list(hypotheses.marker.color) == [-0.5, -1.0, -0.6, -1.0, -3.0, -0.5]
    expected_custom = [[s, n, i] for i, (s, n) in enumerate(zip(NODES["score"], NODES["normalised"]))]
    np.testing.assert_array_equal(np.asarray(hypotheses.customdata, dtype=float), expected_custom)
    assert (list(start.x), list(start.y), list(start.text)) == ([-1], [0], ["start"])
    # the clickable copy: same points and data, all but invisible
    assert list(pick.x) == list(hypotheses.x) and as_list(pick.y) == y and pick.marker.opacity == 0.01
    np.testing.assert_array_equal(np.asarray(pick.customdata, dtype=float), expected_custom)
    assert fig.layout.height == max(320, 46 * (2 + 3) + 120)
    assert list(fig.layout.xaxis.range) == [-1.5, 3.5] and fig.layout.xaxis.dtick == 1


def test_heads_ranked_by_weight_and_by_what_they_moved():
    # [layers 2, heads 2, keys 2] for one query: the head that looks hardest is not the one that moves the most
    weights = np.array([[[0.9, 0.1], [0.6, 0.4]], [[0.5, 0.5], [0.7, 0.3]]])
    norms = np.array([[[0.1, 0.1], [1.0, 0.5]], [[0.3, 0.3], [0.4, 0.0]]])
    table = head_ranking(weights, norms)
    # by hand: max weights 0.9, 0.6, 0.5, 0.7 (ranks 1, 3, 4, 2); contributions 0.2, 1.5, 0.6, 0.4 (ranks 4, 1, 2, 3)
    assert list(zip(table["layer"], table["head"])) == [(0, 1), (1, 0), (1, 1), (0, 0)]
    assert list(table["rank_by_contribution"]) == [1, 2, 3, 4]
    assert list(table["rank_by_weight"]) == [3, 4, 2, 1]
    assert table["max_weight"].tolist() == [0.6, 0.5, 0.7, 0.9]
    assert table["contribution"].tolist() == pytest.approx([1.5, 0.6, 0.4, 0.2])
    tied = head_ranking(np.array([[[0.5, 0.5], [0.5, 0.5]]]), np.ones((1, 2, 2)))
    assert list(tied["rank_by_weight"]) == [1, 1] and list(tied["rank_by_contribution"]) == [1, 1]  # ties share


def test_routes_are_as_thick_and_opaque_as_their_share():
    edges = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [0.5, 0.2]})
    labels = {"c": (2, 0, "y"), "a": (0, 0, "<s>"), "b": (1, 1, "x")}
    fig = routes_figure(edges, labels, ["embeddings", "layer 1", "output"], "routes")
    first, second, nodes = fig.data
    assert (list(first.x), list(first.y), list(second.x), list(second.y)) == ([0, 1], [0, 1], [1, 2], [1, 0])
    assert first.line.width == pytest.approx(1 + 10 * 0.5) and first.opacity == pytest.approx(0.35 + 0.65 * 0.5)
    assert second.line.width == pytest.approx(1 + 10 * 0.2) and second.opacity == pytest.approx(0.35 + 0.65 * 0.2)
    assert (first.text, second.text) == ("share 0.50", "share 0.20")
    # each node once, ordered by (column, row), its text escaped
    assert (list(nodes.x), list(nodes.y), list(nodes.text)) == ([0, 1, 2], [0, 1, 0], ["&lt;s&gt;", "x", "y"])
    assert list(fig.layout.xaxis.ticktext) == ["embeddings", "layer 1", "output"]
    assert list(fig.layout.xaxis.range) == [-0.5, 3] and fig.layout.title.text == "routes"

"""viz/corpus_heads.py against figures worked out by hand from small tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from viz.corpus_heads import against_all_heads, extremes_table, heads_scatter, qk_projection, typical_pattern


def test_one_head_among_all_heads_scaled_per_statistic():
    table = pd.DataFrame(
        {
            "name": ["h0", "h1", "h2"],
            "entropy": [1.0, 3.0, 2.0],  # scaled (v - 1) / (3 - 1): 0, 1, 0.5
            "same": [math.nan] * 3,  # no value at all: no row of dots
            "previous": [0.5, 0.5, math.nan],  # one value: all at 0; the chosen head has none, so no diamond
        }
    )
    fig = against_all_heads(table, ["entropy", "same", "previous"], chosen=2)
    assert len(fig.data) == 3
    dots, diamond, previous = fig.data
    assert list(dots.x) == [0.0, 1.0, 0.5] and list(dots.y) == [0, 0, 0]
    assert list(dots.text) == ["h0", "h1", "h2"] and list(dots.customdata) == [1.0, 3.0, 2.0]
    assert list(diamond.x) == [0.5] and list(diamond.y) == [0] and diamond.marker.symbol == "diamond"
    assert diamond.hovertemplate == "this head: 2.000<extra></extra>"
    assert list(previous.x) == [0.0, 0.0] and list(previous.y) == [2, 2] and list(previous.text) == ["h0", "h1"]
    assert fig.layout.height == 80 + 34 * 3
    assert list(fig.layout.yaxis.tickvals) == [0, 1, 2]
    assert list(fig.layout.yaxis.ticktext) == ["entropy", "same", "previous"]
    assert fig.layout.yaxis.autorange == "reversed"


@pytest.mark.parametrize(
    "pattern, cross, offsets, axis",
    [
        ([0.1, 0.6, 0.3], False, [-1, 0, 1], "key − query"),
        ([0.2, 0.2, 0.5, 0.1], True, [-2, -1, 0, 1], "key − query (scaled)"),
    ],
)
def test_the_typical_pattern_is_centred_on_the_query(pattern, cross, offsets, axis):
    fig = typical_pattern(np.array(pattern), cross)
    (bar,) = fig.data
    assert bar.type == "bar" and list(bar.x) == offsets and list(bar.y) == pattern
    assert fig.layout.xaxis.title.text == axis
    assert fig.layout.title.text.endswith("length-scaled diagonal" if cross else "query's own position")


def test_all_heads_on_two_statistics_one_trace_per_kind_and_the_chosen_head_ringed():
    table = pd.DataFrame(
        {
            "kind": ["cross", "encoder", "cross"],
            "name": ["c0", "e0", "c1"],
            "entropy": [1.0, 2.0, 3.0],
            "same": [0.1, 0.2, 0.3],
        }
    )
    fig = heads_scatter(table, "entropy", "same", chosen=1)
    assert [t.name for t in fig.data] == ["cross", "encoder", "this head"]  # kinds in the table's order
    cross, encoder, ring = fig.data
    assert list(cross.x) == [1.0, 3.0] and list(cross.y) == [0.1, 0.3] and list(cross.text) == ["c0", "c1"]
    assert cross.marker.color == "#ff7f0e" and encoder.marker.color == "#1f77b4"
    assert list(encoder.x) == [2.0] and list(encoder.y) == [0.2]
    assert list(ring.x) == [2.0] and list(ring.y) == [0.2] and ring.marker.line.color == "#d62728"
    assert fig.layout.title.text == "All heads: entropy against same"
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("entropy", "same")


@pytest.mark.parametrize("color_by", ["query/key", "position"])
def test_queries_and_keys_share_one_plane_with_their_tokens_escaped(color_by):
    q2, k2 = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[-1.0, 0.5]])
    fig = qk_projection(q2, k2, ["<b>", "▁dog"], ["&"], np.array([0, 1]), np.array([0]), color_by=color_by)
    queries, keys = fig.data
    assert (queries.name, queries.marker.symbol, keys.name, keys.marker.symbol) == ("queries", "circle", "keys", "x")
    assert list(queries.x) == [0.0, 2.0] and list(queries.y) == [1.0, 3.0]
    assert list(keys.x) == [-1.0] and list(keys.y) == [0.5]
    assert list(queries.text) == ["&lt;b&gt;", "▁dog"] and list(keys.text) == ["&amp;"]  # shown, never markup
    if color_by == "position":
        assert list(queries.marker.color) == [0, 1] and list(keys.marker.color) == [0]
        assert queries.marker.showscale and not keys.marker.showscale
    else:
        assert queries.marker.color is None and keys.marker.color is None


def test_the_extreme_sentences_link_to_themselves_at_the_head():
    table = extremes_table("entropy", [2.5, 1.0], ["A dog & a cat.", "Ja?"], {"view": "translate", "head": 3})
    assert list(table.columns) == ["entropy", "sentence", "open"] and table["entropy"].tolist() == [2.5, 1.0]
    links = ["?text=A+dog+%26+a+cat.&view=translate&head=3", "?text=Ja%3F&view=translate&head=3"]  # the text escaped
    assert table["open"].tolist() == links

"""The app's own figure component (ui/figure.py): the bundle it serves, and what goes to Streamlit's chart instead."""

from __future__ import annotations

import re

import plotly.offline
from streamlit.testing.v1 import AppTest

from tests.conftest import figures
from ui.figure import BUNDLE, BUNDLE_TRACES, PLOTLY_VERSION, STATIC


def test_the_served_bundle_is_the_plotly_js_that_plotly_py_writes_figures_for():
    header = (STATIC / BUNDLE).read_text(encoding="utf-8")[:300]
    assert (
        re.search(r"plotly\.js \(headlight: core, heatmap, bar - minified\) v(\S+)", header).group(1) == PLOTLY_VERSION
    )
    assert plotly.offline.get_plotlyjs_version() == PLOTLY_VERSION
    assert {"heatmap", "scatter", "bar"} <= BUNDLE_TRACES and "table" not in BUNDLE_TRACES


def figure_page():
    import plotly.graph_objects as go
    import streamlit as st

    from ui.figure import show_figure

    show_figure(go.Figure(go.Heatmap(z=[[0.25, 0.75]])), key="heatmap")
    with st.sidebar:
        show_figure(go.Figure(go.Table(cells={"values": [[1, 2]]})), key="table")  # not in the partial bundle


def test_cartesian_figures_use_the_component_and_others_fall_back_to_streamlits_chart():
    at = AppTest.from_function(figure_page).run()
    assert not at.exception
    assert len(at.get("bidi_component")) == 1 and len(at.get("plotly_chart")) == 1
    heatmap, table = figures(at)
    assert heatmap["data"][0]["type"] == "heatmap" and table["data"][0]["type"] == "table"


def test_without_static_serving_every_figure_falls_back_to_streamlits_chart():
    from streamlit import config

    at, before = AppTest.from_function(figure_page), config.get_option("server.enableStaticServing")
    config.set_option("server.enableStaticServing", False)
    try:
        at.run()
    finally:
        config.set_option("server.enableStaticServing", before)
    assert not at.exception and not at.get("bidi_component") and len(at.get("plotly_chart")) == 2

"""Display-only Plotly figures, drawn by a small component on a partial plotly.js bundle the app serves itself.

Why not `st.plotly_chart`: its element loads Streamlit's full plotly.js bundle, whose evaluation holds the first
heatmap back. The app's own bundle (`plotly-bundle/build.sh`: plotly.js's core with heatmap and bar, everything the
display-only views draw, the figures' own sliders and buttons included) is smaller than plotly.js's cartesian bundle
and evaluates faster. `static/` is served at `app/static/` by `server.enableStaticServing` in `.streamlit/config.toml`
(without it, as when Streamlit is started away from the repository's root, every figure goes to `st.plotly_chart`).
Charts whose clicks the app reads (`on_select`) stay on `st.plotly_chart`.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

STATIC = Path(__file__).resolve().parent.parent / "static"
PLOTLY_VERSION = "4.1.1"  # the plotly.js that plotly.py 7.1.0 writes figures for (tests/test_figure.py checks it)
BUNDLE = f"plotly-headlight-{PLOTLY_VERSION}.min.js"  # built by plotly-bundle/build.sh

BUNDLE_JS = (STATIC / BUNDLE).read_text(encoding="utf-8")  # also embedded in the offline HTML download
# The trace types the bundle registers, read from the bundle itself; any other goes to Streamlit's full bundle.
BUNDLE_TRACES = frozenset(re.findall(r'moduleType:"trace",name:"(\w+)"', BUNDLE_JS))


@dataclass(frozen=True)
class Fill:
    """How a figure fills (`share` of) the browser window from its own top down (ui/figure.js): exactly, for a
    `screen` height (0: the window's own), in presentation mode; otherwise (`grow`) only growing: a figure taller than
    the window keeps its height and scrolls."""

    share: float = 1.0
    screen: int = 0
    grow: bool = False

    def for_browser(self) -> dict:
        return {"share": self.share, "grow": True} if self.grow else {"share": self.share, "screen": self.screen}


@dataclass(frozen=True)
class Sized:
    """A figure with the way it fills the window: what ui.theme.Theme.fit returns, for `show_figure`."""

    figure: go.Figure
    fill: Fill


# isolate_styles=False: Plotly's stylesheet lives in the page's head
_draw = st.components.v2.component(
    "headlight_figure", js=(Path(__file__).with_name("figure.js")).read_text(), isolate_styles=False
)


def show_figure(
    fig: go.Figure | Sized,
    key: str,
    config: dict | None = None,
    container=None,
    secondary: bool = False,
    clickable: bool = False,
    fill: Fill | None = None,
) -> dict | None:
    """Draw `fig` in `container` (default, or `st`: where the script is), under a stable `key`; a `secondary` figure
    is drawn once the browser is idle, after the others. With a `fill` (or a `Sized` figure, as `Theme.fit` returns),
    the figure fills the browser window from its top down (ui/figure.js). With `clickable`, the point clicked on this
    run ({x, y})."""
    if isinstance(fig, Sized):
        fig, fill = fig.figure, fig.fill
    container = st if container is None else container
    if not st.get_option("server.enableStaticServing") or any(trace.type not in BUNDLE_TRACES for trace in fig.data):
        event = container.plotly_chart(
            fig, key=key, config=config, **({"on_select": "rerun", "selection_mode": "points"} if clickable else {})
        )
        points = event.selection.points if clickable and event else []
        return {"x": points[0]["x"], "y": points[0]["y"]} if points else None
    data = {"figure": fig.to_json(), "config": config or {}, "bundle": f"app/static/{BUNDLE}", "secondary": secondary}
    if fill is not None:
        data["fill"] = fill.for_browser()
    if clickable:
        data["clickable"] = True
    with container if container is not st else contextlib.nullcontext():
        result = _draw(data=data, key=key, **({"on_click_change": lambda: None} if clickable else {}))
    return getattr(result, "click", None) if clickable else None


def preload_plotly() -> None:
    """As the page's first element: the browser fetches and evaluates plotly.js while the script still translates,
    instead of after it (the element itself shows nothing; app.py's CSS hides its container)."""
    if st.get_option("server.enableStaticServing"):  # off when started away from the repository's .streamlit/
        _draw(data={"bundle": f"app/static/{BUNDLE}"}, key="plotly_preload")

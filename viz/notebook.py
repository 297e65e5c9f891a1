"""The app's figures inline in Jupyter, offline: plotly.js goes into the notebook once (`plotly_library()`, the last
line of a first cell) and every figure (`inline(fig)`) draws with it. No CDN, no MathJax: nothing is fetched, so an
executed notebook opens and draws without a network.

Plotly's own "notebook" renderer also embeds plotly.js but adds a MathJax <script src> from a CDN to every figure.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

# plotly.js is a UMD bundle: where RequireJS is loaded (the classic notebook) it would register as an AMD module
# instead of window.Plotly, so `define` is hidden while it runs.
_LIBRARY = """<script type="text/javascript">window.PlotlyConfig = {{MathJaxConfig: "local"}};
var __headlightDefine = window.define; window.define = undefined;</script>
<script type="text/javascript">{js}</script>
<script type="text/javascript">window.define = __headlightDefine;</script>
<div>plotly.js {version} embedded (offline)</div>"""


class InlineHTML:
    """HTML that Jupyter shows as the cell's output (the `_repr_html_` protocol; no IPython import needed)."""

    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html


def plotly_library() -> InlineHTML:
    """plotly.js itself, for the notebook's first output: every `inline` figure after it draws with it."""
    js = get_plotlyjs()
    if "</script" in js.lower():
        raise ValueError("this plotly.js contains '</script' and cannot be embedded in a <script> element")
    version = js[js.find("plotly.js v") :].split()[1] if "plotly.js v" in js else "(version unknown)"
    return InlineHTML(_LIBRARY.format(js=js, version=version))


def inline(fig: go.Figure, height: int | None = None) -> InlineHTML:
    """One figure as a notebook output, drawn by the plotly.js that `plotly_library()` put in the notebook."""
    html = fig.to_html(
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        config={"displaylogo": False},
        default_height=height or fig.layout.height or 520,
    )
    return InlineHTML(html)

"""Downloads: a figure as standalone HTML (works offline), attention as CSV or NPZ bytes."""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go


def figure_html(fig: go.Figure, plotly_js: str | None = None) -> str:
    """A complete HTML page with plotly.js embedded, so it opens without a network: plotly.py's full bundle, or the
    given bundle's text (the app passes its 1.5 MB partial bundle: a third of the file)."""
    config = {"displaylogo": False}
    if plotly_js is None:
        return fig.to_html(include_plotlyjs=True, full_html=True, config=config)
    if "</script" in plotly_js.lower():
        raise ValueError("the plotly.js text contains '</script' and cannot be embedded in a <script> element")
    html = fig.to_html(include_plotlyjs=False, full_html=True, config=config)
    return html.replace("</head>", f'<script type="text/javascript">{plotly_js}</script>\n</head>', 1)


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed NPZ (strings as unicode arrays: loadable with allow_pickle=False)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()

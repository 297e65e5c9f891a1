"""Downloads: a figure as standalone HTML (works offline), attention as CSV or NPZ bytes."""
from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go


def figure_html(fig: go.Figure) -> str:
    """A complete HTML page with plotly.js embedded, so it opens without a network."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed NPZ (strings as unicode arrays: loadable with allow_pickle=False)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()

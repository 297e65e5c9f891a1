"""Text that figures show: escaped so that Plotly shows it literally, and how wide a tick label is drawn, estimated
from its characters (for layouts that must leave room for labels that plotly.js places wherever they fall: between two
panels, above a plot under a row of buttons)."""

from __future__ import annotations

import html
import unicodedata

# A character's width in font sizes, a little over what Chromium draws with Streamlit's Source Sans (measured:
# lowercase and digits 0.43-0.5, capitals up to 0.8 (M, W), the piece marker ▁ 0.95); wide East Asian characters 1.
WIDE_EM, CAPITAL_EM, NARROW_EM = 1.0, 0.7, 0.52
ROTATED_SIN = 0.866  # sin(60°): labels turned 60° (tickangle -60) rise this share of their width


def plain(text: str) -> str:
    """`text` as Plotly shows it literally. Plotly renders a subset of HTML (<a href>, <b>, <br>, <span style>, <sup>)
    in titles, tick labels, hover text and annotations: a typed sentence's pieces must never become markup."""
    return html.escape(str(text), quote=False)


def safe_text(texts: list[str]) -> list[str]:
    """Each of `texts` as Plotly shows it literally (`plain`)."""
    return [plain(t) for t in texts]


def char_em(char: str) -> float:
    if char in "▁MWmw@%" or unicodedata.east_asian_width(char) in "WF":
        return WIDE_EM
    return CAPITAL_EM if char.isupper() else NARROW_EM


def label_px(labels: list[str], size: float) -> float:
    """The estimated width of the widest of `labels` (as shown, not HTML-escaped) at font `size` px."""
    return size * max((sum(char_em(c) for c in str(label)) for label in labels), default=0)


def short_label(token: str, limit: int) -> str:
    """`token` cut to `limit` characters, the last one an ellipsis."""
    token = str(token)
    return token if len(token) <= limit else token[: limit - 1] + "…"

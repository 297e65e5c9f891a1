"""Colours and type size: normal, or presentation mode (large type, high contrast)."""
from __future__ import annotations

from dataclasses import dataclass

from viz.attention import COLORSCALE, HIGH_CONTRAST


@dataclass(frozen=True)
class Theme:
    colorscale: object
    font_size: int

    @classmethod
    def for_mode(cls, present: bool) -> "Theme":
        return cls(HIGH_CONTRAST, 20) if present else cls(COLORSCALE, 12)

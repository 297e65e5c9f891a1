"""Colours and type size: normal, or presentation mode (large type, high contrast)."""
from __future__ import annotations

from dataclasses import dataclass

from viz.attention import COLORSCALE, HIGH_CONTRAST


@dataclass(frozen=True)
class Theme:
    colorscale: object
    font_size: int
    present: bool = False  # presentation mode: the main figure fills the screen below one row of controls
    screen_height: int = 1080  # presentation mode: the projector's height in CSS pixels

    @classmethod
    def for_mode(cls, present: bool, screen_height: int = 1080) -> "Theme":
        return cls(HIGH_CONTRAST, 20, True, screen_height) if present else cls(COLORSCALE, 12, False)

    @property
    def main_figure_height(self) -> int:
        """What is left below the one row of controls, the translation and the kind picker."""
        return self.screen_height - 190

"""Colours and type size: normal, or presentation mode (large type, high contrast, the main figure fills the screen)."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from viz.attention import COLORSCALE, HIGH_CONTRAST
from viz.projector import for_projector

TAB_STRIP_PX = 56  # presentation mode: the height of a view's tab strip, above that tab's controls


@dataclass(frozen=True)
class Theme:
    colorscale: object
    font_size: int
    present: bool = False  # presentation mode: the main figure fills the screen below one row of controls
    screen_height: int = 1080  # presentation mode: the projector's height in CSS pixels

    @classmethod
    def for_mode(cls, present: bool, screen_height: int = 1080) -> Theme:
        return cls(HIGH_CONTRAST, 20, True, screen_height) if present else cls(COLORSCALE, 12, False)

    @property
    def main_figure_height(self) -> int:
        """What is left below the one row of controls, the translation and the view's own row of controls."""
        return self.screen_height - 190

    @property
    def label(self) -> str:
        """Widget labels: collapsed in presentation mode, where a row of controls must stay one line high."""
        return "collapsed" if self.present else "visible"

    def fit(self, fig: go.Figure, share: float = 1.0, above: int = 0, thin_y: bool = False) -> go.Figure:
        """Presentation mode: `share` of the main figure's height (less `above` px of the view's own extra lines),
        with projector-sized type. Otherwise the figure unchanged."""
        if not self.present:
            return fig
        return for_projector(
            fig, int((self.main_figure_height - above) * share) - (8 if share < 1 else 0), self.font_size, thin_y=thin_y
        )

"""Colours and type size: normal, or presentation mode (large type, high contrast, the main figure fills the screen)."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from ui.figure import Fill, Sized
from viz.attention import COLORSCALE, HIGH_CONTRAST
from viz.projector import for_projector

TAB_STRIP_PX = 56  # presentation mode: the height of a view's tab strip, above that tab's controls
FIRST_GUESS_PX = 720  # the window height assumed until the browser measures its own (ui/figure.js)
# The narrowest window the app is laid out for, less the main area's padding (and, in normal mode, the sidebar), as
# app.py's CSS sets them: figures whose panels hold labels between them size those gaps for this width.
NARROWEST_WINDOW_PX = 1280
SIDEBAR_PX = 248  # 15.5rem
MAIN_PADDING_PX = 48  # 2 x 1.5rem at 16 px (normal mode), 2 x 1.2rem at 20 px (presentation mode)


@dataclass(frozen=True)
class Theme:
    colorscale: object
    font_size: int
    present: bool = False  # presentation mode: the main figure fills the window below one row of controls
    screen_height: int = 0  # presentation mode: a screen height to size for (CSS px); 0: the browser window's own

    @classmethod
    def for_mode(cls, present: bool, screen_height: int = 0) -> Theme:
        return cls(HIGH_CONTRAST, 20, True, screen_height) if present else cls(COLORSCALE, 12, False)

    @property
    def main_figure_height(self) -> int:
        """The first guess (the browser then measures): the screen less the one row of controls, the translation and
        the view's own row of controls."""
        return (self.screen_height or FIRST_GUESS_PX) - 190

    @property
    def tick_size(self) -> int:
        """Tick labels' font size (px): Streamlit's 0.75rem, or the projector's (viz.projector.for_projector)."""
        return 18 if self.present else 12

    @property
    def narrowest_figure_px(self) -> int:
        """The main area's width in the narrowest window the app is laid out for."""
        return NARROWEST_WINDOW_PX - MAIN_PADDING_PX - (0 if self.present else SIDEBAR_PX)

    @property
    def label(self) -> str:
        """Widget labels: collapsed in presentation mode, where a row of controls must stay one line high."""
        return "collapsed" if self.present else "visible"

    def fill(self, share: float = 1.0) -> Fill:
        """How a main figure fills (`share` of) the browser window from its top down: in presentation mode exactly (or
        for the override's screen height), otherwise only growing (a figure taller than the window scrolls)."""
        return Fill(share, self.screen_height) if self.present else Fill(share, grow=True)

    def fit(self, fig: go.Figure, share: float = 1.0, above: int = 0, thin_y: bool = False) -> Sized:
        """Presentation mode: `share` of the main figure's height (less `above` px of the view's own extra lines),
        with projector-sized type. Otherwise the figure unchanged. Either way it fills the window (`fill`)."""
        if self.present:
            height = int((self.main_figure_height - above) * share) - (8 if share < 1 else 0)
            fig = for_projector(fig, height, self.font_size, self.tick_size, thin_y=thin_y)
        return Sized(fig, self.fill(share))

    def fill_window(self, fig: go.Figure, share: float = 1.0) -> Sized:
        """`fig` as it is, filling (`share` of) the window (`fill`)."""
        return Sized(fig, self.fill(share))

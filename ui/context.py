"""What every page receives: the model, the sentence's translation and its trace."""

from __future__ import annotations

from dataclasses import dataclass

from model.core.checkpoint import Checkpoint
from model.decoding.trace import Trace
from model.decoding.translation import Translation
from ui.theme import Theme


@dataclass
class PageContext:
    path: str  # checkpoint folder, the cache key
    ckpt: Checkpoint
    translation: Translation
    beam: int
    # the sentence the model translated: the one typed, tidied unless that is switched off (model.decoding.tidy)
    source: str
    theme: Theme = Theme.for_mode(False)

    @property
    def trace(self) -> Trace:
        return self.translation.trace

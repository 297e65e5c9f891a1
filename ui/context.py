"""What every page receives: the model, the sentence's translation and its trace."""
from __future__ import annotations

from dataclasses import dataclass

from model.checkpoint import Checkpoint
from model.decode import Translation
from model.trace import Trace
from ui.theme import Theme


@dataclass
class PageContext:
    path: str  # checkpoint folder, the cache key
    ckpt: Checkpoint
    translation: Translation
    beam: int
    source: str  # the sentence the model translated: the one typed, tidied unless that is switched off (model.tidy)
    theme: Theme = Theme.for_mode(False)

    @property
    def trace(self) -> Trace:
        return self.translation.trace

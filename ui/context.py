"""What every page receives: the model, the sentence's translation and its trace."""
from __future__ import annotations

from dataclasses import dataclass

from model.checkpoint import Checkpoint
from model.decode import Translation
from model.trace import Trace


@dataclass
class PageContext:
    path: str  # checkpoint folder, the cache key
    ckpt: Checkpoint
    translation: Translation
    beam: int

    @property
    def trace(self) -> Trace:
        return self.translation.trace

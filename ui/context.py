"""What every page receives: the request (what the model was asked), the model, the translation and its trace."""

from __future__ import annotations

from dataclasses import dataclass, field

from model.core.checkpoint import Checkpoint
from model.decoding.trace import Trace
from model.decoding.translation import Translation
from ui.theme import Theme


@dataclass(frozen=True)
class Request:
    """The model's inputs for this page, read from the session once (app.py); pages read them here and nowhere else."""

    sentence: str  # as typed
    tidy: bool
    beam: int
    max_len: int  # 0: automatic
    prefix: str  # the translation is forced to start with it ("": not forced)
    checkpoint: str  # the checkpoint folder's name
    path: str  # the checkpoint folder, the caches' key
    source: str = (
        ""  # what the model translates: the sentence, tidied unless that is switched off (model.decoding.tidy)
    )


@dataclass
class PageContext:
    request: Request
    ckpt: Checkpoint
    translation: Translation
    beam_tree: list[dict] | None = None  # the search tree of the translation's own beam search (None: greedy)
    theme: Theme = field(default_factory=lambda: Theme.for_mode(False))

    @property
    def trace(self) -> Trace:
        return self.translation.trace

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def beam(self) -> int:
        return self.request.beam

    @property
    def source(self) -> str:
        return self.request.source

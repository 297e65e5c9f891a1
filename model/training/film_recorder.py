"""Recording a training film: at about 60 log-spaced updates, every head's attention on a few sentences, teacher-forced
on their references so that every frame has the same pieces (format and reader: `model.analysis.film`).

Recording reads the model and changes nothing: it runs in eval mode without gradients, draws no random numbers and
puts the model back in the mode it found it in, so a run with a film ends in the same weights as one without.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from model.analysis.alignment import GoldSentence, corpus_aer, head_alignments, links_from, read_talp, words
from model.analysis.film import (
    KINDS,
    MAX_SENTENCES,
    Film,
    FilmError,
    FilmSentence,
    Frame,
    has_film,
    load_film,
    save_film,
)
from model.analysis.head_statistics import STATS, average_stats, trace_stats
from model.core.interface import TranslationModel, TranslationTokenizer
from model.core.text_files import read_lines
from model.decoding.trace_from_hooks import decoder_input, forward_trace
from model.decoding.translation import reference_ids, sequence_ids, translate

DEFAULT_FRAMES = 60


def frame_steps(total_steps: int, frames: int = DEFAULT_FRAMES) -> list[int]:
    """About `frames` updates from 0 (before the first) to `total_steps`, log-spaced: learning changes most early."""
    if total_steps <= 0:
        return [0]
    points = np.geomspace(1, total_steps, max(frames - 1, 1))
    return sorted({0, *(int(round(p)) for p in points)})


@dataclass
class FilmInput:
    """The film's sentences as given: source, reference and, optionally, gold word links."""

    sources: list[str]
    references: list[str]
    gold: list[GoldSentence] | None = None


def read_film_input(sources: str, references: str | None, gold: str | None = None) -> FilmInput:
    """The film sentences from files (one per line); gold links as `i-j` (sure) and `ipj` (possible), source word
    first, 1-based, one line per sentence over the plain word split of `model.analysis.alignment.words`."""
    if not references:
        raise FilmError("a film needs its sentences' references (--film-refs): every frame is teacher-forced on them")
    for flag, file in (("--film", sources), ("--film-refs", references), ("--film-gold", gold)):
        if file and not Path(file).is_file():  # a regular file: /dev/zero would be read until the memory is gone
            raise FilmError(f"{flag} {file} is not a file of sentences (missing, a folder, a device or a pipe)")
    src, ref = read_lines(sources), read_lines(references)
    if len(src) != len(ref):
        raise FilmError(f"{sources} has {len(src)} lines but {references} has {len(ref)}")
    if not 1 <= len(src) <= MAX_SENTENCES:
        raise FilmError(f"a film takes 1 to {MAX_SENTENCES} sentences, not {len(src)}")
    links = None
    if gold:
        try:
            links = read_talp(Path(gold), target_first=False)
        except ValueError as exc:
            raise FilmError(str(exc)) from None
        if len(links) != len(src):
            raise FilmError(f"{gold} has {len(links)} lines but the film has {len(src)} sentences")
    golds = None
    if links is not None:
        golds = [GoldSentence(words(s), words(r), sure, possible) for s, r, (sure, possible) in zip(src, ref, links)]
        for n, g in enumerate(golds):
            if any(t >= len(g.target) or s >= len(g.source) for t, s in g.possible):
                raise FilmError(f"{gold} line {n + 1} links a word past the end of its sentence")
    return FilmInput(src, ref, golds)


class FilmRecorder:
    """Frames of one run: `add_loss` after every update, `record` when `due` (and at every epoch's end), `save`
    beside the run's state."""

    def __init__(
        self,
        model: TranslationModel,
        tok: TranslationTokenizer,
        given: FilmInput,
        total_steps: int,
        frames: int = DEFAULT_FRAMES,
        val_loss: Callable[[], float] | None = None,
    ) -> None:
        self.model, self.tok, self.gold, self.val_loss = model, tok, given.gold, val_loss
        self.n_frames = frames
        self.planned = set(frame_steps(total_steps, frames))
        self.ids = [
            (sequence_ids(model, tok, s), reference_ids(model, tok, r)) for s, r in zip(given.sources, given.references)
        ]
        self.film = Film(
            sentences=[
                FilmSentence(
                    s,
                    r,
                    tok.source_pieces(src_ids),
                    tok.target_pieces(decoder_input(model, out_ids)),
                    self._gold_links(n),
                )
                for n, (s, r, (src_ids, out_ids)) in enumerate(zip(given.sources, given.references, self.ids))
            ],
            layers={kind: model.cfg.layers(kind) for kind in KINDS},
            heads=model.cfg.n_heads,
            total_steps=total_steps,
            frames=[],
            attention={},
        )
        self.loss_sum, self.loss_tokens = 0.0, 0
        self.kept_on_disk: int | None = None  # after drop_after: the frames this film shares with the saved one

    def _gold_links(self, n: int) -> list[tuple[int, int, str]] | None:
        if self.gold is None:
            return None
        g = self.gold[n]
        return sorted((s, t, "S" if (t, s) in g.sure else "P") for t, s in g.possible | g.sure)

    def resume_from(self, folder: Path) -> None:
        """Go on with the frames a resumed run saved (same sentences, same model shape), or start afresh."""
        if not has_film(folder):
            return
        saved = load_film(folder)
        if [(s.source, s.reference) for s in saved.sentences] != [(s.source, s.reference) for s in self.film.sentences]:
            raise FilmError(f"the film in {folder} was recorded on other sentences; remove it or use the same ones")
        if saved.layers != self.film.layers or saved.heads != self.film.heads:
            raise FilmError(f"the film in {folder} was recorded on a model of another shape")
        self.film.frames, self.film.attention = saved.frames, saved.attention
        # the schedule is the one the film started with, whatever this leg's --max-steps
        self.film.total_steps = saved.total_steps
        self.planned = set(frame_steps(saved.total_steps, self.n_frames))

    def drop_after(self, step: int) -> None:
        """Forget the frames past update `step` (a film saved after every frame is ahead of the run's saved state;
        a resumed run records them again)."""
        kept = sum(frame.step <= step for frame in self.film.frames)
        if kept < len(self.film.frames):
            self.kept_on_disk = kept
        self.film.frames = self.film.frames[:kept]
        self.film.attention = {key: weights[:kept] for key, weights in self.film.attention.items()}

    def add_loss(self, loss_sum: float, tokens: int) -> None:
        self.loss_sum += loss_sum
        self.loss_tokens += tokens

    def due(self, step: int) -> bool:
        return step in self.planned and (not self.film.frames or self.film.frames[-1].step < step)

    @torch.no_grad()
    def record(self, step: int, epoch: float, bleu: float | None = None, val_loss: float | None = None) -> None:
        """One frame at update `step` (or, at an epoch's end on a step already filmed, that frame's BLEU and loss)."""
        frames = self.film.frames
        if frames and frames[-1].step == step:
            frames[-1].bleu = bleu if bleu is not None else frames[-1].bleu
            frames[-1].val_loss = val_loss if val_loss is not None else frames[-1].val_loss
            return
        model, was_training = self.model, self.model.training
        model.eval()
        try:
            traces = [forward_trace(model, self.tok, src_ids, out_ids)[0] for src_ids, out_ids in self.ids]
            translations = [translate(model, self.tok, s.source, with_trace=False).text for s in self.film.sentences]
            if val_loss is None and self.val_loss is not None:
                val_loss = self.val_loss()
            heads = self._head_rows(traces)
        finally:
            model.train(was_training)
        train_loss = self.loss_sum / self.loss_tokens if self.loss_tokens else None
        self.loss_sum, self.loss_tokens = 0.0, 0
        frames.append(Frame(step, round(epoch, 4), _rounded(train_loss), _rounded(val_loss), bleu, translations, heads))
        for n, trace in enumerate(traces):
            for kind in KINDS:
                previous = self.film.attention.get((n, kind))
                new = trace.attention(kind)[None].astype(np.float16)
                self.film.attention[n, kind] = new if previous is None else np.concatenate([previous, new])

    def _head_rows(self, traces) -> list[dict]:
        table = average_stats([trace_stats(t) for t in traces])
        aer = self._aer() if self.gold else {}
        rows = []
        for row in table.to_dict("records"):
            out = {"kind": row["kind"], "layer": int(row["layer"]), "head": int(row["head"])}
            out |= {name: _rounded(row[name]) for name in STATS}
            out["aer"] = aer.get((int(row["layer"]), int(row["head"]))) if row["kind"] == "cross" else None
            rows.append(out)
        return rows

    def _aer(self) -> dict[tuple[int, int], float]:
        """Each cross head's corpus AER (argmax links) on the film's gold sentences."""
        matrices, kept = head_alignments(self.model, self.tok, self.gold)
        if not matrices:
            return {}
        gold = [self.gold[n] for n in kept]
        L, H = matrices[0].shape[:2]
        heads = [(l, h) for l in range(L) for h in range(H)]
        return {(l, h): round(corpus_aer([links_from(m[l, h]) for m in matrices], gold), 4) for l, h in heads}

    def save(self, folder: Path) -> None:
        if self.film.frames:
            save_film(self.film, folder, kept=self.kept_on_disk)
            self.kept_on_disk = None


def _rounded(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 5)

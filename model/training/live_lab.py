"""The live lab: a tiny Transformer learns a toy task (copy, reverse or sort digits) in a few minutes through the real
training loop, its film saved after every frame so that a viewer can watch it learn (command: `python -m model.lab`).

The lab's folder is an ordinary run folder (`model.train --run-dir`) plus `data/` (the task's text files) and
`lab.json` (`model.training.lab_status`), kept current while it trains.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from model.core.checkpoint import load_checkpoint
from model.core.text_files import read_lines
from model.decoding.batch import translate_many
from model.training.config import TrainConfig
from model.training.lab_status import DATA_DIR, LabError, LabStatus, open_lab
from model.training.loop import Run, train
from model.training.toy_tasks import best_head_hit_rate, generate, gold_links, write_data

DIAGONAL_TARGET = 0.9  # the best cross head's strongest key on the gold source word for this share of the rows
HELD_OUT_TARGET = 0.9  # this share of the held-out test sequences translated exactly
STATUS_EVERY_S = 0.5  # lab.json between frames: often enough for a progress bar, rare enough to cost nothing
FINISH_MARGIN_S = 10.0  # the time cap leaves this much for the last validation and the final checkpoint

# The recipe that learnt reverse fastest of those tried (docs/training.md, "Live lab"): 2+2 pre-norm layers of width
# 64, no dropout (6000 distinct sequences, each seen 8 times), a short warm-up to a peak rate of 0.007, small batches
# (many updates). Higher rates stall.
LAB_MODEL = {"d_model": 64, "n_heads": 4, "d_ff": 256, "n_layers": 2, "pre_norm": True, "dropout": 0.0, "max_len": 32}
LAB_OPTIMISATION = {"max_tokens": 400, "epochs": 8, "warmup": 150, "lr_factor": 0.7, "label_smoothing": 0.0}
LAB_FILM_FRAMES = 40


class LabStopped(BaseException):
    """Raised out of the training loop when the lab is asked to stop (SIGTERM); not an Exception, so no handler in
    the loop mistakes it for a failure."""


def lab_settings(task: str, out: Path, paths: dict[str, Path], minutes: float, seed: int, steps: int) -> TrainConfig:
    return TrainConfig(
        train_src=str(paths["train.src"]),
        train_tgt=str(paths["train.tgt"]),
        valid_src=str(paths["valid.src"]),
        valid_tgt=str(paths["valid.tgt"]),
        src_lang="digits",
        tgt_lang=task,
        vocab_size=25,  # <pad> <unk> <s> </s>, ▁, 0-9 and ▁0-▁9: every digit one piece
        **LAB_MODEL,
        **LAB_OPTIMISATION,
        max_steps=steps,
        max_minutes=minutes,
        seed=seed,
        run_dir=str(out),
        save_every_minutes=60.0,  # the state is saved at each epoch's end; a lab never resumes
        val_max_sentences=100,
        device="cpu",
        threads=1,  # a model this small gains nothing from a second thread, and loses much on busy cores
        film=str(paths["film.src"]),
        film_refs=str(paths["film.tgt"]),
        film_gold=str(paths["film.gold"]),
        film_frames=LAB_FILM_FRAMES,
        film_every_frame=True,
    )


class Watcher:
    """Called after every update: keeps lab.json current, notes when the film first shows exact outputs, a diagonal
    head and most held-out sequences right, and ends the run when a stop was asked for."""

    def __init__(self, status: LabStatus, golds: list, test_src: list[str], test_tgt: list[str]) -> None:
        self.status, self.golds, self.test_src, self.test_tgt = status, golds, test_src, test_tgt
        self.frames_seen = 0

    def __call__(self, run: Run) -> None:
        status, film = self.status, run.film
        if status.stop_requested:
            raise LabStopped
        new_frame = film is not None and len(film.film.frames) > self.frames_seen
        if new_frame:
            self.look_at_frames(run)
        if new_frame or time.monotonic() - status.last_written >= STATUS_EVERY_S:
            total = film.film.total_steps if film is not None else status.total_steps
            status.write(step=run.progress.step, total_steps=total, message=f"training: update {run.progress.step}")

    def look_at_frames(self, run: Run) -> None:
        film, reached = run.film.film, self.status.reached
        for index in range(self.frames_seen, len(film.frames)):
            frame = film.frames[index]
            when = {"step": frame.step, "elapsed_s": round(self.status.elapsed(), 2)}
            reached.setdefault("first_frame", when)
            exact = all(t == s.reference for t, s in zip(frame.translations, film.sentences))
            if exact and "exact" not in reached:
                reached["exact"] = when
            share, layer, head = best_head_hit_rate(
                [film.attention[n, "cross"][index] for n in range(len(film.sentences))], self.golds
            )
            reached["diagonal_now"] = {**when, "share": round(share, 4), "layer": layer, "head": head}
            if share >= DIAGONAL_TARGET and "diagonal" not in reached:
                reached["diagonal"] = reached["diagonal_now"]
        if "exact" in reached and "held_out" not in reached:  # the film's few right first: the whole test set
            share = exact_share(run.model, run.tok, self.test_src, self.test_tgt)
            if share >= HELD_OUT_TARGET:
                reached["held_out"] = {**when, "share": round(share, 4)}
        self.frames_seen = len(film.frames)


@torch.no_grad()
def exact_share(model, tok, sources: list[str], targets: list[str]) -> float:
    """Share of `sources` the model translates (greedy) exactly into `targets`; the model is left in the mode it was
    in, and greedy search draws no random number, so training goes on as it would have."""
    was_training = model.training
    try:
        model.eval()
        outputs = translate_many(model, tok, sources)
    finally:
        model.train(was_training)
    return sum(o == t for o, t in zip(outputs, targets)) / max(len(targets), 1)


def run_lab(
    task: str,
    out: Path,
    max_minutes: float = 3.0,
    seed: int = 1,
    steps: int = 0,
    force: bool = False,
    log=print,
    status: LabStatus | None = None,
) -> LabStatus:
    """Generate the task's data in `out`/data, train on it with the film saved after every frame, and leave the
    final checkpoint in `out`/final; lab.json says how it went. SIGTERM stops it cleanly (state "stopped", the film
    so far kept). `steps` (0: the lab's epochs) caps the updates; `max_minutes` the whole lab's time. `status`: a lab
    already opened (`open_lab`), else it is opened here."""
    status = status or open_lab(task, Path(out), max_minutes, force)
    out = status.folder
    threads = torch.get_num_threads()
    try:
        status.write(message="preparing the data")
        splits = generate(task, seed)
        paths = write_data(splits, out / DATA_DIR)
        test_src, test_tgt = read_lines(paths["test.src"]), read_lines(paths["test.tgt"])
        watcher = Watcher(status, [gold_links(task, s) for s in splits.film], test_src, test_tgt)
        budget_s = status.max_minutes * 60 - status.elapsed() - FINISH_MARGIN_S
        settings = lab_settings(task, out, paths, max(budget_s, 1.0) / 60, seed, steps)
        status.write(message="building the model")
        if status.stop_requested:
            raise LabStopped
        final = train(settings, on_update=watcher)
        if not (final / "config.json").is_file():
            raise LabError("the run ended before its first validation, so there is no checkpoint")
        status.write(message="scoring the held-out sequences")
        ckpt = load_checkpoint(final)
        share = exact_share(ckpt.model, ckpt.tokenizer, test_src, test_tgt)
        status.write(
            state="done",
            checkpoint=str(final.resolve()),
            held_out_exact=round(share, 4),
            message=f"done: {share:.0%} of the held-out sequences exact",
        )
    except (LabStopped, KeyboardInterrupt):
        status.write(state="stopped", message="stopped; the film so far is kept")
    except BaseException as exc:
        status.write(state="failed", message=" ".join(str(exc).split())[:300] or type(exc).__name__)
        raise
    finally:
        status.release_sigterm()
        torch.set_num_threads(threads)  # the lab trains on one; a caller in the same process gets its own back
    log(f"lab {task}: {status.state} ({status.message}); {json.dumps(status.reached)}")
    return status

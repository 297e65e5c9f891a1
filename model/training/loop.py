"""Training a Transformer translator: the loop, its resumable state, snapshots and the final checkpoint (the command is
`python -m model.train`, its settings a TrainConfig).

`train` reads as the outline: the run's folder, the texts, a starting checkpoint, the tokenizer, the model, the
optimiser and schedule, then `train_epochs` (each epoch `train_epoch`, each update `train_step`, each epoch's end
`end_of_epoch`) and `finalize`, which picks the checkpoint handed over.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import random
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import sacrebleu
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from model.analysis.encoder_collapse import collapse_warning, encoder_spread
from model.core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint, unique_state_dict
from model.core.config import TransformerConfig
from model.core.text_files import read_parallel
from model.core.tokenizer import Tokenizer
from model.core.transformer import Transformer
from model.decoding.batch import collate, translate_many
from model.decoding.translation import sequence_ids
from model.training.config import REWARM_UPDATES, TrainConfig
from model.training.data import encode_pairs, make_batches
from model.training.film_recorder import FilmInput, FilmRecorder, read_film_input

STATE_DIR, TOKENIZER_FILE, LOG_FILE, FILM_DIR = "state", "tokenizer.model", "log.csv", "film"
FILM_VALIDATION_PAIRS = 128  # each frame's validation loss: a smooth enough curve, cheap enough to take every frame


LOG_FIELDS = ["epoch", "step", "train_loss", "val_loss", "val_bleu", "lr", "tokens_per_s", "elapsed_s"]


@dataclass
class Progress:
    epoch: int = 0
    batch_in_epoch: int = 0
    step: int = 0
    best_bleu: float = -1.0
    best_epoch: float = -1  # fractional when the best weights came from a stop inside an epoch
    elapsed_s: float = 0.0
    optimizer_started_at: int = 0  # the update at which the optimiser's moments started from zero (`--continue-from`)
    continued_from: str = ""  # the checkpoint `--continue-from` went on from; kept through --resume for the card


@dataclass
class Workers:
    """This process among the run's processes (one, or several under torchrun) and the device it trains on."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def wait_for_all(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


@dataclass
class Texts:
    train_src: list[str]
    train_tgt: list[str]
    valid_src: list[str]
    valid_tgt: list[str]


@dataclass
class Run:
    """Everything one training run works with, built by `train` step by step."""

    settings: TrainConfig
    workers: Workers
    run_dir: Path
    tok: Tokenizer
    cfg: TransformerConfig
    model: Transformer
    train_pairs: list
    valid_pairs: list
    val_src: list[str]  # the validation sentences BLEU is computed on
    val_ref: list[str]
    progress: Progress
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    ddp_model: torch.nn.Module
    film: FilmRecorder | None = None  # on the main process of a run given --film
    on_update: Callable[[Run], None] | None = None  # called after every update (e.g. the lab's progress and stop)


class RunClock:
    """The run's clock: training time over all its legs (resumed ones included), and when the state was last saved."""

    def __init__(self, elapsed_before: float) -> None:
        self.elapsed_before, self.started = elapsed_before, time.monotonic()
        self.last_save = time.monotonic()

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started


@dataclass
class EpochResult:
    train_loss: float
    tokens_per_s: float
    batches: int  # this process's batches in the epoch
    stopped: bool  # by --max-steps or --max-minutes


def inverse_sqrt_schedule(d_model: int, warmup: int, factor: float):
    """lrate = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5) (paper §5.3)."""

    def lr_at(step: int) -> float:
        step = max(step, 1)
        return factor * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)

    return lr_at


def setup_distributed(device_arg: str) -> Workers:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    use_cuda = device_arg == "cuda" or (device_arg == "auto" and torch.cuda.is_available())
    if world > 1:
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return Workers(rank, world, torch.device("cuda", local))
    return Workers(rank, world, torch.device("cpu"))


def save_state(run_dir: Path, model, optimizer, scheduler, progress: Progress, settings: TrainConfig) -> None:
    tmp = run_dir / (STATE_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in unique_state_dict(model).items()}, str(tmp / "model.safetensors")
    )
    opt = optimizer.state_dict()
    tensors = {f"{idx}.{key}": value.cpu() for idx, st in opt["state"].items() for key, value in st.items()}
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    meta = {
        "progress": asdict(progress),
        "param_groups": opt["param_groups"],
        "scheduler": {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"},
        "python_rng": random.getstate(),
        "args": settings.as_dict(),
    }
    (tmp / "state.json").write_text(json.dumps(meta))
    final = run_dir / STATE_DIR
    old = run_dir / (STATE_DIR + ".old")
    if final.exists():
        final.rename(old)
    tmp.rename(final)  # the state is always either the old or the new one, never half written
    shutil.rmtree(old, ignore_errors=True)


def load_state(run_dir: Path, model, optimizer, scheduler) -> Progress:
    folder = run_dir / STATE_DIR
    meta = json.loads((folder / "state.json").read_text())
    model.load_state_dict(load_file(str(folder / "model.safetensors")), strict=False)
    tensors = load_file(str(folder / "optimizer.safetensors"))
    state: dict = {}
    for key, value in tensors.items():
        if key.startswith("rng."):
            continue
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = value
    groups = meta["param_groups"]
    for g in groups:
        g["betas"] = tuple(g["betas"])
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    scheduler.load_state_dict({**meta["scheduler"], "lr_lambdas": [None]})
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    version, internal, gauss = meta["python_rng"]
    random.setstate((version, tuple(internal), gauss))
    return Progress(**meta["progress"])


@torch.no_grad()
def validation_loss(model, pairs, cfg: TransformerConfig, device, max_tokens: int) -> float:
    model.eval()
    total, count = 0.0, 0
    for batch in make_batches(pairs, max_tokens, seed=None):
        src, tgt_in, tgt_out = (
            t.to(device) for t in collate([pairs[i] for i in batch], cfg.pad_id, cfg.decoder_start_id)
        )
        logits = model(src, tgt_in)
        total += float(
            F.cross_entropy(logits.flatten(0, 1).float(), tgt_out.flatten(), ignore_index=cfg.pad_id, reduction="sum")
        )
        count += int((tgt_out != cfg.pad_id).sum())
    return total / max(count, 1)


def validation_bleu(model, tok, src: list[str], ref: list[str], beam: int) -> float:
    model.eval()
    hyps = translate_many(model, tok, src, beam=beam)
    return sacrebleu.corpus_bleu(hyps, [ref]).score


def average_snapshots(files: list[Path]) -> dict[str, torch.Tensor]:
    total = None
    for f in files:
        state = load_file(str(f))
        total = (
            {k: v.double() for k, v in state.items()}
            if total is None
            else {k: total[k] + v.double() for k, v in state.items()}
        )
    return {k: (v / len(files)).float() for k, v in total.items()}


def checkpoint_val_bleu(card: dict) -> float:
    """What a trained checkpoint itself scored on validation, from its card: its average's score, or its best
    epoch's."""
    t = card["training"]
    return float(t.get("val_bleu_averaged", t.get("best_val_bleu", -1.0)))


def continued_progress(card: dict, source: str) -> tuple[Progress, list[dict]]:
    """The counters and curve of the run that trained a checkpoint, from its card, at the epoch its weights are from.

    A checkpoint that is one epoch of its run (not an average), when later epochs scored lower, goes on from that epoch:
    the later rows leave the curve, but not the clock (that time was spent).
    """
    t, curve = card["training"], card.get("curve", [])
    epoch, step = int(t["epochs"]), int(t["steps"])
    best_epoch = t.get("best_epoch", -1)
    if not t.get("averaged_epochs") and float(best_epoch).is_integer() and 0 < float(best_epoch) < epoch:
        epoch = int(best_epoch)
        curve = [row for row in curve if float(row["epoch"]) <= epoch]
        step = int(curve[-1]["step"]) if curve else step
    progress = Progress(
        epoch=epoch,
        step=step,
        best_bleu=checkpoint_val_bleu(card),
        best_epoch=best_epoch,
        elapsed_s=float(t.get("wall_time_s", 0)),
        optimizer_started_at=step,
        continued_from=source,
    )
    return progress, curve


def build_tokenizer(run_dir: Path, settings: TrainConfig, src_lines, tgt_lines, resume: bool) -> Tokenizer:
    path = run_dir / TOKENIZER_FILE
    if resume and path.is_file():
        return Tokenizer(path.read_bytes())  # the run's own, also where --tokenizer is given again
    if settings.tokenizer:
        try:
            tok = Tokenizer(Path(settings.tokenizer).read_bytes())
        except (OSError, RuntimeError, ValueError) as exc:
            raise SystemExit(
                f"error: --tokenizer {settings.tokenizer} is not a SentencePiece model Headlight can use ({exc})"
            ) from None
    else:
        try:
            tok = Tokenizer.train(src_lines + tgt_lines, settings.vocab_size)
        except RuntimeError as exc:  # SentencePiece says why in one long line of its own source file and checks
            most = re.search(r"Vocabulary size too high \(\d+\)\. Please set it to a value <= (\d+)", str(exc))
            if most:
                raise SystemExit(
                    f"error: --vocab-size {settings.vocab_size} is more pieces than the training text holds; the "
                    f"largest size that works for it is {most.group(1)}."
                ) from None
            raise SystemExit(f"error: SentencePiece cannot train a tokenizer on the training text ({exc}).") from None
    path.write_bytes(tok.model_proto)
    return tok


def train(settings: TrainConfig, on_update: Callable[[Run], None] | None = None) -> Path:
    """Train as `settings` says, from scratch, from its saved state (--resume) or from a checkpoint; return the folder
    of the final checkpoint. `on_update(run)` is called on the main process after every update; what it raises ends
    the run there."""
    workers = setup_distributed(settings.device)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    run_dir = prepare_run_dir(settings, workers)
    random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    texts = read_texts(settings)
    film_input = read_film_input(settings.film, settings.film_refs, settings.film_gold) if settings.film else None
    workers.wait_for_all()  # rank 0 made the folder
    start = starting_checkpoint(settings, run_dir, workers)
    tok = run_tokenizer(settings, run_dir, texts, workers, from_checkpoint=start is not None)
    cfg = model_config(settings, tok.vocab_size)
    train_pairs = encode_pairs(tok, texts.train_src, texts.train_tgt, cfg.max_len)
    valid_pairs = encode_pairs(tok, texts.valid_src, texts.valid_tgt, cfg.max_len)
    model = build_model(settings, cfg, start).to(workers.device)
    progress, old_curve = (
        continued_progress(start.card, str(settings.continue_from)) if settings.continue_from else (Progress(), [])
    )
    optimizer, scheduler = optimiser_and_schedule(model, settings, cfg.d_model, progress)
    if settings.resume:
        restore(progress, load_state(run_dir, model, optimizer, scheduler))
    if settings.continue_from and workers.main:
        write_log(run_dir, old_curve, fresh=True)  # the old run's curve goes on in this run's log
        save_checkpoint(
            run_dir / "best", model, tok, settings.src_lang, settings.tgt_lang, card=start.card
        )  # to beat, as the old run's best
    val_sents = settings.val_max_sentences or len(texts.valid_src)
    run = Run(
        settings=settings,
        workers=workers,
        run_dir=run_dir,
        tok=tok,
        cfg=cfg,
        model=model,
        train_pairs=train_pairs,
        valid_pairs=valid_pairs,
        val_src=texts.valid_src[:val_sents],
        val_ref=texts.valid_tgt[:val_sents],
        progress=progress,
        optimizer=optimizer,
        scheduler=scheduler,
        ddp_model=torch.nn.parallel.DistributedDataParallel(model) if workers.world > 1 else model,
        on_update=on_update if workers.main else None,
    )
    if workers.main:
        announce(run)
        run.film = film_recorder(run, film_input)
    train_epochs(run)
    final = finalize(run) if workers.main else run_dir
    if workers.world > 1:
        torch.distributed.destroy_process_group()
    return final


def film_recorder(run: Run, given: FilmInput | None) -> FilmRecorder | None:
    """The run's film (--film), continued from its saved frames on --resume; frame 0 is the model before any update."""
    settings = run.settings
    if given is None:
        return None
    batches = len(make_batches(run.train_pairs, settings.max_tokens, seed=settings.seed * 1000))
    total = settings.epochs * (batches // run.workers.world)
    if settings.max_steps:
        total = min(total, settings.max_steps)
    pairs = run.valid_pairs[:FILM_VALIDATION_PAIRS]
    film = FilmRecorder(
        run.model,
        run.tok,
        given,
        total,
        settings.film_frames,
        val_loss=lambda: validation_loss(run.model, pairs, run.cfg, run.workers.device, settings.max_tokens),
    )
    if settings.resume:
        film.resume_from(run.run_dir / FILM_DIR)
        film.drop_after(run.progress.step)
    if film.due(run.progress.step):
        film.record(run.progress.step, run.progress.epoch)
        if settings.film_every_frame:
            film.save(run.run_dir / FILM_DIR)
    return film


def prepare_run_dir(settings: TrainConfig, workers: Workers) -> Path:
    """The run's folder (made by rank 0); a new run may not overwrite an old one, and --resume needs one."""
    run_dir = Path(settings.run_dir)
    if workers.main:
        run_dir.mkdir(parents=True, exist_ok=True)
    if settings.resume and not (run_dir / STATE_DIR / "state.json").is_file():
        raise SystemExit(f"error: --resume given but {run_dir / STATE_DIR} holds no saved state")
    if not settings.resume and (run_dir / STATE_DIR).exists():
        raise SystemExit(
            f"error: {run_dir} already holds a run; pass --resume to continue it or choose another --run-dir"
        )
    return run_dir


def read_texts(settings: TrainConfig) -> Texts:
    train_src, train_tgt = read_parallel(settings.train_src, settings.train_tgt)
    if settings.max_train_pairs:
        train_src, train_tgt = train_src[: settings.max_train_pairs], train_tgt[: settings.max_train_pairs]
    return Texts(train_src, train_tgt, *read_parallel(settings.valid_src, settings.valid_tgt))


def starting_checkpoint(settings: TrainConfig, run_dir: Path, workers: Workers) -> Checkpoint | None:
    """The checkpoint of --init-from or --continue-from (its tokenizer copied into the run), checked; else None."""
    if not (settings.init_from or settings.continue_from):
        return None
    start_flag = "--continue-from" if settings.continue_from else "--init-from"
    if settings.init_from and settings.continue_from:
        raise SystemExit(
            "error: --init-from starts a new run; --continue-from goes on with an old one: give only one of them"
        )
    if settings.resume:
        raise SystemExit(
            f"error: {start_flag} starts from a checkpoint; --resume continues this run: give only one of them"
        )
    if settings.tokenizer:
        raise SystemExit(f"error: {start_flag} brings its checkpoint's tokenizer: leave out --tokenizer")
    try:
        start = load_checkpoint(settings.init_from or settings.continue_from)
    except CheckpointError as exc:
        raise SystemExit(f"error: {start_flag}: {exc}") from None
    if not isinstance(start.tokenizer, Tokenizer):
        raise SystemExit(
            f"error: {start_flag}: {start.path} has a source/target tokenizer pair (an imported model); "
            "training needs one joint tokenizer."
        )
    if settings.continue_from and not start.card.get("training", {}).get("steps"):
        raise SystemExit(
            f"error: --continue-from: {start.path} has no training record in its card.json; use --init-from"
        )
    if workers.main:
        (run_dir / TOKENIZER_FILE).write_bytes(start.tokenizer.model_proto)
    return start


def run_tokenizer(settings: TrainConfig, run_dir: Path, texts: Texts, workers: Workers, from_checkpoint: bool):
    """Rank 0 trains, reads or copies the run's tokenizer into the run's folder; the other ranks then read it."""
    tok = (
        build_tokenizer(run_dir, settings, texts.train_src, texts.train_tgt, settings.resume or from_checkpoint)
        if workers.main
        else None
    )
    if workers.world > 1:
        workers.wait_for_all()
        tok = tok or Tokenizer((run_dir / TOKENIZER_FILE).read_bytes())
    return tok


def model_config(settings: TrainConfig, vocab_size: int) -> TransformerConfig:
    return TransformerConfig(
        vocab_size=vocab_size,
        d_model=settings.d_model,
        n_heads=settings.n_heads,
        d_ff=settings.d_ff,
        n_encoder_layers=settings.encoder_layers or settings.n_layers,
        n_decoder_layers=settings.decoder_layers or settings.n_layers,
        dropout=settings.dropout,
        attention_dropout=settings.attention_dropout,
        activation_dropout=settings.activation_dropout,
        max_len=settings.max_len,
        norm_first=settings.pre_norm,
        share_embeddings=not settings.no_tie_embeddings,
        tie_embeddings=not settings.no_tie_embeddings,
    )


def build_model(settings: TrainConfig, cfg: TransformerConfig, start: Checkpoint | None) -> Transformer:
    """A new model (its weights drawn from the seeded generator), or the starting checkpoint's weights, which must
    have the architecture the flags ask for."""
    model = Transformer(cfg)
    if start is None:
        return model
    start_flag = "--continue-from" if settings.continue_from else "--init-from"
    training_only = {"dropout", "attention_dropout", "activation_dropout"}  # the rest of cfg is the architecture
    differ = [
        f"{f.name} {getattr(start.model.cfg, f.name)} (flags: {getattr(cfg, f.name)})"
        for f in fields(cfg)
        if f.name not in training_only and getattr(start.model.cfg, f.name) != getattr(cfg, f.name)
    ]
    if differ:
        raise SystemExit(f"error: {start_flag} {start.path} has another architecture: {', '.join(differ)}.")
    model.load_state_dict(start.model.state_dict())
    return model


def optimiser_and_schedule(model: Transformer, settings: TrainConfig, d_model: int, progress: Progress):
    """Adam as in the paper (§5.3: β1 0.9, β2 0.98, ε 1e-9) at a base rate of 1, scaled at each update by
    `learning_rate`; the scheduler starts at the run's update count."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    for group in optimizer.param_groups:
        group["initial_lr"] = group["lr"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, learning_rate(settings, d_model, progress), last_epoch=progress.step - 1
    )
    return optimizer, scheduler


def learning_rate(settings: TrainConfig, d_model: int, progress: Progress):
    """The learning rate at each update: the paper's schedule over the run's update count (so a continued run goes on
    at the card's count), its first updates ramped when the optimiser's moments started afresh (`--continue-from`).
    `progress` is read when called, after --resume has restored it."""
    schedule = inverse_sqrt_schedule(d_model, settings.warmup, settings.lr_factor)

    def lr_at(step: int) -> float:
        if not progress.optimizer_started_at:
            return schedule(step)
        return schedule(step) * min(1.0, (step - progress.optimizer_started_at + 1) / REWARM_UPDATES)

    return lr_at


def restore(progress: Progress, saved: Progress) -> None:
    """Put the saved counters into the run's `progress` in place (the schedule holds that object)."""
    for f in fields(Progress):
        setattr(progress, f.name, getattr(saved, f.name))


def announce(run: Run) -> None:
    print(
        f"{len(run.train_pairs)} training pairs, {len(run.valid_pairs)} validation pairs, vocabulary "
        f"{run.tok.vocab_size}, {run.model.num_parameters() / 1e6:.2f}M parameters, device {run.workers.device}, "
        f"{run.workers.world} process(es)",
        flush=True,
    )
    progress = run.progress
    if progress.step:
        print(
            f"resuming at epoch {progress.epoch + 1}, batch {progress.batch_in_epoch}, step {progress.step}",
            flush=True,
        )


def train_epochs(run: Run) -> None:
    """Epoch after epoch until --epochs, --max-steps or --max-minutes; each ends scored, logged and saved."""
    settings, progress, clock = run.settings, run.progress, RunClock(run.progress.elapsed_s)
    # Resumed after its time ran out; the saved clock, not the live one, so that every rank under torchrun agrees.
    finished = bool(settings.max_minutes) and progress.elapsed_s >= settings.max_minutes * 60
    while progress.epoch < settings.epochs and not finished:
        result = train_epoch(run, clock)
        finished = result.stopped
        stopped_inside = progress.batch_in_epoch < result.batches
        label = round(progress.epoch + progress.batch_in_epoch / result.batches, 2) if stopped_inside else None
        if not stopped_inside:
            progress.epoch += 1
            progress.batch_in_epoch = 0
            progress.elapsed_s = clock.elapsed()
        if run.workers.main:  # a stop inside an epoch is scored and kept like an epoch, for the final pick and average
            end_of_epoch(run, result, clock.elapsed(), label=label)
        save_progress(run, clock)
        if stopped_inside:
            break
        clock.last_save = time.monotonic()


def save_progress(run: Run, clock: RunClock) -> None:
    run.progress.elapsed_s = clock.elapsed()
    if run.workers.main:
        save_state(run.run_dir, run.model, run.optimizer, run.scheduler, run.progress, run.settings)
        if run.film:  # saved with the state, so that a resumed run's film holds exactly the updates its state does
            run.film.save(run.run_dir / FILM_DIR)


def train_epoch(run: Run, clock: RunClock) -> EpochResult:
    """This process's share of one epoch's batches (from where a resumed run stopped), one update each."""
    settings, progress, workers = run.settings, run.progress, run.workers
    batches = make_batches(run.train_pairs, settings.max_tokens, seed=settings.seed * 1000 + progress.epoch)
    usable = len(batches) - len(batches) % workers.world
    my_batches = batches[workers.rank : usable : workers.world]
    run.model.train()
    loss_sum, loss_tokens, tokens_seen, epoch_start = 0.0, 0, 0, time.monotonic()
    bar = tqdm(
        range(progress.batch_in_epoch, len(my_batches)),
        desc=f"epoch {progress.epoch + 1}",
        disable=not workers.main,
        mininterval=1 if sys.stderr.isatty() else 60,
        file=sys.stderr,
    )
    stopped = False
    for b in bar:
        loss, target_tokens, all_tokens = train_step(run, my_batches[b])
        progress.step += 1
        progress.batch_in_epoch = b + 1
        if run.film:
            run.film.add_loss(loss, target_tokens)
            if run.film.due(progress.step):
                run.film.record(progress.step, progress.epoch + (b + 1) / len(my_batches))
                if settings.film_every_frame:
                    run.film.save(run.run_dir / FILM_DIR)
        if run.on_update:
            run.on_update(run)
        loss_sum += loss
        loss_tokens += target_tokens
        tokens_seen += all_tokens
        bar.set_postfix(
            loss=f"{loss_sum / loss_tokens:.3f}",
            tok_s=f"{tokens_seen / (time.monotonic() - epoch_start):.0f}",
            lr=f"{run.scheduler.get_last_lr()[0]:.2e}",
            refresh=False,
        )
        if time.monotonic() - clock.last_save > settings.save_every_minutes * 60:
            save_progress(run, clock)
            clock.last_save = time.monotonic()
        if (settings.max_steps and progress.step >= settings.max_steps) or (
            settings.max_minutes
            and out_of_time(clock.elapsed(), settings.max_minutes, workers.world, workers.device, progress.step)
        ):
            stopped = True
            break
    bar.close()
    tokens_per_s = tokens_seen / max(time.monotonic() - epoch_start, 1e-9)
    return EpochResult(loss_sum / max(loss_tokens, 1), tokens_per_s, len(my_batches), stopped)


def train_step(run: Run, batch: list[int]) -> tuple[float, int, int]:
    """One update on the pairs at `batch`: (summed label-smoothed loss, target tokens, source + target tokens)."""
    cfg, settings = run.cfg, run.settings
    src, tgt_in, tgt_out = (
        t.to(run.workers.device) for t in collate([run.train_pairs[i] for i in batch], cfg.pad_id, cfg.decoder_start_id)
    )
    with torch.autocast(run.workers.device.type, dtype=torch.bfloat16, enabled=settings.bf16):
        logits = run.ddp_model(src, tgt_in)
    loss_sum = F.cross_entropy(
        logits.flatten(0, 1).float(),
        tgt_out.flatten(),
        ignore_index=cfg.pad_id,
        label_smoothing=settings.label_smoothing,
        reduction="sum",
    )
    n_tokens = int((tgt_out != cfg.pad_id).sum())
    run.optimizer.zero_grad(set_to_none=True)
    (loss_sum / n_tokens).backward()
    if settings.clip_norm:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), settings.clip_norm)
    run.optimizer.step()
    run.scheduler.step()
    return loss_sum.detach().item(), n_tokens, n_tokens + int((src != cfg.pad_id).sum())


def out_of_time(elapsed_s: float, max_minutes: float, world: int, device: torch.device, step: int) -> bool:
    """Whether the run's clock has reached `max_minutes`; under torchrun rank 0's clock decides for all ranks, every
    16 updates, so that they stop at the same update."""
    if world == 1:
        return elapsed_s >= max_minutes * 60
    if step % 16:
        return False
    flag = torch.tensor([float(elapsed_s >= max_minutes * 60)], device=device)
    torch.distributed.broadcast(flag, src=0)
    return bool(flag.item())


def end_of_epoch(run: Run, result: EpochResult, elapsed_s: float, label: float | None = None) -> None:
    """Score, log and snapshot the weights; `label`: the fractional epoch of a stop inside one (else the epoch
    count)."""
    model, tok, settings, progress = run.model, run.tok, run.settings, run.progress
    label = progress.epoch if label is None else label
    val_loss = validation_loss(model, run.valid_pairs, run.cfg, run.workers.device, settings.max_tokens)
    bleu = validation_bleu(model, tok, run.val_src, run.val_ref, settings.val_beam)
    report_encoder_spread(model, tok, run.val_src[:32])
    row = {
        "epoch": label,
        "step": progress.step,
        "train_loss": round(result.train_loss, 4),
        "val_loss": round(val_loss, 4),
        "val_bleu": round(bleu, 2),
        "lr": f"{run.scheduler.get_last_lr()[0]:.3e}",
        "tokens_per_s": round(result.tokens_per_s),
        "elapsed_s": round(elapsed_s),
    }
    write_log(run.run_dir, [row])
    if run.film:
        run.film.record(progress.step, label, bleu=round(bleu, 2), val_loss=val_loss)
        if settings.film_every_frame:
            run.film.save(run.run_dir / FILM_DIR)
    print(
        f"epoch {label}: train loss {result.train_loss:.3f}, val loss {val_loss:.3f}, val BLEU {bleu:.2f}", flush=True
    )
    snapshots = run.run_dir / "epochs"
    snapshots.mkdir(exist_ok=True)
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in unique_state_dict(model).items()},
        str(snapshots / f"epoch{math.ceil(label):03d}.safetensors"),
    )  # a full epoch later replaces a partial one
    for old in sorted(snapshots.glob("epoch*.safetensors"))[: -max(settings.average_last, 1)]:
        old.unlink()
    if bleu > progress.best_bleu:
        progress.best_bleu, progress.best_epoch = bleu, label
        save_checkpoint(
            run.run_dir / "best",
            model,
            tok,
            settings.src_lang,
            settings.tgt_lang,
            card=training_card(settings, progress, model, run.run_dir),
        )
    model.train()


def report_encoder_spread(model, tok, sentences: list[str]) -> None:
    """Print how far apart the encoder's output positions are, and warn when they have collapsed."""
    spreads = encoder_spread(model, [sequence_ids(model, tok, line) for line in sentences])
    print(
        f"encoder output relative spread {spreads[-1]:.4f} (per layer: {' '.join(f'{v:.3f}' for v in spreads[:-1])})",
        flush=True,
    )
    warning = collapse_warning(spreads)
    if warning:
        print(warning, flush=True)


def write_log(run_dir: Path, rows: list[dict], fresh: bool = False) -> None:
    """Append `rows` to the run's per-epoch CSV (a `fresh` log replaces any there), with its header when it is new."""
    log = run_dir / LOG_FILE
    new = fresh or not log.exists()
    with log.open("w" if fresh else "a", newline="") as f:
        writer = csv.DictWriter(f, LOG_FIELDS, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerows(rows)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def training_card(settings: TrainConfig, progress: Progress, model: Transformer, run_dir: Path) -> dict:
    log = run_dir / LOG_FILE
    curve = list(csv.DictReader(log.open())) if log.exists() else []
    return {
        "languages": {"source": settings.src_lang, "target": settings.tgt_lang},
        "data": {
            "train": [str(settings.train_src), str(settings.train_tgt)],
            "valid": [str(settings.valid_src), str(settings.valid_tgt)],
        },
        "parameters": model.num_parameters(),
        "training": {
            "epochs": progress.epoch,
            "steps": progress.step,
            "wall_time_s": round(progress.elapsed_s or 0),
            "best_epoch": progress.best_epoch,
            "best_val_bleu": round(progress.best_bleu, 2),
            **(
                {"continued_from": {"checkpoint": progress.continued_from, "update": progress.optimizer_started_at}}
                if progress.continued_from
                else {}
            ),
            "hardware": f"{cpu_name()}, {torch.get_num_threads()} CPU threads"
            + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""),
            "args": settings.as_dict(),
        },
        "curve": curve,
    }


def finalize(run: Run) -> Path:
    """Pick the final model: the best epoch, or the average of the last k epochs if that scores higher."""
    run_dir = run.run_dir
    best_dir = run_dir / "best"
    if not best_dir.exists():
        return run_dir
    final_dir = run_dir / "final"
    chosen = averaged_if_better(run) or best_dir
    shutil.rmtree(final_dir, ignore_errors=True)
    shutil.copytree(chosen, final_dir)
    if (run_dir / FILM_DIR).is_dir():  # the film travels with the model it filmed
        for file in (run_dir / FILM_DIR).iterdir():
            shutil.copy2(file, final_dir / file.name)
    load_checkpoint(final_dir)  # the folder we hand over must load
    print(f"final checkpoint: {final_dir} (from {chosen.name})", flush=True)
    return final_dir


def averaged_if_better(run: Run) -> Path | None:
    """The checkpoint of the average of the last --average-last epoch snapshots, when it beats the best single epoch
    on validation BLEU; else None."""
    run_dir, settings, progress, model = run.run_dir, run.settings, run.progress, run.model
    snapshots = (
        sorted((run_dir / "epochs").glob("epoch*.safetensors"))[-settings.average_last :]
        if settings.average_last > 1
        else []
    )
    if len(snapshots) <= 1:
        return None
    model.load_state_dict(average_snapshots(snapshots), strict=False)
    bleu = validation_bleu(model, run.tok, run.val_src, run.val_ref, settings.val_beam)
    print(
        f"average of the last {len(snapshots)} epochs: val BLEU {bleu:.2f} (best single epoch "
        f"{progress.best_bleu:.2f})",
        flush=True,
    )
    if bleu <= progress.best_bleu:
        return None
    card = training_card(settings, progress, model, run_dir)
    card["training"]["averaged_epochs"] = [int(s.stem[5:]) for s in snapshots]
    card["training"]["val_bleu_averaged"] = round(bleu, 2)
    save_checkpoint(run_dir / "averaged", model, run.tok, settings.src_lang, settings.tgt_lang, card=card)
    return run_dir / "averaged"

"""Training a Transformer translator: the loop, its resumable state, snapshots and the final checkpoint (the command is
`python -m model.train`)."""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import sacrebleu
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from model.analysis.diagnostics import collapse_warning, encoder_spread
from model.core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, unique_state_dict
from model.core.config import TransformerConfig
from model.core.text_files import read_parallel
from model.core.tokenizer import Tokenizer
from model.core.transformer import Transformer
from model.decoding.batch import collate, translate_many
from model.decoding.translation import sequence_ids
from model.training.data import encode_pairs, make_batches

STATE_DIR, TOKENIZER_FILE, LOG_FILE = "state", "tokenizer.model", "log.csv"


# A run continued from a checkpoint starts Adam's moments at zero, and Adam's first updates then move every weight by
# about the whole learning rate: a short linear ramp keeps them from undoing a trained model.
REWARM_UPDATES = 100


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


def inverse_sqrt_schedule(d_model: int, warmup: int, factor: float):
    """lrate = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5) (paper §5.3)."""

    def lr_at(step: int) -> float:
        step = max(step, 1)
        return factor * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)

    return lr_at


def setup_distributed(device_arg: str) -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    use_cuda = device_arg == "cuda" or (device_arg == "auto" and torch.cuda.is_available())
    if world > 1:
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def save_state(run_dir: Path, model, optimizer, scheduler, progress: Progress, args) -> None:
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
        "args": vars(args),
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


def build_tokenizer(run_dir: Path, args, src_lines, tgt_lines, resume: bool) -> Tokenizer:
    path = run_dir / TOKENIZER_FILE
    if resume and path.is_file():
        return Tokenizer(path.read_bytes())  # the run's own, also where --tokenizer is given again
    if args.tokenizer:
        try:
            tok = Tokenizer(Path(args.tokenizer).read_bytes())
        except (OSError, RuntimeError, ValueError) as exc:
            raise SystemExit(
                f"error: --tokenizer {args.tokenizer} is not a SentencePiece model Headlight can use ({exc})"
            ) from None
    else:
        tok = Tokenizer.train(src_lines + tgt_lines, args.vocab_size)
    path.write_bytes(tok.model_proto)
    return tok


def train(args: argparse.Namespace) -> Path:
    rank, world, device = setup_distributed(args.device)
    main_process = rank == 0
    if args.threads:
        torch.set_num_threads(args.threads)
    run_dir = Path(args.run_dir)
    if main_process:
        run_dir.mkdir(parents=True, exist_ok=True)
    if args.resume and not (run_dir / STATE_DIR / "state.json").is_file():
        raise SystemExit(f"error: --resume given but {run_dir / STATE_DIR} holds no saved state")
    if not args.resume and (run_dir / STATE_DIR).exists():
        raise SystemExit(
            f"error: {run_dir} already holds a run; pass --resume to continue it or choose another --run-dir"
        )

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    train_src, train_tgt = read_parallel(args.train_src, args.train_tgt)
    if args.max_train_pairs:
        train_src, train_tgt = train_src[: args.max_train_pairs], train_tgt[: args.max_train_pairs]
    valid_src, valid_tgt = read_parallel(args.valid_src, args.valid_tgt)
    if world > 1:
        torch.distributed.barrier()  # rank 0 made the folder
    start, start_flag = None, "--continue-from" if args.continue_from else "--init-from"
    if args.init_from or args.continue_from:
        if args.init_from and args.continue_from:
            raise SystemExit(
                "error: --init-from starts a new run; --continue-from goes on with an old one: give only one of them"
            )
        if args.resume:
            raise SystemExit(
                f"error: {start_flag} starts from a checkpoint; --resume continues this run: give only one of them"
            )
        if args.tokenizer:
            raise SystemExit(f"error: {start_flag} brings its checkpoint's tokenizer: leave out --tokenizer")
        try:
            start = load_checkpoint(args.init_from or args.continue_from)
        except CheckpointError as exc:
            raise SystemExit(f"error: {start_flag}: {exc}") from None
        if not isinstance(start.tokenizer, Tokenizer):
            raise SystemExit(
                f"error: {start_flag}: {start.path} has a source/target tokenizer pair (an imported model); "
                "training needs one joint tokenizer."
            )
        if args.continue_from and not start.card.get("training", {}).get("steps"):
            raise SystemExit(
                f"error: --continue-from: {start.path} has no training record in its card.json; use --init-from"
            )
        if main_process:
            (run_dir / TOKENIZER_FILE).write_bytes(start.tokenizer.model_proto)
    tok = (
        build_tokenizer(run_dir, args, train_src, train_tgt, args.resume or start is not None) if main_process else None
    )
    if world > 1:
        torch.distributed.barrier()
        tok = tok or Tokenizer((run_dir / TOKENIZER_FILE).read_bytes())

    cfg = TransformerConfig(
        vocab_size=tok.vocab_size,
        d_model=args.d_model,
        n_heads=args.n_heads,
        d_ff=args.d_ff,
        n_encoder_layers=args.encoder_layers or args.n_layers,
        n_decoder_layers=args.decoder_layers or args.n_layers,
        dropout=args.dropout,
        attention_dropout=args.attention_dropout,
        activation_dropout=args.activation_dropout,
        max_len=args.max_len,
        norm_first=args.pre_norm,
        share_embeddings=not args.no_tie_embeddings,
        tie_embeddings=not args.no_tie_embeddings,
    )
    train_pairs = encode_pairs(tok, train_src, train_tgt, cfg.max_len)
    valid_pairs = encode_pairs(tok, valid_src, valid_tgt, cfg.max_len)
    model = Transformer(cfg)
    if start is not None:
        training_only = {
            "dropout",
            "attention_dropout",
            "activation_dropout",
        }  # the rest of the config is the architecture
        differ = [
            f"{f.name} {getattr(start.model.cfg, f.name)} (flags: {getattr(cfg, f.name)})"
            for f in fields(cfg)
            if f.name not in training_only and getattr(start.model.cfg, f.name) != getattr(cfg, f.name)
        ]
        if differ:
            raise SystemExit(f"error: {start_flag} {start.path} has another architecture: {', '.join(differ)}.")
        model.load_state_dict(start.model.state_dict())
    model = model.to(device)
    progress, old_curve = (
        continued_progress(start.card, str(args.continue_from)) if args.continue_from else (Progress(), [])
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0, betas=(0.9, 0.98), eps=1e-9)
    for group in optimizer.param_groups:
        group["initial_lr"] = group["lr"]
    schedule = inverse_sqrt_schedule(cfg.d_model, args.warmup, args.lr_factor)
    # The scheduler counts the run's updates (so a continued run goes on at the card's count); `progress` is read when
    # called, after --resume has replaced it.
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            schedule(step) * min(1.0, (step - progress.optimizer_started_at + 1) / REWARM_UPDATES)
            if progress.optimizer_started_at
            else schedule(step)
        ),
        last_epoch=progress.step - 1,
    )
    if args.resume:
        progress = load_state(run_dir, model, optimizer, scheduler)
    if args.continue_from and main_process:
        write_log(run_dir, old_curve, fresh=True)  # the old run's curve goes on in this run's log
        save_checkpoint(
            run_dir / "best", model, tok, args.src_lang, args.tgt_lang, card=start.card
        )  # to beat, as the old run's best
    ddp_model = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model

    if main_process:
        print(
            f"{len(train_pairs)} training pairs, {len(valid_pairs)} validation pairs, vocabulary {tok.vocab_size}, "
            f"{model.num_parameters() / 1e6:.2f}M parameters, device {device}, {world} process(es)",
            flush=True,
        )
        if progress.step:
            print(
                f"resuming at epoch {progress.epoch + 1}, batch {progress.batch_in_epoch}, step {progress.step}",
                flush=True,
            )
    val_sents = args.val_max_sentences or len(valid_src)
    last_save = time.monotonic()
    start_elapsed, started = progress.elapsed_s, time.monotonic()

    def elapsed() -> float:
        return start_elapsed + time.monotonic() - started

    def checkpoint_now() -> None:
        progress.elapsed_s = elapsed()
        if main_process:
            save_state(run_dir, model, optimizer, scheduler, progress, args)

    # Resumed after its time ran out; the saved clock, not the live one, so that every rank under torchrun agrees.
    finished = bool(args.max_minutes) and progress.elapsed_s >= args.max_minutes * 60
    while progress.epoch < args.epochs and not finished:
        batches = make_batches(train_pairs, args.max_tokens, seed=args.seed * 1000 + progress.epoch)
        usable = len(batches) - len(batches) % world
        my_batches = batches[rank:usable:world]
        model.train()
        loss_sum, loss_tokens, tokens_seen, epoch_start = 0.0, 0, 0, time.monotonic()
        bar = tqdm(
            range(progress.batch_in_epoch, len(my_batches)),
            desc=f"epoch {progress.epoch + 1}",
            disable=not main_process,
            mininterval=1 if sys.stderr.isatty() else 60,
            file=sys.stderr,
        )
        for b in bar:
            src, tgt_in, tgt_out = (
                t.to(device) for t in collate([train_pairs[i] for i in my_batches[b]], cfg.pad_id, cfg.decoder_start_id)
            )
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.bf16):
                logits = ddp_model(src, tgt_in)
            loss_per_token = F.cross_entropy(
                logits.flatten(0, 1).float(),
                tgt_out.flatten(),
                ignore_index=cfg.pad_id,
                label_smoothing=args.label_smoothing,
                reduction="sum",
            )
            n_tokens = int((tgt_out != cfg.pad_id).sum())
            optimizer.zero_grad(set_to_none=True)
            (loss_per_token / n_tokens).backward()
            if args.clip_norm:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_norm)
            optimizer.step()
            scheduler.step()
            progress.step += 1
            progress.batch_in_epoch = b + 1
            loss_sum += loss_per_token.detach().item()
            loss_tokens += n_tokens
            tokens_seen += n_tokens + int((src != cfg.pad_id).sum())
            bar.set_postfix(
                loss=f"{loss_sum / loss_tokens:.3f}",
                tok_s=f"{tokens_seen / (time.monotonic() - epoch_start):.0f}",
                lr=f"{scheduler.get_last_lr()[0]:.2e}",
                refresh=False,
            )
            if time.monotonic() - last_save > args.save_every_minutes * 60:
                checkpoint_now()
                last_save = time.monotonic()
            if (args.max_steps and progress.step >= args.max_steps) or (
                args.max_minutes and out_of_time(elapsed(), args.max_minutes, world, device, progress.step)
            ):
                finished = True
                break
        bar.close()
        tokens_per_s = tokens_seen / max(time.monotonic() - epoch_start, 1e-9)
        stopped_inside = progress.batch_in_epoch < len(my_batches)  # by --max-steps or --max-minutes
        label = round(progress.epoch + progress.batch_in_epoch / len(my_batches), 2) if stopped_inside else None
        if not stopped_inside:
            progress.epoch += 1
            progress.batch_in_epoch = 0
            progress.elapsed_s = elapsed()
        if (
            main_process
        ):  # a stop inside an epoch is scored and kept like an epoch, so the final pick (and averaging) can use it
            end_of_epoch(
                run_dir,
                model,
                tok,
                args,
                progress,
                cfg,
                device,
                valid_pairs,
                valid_src[:val_sents],
                valid_tgt[:val_sents],
                loss_sum / max(loss_tokens, 1),
                scheduler.get_last_lr()[0],
                tokens_per_s,
                elapsed(),
                label=label,
            )
        checkpoint_now()
        if stopped_inside:
            break
        last_save = time.monotonic()

    final = (
        finalize(run_dir, model, tok, args, progress, valid_src[:val_sents], valid_tgt[:val_sents])
        if main_process
        else run_dir
    )
    if world > 1:
        torch.distributed.destroy_process_group()
    return final


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


def end_of_epoch(
    run_dir,
    model,
    tok,
    args,
    progress,
    cfg,
    device,
    valid_pairs,
    val_src,
    val_ref,
    train_loss,
    lr,
    tokens_per_s,
    elapsed_s,
    label: float | None = None,
):
    """Score, log and snapshot the weights; `label`: the fractional epoch of a stop inside one (else the epoch
    count)."""
    label = progress.epoch if label is None else label
    val_loss = validation_loss(model, valid_pairs, cfg, device, args.max_tokens)
    bleu = validation_bleu(model, tok, val_src, val_ref, args.val_beam)
    spreads = encoder_spread(model, [sequence_ids(model, tok, line) for line in val_src[:32]])
    print(
        f"encoder output relative spread {spreads[-1]:.4f} (per layer: {' '.join(f'{v:.3f}' for v in spreads[:-1])})",
        flush=True,
    )
    warning = collapse_warning(spreads)
    if warning:
        print(warning, flush=True)
    row = {
        "epoch": label,
        "step": progress.step,
        "train_loss": round(train_loss, 4),
        "val_loss": round(val_loss, 4),
        "val_bleu": round(bleu, 2),
        "lr": f"{lr:.3e}",
        "tokens_per_s": round(tokens_per_s),
        "elapsed_s": round(elapsed_s),
    }
    write_log(run_dir, [row])
    print(f"epoch {label}: train loss {train_loss:.3f}, val loss {val_loss:.3f}, val BLEU {bleu:.2f}", flush=True)
    snapshots = run_dir / "epochs"
    snapshots.mkdir(exist_ok=True)
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in unique_state_dict(model).items()},
        str(snapshots / f"epoch{math.ceil(label):03d}.safetensors"),
    )  # a full epoch later replaces a partial one
    for old in sorted(snapshots.glob("epoch*.safetensors"))[: -max(args.average_last, 1)]:
        old.unlink()
    if bleu > progress.best_bleu:
        progress.best_bleu, progress.best_epoch = bleu, label
        save_checkpoint(
            run_dir / "best",
            model,
            tok,
            args.src_lang,
            args.tgt_lang,
            card=training_card(args, progress, model, run_dir),
        )
    model.train()


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


def training_card(args, progress: Progress, model: Transformer, run_dir: Path) -> dict:
    log = run_dir / LOG_FILE
    curve = list(csv.DictReader(log.open())) if log.exists() else []
    return {
        "languages": {"source": args.src_lang, "target": args.tgt_lang},
        "data": {
            "train": [str(args.train_src), str(args.train_tgt)],
            "valid": [str(args.valid_src), str(args.valid_tgt)],
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
            "args": {k: v for k, v in vars(args).items()},
        },
        "curve": curve,
    }


def finalize(run_dir: Path, model, tok, args, progress: Progress, val_src, val_ref) -> Path:
    """Pick the final model: the best epoch, or the average of the last k epochs if that scores higher."""
    best_dir = run_dir / "best"
    if not best_dir.exists():
        return run_dir
    final_dir = run_dir / "final"
    chosen = best_dir
    snapshots = (
        sorted((run_dir / "epochs").glob("epoch*.safetensors"))[-args.average_last :] if args.average_last > 1 else []
    )
    if len(snapshots) > 1:
        model.load_state_dict(average_snapshots(snapshots), strict=False)
        bleu = validation_bleu(model, tok, val_src, val_ref, args.val_beam)
        print(
            f"average of the last {len(snapshots)} epochs: val BLEU {bleu:.2f} (best single epoch "
            f"{progress.best_bleu:.2f})",
            flush=True,
        )
        if bleu > progress.best_bleu:
            card = training_card(args, progress, model, run_dir)
            card["training"]["averaged_epochs"] = [int(s.stem[5:]) for s in snapshots]
            card["training"]["val_bleu_averaged"] = round(bleu, 2)
            save_checkpoint(run_dir / "averaged", model, tok, args.src_lang, args.tgt_lang, card=card)
            chosen = run_dir / "averaged"
    shutil.rmtree(final_dir, ignore_errors=True)
    shutil.copytree(chosen, final_dir)
    load_checkpoint(final_dir)  # the folder we hand over must load
    print(f"final checkpoint: {final_dir} (from {chosen.name})", flush=True)
    return final_dir


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m model.train", description="Train a Transformer translator.")
    data = p.add_argument_group("data")
    data.add_argument("--train-src", required=True, help="source sentences, one per line (.gz allowed)")
    data.add_argument("--train-tgt", required=True)
    data.add_argument("--valid-src", required=True)
    data.add_argument("--valid-tgt", required=True)
    data.add_argument("--src-lang", default="src")
    data.add_argument("--tgt-lang", default="tgt")
    data.add_argument("--vocab-size", type=int, default=8000, help="joint SentencePiece vocabulary size")
    data.add_argument(
        "--tokenizer",
        help="use this joint SentencePiece model (e.g. a shipped checkpoint's tokenizer.model) "
        "instead of training one; --vocab-size is then its size",
    )
    data.add_argument("--max-train-pairs", type=int, default=0, help="use only the first N pairs (0: all)")
    arch = p.add_argument_group("model")
    arch.add_argument("--d-model", type=int, default=256)
    arch.add_argument("--n-heads", type=int, default=8)
    arch.add_argument("--d-ff", type=int, default=1024)
    arch.add_argument("--n-layers", type=int, default=3, help="layers in each stack, unless set apart by the next two")
    arch.add_argument("--encoder-layers", type=int, default=0, help="encoder layers (0: --n-layers)")
    arch.add_argument("--decoder-layers", type=int, default=0, help="decoder layers (0: --n-layers)")
    arch.add_argument(
        "--dropout", type=float, default=0.1, help="residual dropout: sub-layer outputs, embeddings + PE (paper 5.4)"
    )
    arch.add_argument(
        "--attention-dropout", type=float, default=None, help="on the attention weights (default: --dropout)"
    )
    arch.add_argument("--activation-dropout", type=float, default=None, help="inside the FFN (default: --dropout)")
    arch.add_argument("--max-len", type=int, default=256)
    arch.add_argument(
        "--pre-norm", action="store_true", help="LayerNorm before each sub-layer (default: after, as in the paper)"
    )
    arch.add_argument("--no-tie-embeddings", action="store_true")
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--max-tokens", type=int, default=4096, help="tokens per side in a batch")
    opt.add_argument("--epochs", type=int, default=20)
    opt.add_argument("--max-steps", type=int, default=0, help="stop after this many updates (0: no limit)")
    opt.add_argument(
        "--max-minutes",
        type=float,
        default=0,
        help="stop when the run's clock (resumed legs included) reaches this many minutes of training (0: no limit)",
    )
    opt.add_argument(
        "--lr-factor", type=float, default=1.0, help="lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)"
    )
    opt.add_argument("--warmup", type=int, default=4000)
    opt.add_argument("--label-smoothing", type=float, default=0.1)
    opt.add_argument("--clip-norm", type=float, default=0.0)
    opt.add_argument("--seed", type=int, default=1)
    run = p.add_argument_group("run")
    run.add_argument("--run-dir", required=True, help="folder for state, logs and checkpoints")
    run.add_argument("--resume", action="store_true", help="continue the run in --run-dir where it stopped")
    run.add_argument(
        "--init-from",
        help="start a new run from a trained checkpoint's weights and tokenizer (e.g. a shipped one, "
        "when its run's state is gone); the optimiser and the schedule start afresh",
    )
    run.add_argument(
        "--continue-from",
        help="continue the run that trained a checkpoint, when that run's state is gone: its weights, "
        "tokenizer, and its card's counters (epochs, updates, wall time, the best validation "
        "BLEU) and curve; the learning-rate schedule goes on from the card's update count "
        f"and the optimiser's fresh moments ramp it up over {REWARM_UPDATES} updates",
    )
    run.add_argument("--save-every-minutes", type=float, default=10.0)
    run.add_argument("--average-last", type=int, default=0, help="also try the average of the last k epoch snapshots")
    run.add_argument("--val-beam", type=int, default=1, help="beam used for validation BLEU")
    run.add_argument("--val-max-sentences", type=int, default=0, help="validate BLEU on the first N (0: all)")
    run.add_argument("--device", default="auto", help="cpu, cuda, or auto")
    run.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    run.add_argument("--bf16", action="store_true", help="bfloat16 autocast for the forward pass")
    return p

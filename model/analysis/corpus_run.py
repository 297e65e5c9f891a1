"""What a corpus run computes per head and stores, and reads back for the head dashboards (the library behind
the command model/corpus.py).

Translates every sentence once (greedy; or teacher-forces --ref), and stores, per head, what the head
dashboards need, in NPZ chunks (no pickles) written as it goes, so memory stays bounded and an
interrupted run resumes where it stopped:

- `stats`: [sentences, heads, statistics] (model/analysis/head_statistics.py's statistics of every head, per sentence);
- `pattern`: [heads, 2R + 1] running sums of the weight at each offset from the diagonal (key − query,
  cross-attention against the length-scaled diagonal), and their counts;
- `q`, `k`: a few sampled query and key vectors per head and sentence [sentences, heads, samples, d_k],
  with their positions, for the joint query/key projection, recorded in the same pass as the attention;
- the sentences, their translations and pieces.

Chunk c holds sentences [c·chunk, (c+1)·chunk) and is written whole or not at all; progress.json records each
chunk file's size and SHA-256 (`chunk_files`), so a resumed run recomputes a chunk that was damaged or deleted
since, and `corpus_summary` leaves such a chunk out with a sentence saying why. Under `torchrun` each
process (rank) translates its share of the chunks still to do and rank 0 writes them, so several processes
or machines make the same files as one process, and a resumed run (with any number of processes) does only
the chunks that are missing.

`corpus_summary` reads the chunks back: per head averages, the most extreme sentences for any statistic,
and the typical pattern."""

from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from model.analysis.head_statistics import STATS, head_stats
from model.core.files import read_json_within, write_atomically
from model.core.head_selection import all_heads
from model.core.hook_names import ALL_WEIGHTS, KINDS, hook_name
from model.core.hooks import Run, capture
from model.core.interface import TranslationModel, TranslationTokenizer
from model.decoding.search import greedy_search
from model.decoding.trace import AXES, Trace
from model.decoding.trace_from_hooks import arrays_from_steps, decoder_input, make_trace
from model.decoding.translation import InputError, default_max_len, encode_source, forced_language, reference_ids

OFFSETS = 8  # the typical pattern covers key − query offsets −8..8


SAMPLES = 3  # query and key vectors kept per head and sentence (float16)


PROGRESS_FILE = "progress.json"


CHUNK_FILES = "chunk_files"  # progress.json: {chunk file name: {"bytes": size, "sha256": hex digest}}


MAX_PROGRESS_BYTES = 16 << 20


UNRECORDED = object()  # an item an older progress.json did not store


QK_KEYS = ("stats", "q", "k", "q_pos", "k_pos")


class CorpusError(ValueError):
    """A corpus run that cannot go on as asked (e.g. resuming with other sentences); the message is for the user."""


@torch.inference_mode()
def qk_vectors(
    model: TranslationModel, src_ids: list[int], out_ids: list[int]
) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """Each head's queries and keys [H, positions, d_k] for one teacher-forced pass."""
    cfg, device = model.cfg, next(model.parameters()).device
    with capture(model, qk_hooks(cfg)) as run:
        model(torch.tensor([src_ids], device=device), torch.tensor([decoder_input(model, out_ids)], device=device))
    return qk_from_records(cfg, run)


def qk_hooks(cfg) -> list[str]:
    return [hook_name(k, l, w) for k in KINDS for l in range(cfg.layers(k)) for w in ("q", "k")]


class _KeepLast(list):
    """A record list that keeps only the newest tensor: the decoder's keys at its last step hold every position,
    so the earlier steps' (shorter) copies need not stay in memory."""

    def append(self, tensor) -> None:
        self[:] = [tensor]


def qk_from_records(cfg, run: Run) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """Queries [H, q_pos, d_k] and keys [H, k_pos, d_k] of batch row 0, from one pass or from the steps of a search
    (one query row a step; the last step's keys are all of them)."""
    out = {}
    for k in KINDS:
        for l in range(cfg.layers(k)):
            queries = torch.cat([step[0] for step in run.calls(hook_name(k, l, "q"))], dim=1)
            keys = run.tensor(hook_name(k, l, "k"), call=-1)
            out[(k, l)] = (queries.float().cpu().numpy(), keys.float().cpu().numpy())
    return out


@torch.inference_mode()
def traced_pass(
    model: TranslationModel, tokenizer: TranslationTokenizer, text: str, reference: str | None
) -> tuple[Trace, str, dict]:
    """One pass over a sentence (greedy as `translate` does it, or teacher-forced on `reference`) that records every
    head's attention and its queries and keys: (trace, output text, queries and keys by (kind, layer))."""
    cfg, device = model.cfg, next(model.parameters()).device
    src_ids, _ = encode_source(model, tokenizer, text)
    src = torch.tensor([src_ids], device=device)
    with capture(model, ALL_WEIGHTS + qk_hooks(cfg)) as run:
        for l in range(cfg.n_decoder_layers):
            run.records[hook_name("decoder", l, "k")] = _KeepLast()
        if reference is None:
            # forced: [target code] or []
            limit, forced = default_max_len(model, len(src_ids)), forced_language(model, tokenizer)
            hyp = greedy_search(model, src, limit, top_k=5, forced=forced)[0]
        else:
            out_ids = reference_ids(model, tokenizer, reference)
            model(src, torch.tensor([decoder_input(model, out_ids)], device=device))
    if reference is None:
        arrays = arrays_from_steps(model, run, hyp)
        trace = make_trace(model, tokenizer, src_ids, hyp.ids, arrays, hyp.candidates, hyp.logprobs, hyp.forced)
        output = tokenizer.decode(hyp.ids)
    else:
        arrays = {
            kind: np.stack([run.tensor(hook_name(kind, l)).cpu().numpy() for l in range(cfg.layers(kind))])
            for kind in KINDS
        }
        trace, output = make_trace(model, tokenizer, src_ids, out_ids, arrays, []), reference
    return trace, output, qk_from_records(cfg, run)


def diagonal_pattern(weights: np.ndarray, cross: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts of weight at each offset key − diagonal(query) in −OFFSETS..OFFSETS."""
    Q, K = weights.shape
    centre = np.round(np.arange(Q) * K / Q).astype(int) if cross else np.arange(Q)
    offsets = np.arange(K)[None, :] - centre[:, None]
    inside = np.abs(offsets) <= OFFSETS
    sums = np.bincount((offsets + OFFSETS)[inside], weights=weights[inside], minlength=2 * OFFSETS + 1)
    counts = np.bincount((offsets + OFFSETS)[inside], minlength=2 * OFFSETS + 1)
    return sums, counts.astype(np.float64)


def sentence_record(model, tokenizer, text: str, reference: str | None, rng: np.random.Generator) -> dict:
    trace, output, vectors = traced_pass(model, tokenizer, text, reference)
    heads = all_heads(model.cfg)
    stats = np.full((len(heads), len(STATS)), np.nan)
    sums = np.zeros((len(heads), 2 * OFFSETS + 1))
    counts = np.zeros_like(sums)
    d_k = model.cfg.d_k
    q_samples = np.full((len(heads), SAMPLES, d_k), np.nan, dtype=np.float16)
    k_samples = np.full_like(q_samples, np.nan)
    q_pos = np.full((len(heads), SAMPLES), -1, dtype=np.int16)
    k_pos = np.full_like(q_pos, -1)
    for n, (kind, layer, head) in enumerate(heads):
        weights = trace.attention(kind)[layer, head]
        q_tokens, k_tokens = trace.axis_tokens(kind)
        values = head_stats(weights, q_tokens, k_tokens, cross=kind == "cross")
        stats[n] = [values[s] for s in STATS]
        sums[n], counts[n] = diagonal_pattern(weights, kind == "cross")
        q, k = vectors[(kind, layer)]
        qi = rng.choice(q.shape[1], size=min(SAMPLES, q.shape[1]), replace=False)
        ki = rng.choice(k.shape[1], size=min(SAMPLES, k.shape[1]), replace=False)
        q_samples[n, : len(qi)], q_pos[n, : len(qi)] = q[head, qi], qi
        k_samples[n, : len(ki)], k_pos[n, : len(ki)] = k[head, ki], ki
    return {
        "stats": stats,
        "sums": sums,
        "counts": counts,
        "q": q_samples,
        "k": k_samples,
        "q_pos": q_pos,
        "k_pos": k_pos,
        "output": output,
        "src_tokens": " ".join(trace.src_pieces),
        "tgt_tokens": " ".join(trace.tgt_pieces),
    }


def chunk_arrays(numbers: list[int], records: list[dict], sources: list[str]) -> dict[str, np.ndarray] | None:
    """One chunk's arrays as stored, or None for a chunk of empty lines only (nothing to store)."""
    if not records:
        return None
    arrays = {key: np.stack([r[key] for r in records]) for key in QK_KEYS}
    arrays["pattern_sums"] = np.sum([r["sums"] for r in records], axis=0)
    arrays["pattern_counts"] = np.sum([r["counts"] for r in records], axis=0)
    for key in ("output", "src_tokens", "tgt_tokens"):
        arrays[key] = np.array([r[key] for r in records], dtype=str)
    arrays["source"] = np.array(sources, dtype=str)
    arrays["sentence"] = np.array(numbers)
    return arrays


def chunk_name(index: int) -> str:
    return f"chunk-{index:05d}.npz"


def file_record(file: Path) -> dict:
    """What progress.json records of a chunk file: its size and SHA-256."""
    digest = hashlib.sha256()
    with file.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": file.stat().st_size, "sha256": digest.hexdigest()}


def write_chunk(out: Path, index: int, arrays: dict[str, np.ndarray]) -> dict:
    """Write chunk `index` and return its record (`file_record`)."""
    tmp = out / f"chunk-{index:05d}.tmp.npz"
    np.savez_compressed(tmp, **arrays)
    record = file_record(tmp)
    tmp.rename(out / chunk_name(index))  # a chunk is either whole or absent
    return record


def chunk_problem(out: Path, name: str, record: dict) -> str | None:
    """Why the chunk file `name` is not the one progress.json recorded (missing, another size, another SHA-256),
    as the end of a sentence, or None."""
    file = out / name
    if not file.is_file():
        return "it is missing"
    size = file.stat().st_size
    if size != record["bytes"]:
        return f"it has {size} bytes, not the {record['bytes']} recorded"
    if file_record(file)["sha256"] != record["sha256"]:
        return "its SHA-256 differs from the one recorded (the file was changed)"
    return None


def _whole(value: object, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_progress(file: Path) -> dict:
    """progress.json as a dictionary whose items are of the types this module reads (older runs lack some);
    anything else is one CorpusError sentence naming the file."""
    too_large = f"{file} is larger than the {MAX_PROGRESS_BYTES} bytes a run's record may have."
    meta = read_json_within(
        file, MAX_PROGRESS_BYTES, CorpusError, str(file), lambda _: too_large, what="a JSON object (a run's record)"
    )
    checks = {
        "done_chunks": lambda v: isinstance(v, list) and all(_whole(c) for c in v),
        "chunk_size": lambda v: _whole(v, 1),
        "sentences": _whole,
        "done": _whole,
        "chunks": _whole,
        "seconds": _number,
        "peak_rss_mb": _number,
        "teacher_forced": lambda v: isinstance(v, bool),
        "weights": lambda v: isinstance(v, str) and len(v) <= 20,
        "heads": lambda v: (
            isinstance(v, list)
            and all(isinstance(h, list) and len(h) == 3 and h[0] in KINDS and _whole(h[1]) and _whole(h[2]) for h in v)
        ),
        CHUNK_FILES: lambda v: (
            isinstance(v, dict)
            and all(
                isinstance(r, dict)
                and _whole(r.get("bytes"))
                and isinstance(r.get("sha256"), str)
                and len(r["sha256"]) == 64
                and isinstance(name, str)
                and name.startswith("chunk-")
                and "/" not in name
                for name, r in v.items()
            )
        ),
    }
    for key, ok in checks.items():
        if key in meta and not ok(meta[key]):
            raise CorpusError(f"{file} gives {key} = {str(meta[key])[:60]!r}, which is not what a run records.")
    if "done_chunks" not in meta and not ("sentences" in meta and "done" in meta):
        raise CorpusError(f"{file} is not a corpus run's record: it lists no done_chunks.")
    return meta


def repair_chunks(out: Path, meta: dict) -> list[str]:
    """Take every done chunk whose file is not the one recorded out of `meta`'s done chunks (and its file away),
    so the run computes it again; one sentence per chunk. Runs from before sizes and SHA-256 were recorded are
    taken as they are."""
    repaired = []
    records = meta.get(CHUNK_FILES, {})
    for index in sorted(meta["done_chunks"]):
        name = chunk_name(index)
        problem = chunk_problem(out, name, records[name]) if name in records else None
        if problem:
            repaired.append(f"{out / name} is computed again: {problem}.")
            (out / name).unlink(missing_ok=True)
            records.pop(name)
            meta["done_chunks"].remove(index)
    return repaired


@dataclass
class Processes:
    """Where this process stands among the ones `torchrun` started (rank 0 of 1 without it)."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    group: object = None  # a gloo group for gathering results (also under NCCL: they are NumPy arrays)

    def gather(self, item):
        """Every rank's `item`, in rank order, on rank 0 (None elsewhere)."""
        if self.world == 1:
            return [item]
        received = [None] * self.world if self.rank == 0 else None
        torch.distributed.gather_object(item, received, dst=0, group=self.group)
        return received

    def broadcast(self, item):
        """Rank 0's `item` on every rank."""
        if self.world == 1:
            return item
        box = [item]
        torch.distributed.broadcast_object_list(box, src=0, group=self.group)
        return box[0]


def join_processes(device_arg: str = "auto") -> Processes:
    """Join the process group `torchrun` describes in the environment (gloo on the CPU, NCCL on GPUs)."""
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    use_cuda = device_arg == "cuda" or (device_arg == "auto" and torch.cuda.is_available())
    device = torch.device("cpu")
    if use_cuda:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if world == 1:
        return Processes(device=device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    group = torch.distributed.new_group(backend="gloo") if use_cuda else torch.distributed.group.WORLD
    return Processes(rank, world, device, group)


def leave_processes(procs: Processes) -> None:
    if procs.world > 1 and torch.distributed.is_initialized():
        torch.distributed.barrier(group=procs.group)
        torch.distributed.destroy_process_group()


def weight_precision(model) -> str:
    """How the model's linear weights are stored: float32, or a lower precision (`use_low_precision_weights`)."""
    linear = next((m for m in model.modules() if isinstance(m, torch.nn.Linear)), None)
    return "float32" if linear is None else str(linear.weight.dtype).removeprefix("torch.")


def fingerprint(lines: list[str] | None) -> str | None:
    """SHA-256 of the lines, each JSON-quoted on its own line (so no two lists share one), or None without lines."""
    if lines is None:
        return None
    digest = hashlib.sha256()
    for line in lines:
        digest.update(json.dumps(line).encode() + b"\n")
    return digest.hexdigest()


def run_identity(ckpt, sources: list[str], references: list[str] | None, chunk_size: int) -> dict:
    """What a run's results depend on, stored in progress.json: a resume must match every item."""
    return {
        "checkpoint": ckpt.name,
        "src_lang": ckpt.src_lang,
        "tgt_lang": ckpt.tgt_lang,
        "sentences": len(sources),
        "sources_sha256": fingerprint(sources),
        "teacher_forced": references is not None,
        "references_sha256": fingerprint(references),
        "chunk_size": chunk_size,
        "weights": weight_precision(ckpt.model),
    }


def read_progress(out: Path, identity: dict) -> dict:
    """The progress record of an earlier run into `out` (or a fresh one holding `identity`, from `run_identity`);
    refuses, in one sentence, one made with other sentences, references, checkpoint, language pair or settings."""
    meta_file = out / PROGRESS_FILE
    chunk_size = identity["chunk_size"]
    if not meta_file.is_file():
        return {"done": 0, "chunks": 0, "seconds": 0.0, "done_chunks": [], CHUNK_FILES: {}} | identity
    meta = load_progress(meta_file)
    if "done_chunks" not in meta:  # a progress file whose chunks are not numbered by their sentences
        if meta.get("done", 0) < meta.get("sentences", 0):
            raise CorpusError(f"{out} holds an unfinished run of an older Headlight; start again in a new --out.")
        meta["done_chunks"], meta["chunk_size"] = list(range(math.ceil(meta["sentences"] / chunk_size))), chunk_size
    meta.setdefault("weights", "float32")  # a progress file without --weights holds a float32 run

    def pair(record: dict) -> str | object:
        return f"{record['src_lang']} -> {record['tgt_lang']}" if "src_lang" in record else UNRECORDED

    unrecorded = []
    for what, before, now, show in (  # (what, the stored value, this run's, whether a message shows the values)
        ("checkpoint", meta.get("checkpoint", UNRECORDED), identity["checkpoint"], True),
        ("language pair (--src-lang, --tgt-lang)", pair(meta), pair(identity), True),
        ("sentences", meta.get("sentences", UNRECORDED), identity["sentences"], True),
        ("sentences per chunk (--chunk)", meta.get("chunk_size", UNRECORDED), chunk_size, True),
        ("teacher forcing (--ref)", meta.get("teacher_forced", UNRECORDED), identity["teacher_forced"], True),
        ("weights (--weights)", meta["weights"], identity["weights"], True),
        ("sentences (--input)", meta.get("sources_sha256", UNRECORDED), identity["sources_sha256"], False),
        ("references (--ref)", meta.get("references_sha256", UNRECORDED), identity["references_sha256"], False),
    ):
        if before is UNRECORDED:
            unrecorded.append(what)
        elif before != now:
            detail = f"{what} {before}, not {now}" if show else f"other {what}"
            raise CorpusError(f"{out} holds a run with {detail}: resume with the same input, or use a new --out.")
    finished = set(meta["done_chunks"]) >= set(range(math.ceil(identity["sentences"] / chunk_size)))
    if unrecorded and not finished:
        raise CorpusError(
            f"{out} holds an unfinished run of an older Headlight that did not record its {unrecorded[0]}; "
            "start again in a new --out."
        )
    return meta


def start_record(
    ckpt, sources: list[str], references: list[str] | None, out: Path, chunk_size: int, procs: Processes
) -> tuple[dict, list[str]]:
    """The run's progress record on every rank, and the sentences about the chunks rank 0 found damaged or missing and
    will compute again (`repair_chunks`); a refusal is one CorpusError on every rank."""
    started = None
    if procs.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        try:
            meta = read_progress(out, run_identity(ckpt, sources, references, chunk_size))
            started = meta, repair_chunks(out, meta)
        except CorpusError as exc:
            started = str(exc)
    started = procs.broadcast(started)
    if isinstance(started, str):
        raise CorpusError(started)
    meta, repaired = started
    meta.update(  # the run's identity came with a fresh record or was checked against the stored one
        statistics=STATS,
        heads=[list(h) for h in all_heads(ckpt.model.cfg)],
        offsets=OFFSETS,
        samples=SAMPLES,
        processes=procs.world,
    )
    return meta, repaired


def chunk_of_sentences(
    ckpt, sources: list[str], references: list[str] | None, index: int, chunk_size: int, seed: int, tick
) -> dict[str, np.ndarray] | None:
    """Chunk `index`'s arrays (`chunk_arrays`), its empty lines left out; `tick()` after each sentence."""
    rng = np.random.default_rng(seed + index * chunk_size)
    records, kept, numbers = [], [], []
    for i in range(index * chunk_size, min((index + 1) * chunk_size, len(sources))):
        try:
            records.append(
                sentence_record(ckpt.model, ckpt.tokenizer, sources[i], references[i] if references else None, rng)
            )
            kept.append(sources[i])
            numbers.append(i)
        except InputError:  # an empty line: nothing to store, its index stays out of the chunk
            pass
        tick()
    return chunk_arrays(numbers, records, kept)


def record_round(out: Path, meta: dict, gathered: list, sentences: int, chunk_size: int, seconds: float) -> None:
    """Rank 0: write one round's chunks (`gathered`: (index or None, arrays, peak RSS) per rank) and the progress
    record that lists them."""
    for index, arrays, rss in gathered:
        if index is None:
            continue
        if arrays is not None:
            meta.setdefault(CHUNK_FILES, {})[chunk_name(index)] = write_chunk(out, index, arrays)
        meta["done_chunks"] = sorted(set(meta["done_chunks"]) | {index})
        meta["peak_rss_mb"] = max(meta.get("peak_rss_mb", 0), rss)
    meta["done"] = sum(min(chunk_size, sentences - c * chunk_size) for c in meta["done_chunks"])
    meta["chunks"] = sum(1 for _ in out.glob("chunk-[0-9]*[0-9].npz"))
    meta["seconds"] += seconds
    write_record(out, meta)


def write_record(out: Path, meta: dict) -> None:
    """Replace progress.json whole: a run cut off while writing it leaves the previous record."""
    text = json.dumps(meta, indent=1)
    write_atomically(out / PROGRESS_FILE, lambda f: f.write(text), mode="w")


def run_corpus(
    ckpt,
    sources: list[str],
    references: list[str] | None,
    out: Path,
    chunk_size: int = 200,
    seed: int = 0,
    progress=None,
    procs: Processes | None = None,
) -> tuple[dict, list[str]]:
    """Process `sources` into `out`, doing only the chunks not yet written; returns (on every rank) the progress record
    and the sentences about the chunks found damaged or missing and computed again (`repair_chunks`), which the record
    does not keep.

    Under `torchrun` (`procs` from `join_processes`) the chunks still to do are dealt out in turn: rank r takes the
    (r + 1)-th of every `world`, and rank 0 writes each round's chunks and the progress record.
    `progress(n, total)` is called after each of this process's sentences."""
    procs = procs or Processes()
    if chunk_size < 1:
        raise CorpusError(f"--chunk must be at least 1, got {chunk_size}.")
    out = Path(out)
    meta, repaired = start_record(ckpt, sources, references, out, chunk_size, procs)
    done = set(meta["done_chunks"])
    todo = [c for c in range(math.ceil(len(sources) / chunk_size)) if c not in done]
    mine = todo[procs.rank :: procs.world]
    total, count = sum(min(chunk_size, len(sources) - c * chunk_size) for c in mine), 0

    def tick() -> None:
        nonlocal count
        count += 1
        if progress:
            progress(count, total)

    start = time.perf_counter()
    for first in range(0, len(todo), procs.world):
        index = todo[first + procs.rank] if first + procs.rank < len(todo) else None
        arrays = None
        if index is not None:
            arrays = chunk_of_sentences(ckpt, sources, references, index, chunk_size, seed, tick)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        gathered = procs.gather((index, arrays, rss))
        if procs.rank == 0:
            record_round(out, meta, gathered, len(sources), chunk_size, time.perf_counter() - start)
            start = time.perf_counter()
    if not todo and procs.rank == 0:
        write_record(out, meta)
    return procs.broadcast(meta), repaired


def read_chunk(out: Path, name: str, record: dict | None, heads: int) -> dict[str, np.ndarray]:
    """One chunk's arrays, checked against its record in progress.json (if the run made one) and for the shapes the
    dashboards index; a CorpusError sentence naming the file otherwise."""
    problem = chunk_problem(out, name, record) if record else None
    if problem:
        raise CorpusError(f"{out / name} is left out: {problem}.")
    try:
        with np.load(out / name, allow_pickle=False) as stored:
            part = {key: stored[key] for key in (*SUMMARY_KEYS, "pattern_sums", "pattern_counts")}
    except KeyError as exc:
        raise CorpusError(f"{out / name} is left out: it has no {exc} array.") from None
    except Exception as exc:  # noqa: BLE001 - a zip or NPY error of a damaged file: numpy raises many kinds
        first_line = next(iter(str(exc).strip().splitlines()), "")
        raise CorpusError(
            f"{out / name} is left out: it is not a readable chunk ({type(exc).__name__}: {first_line})."
        ) from None
    n = len(part["sentence"])
    shapes_ok = (
        part["stats"].shape == (n, heads, len(STATS))
        and all(part[key].shape[:2] == (n, heads) for key in ("q", "k", "q_pos", "k_pos"))
        and part["q"].ndim == part["k"].ndim == 4
        and all(part[key].shape == (n,) for key in ("output", "source", "src_tokens", "tgt_tokens"))
        and part["pattern_sums"].shape == part["pattern_counts"].shape == (heads, 2 * OFFSETS + 1)
    )
    if not shapes_ok:
        raise CorpusError(f"{out / name} is left out: its arrays do not have the shapes of this run's {heads} heads.")
    return part


SUMMARY_KEYS = ("stats", "q", "k", "q_pos", "k_pos", "output", "source", "src_tokens", "tgt_tokens", "sentence")


@dataclass(frozen=True)
class CorpusRun:
    """What the dashboards say about the run, from its progress.json."""

    heads: list[tuple[str, int, int]]  # (kind, layer, head), in the order of the arrays' head axis
    done: int  # sentences done, empty lines included
    seconds: float
    peak_rss_mb: float  # 0 where the run did not record it
    teacher_forced: bool
    weights: str  # how the linear weights were stored: float32 unless a low-precision run
    src_lang: str | None  # a multilingual run's pair (None: not recorded)
    tgt_lang: str | None

    @classmethod
    def from_record(cls, meta: dict) -> CorpusRun:
        """From a record `load_progress` checked (older runs lack some items: their defaults)."""
        return cls(
            heads=[(kind, int(layer), int(head)) for kind, layer, head in meta["heads"]],
            done=meta["done"],
            seconds=meta["seconds"],
            peak_rss_mb=meta.get("peak_rss_mb", 0),
            teacher_forced=meta.get("teacher_forced", False),
            weights=meta.get("weights", "float32"),
            src_lang=meta.get("src_lang"),
            tgt_lang=meta.get("tgt_lang"),
        )


@dataclass(frozen=True)
class QKProjection:
    """One head's sampled queries and keys in the joint 2-D projection, each with its label and position."""

    queries: np.ndarray  # [N, 2]
    keys: np.ndarray  # [M, 2]
    query_labels: list[str]  # "piece · sentence"
    key_labels: list[str]
    query_positions: np.ndarray  # [N]
    key_positions: np.ndarray  # [M]


@dataclass(frozen=True)
class CorpusSummary:
    """Everything the head dashboards read of a run: per sentence (N, empty lines left out) and head (H, in
    `run.heads` order)."""

    stats: np.ndarray  # [N, H, len(STATS)]
    q: np.ndarray  # [N, H, SAMPLES, d_k]: sampled query vectors (NaN where a sentence had fewer positions)
    k: np.ndarray  # [N, H, SAMPLES, d_k]
    q_pos: np.ndarray  # [N, H, SAMPLES]: their positions (-1: none)
    k_pos: np.ndarray  # [N, H, SAMPLES]
    output: np.ndarray  # [N] str: the translations (or the references, teacher-forced)
    source: np.ndarray  # [N] str
    src_tokens: np.ndarray  # [N] str: source pieces joined by spaces
    tgt_tokens: np.ndarray  # [N] str
    sentence: np.ndarray  # [N]: each sentence's line number (from 0) in the input
    pattern: np.ndarray  # [H, 2 * OFFSETS + 1]: mean weight at each key − diagonal offset
    run: CorpusRun
    problems: list[str]  # one sentence per chunk left out (damaged, missing, unreadable)

    def head_index(self, kind: str, layer: int, head: int) -> int:
        """Where a head is on the head axis; a CorpusError sentence for one the run does not have."""
        if (kind, layer, head) not in self.run.heads:
            raise CorpusError(f"the corpus run has no {kind} layer {layer} head {head}: another model made it.")
        return self.run.heads.index((kind, layer, head))

    def head_table(self) -> pd.DataFrame:
        """One row per head: kind, layer, head, each statistic's mean over the sentences, and a name."""
        with warnings.catch_warnings():  # a statistic a kind does not have (e.g. monotonicity of self-attention)
            warnings.simplefilter("ignore", RuntimeWarning)
            table = pd.DataFrame(np.nanmean(self.stats, axis=0), columns=STATS)
        heads = self.run.heads
        table.insert(0, "kind", [h[0] for h in heads])
        table.insert(1, "layer", [h[1] for h in heads])
        table.insert(2, "head", [h[2] for h in heads])
        table["name"] = [f"{k} {l}:{h}" for k, l, h in heads]
        return table

    def head_values(self, chosen: int, stat: str) -> np.ndarray:
        """[N]: one statistic of one head, per sentence (NaN where it is undefined)."""
        return self.stats[:, chosen, STATS.index(stat)]

    def extremes(self, chosen: int, stat: str, count: int = 8) -> np.ndarray:
        """The `count` sentences where a head's statistic is highest (NaN last)."""
        return np.argsort(-np.nan_to_num(self.head_values(chosen, stat), nan=-np.inf))[:count]

    def projection(self, chosen: int, kind: str) -> QKProjection:
        """The head's sampled queries and keys, projected together (`joint_projection`), labelled by piece and
        sentence."""
        q, k = self.q[:, chosen].reshape(-1, self.q.shape[-1]), self.k[:, chosen].reshape(-1, self.k.shape[-1])
        q_ok, k_ok = np.isfinite(q).all(1), np.isfinite(k).all(1)
        pieces = {"src": [str(p).split(" ") for p in self.src_tokens]}
        pieces["tgt"] = [str(p).split(" ") for p in self.tgt_tokens]
        sent = np.repeat(np.arange(self.q.shape[0]), self.q.shape[2])
        q_pos, k_pos = self.q_pos[:, chosen].reshape(-1), self.k_pos[:, chosen].reshape(-1)

        def label(axis: str, s: int, p: int) -> str:
            shown = pieces[axis][s]
            return f"{shown[p] if 0 <= p < len(shown) else '?'} · {str(self.source[s])[:60]}"

        q_axis, k_axis = AXES[kind]
        q2, k2 = joint_projection(q[q_ok].astype(np.float32), k[k_ok].astype(np.float32))
        return QKProjection(
            q2,
            k2,
            [label(q_axis, s, p) for s, p in zip(sent[q_ok], q_pos[q_ok])],
            [label(k_axis, s, p) for s, p in zip(sent[k_ok], k_pos[k_ok])],
            q_pos[q_ok],
            k_pos[k_ok],
        )


def corpus_summary(out: Path) -> CorpusSummary:
    """Everything the head dashboards read: per-sentence stats, sources, outputs, the pattern, the q/k samples, and
    one sentence for each chunk left out (damaged, missing, unreadable). A progress.json or a set of chunks that
    cannot be used at all is one CorpusError sentence."""
    out = Path(out)
    meta = load_progress(out / PROGRESS_FILE)
    missing = [key for key in ("heads", "done", "seconds") if key not in meta]
    if missing:
        raise CorpusError(f"{out / PROGRESS_FILE} is not a finished run's record: it has no {missing[0]}.")
    absent = [kind for kind in KINDS if kind not in {h[0] for h in meta["heads"]}]
    if absent:
        raise CorpusError(f"{out / PROGRESS_FILE} lists no {absent[0]} heads: not a whole run's record.")
    heads, records, problems = len(meta["heads"]), meta.get(CHUNK_FILES, {}), []
    names = sorted({f.name for f in out.glob("chunk-*.npz") if ".tmp." not in f.name} | set(records))
    parts = []
    for name in names:
        try:
            parts.append(read_chunk(out, name, records.get(name), heads))
        except CorpusError as exc:
            problems.append(str(exc))
    if not parts:
        raise CorpusError(f"{out} holds no usable corpus chunks{': ' + problems[0] if problems else '.'}")
    if len({p["q"].shape[-1] for p in parts} | {p["k"].shape[-1] for p in parts}) > 1:
        raise CorpusError(f"{out} holds chunks with query and key vectors of different sizes: not one run.")
    joined = {key: np.concatenate([p[key] for p in parts]) for key in SUMMARY_KEYS}
    sums = np.sum([p["pattern_sums"] for p in parts], axis=0)
    counts = np.sum([p["pattern_counts"] for p in parts], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pattern = sums / counts
    return CorpusSummary(**joined, pattern=pattern, run=CorpusRun.from_record(meta), problems=problems)


def joint_projection(queries: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Queries [N, d] and keys [M, d] in one 2-D space where near means high attention (AttentionViz's key translation).

    Adding one vector c to every key changes each query's scores by the constant q·c, so the softmax of
    every row is unchanged; AttentionViz picks c so the keys' centroid sits on the queries' centroid
    (otherwise queries and keys form two far-apart clouds), then scales the keys to the queries' mean norm,
    and projects both together with PCA.
    """
    q = queries.astype(np.float64)
    k = keys.astype(np.float64) - keys.mean(0) + q.mean(0)
    k *= np.linalg.norm(q, axis=1).mean() / max(np.linalg.norm(k, axis=1).mean(), 1e-12)
    both = np.concatenate([q, k])
    centre = both.mean(0)
    _, _, vt = np.linalg.svd(both - centre, full_matrices=False)
    projected = (both - centre) @ vt[:2].T
    return projected[: len(q)], projected[len(q) :]


def check_out_folder(out: Path, force: bool = False) -> None:
    """Before a run into `out`, before the model loads: a folder that can hold it, a progress.json that is a run's
    record, and no chunk file that no run recorded there (`force` removes those, else one CorpusError sentence)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CorpusError(f"--out {out} is a file, not a folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise CorpusError(f"cannot write in --out {out}: {exc.strerror or exc}.") from None
    recorded: set[int] | None = set()
    if (out / PROGRESS_FILE).exists():
        meta = load_progress(out / PROGRESS_FILE)  # its size, JSON, nesting and types, each one sentence
        recorded = {c for c in meta.get("done_chunks", []) if isinstance(c, int)}
        if "done_chunks" not in meta:  # an older record, of numbered chunks only (read_progress judges it)
            recorded = None
    chunks = [f for f in sorted(out.glob("chunk-*.npz")) if f.stem[6:].isdigit()]
    foreign = [f for f in chunks if recorded is not None and int(f.stem[6:]) not in recorded]
    if foreign and not force:
        raise CorpusError(
            f"{out} holds {foreign[0].name}{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''}, which no "
            "run recorded there: use a new --out, or --force to replace them."
        )
    for f in foreign:
        f.unlink(missing_ok=True)  # several processes may remove the same file

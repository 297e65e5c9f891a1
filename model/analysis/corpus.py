"""Heads across a corpus: `python -m model.corpus --checkpoint DIR --input FILE [--ref FILE] --out DIR`.

Translates every sentence once (greedy; or teacher-forces --ref), and stores, per head, what the head
dashboards need, in NPZ chunks (no pickles) written as it goes, so memory stays bounded and an
interrupted run resumes where it stopped:

- `stats`: [sentences, heads, statistics] (model/analysis/head_statistics.py's statistics of every head, per sentence);
- `pattern`: [heads, 2R + 1] running sums of the weight at each offset from the diagonal (key − query,
  cross-attention against the length-scaled diagonal), and their counts;
- `q`, `k`: a few sampled query and key vectors per head and sentence [sentences, heads, samples, d_k],
  with their positions, for the joint query/key projection;
- the sentences, their translations and pieces.

`corpus_summary` reads the chunks back: per head averages, the most extreme sentences for any statistic,
and the typical pattern."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import numpy as np
import torch

from model.analysis.head_statistics import STATS, head_stats
from model.core.head_selection import all_heads
from model.core.hook_names import KINDS, hook_name
from model.core.hooks import capture
from model.core.interface import TranslationModel
from model.decoding.trace_from_hooks import decoder_input, forward_trace
from model.decoding.translation import InputError, translate

OFFSETS = 8  # the typical pattern covers key − query offsets −8..8


SAMPLES = 3  # query and key vectors kept per head and sentence (float16)


PROGRESS_FILE = "progress.json"


@torch.inference_mode()
def qk_vectors(
    model: TranslationModel, src_ids: list[int], out_ids: list[int]
) -> dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]:
    """Each head's queries and keys [H, positions, d_k] for one teacher-forced pass."""
    cfg, device = model.cfg, next(model.parameters()).device
    names = {(k, l, w): hook_name(k, l, w) for k in KINDS for l in range(cfg.layers(k)) for w in ("q", "k")}
    with capture(model, names.values()) as run:
        model(torch.tensor([src_ids], device=device), torch.tensor([decoder_input(model, out_ids)], device=device))
    return {
        (k, l): (
            run.records[names[(k, l, "q")]][0][0].float().cpu().numpy(),
            run.records[names[(k, l, "k")]][0][0].float().cpu().numpy(),
        )
        for k in KINDS
        for l in range(cfg.layers(k))
    }


def diagonal_pattern(weights: np.ndarray, cross: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts of weight at each offset key − diagonal(query) in −OFFSETS..OFFSETS."""
    Q, K = weights.shape
    centre = np.round(np.arange(Q) * K / Q).astype(int) if cross else np.arange(Q)
    offsets = np.arange(K)[None, :] - centre[:, None]
    inside = np.abs(offsets) <= OFFSETS
    sums = np.bincount((offsets + OFFSETS)[inside], weights=weights[inside], minlength=2 * OFFSETS + 1)
    counts = np.bincount((offsets + OFFSETS)[inside], minlength=2 * OFFSETS + 1)
    return sums, counts.astype(np.float64)


def sentence_record(model, tok, text: str, reference: str | None, rng: np.random.Generator) -> dict:
    if reference is not None:
        src_ids = tok.encode(text)[: model.cfg.max_len - 1] + [model.cfg.eos_id]
        out_ids = tok.encode_target(reference)[: model.cfg.max_len - 1] + [model.cfg.eos_id]
        trace, _ = forward_trace(model, tok, src_ids, out_ids)
        output = reference
    else:
        result = translate(model, tok, text)
        trace, src_ids, out_ids, output = result.trace, result.src_ids, result.out_ids, result.text
    heads = all_heads(model.cfg)
    stats = np.full((len(heads), len(STATS)), np.nan)
    sums = np.zeros((len(heads), 2 * OFFSETS + 1))
    counts = np.zeros_like(sums)
    vectors = qk_vectors(model, src_ids, out_ids)
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
        "src_tokens": " ".join(trace.src_tokens),
        "tgt_tokens": " ".join(trace.tgt_tokens),
    }


def write_chunk(out: Path, index: int, numbers: list[int], records: list[dict], sources: list[str]) -> None:
    arrays = {key: np.stack([r[key] for r in records]) for key in ("stats", "q", "k", "q_pos", "k_pos")}
    arrays["pattern_sums"] = np.sum([r["sums"] for r in records], axis=0)
    arrays["pattern_counts"] = np.sum([r["counts"] for r in records], axis=0)
    for key in ("output", "src_tokens", "tgt_tokens"):
        arrays[key] = np.array([r[key] for r in records], dtype=str)
    arrays["source"] = np.array(sources, dtype=str)
    arrays["sentence"] = np.array(numbers)
    tmp = out / f"chunk-{index:05d}.tmp.npz"
    np.savez_compressed(tmp, **arrays)
    tmp.rename(out / f"chunk-{index:05d}.npz")  # a chunk is either whole or absent


def run_corpus(
    ckpt,
    sources: list[str],
    references: list[str] | None,
    out: Path,
    chunk_size: int = 200,
    seed: int = 0,
    progress=None,
) -> dict:
    """Process `sources` into `out`, resuming after the last whole chunk; returns the progress record."""
    out.mkdir(parents=True, exist_ok=True)
    meta_file = out / PROGRESS_FILE
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {"done": 0, "chunks": 0, "seconds": 0.0}
    heads = all_heads(ckpt.model.cfg)
    meta.update(
        checkpoint=ckpt.name,
        sentences=len(sources),
        teacher_forced=references is not None,
        statistics=STATS,
        heads=[list(h) for h in heads],
        offsets=OFFSETS,
        samples=SAMPLES,
    )
    start = time.perf_counter()
    while meta["done"] < len(sources):
        first = meta["done"]
        batch = range(first, min(first + chunk_size, len(sources)))
        rng = np.random.default_rng(seed + first)
        records, kept, numbers = [], [], []
        for i in batch:
            text = sources[i]
            try:
                records.append(
                    sentence_record(ckpt.model, ckpt.tokenizer, text, references[i] if references else None, rng)
                )
                kept.append(text)
                numbers.append(i)
            except InputError:  # an empty line: nothing to store, its index stays out of the chunk
                pass
            if progress:
                progress(i + 1, len(sources))
        if records:
            write_chunk(out, meta["chunks"], numbers, records, kept)
            meta["chunks"] += 1
        meta["done"] = batch.stop
        meta["seconds"] += time.perf_counter() - start
        start = time.perf_counter()
        meta["peak_rss_mb"] = max(meta.get("peak_rss_mb", 0), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        meta_file.write_text(json.dumps(meta, indent=1))
    return meta


def corpus_summary(out: Path) -> dict:
    """Everything the head dashboards read: per-sentence stats, sources, outputs, the pattern, the q/k samples."""
    out = Path(out)
    meta = json.loads((out / PROGRESS_FILE).read_text())
    parts = [np.load(f, allow_pickle=False) for f in sorted(out.glob("chunk-*.npz")) if ".tmp." not in f.name]
    if not parts:
        raise ValueError(f"{out} holds no corpus chunks")
    joined = {
        key: np.concatenate([p[key] for p in parts])
        for key in ("stats", "q", "k", "q_pos", "k_pos", "output", "source", "src_tokens", "tgt_tokens", "sentence")
    }
    sums = np.sum([p["pattern_sums"] for p in parts], axis=0)
    counts = np.sum([p["pattern_counts"] for p in parts], axis=0)
    with np.errstate(invalid="ignore"):
        joined["pattern"] = sums / counts
    joined["meta"] = meta
    return joined


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

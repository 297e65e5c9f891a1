"""Head statistics over sentences and the head-importance sweep (how much the translation loses with each head switched
off)."""

from __future__ import annotations

import time

from model.analysis.ablation import importance_sweep
from model.analysis.head_statistics import average_stats, trace_stats
from model.decoding.translation import translate

SWEEP_FILE = "head_importance.json"


def sentence_stats(ckpt, sentences: list[str], progress=None):
    """Statistics of every head averaged over the (non-empty) sentences' greedy translations."""
    frames = []
    for n, text in enumerate(sentences):
        if text.strip():
            frames.append(trace_stats(translate(ckpt.model, ckpt.tokenizer, text).trace))
        if progress:
            progress(n + 1, len(sentences))
    return average_stats(frames)


def sweep_record(ckpt, sources: list[str], references: list[str], progress=None) -> dict:
    start = time.perf_counter()
    table = importance_sweep(ckpt.model, ckpt.tokenizer, sources, references, progress)
    return {
        "checkpoint": ckpt.name,
        **({"src_lang": ckpt.src_lang, "tgt_lang": ckpt.tgt_lang} if ckpt.languages else {}),  # the pair swept
        "sentences": len(sources),
        "seconds": round(time.perf_counter() - start, 1),
        "baseline": {k: round(v, 4) for k, v in table.attrs["baseline"].items()},
        "heads": table.round(4).to_dict("records"),
    }

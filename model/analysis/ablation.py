"""Switching heads off: how a translation and its quality change, and every head's importance."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pandas as pd
import sacrebleu
import torch
import torch.nn.functional as F

from model.core.head_selection import all_heads, head_masks
from model.core.hooks import capture
from model.core.interface import TranslationModel, TranslationTokenizer
from model.decoding.batch import collate, translate_many
from model.decoding.translation import reference_ids, sequence_ids

Heads = Iterable[tuple[str, int, int]]


@torch.inference_mode()
def reference_logprob(
    model: TranslationModel,
    tokenizer: TranslationTokenizer,
    sources: list[str],
    references: list[str],
    ablate: Heads = (),
    batch_size: int = 64,
) -> float:
    """Mean log-probability per piece of the references (teacher-forced), with `ablate` switched off."""
    cfg = model.cfg
    pairs = [
        (sequence_ids(model, tokenizer, s), reference_ids(model, tokenizer, r)) for s, r in zip(sources, references)
    ]
    device = next(model.parameters()).device
    total, count = 0.0, 0
    with capture(model, (), head_masks(model, ablate)):
        for start in range(0, len(pairs), batch_size):
            src, tgt_in, tgt_out = (
                t.to(device) for t in collate(pairs[start : start + batch_size], cfg.pad_id, cfg.decoder_start_id)
            )
            logits = model(src, tgt_in)
            total -= float(
                F.cross_entropy(
                    logits.flatten(0, 1).float(), tgt_out.flatten(), ignore_index=cfg.pad_id, reduction="sum"
                )
            )
            count += int((tgt_out != cfg.pad_id).sum())
    return total / max(count, 1)


def quality(
    model: TranslationModel,
    tokenizer: TranslationTokenizer,
    sources: list[str],
    references: list[str],
    ablate: Heads = (),
) -> dict[str, float]:
    """Greedy BLEU and chrF (sacreBLEU defaults) and the references' mean log-probability."""
    ablate = list(ablate)
    hyps = translate_many(model, tokenizer, sources, ablate=ablate)
    return {
        "bleu": sacrebleu.corpus_bleu(hyps, [references]).score,
        "chrf": sacrebleu.corpus_chrf(hyps, [references]).score,
        "logprob": reference_logprob(model, tokenizer, sources, references, ablate),
    }


def importance_sweep(
    model: TranslationModel,
    tokenizer: TranslationTokenizer,
    sources: list[str],
    references: list[str],
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Each head's importance: the drop in BLEU, chrF and log-probability when it alone is switched off."""
    cfg = model.cfg
    base = quality(model, tokenizer, sources, references)
    heads = all_heads(cfg)
    rows = []
    for n, head in enumerate(heads):
        q = quality(model, tokenizer, sources, references, [head])
        rows.append(
            {
                "kind": head[0],
                "layer": head[1],
                "head": head[2],
                "bleu_drop": base["bleu"] - q["bleu"],
                "chrf_drop": base["chrf"] - q["chrf"],
                "logprob_drop": base["logprob"] - q["logprob"],
            }
        )
        if progress:
            progress(n + 1, len(heads))
    table = pd.DataFrame(rows)
    table.attrs["baseline"] = base
    return table

"""Scoring a checkpoint's translations with sacreBLEU (BLEU and chrF)."""

from __future__ import annotations

import time

import sacrebleu

from model.decoding.batch import translate_many


def score(hypotheses: list[str], references: list[str]) -> dict:
    """Corpus BLEU (sacreBLEU defaults: 13a, cased, detokenized) and chrF, with their signatures."""
    bleu, chrf = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()
    b, c = bleu.corpus_score(hypotheses, [references]), chrf.corpus_score(hypotheses, [references])
    return {
        "bleu": round(b.score, 2),
        "chrf": round(c.score, 2),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }


def evaluate(ckpt, sources: list[str], references: list[str], beam: int) -> dict:
    start = time.perf_counter()
    hyps = translate_many(ckpt.model, ckpt.tokenizer, sources, beam=beam)
    result = score(hyps, references)
    result.update(beam=beam, sentences=len(sources), seconds=round(time.perf_counter() - start, 1))
    return result

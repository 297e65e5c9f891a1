"""Head analysis on attention arrays: per-head statistics and labels, attention rollout, source attribution.

NumPy only, so the CLI (`python -m model.analyze`) and the app share one definition of every number.

Statistics of one head on one sentence, each averaged over the head's query rows (A[i, j] is the
weight query i puts on key j):
  entropy          -sum_j A[i,j] log2 A[i,j], in bits
  max_weight       max_j A[i,j]
  mean_distance    sum_j A[i,j] |j - i| (cross-attention: |j - i*S/T|, distance from the scaled diagonal)
  same, previous, next   A[i,i], A[i,i-1], A[i,i+1] (self-attention only; NaN for cross-attention)
  to_eos           weight on the sentence-boundary symbols (</s>, and <s> among decoder keys)
  to_punctuation   weight on pieces made only of punctuation
  monotonicity     cross-attention only: Pearson correlation between the query position i and the
                   expected key position sum_j A[i,j] j (1 = a clean left-to-right alignment)
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

STATS = [
    "entropy",
    "max_weight",
    "mean_distance",
    "same",
    "previous",
    "next",
    "to_eos",
    "to_punctuation",
    "monotonicity",
]
BOUNDARY = {"</s>", "<s>"}

# A head's dominant behaviour: the first rule that holds, in this order (thresholds on the averages).
LABEL_RULES = [
    ("previous-token", "previous ≥ 0.5", lambda s: s["previous"] >= 0.5),
    ("next-token", "next ≥ 0.5", lambda s: s["next"] >= 0.5),
    ("same-token", "same ≥ 0.5", lambda s: s["same"] >= 0.5),
    ("to-EOS", "to_eos ≥ 0.5", lambda s: s["to_eos"] >= 0.5),
    ("punctuation", "to_punctuation ≥ 0.5", lambda s: s["to_punctuation"] >= 0.5),
    (
        "aligning",
        "monotonicity ≥ 0.6 and max_weight ≥ 0.4",
        lambda s: s["monotonicity"] >= 0.6 and s["max_weight"] >= 0.4,
    ),
    ("broad", "entropy ≥ 0.8 × log2(keys)", lambda s: s["entropy_ratio"] >= 0.8),
    ("focused", "max_weight ≥ 0.5", lambda s: s["max_weight"] >= 0.5),
]
FALLBACK_LABEL = "mixed"


def is_punctuation(piece: str) -> bool:
    text = piece.replace("\u2581", "")
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)


def head_stats(weights: np.ndarray, query_tokens: list[str], key_tokens: list[str], cross: bool) -> dict[str, float]:
    """The statistics above for one [queries, keys] matrix."""
    Q, K = weights.shape
    if (len(query_tokens), len(key_tokens)) != (Q, K):
        raise ValueError(
            f"attention of shape {weights.shape} does not fit {len(query_tokens)} x {len(key_tokens)} tokens"
        )
    a = np.asarray(weights, dtype=np.float64)
    i = np.arange(Q)[:, None]
    j = np.arange(K)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(a > 0, a * np.log2(a), 0.0).sum(-1)
    centre = i * K / Q if cross else i
    out = {
        "entropy": entropy.mean(),
        "entropy_ratio": (entropy / np.log2(max(K, 2))).mean(),
        "max_weight": a.max(-1).mean(),
        "mean_distance": (a * np.abs(j - centre)).sum(-1).mean(),
        "to_eos": a[:, [t in BOUNDARY for t in key_tokens]].sum(-1).mean(),
        "to_punctuation": a[:, [is_punctuation(t) for t in key_tokens]].sum(-1).mean(),
    }
    if cross:
        out.update(same=np.nan, previous=np.nan, next=np.nan)
        expected = (a * j).sum(-1)
        ok = Q >= 3 and expected.std() > 0
        out["monotonicity"] = float(np.corrcoef(np.arange(Q), expected)[0, 1]) if ok else np.nan
    else:
        diag = lambda k: np.array([a[r, r + k] if 0 <= r + k < K else 0.0 for r in range(Q)]).mean()  # noqa: E731
        out.update(same=diag(0), previous=diag(-1), next=diag(1), monotonicity=np.nan)
    return {k: float(v) for k, v in out.items()}


def label_head(stats: dict[str, float]) -> str:
    for name, _, rule in LABEL_RULES:
        try:
            if rule(stats):
                return name
        except (KeyError, TypeError):
            continue
    return FALLBACK_LABEL


def trace_stats(trace) -> pd.DataFrame:
    """One row per (kind, layer, head) of one trace (a `model.decoding.trace.Trace`)."""
    rows = []
    for kind in ("encoder", "decoder", "cross"):
        att = trace.attention(kind)
        q_tokens, k_tokens = trace.axis_tokens(kind)
        for layer in range(att.shape[0]):
            for head in range(att.shape[1]):
                rows.append(
                    {
                        "kind": kind,
                        "layer": layer,
                        "head": head,
                        **head_stats(att[layer, head], q_tokens, k_tokens, cross=kind == "cross"),
                    }
                )
    return pd.DataFrame(rows)


def average_stats(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Statistics averaged over sentences (NaN-aware), with each head's label."""
    if not frames:
        raise ValueError("no sentences to average")
    table = pd.concat(frames).groupby(["kind", "layer", "head"], sort=False).mean(numeric_only=True).reset_index()
    table["label"] = [label_head(row) for row in table.to_dict("records")]
    return table[["kind", "layer", "head", *STATS, "label"]]


# -- rollout and attribution -------------------------------------------------------------------


def attention_rollout(attention: np.ndarray) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema, 2020) over self-attention layers [L, H, N, N].

    Each layer's head-mean is mixed with the identity for the residual connection, 0.5 A + 0.5 I,
    rows renormalised, and the layers multiplied from the first: R = A'_L ... A'_1. R[i, j] is how
    much input token j flows into position i at the top.
    """
    if attention.ndim != 4 or attention.shape[-1] != attention.shape[-2]:
        raise ValueError(f"rollout needs self-attention [layers, heads, n, n], got {attention.shape}")
    n = attention.shape[-1]
    rollout = np.eye(n)
    for layer in attention.mean(axis=1):
        mixed = 0.5 * layer + 0.5 * np.eye(n)
        mixed /= mixed.sum(-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


def source_attribution(cross: np.ndarray, encoder: np.ndarray) -> np.ndarray:
    """[T, S] share of each source token in each target position.

    The cross-attention averaged over heads and layers says which encoder outputs a target position
    read; the encoder rollout maps encoder outputs back to source tokens. Rows sum to 1.
    """
    read = cross.mean(axis=(0, 1))  # [T, S] over encoder outputs
    return read @ attention_rollout(encoder)


def alignment_pairs(weights: np.ndarray, threshold: float = 0.0) -> list[tuple[int, int, float]]:
    """(target word, source word, weight) for each target word's strongest source word above a threshold."""
    best = weights.argmax(-1)
    return [(t, int(s), float(weights[t, s])) for t, s in enumerate(best) if weights[t, s] >= threshold]

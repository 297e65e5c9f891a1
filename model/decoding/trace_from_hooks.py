"""From hook records to a `Trace`: after a search (per-step rows along the kept path), or a teacher-forced pass.

`inspect_head` reads every intermediate of one head for the "Inside one head" view.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from model.core.head_selection import check_head, head_masks
from model.core.hook_names import ALL_WEIGHTS, HEAD_PIPELINE, KINDS, hook_name
from model.core.hooks import Run, capture
from model.core.interface import TranslationModel, TranslationTokenizer, piece_word_starts
from model.decoding.search import Hypothesis, topk
from model.decoding.trace import Trace


def decoder_input(model: TranslationModel, out_ids: list[int]) -> list[int]:
    """What the decoder reads: the start symbol, then every output piece but the last."""
    return [model.cfg.decoder_start_id] + out_ids[:-1]


def arrays_from_steps(model: TranslationModel, run: Run, hyp: Hypothesis) -> dict[str, np.ndarray]:
    """[L, H, q, k] arrays from the per-step rows a search recorded in `run`, along the hypothesis' path (contract:
    `model.decoding.search`)."""
    cfg, T = model.cfg, len(hyp.ids)
    encoder = np.stack([run.tensor(hook_name("encoder", l)).cpu().numpy() for l in range(cfg.n_encoder_layers)])
    cross, decoder = [], []
    for l in range(cfg.n_decoder_layers):
        cross_rows = run.calls(hook_name("cross", l))
        self_rows = run.calls(hook_name("decoder", l))
        cross.append(torch.stack([cross_rows[t][hyp.path[t], :, 0] for t in range(T)], dim=1))  # [H, T, S]
        full = torch.zeros(cfg.n_heads, T, T)  # above the diagonal stays exactly 0
        for t in range(T):
            full[:, t, : t + 1] = self_rows[t][hyp.path[t], :, 0]
        decoder.append(full)
    return {
        "encoder": encoder,
        "decoder": torch.stack(decoder).cpu().numpy(),
        "cross": torch.stack(cross).cpu().numpy(),
    }


def make_trace(
    model: TranslationModel,
    tokenizer: TranslationTokenizer,
    src_ids: list[int],
    out_ids: list[int],
    arrays: dict,
    candidates,
    logprobs: list[float] = (),
    forced: int = 0,
) -> Trace:
    tgt_in = decoder_input(model, out_ids)
    src_pieces, tgt_pieces = tokenizer.source_pieces(src_ids), tokenizer.target_pieces(tgt_in)
    n_pos = max(len(src_ids), len(tgt_in))
    return Trace(
        src_pieces=src_pieces,
        tgt_pieces=tgt_pieces,
        out_pieces=tokenizer.target_pieces(out_ids),
        positional_encoding=model.positional_encoding[:n_pos].cpu().numpy().copy(),
        src_word_starts=piece_word_starts(tokenizer, src_pieces),
        tgt_word_starts=piece_word_starts(tokenizer, tgt_pieces),
        candidates=[list(zip(tokenizer.target_pieces(ids), probs)) for ids, probs in candidates],
        out_logprobs=list(logprobs),
        forced=forced,
        **arrays,
    )


@torch.inference_mode()
def forward_trace(
    model: TranslationModel,
    tokenizer: TranslationTokenizer,
    src_ids: list[int],
    out_ids: list[int],
    top_k: int = 5,
    ablate: Iterable[tuple[str, int, int]] = (),
) -> tuple[Trace, float]:
    """Teacher-forced pass over a given output: its trace and the output's log-probability."""
    device = next(model.parameters()).device
    with capture(model, ALL_WEIGHTS, head_masks(model, ablate)) as run:
        logits = model(
            torch.tensor([src_ids], device=device), torch.tensor([decoder_input(model, out_ids)], device=device)
        )
    logp = torch.log_softmax(logits[0].float(), dim=-1)
    score = float(logp.gather(1, torch.tensor(out_ids, device=device)[:, None]).sum())
    ids, probs = topk(logp, top_k)
    arrays = {
        kind: np.stack([run.tensor(hook_name(kind, l)).cpu().numpy() for l in range(model.cfg.layers(kind))])
        for kind in KINDS
    }
    candidates = list(zip(ids.tolist(), probs.tolist()))
    logprobs = logp.gather(1, torch.tensor(out_ids, device=device)[:, None])[:, 0].tolist()
    return make_trace(model, tokenizer, src_ids, out_ids, arrays, candidates, logprobs), score


@dataclass(frozen=True)
class HeadInside:
    """Every intermediate of one head (paper eq. 1) over one sentence, as the "inside one head" view shows it."""

    q: np.ndarray  # [q_pos, d_k]
    k: np.ndarray  # [k_pos, d_k]
    v: np.ndarray  # [k_pos, d_k]
    scores: np.ndarray  # [q_pos, k_pos]: q k^T / sqrt(d_k)
    masked_scores: np.ndarray  # [q_pos, k_pos]: -inf where the mask forbids
    weights: np.ndarray  # [q_pos, k_pos]: softmax of the masked scores
    head_out: np.ndarray  # [q_pos, d_k]: weights v
    mask: np.ndarray  # [q_pos, k_pos]: True where the query may attend


@torch.inference_mode()
def inspect_head(
    model: TranslationModel, src_ids: list[int], out_ids: list[int], kind: str, layer: int, head: int
) -> HeadInside:
    """Every intermediate of one head, read from its hook points in one teacher-forced pass."""
    check_head(model.cfg, kind, layer, head)
    device = next(model.parameters()).device
    names = {what: hook_name(kind, layer, what) for what in HEAD_PIPELINE}
    with capture(model, names.values()) as run:
        model(torch.tensor([src_ids], device=device), torch.tensor([decoder_input(model, out_ids)], device=device))
    parts = {what: run.tensor(name)[head].cpu().numpy() for what, name in names.items()}
    return HeadInside(**parts, mask=np.isfinite(parts["masked_scores"]))

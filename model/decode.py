"""Greedy and beam-search decoding with key/value caching, attention capture and head ablation."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import torch
from torch import Tensor

from model.data import pad_sources
from model.hooks import capture
from model.tokenizer import Tokenizer, word_starts
from model.trace import KINDS, Trace
from model.transformer import Transformer

WEIGHT_PATTERNS = {
    "encoder": "encoder.layers.{layer}.self_attn.hook_{what}",
    "decoder": "decoder.layers.{layer}.self_attn.hook_{what}",
    "cross": "decoder.layers.{layer}.cross_attn.hook_{what}",
}
HEAD_PIPELINE = ("q", "k", "v", "scores", "masked_scores", "weights", "head_out")


def hook_name(kind: str, layer: int | str, what: str = "weights") -> str:
    if kind not in WEIGHT_PATTERNS:
        raise ValueError(f"unknown attention kind {kind!r}; expected one of {', '.join(KINDS)}")
    return WEIGHT_PATTERNS[kind].format(layer=layer, what=what)


ALL_WEIGHTS = [hook_name(kind, "*") for kind in KINDS]


class InputError(ValueError):
    """Input text that cannot be translated (e.g. empty); the message is meant for the user."""


@dataclass
class Hypothesis:
    ids: list[int]  # output pieces, ending with </s> unless cut at max_len
    score: float  # sum of log-probabilities
    path: list[int]  # beam index at each step, to read that beam's attention rows
    candidates: list[tuple[list[int], list[float]]] = field(default_factory=list)  # per step: top-k ids, probs


@dataclass
class Translation:
    text: str
    src_ids: list[int]  # encoder input, ending with </s>
    out_ids: list[int]
    score: float
    truncated: int = 0  # source pieces dropped to fit the model's max_len
    trace: Trace | None = None


def check_head(model: Transformer, kind: str, layer: int, head: int) -> None:
    cfg = model.cfg
    if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
        raise ValueError(f"{kind}:{layer}:{head} is outside the model's {cfg.n_layers} layers x {cfg.n_heads} heads")


def head_masks(model: Transformer, heads: Iterable[tuple[str, int, int]]) -> dict[str, Tensor]:
    """Masks (0 = switched off) on each head's output, before the output projection, for `capture`."""
    cfg, masks = model.cfg, {}
    for kind, layer, head in heads:
        check_head(model, kind, layer, head)
        name = hook_name(kind, layer, "head_out")
        masks.setdefault(name, torch.ones(cfg.n_heads))[head] = 0.0
    return masks


def parse_head_spec(spec: str, n_layers: int, n_heads: int) -> list[tuple[str, int, int]]:
    """Heads named by comma-separated `kind:layer:head` items, `*` matching every layer or head."""
    heads: list[tuple[str, int, int]] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        parts = item.split(":")
        if len(parts) != 3:
            raise ValueError(f"{item!r} is not kind:layer:head (e.g. cross:*:*, encoder:2:5)")
        kinds = list(KINDS) if parts[0] == "*" else [parts[0]]
        if kinds[0] not in KINDS:
            raise ValueError(f"{item!r}: kind must be one of {', '.join(KINDS)} or *")
        ranges = []
        for value, limit, what in ((parts[1], n_layers, "layer"), (parts[2], n_heads, "head")):
            if value == "*":
                ranges.append(range(limit))
            elif value.isdigit() and int(value) < limit:
                ranges.append([int(value)])
            else:
                raise ValueError(f"{item!r}: {what} must be * or 0..{limit - 1}")
        heads += [(k, l, h) for k in kinds for l in ranges[0] for h in ranges[1] if (k, l, h) not in heads]
    return heads


def _topk(logp: Tensor, k: int) -> tuple[Tensor, Tensor]:
    values, ids = logp.topk(min(k, logp.shape[-1]), dim=-1)
    return ids, values.exp()


def unless_all_true(mask: Tensor) -> Tensor | None:
    """None for a mask that hides nothing (no padding), so decode steps skip masking altogether."""
    return None if bool(mask.all()) else mask


@torch.inference_mode()
def greedy_search(model: Transformer, src: Tensor, max_len: int, top_k: int = 0) -> list[Hypothesis]:
    """Pick the most probable next token at every step, for a batch of padded sources [batch, S]."""
    cfg = model.cfg
    batch = src.shape[0]
    memory, src_mask = model.encode(src)
    src_mask = unless_all_true(src_mask)
    cache = model.new_cache()
    token = torch.full((batch,), cfg.bos_id, dtype=torch.long, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    scores = torch.zeros(batch, device=src.device)
    steps, tops = [], []
    for step in range(max_len):
        logp = model.decode_step(token, memory if step == 0 else None, src_mask, cache, step)
        best, token = logp.max(dim=-1)
        scores += torch.where(done, torch.zeros_like(best), best)
        token = torch.where(done, torch.full_like(token, cfg.pad_id), token)
        steps.append(token)
        if top_k:
            tops.append(_topk(logp, top_k))
        done |= token == cfg.eos_id
        if bool(done.all()):
            break
    out = torch.stack(steps, dim=1).tolist()
    hyps = []
    for b, ids in enumerate(out):
        n = ids.index(cfg.eos_id) + 1 if cfg.eos_id in ids else len(ids)
        cands = [(tops[t][0][b].tolist(), tops[t][1][b].tolist()) for t in range(n)] if top_k else []
        hyps.append(Hypothesis(ids[:n], float(scores[b]), [b] * n, cands))
    return hyps


def length_penalty(length: int, alpha: float) -> float:
    """GNMT length normalisation ((5 + |Y|) / 6)^alpha (Wu et al., 2016)."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.inference_mode()
def beam_search(
    model: Transformer, src: Tensor, beam_size: int, max_len: int, alpha: float = 0.6, top_k: int = 0
) -> Hypothesis:
    """Keep the `beam_size` best prefixes of one source [1, S]; return the best finished one."""
    cfg = model.cfg
    memory, src_mask = model.encode(src)
    memory, src_mask = memory.expand(beam_size, -1, -1), unless_all_true(src_mask.expand(beam_size, -1, -1, -1))
    cache = model.new_cache()
    tokens = torch.full((beam_size,), cfg.bos_id, dtype=torch.long, device=src.device)
    beam_scores = torch.full((beam_size,), float("-inf"), device=src.device)
    beam_scores[0] = 0.0  # all beams start identical: expand only the first
    parents, chosen, tops = [], [], []
    finished: list[tuple[float, float, int, int, int]] = []  # (normalised, raw, step, beam, last token)
    for step in range(max_len):
        logp = model.decode_step(tokens, memory if step == 0 else None, src_mask, cache, step)
        if top_k:
            tops.append(_topk(logp, top_k))
        flat = (beam_scores[:, None] + logp).view(-1)
        scores, idx = flat.topk(2 * beam_size)
        vocab = logp.shape[-1]
        next_beams = []
        for score, i in zip(scores.tolist(), idx.tolist()):
            beam, tok = divmod(i, vocab)
            if score == float("-inf"):
                break
            if tok == cfg.eos_id:
                finished.append((score / length_penalty(step + 1, alpha), score, step, beam, tok))
            else:
                next_beams.append((score, beam, tok))
            if len(next_beams) == beam_size:
                break
        if len(finished) >= beam_size or not next_beams:
            break
        next_beams += [next_beams[-1]] * (beam_size - len(next_beams))  # pad with a copy, rarely needed
        order = torch.tensor([b for _, b, _ in next_beams], device=src.device)
        tokens = torch.tensor([t for _, _, t in next_beams], device=src.device)
        beam_scores = torch.tensor([s for s, _, _ in next_beams], device=src.device)
        parents.append(order.tolist())
        chosen.append(tokens.tolist())
        model.reorder_cache(cache, order)
    if not finished:  # cut at max_len: the alive beams are the candidates
        step = len(parents) - 1
        for b, score in enumerate(beam_scores.tolist()):
            finished.append((score / length_penalty(step + 1, alpha), score, step, parents[step][b], chosen[step][b]))
    _, raw, last_step, beam, last_token = max(finished, key=lambda f: f[0])
    path, ids = [beam], [last_token]
    for r in range(last_step, 0, -1):
        ids.append(chosen[r - 1][path[-1]])
        path.append(parents[r - 1][path[-1]])
    path.reverse(), ids.reverse()
    cands = [(tops[r][0][path[r]].tolist(), tops[r][1][path[r]].tolist()) for r in range(len(path))] if top_k else []
    return Hypothesis(ids, raw, path, cands)


def _trace_from_steps(model: Transformer, records: dict[str, list[Tensor]], hyp: Hypothesis) -> dict[str, np.ndarray]:
    """Assemble [L, H, q, k] arrays from the per-step rows recorded along the hypothesis' beam path."""
    L, T = model.cfg.n_layers, len(hyp.ids)
    encoder = np.stack([records[hook_name("encoder", l)][0][0].cpu().numpy() for l in range(L)])
    cross, decoder = [], []
    for l in range(L):
        cross_rows = records[hook_name("cross", l)]
        self_rows = records[hook_name("decoder", l)]
        cross.append(torch.stack([cross_rows[t][hyp.path[t], :, 0] for t in range(T)], dim=1))  # [H, T, S]
        full = torch.zeros(model.cfg.n_heads, T, T)  # above the diagonal stays exactly 0
        for t in range(T):
            full[:, t, : t + 1] = self_rows[t][hyp.path[t], :, 0]
        decoder.append(full)
    return {
        "encoder": encoder,
        "decoder": torch.stack(decoder).cpu().numpy(),
        "cross": torch.stack(cross).cpu().numpy(),
    }


def _make_trace(model: Transformer, tok: Tokenizer, src_ids: list[int], out_ids: list[int], arrays: dict, candidates) -> Trace:
    cfg = model.cfg
    tgt_in = [cfg.bos_id] + out_ids[:-1]
    src_pieces, tgt_pieces = tok.pieces(src_ids), tok.pieces(tgt_in)
    n_pos = max(len(src_ids), len(tgt_in))
    return Trace(
        src_tokens=src_pieces,
        tgt_tokens=tgt_pieces,
        out_tokens=tok.pieces(out_ids),
        positional_encoding=model.positional_encoding[:n_pos].cpu().numpy().copy(),
        src_word_starts=word_starts(src_pieces),
        tgt_word_starts=word_starts(tgt_pieces),
        candidates=[list(zip(tok.pieces(ids), probs)) for ids, probs in candidates],
        **arrays,
    )


def fit(model: Transformer, ids: list[int]) -> list[int]:
    """Piece ids cut to fit the model's max_len, ending with </s>."""
    return ids[: model.cfg.max_len - 1] + [model.cfg.eos_id]


def sequence_ids(model: Transformer, tok: Tokenizer, text: str) -> list[int]:
    return fit(model, tok.encode(text))


def encode_source(model: Transformer, tok: Tokenizer, text: str) -> tuple[list[int], int]:
    """Source ids ending with </s>, cut to the model's max_len; returns (ids, pieces dropped)."""
    if not text or not text.strip():
        raise InputError("Type a sentence to translate: the input is empty.")
    pieces = tok.encode(text)
    ids = fit(model, pieces)
    return ids, len(pieces) - (len(ids) - 1)


def default_max_len(model: Transformer, src_len: int) -> int:
    return min(model.cfg.max_len, 2 * src_len + 10)


def translate(
    model: Transformer,
    tok: Tokenizer,
    text: str,
    beam: int = 1,
    max_len: int | None = None,
    alpha: float = 0.6,
    with_trace: bool = True,
    top_k: int = 5,
    ablate: Iterable[tuple[str, int, int]] = (),
) -> Translation:
    """Translate one sentence; with `with_trace`, capture every layer's and head's attention on the way."""
    src_ids, dropped = encode_source(model, tok, text)
    limit = min(max_len or default_max_len(model, len(src_ids)), model.cfg.max_len)
    if limit < 1:
        raise InputError(f"max length must be at least 1, got {max_len}.")
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], device=device)
    patterns = ALL_WEIGHTS if with_trace else ()
    with capture(model, patterns, head_masks(model, ablate)) as run:
        if beam <= 1:
            hyp = greedy_search(model, src, limit, top_k=top_k if with_trace else 0)[0]
        else:
            hyp = beam_search(model, src, beam, limit, alpha, top_k=top_k if with_trace else 0)
    trace = None
    if with_trace:
        trace = _make_trace(model, tok, src_ids, hyp.ids, _trace_from_steps(model, run.records, hyp), hyp.candidates)
    return Translation(tok.decode(hyp.ids), src_ids, hyp.ids, hyp.score, dropped, trace)


@torch.inference_mode()
def forward_trace(
    model: Transformer, tok: Tokenizer, src_ids: list[int], out_ids: list[int], top_k: int = 5,
    ablate: Iterable[tuple[str, int, int]] = (),
) -> tuple[Trace, float]:
    """Teacher-forced pass over a given output: its trace and the output's log-probability."""
    device = next(model.parameters()).device
    tgt_in = [model.cfg.bos_id] + out_ids[:-1]
    with capture(model, ALL_WEIGHTS, head_masks(model, ablate)) as run:
        logits = model(torch.tensor([src_ids], device=device), torch.tensor([tgt_in], device=device))
    logp = torch.log_softmax(logits[0].float(), dim=-1)
    score = float(logp.gather(1, torch.tensor(out_ids, device=device)[:, None]).sum())
    ids, probs = _topk(logp, top_k)
    L = model.cfg.n_layers
    arrays = {kind: np.stack([run.records[hook_name(kind, l)][0][0].cpu().numpy() for l in range(L)]) for kind in KINDS}
    candidates = list(zip(ids.tolist(), probs.tolist()))
    return _make_trace(model, tok, src_ids, out_ids, arrays, candidates), score


@torch.inference_mode()
def inspect_head(model: Transformer, src_ids: list[int], out_ids: list[int], kind: str, layer: int, head: int) -> dict[str, np.ndarray]:
    """Every intermediate of one head (paper eq. 1), for the 'inside one head' view.

    Returns q [q_pos, d_k], k and v [k_pos, d_k], scores / masked_scores / weights [q_pos, k_pos],
    head_out [q_pos, d_k], and mask [q_pos, k_pos] (True = may attend).
    """
    cfg = model.cfg
    check_head(model, kind, layer, head)
    device = next(model.parameters()).device
    tgt_in = [cfg.bos_id] + out_ids[:-1]
    names = {what: hook_name(kind, layer, what) for what in HEAD_PIPELINE}
    with capture(model, names.values()) as run:
        model(torch.tensor([src_ids], device=device), torch.tensor([tgt_in], device=device))
    out = {what: run.records[name][0][0, head].cpu().numpy() for what, name in names.items()}
    out["mask"] = np.isfinite(out["masked_scores"])
    return out


def translate_many(
    model: Transformer, tok: Tokenizer, sentences: list[str], beam: int = 1, max_len: int | None = None,
    alpha: float = 0.6, batch_size: int = 64, ablate: Iterable[tuple[str, int, int]] = (),
) -> list[str]:
    """Translate many sentences without capture: greedy in length-sorted batches, beam one at a time.

    An empty sentence gives an empty translation; `ablate` switches the given heads off throughout.
    """
    with capture(model, (), head_masks(model, ablate)):
        return _translate_many(model, tok, sentences, beam, max_len, alpha, batch_size)


def _translate_many(model, tok, sentences, beam, max_len, alpha, batch_size) -> list[str]:
    model_max = model.cfg.max_len
    encoded = [sequence_ids(model, tok, s) if s.strip() else None for s in sentences]
    results = [""] * len(sentences)
    todo = sorted((i for i, e in enumerate(encoded) if e is not None), key=lambda i: len(encoded[i]))
    device = next(model.parameters()).device
    step = batch_size if beam <= 1 else 1
    for start in range(0, len(todo), step):
        chunk = todo[start : start + step]
        src = pad_sources([encoded[i] for i in chunk], model.cfg.pad_id).to(device)
        limit = min(max_len or default_max_len(model, src.shape[1]), model_max)
        if beam <= 1:
            hyps = greedy_search(model, src, limit)
        else:
            hyps = [beam_search(model, src, beam, limit, alpha)]
        for i, hyp in zip(chunk, hyps):
            results[i] = tok.decode(hyp.ids)
    return results

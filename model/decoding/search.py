"""Greedy and beam search over a `TranslationModel`, with its key/value cache.

Recording contract (what `model.decoding.trace_from_hooks` relies on to assemble a trace from a `capture()` run):
- the encoder runs once, so each encoder hook records one tensor with batch row 0 (beam search
  encodes one source and expands it);
- each search step makes exactly one `decode_step` call, so the decoder and cross hooks record one
  tensor per step, in step order, each [rows, heads, 1, keys];
- row b of step t is batch item b (greedy) or beam b after the reordering of step t - 1 (beam);
- `Hypothesis.path[t]` is the row that holds the returned hypothesis at step t.

A forced prefix (`forced`) makes the first len(forced) pieces the given ones, whatever the model
prefers; the search continues from there. Each step's log-probability of the chosen piece is kept in
`Hypothesis.logprobs`, so a view can show how much the model disliked a forced piece.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from model.core.interface import TranslationModel


@dataclass
class Hypothesis:
    ids: list[int]  # output pieces, ending with </s> unless cut at max_len
    score: float  # sum of log-probabilities
    path: list[int]  # the row (batch item or beam) of each step, to read that row's attention
    candidates: list[tuple[list[int], list[float]]] = field(default_factory=list)  # per step: top-k ids, probs
    logprobs: list[float] = field(default_factory=list)  # per step: log-probability of the chosen piece
    forced: int = 0  # the first `forced` pieces were imposed, not chosen


@dataclass
class BeamNode:
    """One partial hypothesis that beam search kept (or finished) at one step."""

    step: int
    row: int  # its beam row at this step (-1 for a finished hypothesis, which leaves the beam)
    parent: int  # the row it extends at step - 1 (-1 at step 0)
    token: int
    score: float  # cumulative log-probability
    normalised: float  # score / length penalty
    finished: bool = False


@dataclass(frozen=True)
class BeamTreeRow:
    """A `BeamNode` as the views show it: with its whole partial hypothesis and whether it is on the returned path."""

    step: int
    row: int  # its beam row at this step (-1: finished)
    parent: int  # the row it extends at step - 1 (-1 at step 0)
    token: int
    score: float  # cumulative log-probability
    normalised: float  # score / length penalty
    finished: bool
    best: bool  # on the returned translation's path
    ids: list[int]  # the whole partial hypothesis, ending with `token`
    piece: str = ""  # `token` as a target piece (`piece_of`)


def beam_tree_rows(
    tree: list[BeamNode], best_ids: list[int], piece_of: Callable[[int], str] | None = None
) -> list[BeamTreeRow]:
    """The tree as rows for tables and figures, each node with its partial hypothesis; `piece_of(token)` names each
    node's piece (e.g. the tokenizer's target piece)."""
    kept = {(n.step, n.row): n for n in tree if not n.finished}
    rows = []
    for node in tree:
        ids, back = [node.token], node
        while back.step > 0:
            back = kept[(back.step - 1, back.parent)]
            ids.insert(0, back.token)
        n = node
        best, piece = ids == best_ids[: len(ids)], piece_of(n.token) if piece_of else ""
        rows.append(BeamTreeRow(n.step, n.row, n.parent, n.token, n.score, n.normalised, n.finished, best, ids, piece))
    return rows


def topk(logp: Tensor, k: int) -> tuple[Tensor, Tensor]:
    values, ids = logp.topk(min(k, logp.shape[-1]), dim=-1)
    return ids, values.exp()


def unless_all_true(mask: Tensor) -> Tensor | None:
    """None for a mask that hides nothing (no padding), so decode steps skip masking altogether."""
    return None if bool(mask.all()) else mask


def never_generate(model: TranslationModel, logp: Tensor) -> Tensor:
    """<pad> is never a prediction (Marian's generate bans it too; ours never learnt it)."""
    logp[:, model.cfg.pad_id] = float("-inf")
    return logp


@torch.inference_mode()
def greedy_search(
    model: TranslationModel, src: Tensor, max_len: int, top_k: int = 0, forced: list[int] = ()
) -> list[Hypothesis]:
    """Pick the most probable next token at every step, for a batch of padded sources [batch, S].

    `forced`: pieces imposed at the first steps (the same for every row).
    """
    cfg, forced = model.cfg, list(forced)
    batch = src.shape[0]
    memory, src_mask = model.encode(src)
    src_mask = unless_all_true(src_mask)
    cache = model.new_cache()
    token = torch.full((batch,), cfg.decoder_start_id, dtype=torch.long, device=src.device)
    done = torch.zeros(batch, dtype=torch.bool, device=src.device)
    scores = torch.zeros(batch, device=src.device)
    steps, tops, chosen_logp = [], [], []
    for step in range(max_len):
        logp = never_generate(model, model.decode_step(token, memory if step == 0 else None, src_mask, cache, step))
        best, token = logp.max(dim=-1)
        if step < len(forced):
            token = torch.full_like(token, forced[step])
            best = logp.gather(1, token[:, None])[:, 0]
        chosen_logp.append(best)
        scores += torch.where(done, torch.zeros_like(best), best)
        token = torch.where(done, torch.full_like(token, cfg.pad_id), token)
        steps.append(token)
        if top_k:
            tops.append(topk(logp, top_k))
        done |= token == cfg.eos_id
        if bool(done.all()):
            break
    out = torch.stack(steps, dim=1).tolist()
    hyps = []
    for b, ids in enumerate(out):
        n = ids.index(cfg.eos_id) + 1 if cfg.eos_id in ids else len(ids)
        cands = [(tops[t][0][b].tolist(), tops[t][1][b].tolist()) for t in range(n)] if top_k else []
        hyps.append(
            Hypothesis(
                ids[:n],
                float(scores[b]),
                [b] * n,
                cands,
                [float(chosen_logp[t][b]) for t in range(n)],
                min(len(forced), n),
            )
        )
    return hyps


def length_penalty(length: int, alpha: float) -> float:
    """GNMT length normalisation ((5 + |Y|) / 6)^alpha (Wu et al., 2016)."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.inference_mode()
def beam_search(
    model: TranslationModel,
    src: Tensor,
    beam_size: int,
    max_len: int,
    alpha: float = 0.6,
    top_k: int = 0,
    forced: list[int] = (),
    tree: list[BeamNode] | None = None,
) -> Hypothesis:
    """Keep the `beam_size` best prefixes of one source [1, S]; return the best finished one.

    `forced`: pieces imposed at the first steps (one beam follows them). `tree`, if given, receives a
    `BeamNode` for every hypothesis kept or finished at every step.
    """
    cfg, forced = model.cfg, list(forced)
    memory, src_mask = model.encode(src)
    memory, src_mask = memory.expand(beam_size, -1, -1), unless_all_true(src_mask.expand(beam_size, -1, -1, -1))
    cache = model.new_cache()
    tokens = torch.full((beam_size,), cfg.decoder_start_id, dtype=torch.long, device=src.device)
    beam_scores = torch.full((beam_size,), float("-inf"), device=src.device)
    beam_scores[0] = 0.0  # all beams start identical: expand only the first
    parents, chosen, tops, step_logps = [], [], [], []
    finished: list[Ending] = []
    for step in range(max_len):
        logp = never_generate(model, model.decode_step(tokens, memory if step == 0 else None, src_mask, cache, step))
        step_logps.append(logp)
        if top_k:
            tops.append(topk(logp, top_k))
        # only the forced piece, on the one live beam
        logp_for_choice = only_piece(logp, forced[step], rows=0) if step < len(forced) else logp
        scores, idx = (beam_scores[:, None] + logp_for_choice).view(-1).topk(2 * beam_size)
        vocab = logp.shape[-1]
        next_beams, endings = choose_next(scores.tolist(), idx.tolist(), vocab, beam_size, step, alpha, cfg.eos_id)
        finished += endings
        stop = len(finished) >= beam_size or not next_beams
        if tree is not None:
            tree += tree_nodes(step, endings, [] if stop else next_beams, alpha)
        if stop:
            break
        order, tokens, beam_scores = beam_tensors(fill_dead_rows(next_beams, beam_size), src.device)
        parents.append(order.tolist())
        chosen.append(tokens.tolist())
        model.reorder_cache(cache, order)
    raw, path, ids = best_hypothesis(finished, parents, chosen, beam_scores.tolist(), alpha)
    cands = [(tops[r][0][path[r]].tolist(), tops[r][1][path[r]].tolist()) for r in range(len(path))] if top_k else []
    logprobs = [float(step_logps[r][path[r], ids[r]]) for r in range(len(path))]
    return Hypothesis(ids, raw, path, cands, logprobs, min(len(forced), len(ids)))


def only_piece(logp: Tensor, piece: int, rows: int | slice = slice(None)) -> Tensor:
    """`logp` with every choice but `piece` on `rows` at -inf (the piece keeps its own log-probability)."""
    only = torch.full_like(logp, float("-inf"))
    only[rows, piece] = 0.0
    return logp + only


def tree_nodes(step: int, endings: list[Ending], kept: list[tuple[float, int, int]], alpha: float) -> list[BeamNode]:
    """The beam tree's nodes of one step: the hypotheses that finished, then those kept (score, beam, token)."""
    ended = [BeamNode(step, -1, beam, token, score, normalised, True) for normalised, score, _, beam, token in endings]
    return ended + [
        BeamNode(step, row, beam, token, score, score / length_penalty(step + 1, alpha))
        for row, (score, beam, token) in enumerate(kept)
    ]


def beam_tensors(next_beams: list[tuple[float, int, int]], device) -> tuple[Tensor, Tensor, Tensor]:
    """The next step's (row each beam extends, its token, its score), from (score, row, token) triples."""
    order = torch.tensor([row for _, row, _ in next_beams], device=device)
    tokens = torch.tensor([token for _, _, token in next_beams], device=device)
    return order, tokens, torch.tensor([score for score, _, _ in next_beams], device=device)


Ending = tuple[float, float, int, int, int]  # (normalised score, raw score, step, beam, last token)


def choose_next(
    scores: list[float], flat_ids: list[int], vocab: int, beam_size: int, step: int, alpha: float, eos_id: int
) -> tuple[list[tuple[float, int, int]], list[Ending]]:
    """One sentence's step: from its 2k best (score, beam * vocab + token), the next beams (score, beam, token) and
    the endings kept. An ending ranked below the beam is dropped, as in HF generate."""
    next_beams, endings = [], []
    for rank, (score, i) in enumerate(zip(scores, flat_ids)):
        beam, token = divmod(i, vocab)
        if score == float("-inf"):
            break
        if token == eos_id:
            if rank < beam_size:
                endings.append((score / length_penalty(step + 1, alpha), score, step, beam, token))
        else:
            next_beams.append((score, beam, token))
        if len(next_beams) == beam_size:
            break
    return next_beams, endings


def fill_dead_rows(next_beams: list[tuple[float, int, int]], beam_size: int) -> list[tuple[float, int, int]]:
    """Pad to beam_size with rows scored -inf, which are never chosen again."""
    return next_beams + [(float("-inf"), *next_beams[-1][1:])] * (beam_size - len(next_beams))


def best_hypothesis(
    finished: list[Ending], parents: list[list[int]], chosen: list[list[int]], alive_scores: list[float], alpha: float
) -> tuple[float, list[int], list[int]]:
    """(raw score, beam row per step, ids) of the best ending; if none finished (cut at max_len), of the best alive
    beam."""
    if not finished:
        step = len(parents) - 1
        finished = [
            (score / length_penalty(step + 1, alpha), score, step, parents[step][b], chosen[step][b])
            for b, score in enumerate(alive_scores)
        ]
    _, raw, last_step, beam, last_token = max(finished, key=lambda f: f[0])
    path, ids = [beam], [last_token]
    for r in range(last_step, 0, -1):
        ids.append(chosen[r - 1][path[-1]])
        path.append(parents[r - 1][path[-1]])
    path.reverse(), ids.reverse()
    return raw, path, ids


@dataclass
class SentenceBeams:
    """One sentence's search in `beam_search_batch`: each step's parent rows and tokens, its endings, its result."""

    max_len: int
    parents: list[list[int]] = field(default_factory=list)
    chosen: list[list[int]] = field(default_factory=list)
    finished: list[Ending] = field(default_factory=list)
    result: list[int] = field(default_factory=list)

    def advance(
        self,
        scores: list[float],
        flat_ids: list[int],
        vocab: int,
        k: int,
        step: int,
        alpha: float,
        eos_id: int,
        alive_scores: Tensor,
    ) -> list[tuple[float, int, int]] | None:
        """One step from the sentence's 2k best (score, beam * vocab + token) over its beams' `alive_scores`: its
        next k beams (score, beam, token), or None once it is done (`result` then holds its ids)."""
        next_beams, endings = choose_next(scores, flat_ids, vocab, k, step, alpha, eos_id)
        self.finished += endings
        if len(self.finished) >= k or not next_beams:
            return self.finish(alive_scores.tolist(), alpha)
        next_beams = fill_dead_rows(next_beams, k)
        self.parents.append([beam for _, beam, _ in next_beams])
        self.chosen.append([token for _, _, token in next_beams])
        if step == self.max_len - 1:
            return self.finish([score for score, _, _ in next_beams], alpha)
        return next_beams

    def finish(self, alive_scores: list[float], alpha: float) -> None:
        """Keep the best ending's ids as the result (the best alive beam's if none finished)."""
        self.result = best_hypothesis(self.finished, self.parents, self.chosen, alive_scores, alpha)[2]


@torch.inference_mode()
def beam_search_batch(
    model: TranslationModel,
    src: Tensor,
    beam_size: int,
    max_lens: list[int],
    alpha: float = 0.6,
    forced: list[int] = (),
) -> list[list[int]]:
    """`beam_search` for a batch of padded sources [batch, S] at once: each sentence gets the ids that `beam_search`
    gives it alone (no tree, no capture contract), with one `decode_step` for the live beams of all sentences per
    step. A sentence leaves the batch when it finishes or reaches its own `max_lens` entry. `forced`: pieces imposed
    at the first steps, the same for every sentence (a multilingual model's target language code)."""
    cfg, k, n, forced = model.cfg, beam_size, src.shape[0], list(forced)
    memory, src_mask = model.encode(src)
    memory, src_mask = memory.repeat_interleave(k, 0), unless_all_true(src_mask.repeat_interleave(k, 0))
    cache = model.new_cache()
    tokens = torch.full((n * k,), cfg.decoder_start_id, dtype=torch.long, device=src.device)
    beam_scores = torch.full((n, k), float("-inf"), device=src.device)
    beam_scores[:, 0] = 0.0  # all beams of a sentence start identical: expand only the first
    sentences = [SentenceBeams(max_len) for max_len in max_lens]
    live = list(range(n))  # the sentence held by each block of k rows
    for step in range(max(max_lens)):
        logp = never_generate(model, model.decode_step(tokens, memory if step == 0 else None, src_mask, cache, step))
        vocab = logp.shape[-1]
        if step < len(forced):  # only the forced piece, as in beam_search
            logp = only_piece(logp, forced[step])
        flat = (beam_scores.view(-1, 1) + logp).view(len(live), k * vocab)
        top_scores, top_ids = (t.tolist() for t in flat.topk(2 * k, dim=-1))
        still, kept = [], []
        for block, j in enumerate(live):
            next_beams = sentences[j].advance(
                top_scores[block], top_ids[block], vocab, k, step, alpha, cfg.eos_id, beam_scores[block]
            )
            if next_beams is not None:
                still.append(j)
                kept += [(score, block * k + beam, token) for score, beam, token in next_beams]
        live = still
        if not live:
            break
        order, tokens, scores = beam_tensors(kept, src.device)
        model.reorder_cache(cache, order)
        src_mask = None if src_mask is None else src_mask.index_select(0, order)
        beam_scores = scores.view(len(live), k)
    return [sentence.result for sentence in sentences]

"""Where an output piece's information came from: contributions (not only weights), their graph, and attention flow.

- Contributions (Kobayashi et al., 2020, "Attention is not only a weight"): head h moves
  α[q, k] · v_k W_O^h into query q's residual stream for key k; its norm ‖α v W_O^h‖ = α ‖v_k W_O^h‖
  says how much, where the weight α alone ignores how large the value vector is.
- The contribution graph (as in Meta's LLM Transparency Tool): per attention sub-layer, each query
  position receives an edge from every key (the contributions summed over heads) and from itself
  (the residual stream), each as its share of the total; routes from the source pieces to one output
  piece are the paths through edges above a threshold.
- Attention flow (Abnar & Zuidema, 2020): the max-flow from an input position to an output position
  through the layers, capacities 0.5 · mean-over-heads attention + 0.5 · I (the residual), computed
  with networkx.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import torch

from model.core.hook_names import KINDS, hook_name
from model.core.hooks import capture
from model.core.interface import TranslationModel
from model.decoding.trace_from_hooks import decoder_input


def _residual_name(kind: str, layer: int) -> str:
    """The residual stream an attention sub-layer adds to (post-norm: its input)."""
    if kind == "cross":
        return hook_name("decoder", layer, "resid_self")
    return hook_name(kind, None, "sum") if layer == 0 else hook_name(kind, layer - 1, "resid_post")


@dataclass(frozen=True)
class KindContributions:
    """One attention kind over its L layers, H heads, Q query and K key positions."""

    weights: np.ndarray  # [L, H, Q, K]: α
    norms: np.ndarray  # [L, H, Q, K]: ‖α v_k W_O^h‖, what head h moved from key k into query q's stream
    residual: np.ndarray  # [L, Q]: ‖x_q‖, the stream the sub-layer adds to

    @property
    def layers(self) -> int:
        return self.norms.shape[0]


@dataclass(frozen=True)
class Contributions:
    """Per attention kind, what each head moved from each key position into each query position."""

    encoder: KindContributions
    decoder: KindContributions
    cross: KindContributions


@torch.inference_mode()
def contributions(model: TranslationModel, src_ids: list[int], out_ids: list[int]) -> Contributions:
    """Weights, contribution norms and residual norms of every attention, from one teacher-forced pass over the given
    output (e.g. the model's own translation)."""
    cfg, device = model.cfg, next(model.parameters()).device
    names = [hook_name(k, l, w) for k in KINDS for l in range(cfg.layers(k)) for w in ("weights", "v")]
    names += [_residual_name(k, l) for k in KINDS for l in range(cfg.layers(k))]
    with capture(model, sorted(set(names))) as run:
        model(torch.tensor([src_ids], device=device), torch.tensor([decoder_input(model, out_ids)], device=device))
    out: dict[str, KindContributions] = {}
    for kind in KINDS:
        weights, norms, residual = [], [], []
        for layer in range(cfg.layers(kind)):
            alpha = run.tensor(hook_name(kind, layer, "weights"))  # [H, Q, K]
            value = run.tensor(hook_name(kind, layer, "v"))  # [H, K, d_k]
            w_o = model.attention_weights(kind, layer).W_O  # [H, d_k, d_model]
            value_norm = torch.linalg.vector_norm(value @ w_o, dim=-1)  # [H, K]: ‖v_k W_O^h‖
            weights.append(alpha.cpu().numpy())
            norms.append((alpha * value_norm[:, None, :]).cpu().numpy())
            residual.append(torch.linalg.vector_norm(run.tensor(_residual_name(kind, layer)), dim=-1).cpu().numpy())
        out[kind] = KindContributions(np.stack(weights), np.stack(norms), np.stack(residual))
    return Contributions(**out)


def contribution_vectors(
    model: TranslationModel, kind: str, layer: int, alpha: torch.Tensor, value: torch.Tensor, head: int
) -> torch.Tensor:
    """[Q, K, d_model]: α[q, k] · v_k W_O^h for one head (alpha [H, Q, K], value [H, K, d_k] from the hook points).

    Summed over k, it is exactly that head's share of the output projection (without W_O's bias).
    """
    w_head = model.attention_weights(kind, layer).W_O[head]  # [d_k, d_model]
    return alpha[head][:, :, None] * (value[head] @ w_head)[None, :, :]


def contribution_graph(contrib: Contributions, min_share: float = 0.0) -> nx.DiGraph:
    """Every position at every layer boundary as a node, edges weighted by their share of what the node received.

    Nodes: ("enc", l, s) for l = 0..L_enc (0: embeddings), ("self", l, t) after the decoder's masked
    self-attention of layer l, ("dec", l, t) for l = 0..L_dec (0: embeddings; l + 1: after layer l's
    cross-attention). Edge attribute `attention` = contribution norm (summed over heads) / (sum over keys +
    ‖residual‖), `residual` = ‖residual‖ / the same total on the edge from the same position's previous
    node; `weight` is their sum, so each node's incoming weights add up to 1. Edges whose weight is below
    `min_share` are left out (a long sentence has tens of thousands of negligible ones).
    """
    graph = nx.DiGraph()

    def add_sublayer(norms: np.ndarray, residual: np.ndarray, source, target, previous) -> None:
        received = norms.sum(axis=0)  # [Q, K], summed over heads
        totals = received.sum(axis=1) + residual
        totals = np.where(totals > 0, totals, np.inf)  # a position that received nothing: every share is 0
        attention_share, residual_share = received / totals[:, None], residual / totals
        for q in range(received.shape[0]):
            shares: dict = {}
            for k in np.flatnonzero(attention_share[q] > 0):
                shares.setdefault(source(int(k)), [0.0, 0.0])[0] += float(attention_share[q, k])
            shares.setdefault(previous(q), [0.0, 0.0])[1] += float(residual_share[q])
            for node, (attention, carried) in shares.items():  # a position attending to itself: one edge, both parts
                if attention + carried >= min_share:
                    graph.add_edge(node, target(q), weight=attention + carried, attention=attention, residual=carried)

    enc = contrib.encoder
    n_enc = enc.layers
    for l in range(n_enc):
        add_sublayer(
            enc.norms[l],
            enc.residual[l],
            lambda k, l=l: ("enc", l, k),
            lambda q, l=l: ("enc", l + 1, q),
            lambda q, l=l: ("enc", l, q),
        )
    dec, cross = contrib.decoder, contrib.cross
    for l in range(dec.layers):
        add_sublayer(
            dec.norms[l],
            dec.residual[l],
            lambda k, l=l: ("dec", l, k),
            lambda q, l=l: ("self", l, q),
            lambda q, l=l: ("dec", l, q),
        )
        add_sublayer(
            cross.norms[l],
            cross.residual[l],
            lambda k: ("enc", n_enc, k),
            lambda q, l=l: ("dec", l + 1, q),
            lambda q, l=l: ("self", l, q),
        )
    return graph


def routes_to(graph: nx.DiGraph, target, threshold: float) -> nx.DiGraph:
    """The edges with weight ≥ threshold that lie on a path from a source embedding ("enc", 0, s) to `target`."""
    strong = nx.DiGraph((u, v, d) for u, v, d in graph.edges(data=True) if d["weight"] >= threshold)
    if target not in strong:
        return nx.DiGraph()
    reaching = nx.ancestors(strong, target) | {target}
    sources = {n for n in reaching if n[0] == "enc" and n[1] == 0}
    from_sources = set().union(*(nx.descendants(strong, s) | {s} for s in sources)) if sources else set()
    return strong.subgraph(reaching & from_sources).copy()


def residual_mixed(attention: np.ndarray) -> np.ndarray:
    """[L, n, n]: 0.5 · mean over heads + 0.5 · I, per layer (the residual connection, Abnar & Zuidema)."""
    n = attention.shape[-1]
    return 0.5 * attention.mean(axis=1) + 0.5 * np.eye(n)


def attention_flow(attention: np.ndarray, rows: list[int] | None = None) -> np.ndarray:
    """Attention flow [n_out, n_in] of self-attention [L, H, n, n] (rows: which output positions; default all).

    Node (l, i) is position i after layer l; edge (l, j) -> (l + 1, i) has capacity mixed[l][i, j]. The
    flow from input j to output i is the value of a maximum flow from (0, j) to (L, i). Cost: one max-flow
    per (output, input) pair; ask only for the rows you show.
    """
    mixed = residual_mixed(attention)
    n_layers, n = mixed.shape[0], mixed.shape[-1]
    graph = nx.DiGraph()
    for l in range(n_layers):
        for i in range(n):
            for j in range(n):
                if mixed[l, i, j] > 0:
                    graph.add_edge((l, j), (l + 1, i), capacity=float(mixed[l, i, j]))
    rows = list(range(n)) if rows is None else rows
    flow = np.zeros((len(rows), n))
    for r, i in enumerate(rows):
        for j in range(n):
            if (0, j) in graph and (n_layers, i) in graph:
                flow[r, j] = nx.maximum_flow_value(graph, (0, j), (n_layers, i))
    return flow

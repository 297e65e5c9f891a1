"""What if: forced prefixes, the beam tree (against brute force), contributions (against plain torch),
the contribution graph (hand-computed), and attention flow (a 2-layer example worked out by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model.analysis.attribution import (
    attention_flow,
    contribution_graph,
    contribution_vectors,
    contributions,
    routes_to,
)
from model.core.hook_names import hook_name
from model.core.hooks import capture
from model.decoding.search import BeamNode, beam_search, length_penalty
from model.decoding.trace_from_hooks import decoder_input
from model.decoding.translation import translate
from model.translate import main as translate_main
from tests.conftest import tiny_model

SENTENCE = "Two young men are playing football on a green field."


# -- forced prefix ------------------------------------------------------------------------------


@pytest.mark.parametrize("beam", [1, 3])
def test_forcing_the_models_own_output_reproduces_its_trace(model, tokenizer, beam):
    free = translate(model, tokenizer, SENTENCE, beam=beam, max_len=12)
    forced_ids = [i for i in free.out_ids if i != model.cfg.eos_id]  # pieces, as the step view's candidates give them
    forced = translate(model, tokenizer, SENTENCE, beam=beam, max_len=12, prefix=forced_ids)
    assert forced.out_ids == free.out_ids and forced.forced == len(forced_ids)
    for kind in ("encoder", "decoder", "cross"):
        np.testing.assert_array_equal(forced.trace.attention(kind), free.trace.attention(kind))
    np.testing.assert_allclose(forced.logprobs, free.logprobs, atol=1e-6)


def test_a_forced_piece_moves_the_later_cross_attention(model, tokenizer):
    free = translate(model, tokenizer, SENTENCE, max_len=10)
    other = next(i for i in range(5, 300) if i != free.out_ids[0])
    forced = translate(model, tokenizer, SENTENCE, max_len=10, prefix=tokenizer.decode([other]))
    first = tokenizer.encode_target(tokenizer.decode([other]))
    assert forced.out_ids[: len(first)] == first
    # step 0 reads only the start symbol: identical; later steps read the forced piece: different
    np.testing.assert_array_equal(forced.trace.cross[:, :, 0], free.trace.cross[:, :, 0])
    assert not np.allclose(forced.trace.cross[:, :, len(first)], free.trace.cross[:, :, len(first)])
    # the reported log-probability is the model's own for that piece
    with torch.no_grad():
        logits = model(torch.tensor([forced.src_ids]), torch.tensor([[model.cfg.decoder_start_id]]))
    assert forced.logprobs[0] == pytest.approx(float(torch.log_softmax(logits[0, 0], -1)[first[0]]), abs=1e-5)
    assert forced.trace.forced == len(first) and len(forced.trace.out_logprobs) == len(forced.out_ids)


def test_cli_prefix(checkpoint_dir, capsys):
    assert (
        translate_main(["--checkpoint", str(checkpoint_dir), "--max-len", "8", "--prefix", "Ein Hund", SENTENCE]) == 0
    )
    out, err = capsys.readouterr()
    assert out.startswith("Ein Hund") and "forced pieces" in err


# -- beam tree against brute force ---------------------------------------------------------------


def test_beam_tree_holds_exactly_the_hypotheses_beam_search_kept(tokenizer):
    """Brute force: score every prefix with a full teacher-forced pass (no cache), and rebuild the beams."""
    model = tiny_model(tokenizer.vocab_size, seed=3)
    with torch.no_grad():  # </s> likely enough that hypotheses finish: 5 steps, 3 finished, the best after 3 pieces
        model.generator.bias[model.cfg.eos_id] += 2.5
    src = torch.tensor([tokenizer.encode("A dog runs.") + [model.cfg.eos_id]])
    beam, max_len, alpha = 3, 8, 0.6
    tree: list[BeamNode] = []
    best = beam_search(model, src, beam, max_len, alpha, tree=tree)
    cfg = model.cfg

    @torch.no_grad()
    def next_logp(prefix: tuple[int, ...]) -> torch.Tensor:
        logp = torch.log_softmax(model(src, torch.tensor([[cfg.decoder_start_id, *prefix]]))[0, -1], -1)
        logp[cfg.pad_id] = float("-inf")
        return logp

    def sequence(node: BeamNode) -> tuple[int, ...]:
        """The pieces of a tree node, following parent rows back to step 0."""
        seq = (node.token,)
        while node.step > 0:
            node = next(n for n in tree if n.step == node.step - 1 and n.row == node.parent and not n.finished)
            seq = (node.token,) + seq
        return seq

    alive, finished, step = [((), 0.0)], [], 0
    while step < max_len:
        candidates = sorted(
            (
                (score + float(lp), prefix + (tok,))
                for prefix, score in alive
                for tok, lp in enumerate(next_logp(prefix).tolist())
                if lp > float("-inf")
            ),
            reverse=True,
        )
        kept, done = [], []
        for rank, (score, seq) in enumerate(candidates[: 2 * beam]):
            if seq[-1] == cfg.eos_id:
                if rank < beam:
                    done.append((seq, score))
            else:
                kept.append((seq, score))
            if len(kept) == beam:
                break
        finished += done
        nodes = [n for n in tree if n.step == step]
        tree_done = sorted((sequence(n), n.score) for n in nodes if n.finished)
        assert [seq for seq, _ in tree_done] == sorted(seq for seq, _ in done)
        assert [sc for _, sc in tree_done] == pytest.approx([sc for _, sc in sorted(done)], abs=1e-4)
        if len(finished) >= beam or not kept:
            break
        tree_kept = [(sequence(n), n.score) for n in nodes if not n.finished]  # in row order
        assert [seq for seq, _ in tree_kept] == [seq for seq, _ in kept]
        assert [sc for _, sc in tree_kept] == pytest.approx([sc for _, sc in kept], abs=1e-4)
        alive, step = kept, step + 1
    best_seq = max(finished, key=lambda f: f[1] / length_penalty(len(f[0]), alpha))[0] if finished else None
    assert best_seq is not None and list(best_seq) == best.ids
    assert sum(n.finished for n in tree) == 3 and max(n.step for n in tree) == 4 and math.isfinite(best.score)


# -- contributions -------------------------------------------------------------------------------


def test_contribution_vectors_add_up_to_the_heads_share_of_the_output(model, tokenizer):
    result = translate(model, tokenizer, SENTENCE, max_len=8)
    kind, layer = "cross", 1
    names = [hook_name(kind, layer, w) for w in ("weights", "v", "head_out")]
    with capture(model, names) as run, torch.no_grad():
        model(torch.tensor([result.src_ids]), torch.tensor([decoder_input(model, result.out_ids)]))
    alpha, value, head_out = (run.records[n][0][0] for n in names)
    w_o = model.decoder.layers[layer].cross_attn.w_o.weight
    d_k = model.cfg.d_k
    for head in range(model.cfg.n_heads):
        vectors = contribution_vectors(model, kind, layer, alpha, value, head)
        share = head_out[head] @ w_o[:, head * d_k : (head + 1) * d_k].T
        torch.testing.assert_close(vectors.sum(dim=1), share, atol=1e-5, rtol=0)


def test_contribution_norms_match_plain_torch(model, tokenizer):
    result = translate(model, tokenizer, SENTENCE, max_len=8)
    got = contributions(model, result.src_ids, result.out_ids)
    # recompute the last cross layer from the weights: memory from the encoder, V = memory W_V^T + b, α from the trace
    with torch.no_grad():
        memory, _ = model.encode(torch.tensor([result.src_ids]))
        attn = model.decoder.layers[1].cross_attn
        v = (memory[0] @ attn.w_v.weight.T + attn.w_v.bias).view(-1, 4, 8).transpose(0, 1)  # [H, S, d_k]
        w_o = attn.w_o.weight.view(32, 4, 8)
        alpha = torch.tensor(result.trace.cross[1])  # [H, T, S]
        for h in range(4):
            vec = alpha[h][:, :, None] * (v[h] @ w_o[:, h, :].T)[None]
            np.testing.assert_allclose(got.cross.norms[1, h], vec.norm(dim=-1).numpy(), atol=1e-5)
    np.testing.assert_allclose(got.cross.weights, result.trace.cross, atol=1e-6)


def test_contribution_graph_of_a_one_layer_model_is_the_hand_computed_one(tokenizer):
    model = tiny_model(tokenizer.vocab_size, seed=2, n_encoder_layers=1, n_decoder_layers=1)
    src_ids, out_ids = tokenizer.encode("A dog.") + [3], tokenizer.encode_target("Ein Hund.") + [3]
    contrib = contributions(model, src_ids, out_ids)
    graph = contribution_graph(contrib)
    with torch.no_grad():  # by hand: embeddings, one encoder layer, the decoder's self and cross sub-layers
        emb = model.encoder.embed(torch.tensor([src_ids]))[0]
        enc_attn = model.encoder.layers[0].self_attn
        q = (emb @ enc_attn.w_q.weight.T + enc_attn.w_q.bias).view(-1, 4, 8).transpose(0, 1)
        k = (emb @ enc_attn.w_k.weight.T + enc_attn.w_k.bias).view(-1, 4, 8).transpose(0, 1)
        v = (emb @ enc_attn.w_v.weight.T + enc_attn.w_v.bias).view(-1, 4, 8).transpose(0, 1)
        alpha = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(8), dim=-1)
        w_o = enc_attn.w_o.weight.view(32, 4, 8)
        received = sum(alpha[h] * (v[h] @ w_o[:, h, :].T).norm(dim=-1)[None, :] for h in range(4))  # [S, S]
        residual = emb.norm(dim=-1)
    for q_pos in range(len(src_ids)):
        total = float(received[q_pos].sum() + residual[q_pos])
        for k_pos in range(len(src_ids)):
            edge = graph.edges[("enc", 0, k_pos), ("enc", 1, q_pos)]
            assert edge["attention"] == pytest.approx(float(received[q_pos, k_pos]) / total, abs=1e-5)
            carried = float(residual[q_pos]) / total if k_pos == q_pos else 0.0
            assert edge["residual"] == pytest.approx(carried, abs=1e-6)
    # every node's incoming shares sum to 1 (attention edges plus the residual)
    for node in graph.nodes:
        incoming = [d["weight"] for _, _, d in graph.in_edges(node, data=True)]
        if incoming:
            assert sum(incoming) == pytest.approx(1.0, abs=1e-5)
    target = ("dec", 1, len(out_ids) - 1)
    routes = routes_to(graph, target, threshold=0.0)
    assert target in routes and any(n[0] == "enc" and n[1] == 0 for n in routes)
    assert routes_to(graph, target, threshold=1.01).number_of_nodes() == 0


def test_a_position_that_received_nothing_has_shares_of_zero_not_nan(tokenizer):
    """An all-zero model: past the first layer's LayerNorm every stream and value is 0, so a node receives 0 from its
    keys and 0 from its residual; its shares are 0 (no 0/0)."""
    model = tiny_model(tokenizer.vocab_size, n_encoder_layers=2, n_decoder_layers=1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
    src_ids, out_ids = tokenizer.encode("A dog.") + [3], tokenizer.encode_target("Ein Hund.") + [3]
    contrib = contributions(model, src_ids, out_ids)
    assert not contrib.encoder.residual[1].any() and not contrib.encoder.norms.any()  # the case: nothing received
    with np.errstate(invalid="raise", divide="raise"):
        graph = contribution_graph(contrib)
    into_second = [d for _, v, d in graph.edges(data=True) if v[:2] == ("enc", 2)]
    assert into_second and all(d["weight"] == d["attention"] == d["residual"] == 0.0 for d in into_second)
    first = [d["residual"] for _, v, d in graph.edges(data=True) if v[:2] == ("enc", 1)]
    assert first and all(share == 1.0 for share in first)  # layer 0 still carries the positional rows: all residual


# -- attention flow ------------------------------------------------------------------------------


def test_attention_flow_on_a_two_layer_example_worked_by_hand():
    # raw attention (one head); mixed = 0.5 A + 0.5 I gives M1 = [[1, 0], [.5, .5]], M2 = [[.5, .5], [0, 1]]
    raw = np.array([[[[1.0, 0.0], [1.0, 0.0]]], [[[0.0, 1.0], [0.0, 1.0]]]])
    flow = attention_flow(raw)
    # a0->a2: a0->a1->a2 (0.5) + a0->b1->a2 (0.5); b0->a2: b0->b1->a2 (0.5); a0->b2: a0->b1->b2 (0.5); b0->b2: 0.5
    np.testing.assert_allclose(flow, [[1.0, 0.5], [0.5, 0.5]], atol=1e-9)
    # rollout (M2 @ M1) differs: flow is not the product of the layers
    assert not np.allclose(flow, [[0.75, 0.25], [0.5, 0.5]])
    np.testing.assert_allclose(attention_flow(raw, rows=[1]), [[0.5, 0.5]], atol=1e-9)


def test_attention_flow_is_bounded_by_each_cut(model, tokenizer):
    trace = translate(model, tokenizer, SENTENCE, max_len=6).trace
    flow = attention_flow(trace.encoder, rows=[0, 3])
    mixed = 0.5 * trace.encoder.mean(axis=1) + 0.5 * np.eye(len(trace.src_pieces))
    assert flow.shape == (2, len(trace.src_pieces))
    # max-flow <= the capacity into the output node (1) and out of the input node (column sum of the first layer)
    assert (flow >= -1e-9).all() and (flow <= 1 + 1e-9).all()
    assert (flow <= mixed[0].sum(axis=0)[None, :] + 1e-9).all()


# -- the app's what-if view ------------------------------------------------------------------------


def test_a_share_summed_just_above_one_still_draws_as_a_route():
    """The crash seen on the default model: a share of 1.000000038743019 (float32 sums) became an opacity above 1."""
    import pandas as pd

    from viz.whatif import routes_figure

    edges = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "weight": [1.000000038743019, -1e-9]})
    labels = {"a": (0, 0, "x"), "b": (1, 0, ""), "c": (2, 0, "y")}
    fig = routes_figure(edges, labels, ["source", "layer", "target"], "routes")
    lines = [trace for trace in fig.data if trace.mode == "lines"]
    assert [trace.opacity for trace in lines] == [1.0, 0.35]  # 0.35 + 0.65 x the share clipped into [0, 1]
    assert [trace.line.width for trace in lines] == [11, 1]


def test_the_beam_tree_comes_from_the_translation_that_was_run(app_env, monkeypatch):
    """One beam search per request: the what-if view draws the tree the translation's own search recorded."""
    from tests.test_app import charts, no_failures, open_app
    from ui import cache

    searches = []
    real = cache.translate
    monkeypatch.setattr(cache, "translate", lambda *a, **k: searches.append(k.get("beam")) or real(*a, **k))
    at = open_app(text=SENTENCE, view="whatif", beam=3)
    assert no_failures(at) and searches == [3]
    assert any(c["layout"]["title"]["text"].startswith("Beam search") for c in charts(at))
    greedy = open_app(text=SENTENCE, view="whatif")  # greedy: no tree, and a button to search with a beam
    assert no_failures(greedy) and greedy.button(key="use_beam")
    greedy.button(key="use_beam").click().run()
    assert greedy.session_state.beam == 4 and any(
        c["layout"]["title"]["text"].startswith("Beam search") for c in charts(greedy)
    )

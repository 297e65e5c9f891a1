"""Every number the lesson shows, against an independent recomputation from the weights (plain torch / NumPy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model.analysis.lesson import LessonChoice, entropy_bits, lesson_numbers, position_alternatives
from model.core.transformer import sinusoidal_positional_encoding
from model.decoding.translation import translate

SENTENCE = "A man drives a red car."


@pytest.fixture(scope="module")
def translated(model, tokenizer):
    return translate(model, tokenizer, SENTENCE, max_len=8)


def numbers(model, translated, kind="encoder", layer=1, head=2, position=3):
    return lesson_numbers(model, translated.src_ids, translated.out_ids, LessonChoice(kind, layer, head, position))


def test_embedding_and_positional_encoding(model, translated):
    n = numbers(model, translated, layer=0)
    table = model.encoder.embed.token_embedding.weight.detach()
    expected = table[translated.src_ids].numpy() * math.sqrt(model.cfg.d_model)
    np.testing.assert_allclose(n.token_embedding, expected, atol=1e-5)
    np.testing.assert_allclose(
        n.positional, sinusoidal_positional_encoding(len(translated.src_ids), model.cfg.d_model).numpy(), atol=1e-6
    )
    np.testing.assert_allclose(n.layer_input, expected + n.positional, atol=1e-5)


def test_q_k_v_scores_mask_softmax_and_output_by_hand(model, translated):
    n = numbers(model, translated, kind="decoder", layer=0, head=1, position=2)
    attn, x = model.decoder.layers[0].self_attn, torch.tensor(n.layer_input)
    sl = slice(8, 16)  # head 1 of d_k = 8
    q = (x @ attn.w_q.weight.T + attn.w_q.bias)[:, sl]
    k = (x @ attn.w_k.weight.T + attn.w_k.bias)[:, sl]
    v = (x @ attn.w_v.weight.T + attn.w_v.bias)[:, sl]
    scores = q @ k.T / math.sqrt(8)
    causal = torch.ones(len(x), len(x)).tril().bool()
    weights = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
    for name, ref in (
        ("q", q),
        ("k", k),
        ("v", v),
        ("scores", scores),
        ("weights", weights),
        ("head_out", weights @ v),
    ):
        np.testing.assert_allclose(getattr(n.head_steps, name), ref.detach().numpy(), atol=1e-5, err_msg=name)
    assert np.isneginf(n.head_steps.masked_scores[2, 3:]).all()  # −∞ above the diagonal


def test_add_and_norm_is_layer_norm_of_x_plus_sublayer(model, translated):
    n = numbers(model, translated, kind="encoder", layer=1)
    norm = model.encoder.layers[1].sublayer_attn.norm
    sublayer = n.heads_concat @ n.w_o.T + n.w_o_bias
    expected = F.layer_norm(
        torch.tensor(n.stream_in + sublayer), (model.cfg.d_model,), norm.weight, norm.bias, norm.eps
    )
    np.testing.assert_allclose(n.add_norm_out, expected.detach().numpy(), atol=1e-5)


def test_why_sqrt_dk_entropies_match_numpy(model, translated):
    n = numbers(model, translated, kind="cross", layer=1, head=0, position=1)
    q, k = n.head_steps.q, n.head_steps.k
    row = q[1] @ k.T

    def entropy(x):
        p = np.exp(x - x.max())
        p /= p.sum()
        return float(-(p * np.log2(p)).sum())

    assert n.why_scale.entropy_scaled_bits == pytest.approx(entropy(row / math.sqrt(q.shape[1])), abs=1e-5)
    assert n.why_scale.entropy_unscaled_bits == pytest.approx(entropy(row), abs=1e-5)
    assert n.why_scale.dot_variance == pytest.approx(float((q @ k.T).var()), rel=1e-5)
    assert entropy_bits(np.full(4, 0.25)) == pytest.approx(2.0)


def test_last_layer_prediction_is_the_models_output(model, translated):
    n = numbers(model, translated)
    with torch.no_grad():
        logits = model(torch.tensor([translated.src_ids]), torch.tensor([n.tgt_in_ids]))[0]
    probs = torch.softmax(logits, -1)
    last = n.per_layer[-1]
    np.testing.assert_array_equal(last.top_ids, n.final_top_ids)
    np.testing.assert_allclose(last.top_probs, probs.topk(5, dim=-1).values.numpy(), atol=1e-5)
    assert len(n.per_layer) == model.cfg.n_decoder_layers
    with torch.no_grad():  # each layer's stream is that layer's output, recomputed layer by layer from the embeddings
        memory, src_mask = model.encode(torch.tensor([translated.src_ids]))
        y = model.decoder.embed(torch.tensor([n.tgt_in_ids]))
        mask = model.tgt_mask(torch.tensor([n.tgt_in_ids]))
        for layer, record in zip(model.decoder.layers, n.per_layer):
            y = layer(y, memory, src_mask, mask)
            np.testing.assert_allclose(record.stream, y[0].numpy(), atol=1e-5)


def test_residual_norms_are_recomputed_sublayers(model, translated):
    n = numbers(model, translated)
    first = n.residual[0]
    x = torch.tensor(n.layer_input) if n.choice.kind == "encoder" else None
    with torch.no_grad():
        attn = model.encoder.layers[0].self_attn(x[None], x[None], None)[0]
    assert first.sublayer_norm == pytest.approx(float(attn.norm(dim=-1).mean()), rel=1e-5)
    assert first.residual_norm == pytest.approx(float(x.norm(dim=-1).mean()), rel=1e-5)
    assert len(n.residual) == 2 * model.cfg.n_encoder_layers


def test_position_alternatives_and_path_lengths(model, translated):
    n = numbers(model, translated)
    assert n.why_attention.attention_path == 1 and n.why_attention.rnn_path == len(translated.src_ids) - 1
    pe = sinusoidal_positional_encoding(64, 32).numpy()
    alt = position_alternatives(pe, embedding_norm=5.0, length=10)
    assert alt.integer_last == 9 and alt.integer_last_vs_embedding == pytest.approx(9 / 5)
    assert alt.fraction_same_value == (5 / 9, 55)  # 5/9 of a 10-piece sentence is position 55 of a 100-piece one
    assert alt.sinusoid_norm == pytest.approx(4.0)  # sqrt(16 sin^2 + 16 cos^2) at d_model 32
    assert alt.sinusoid_min_distance > 0

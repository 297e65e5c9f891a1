"""The model against independent references: PyTorch's own attention and the paper's formulas."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from model.core.config import TransformerConfig
from model.core.hooks import capture
from model.core.transformer import MultiHeadAttention, sinusoidal_positional_encoding
from tests.conftest import tiny_model

D_MODEL, N_HEADS = 32, 4


@pytest.fixture()
def attention() -> MultiHeadAttention:
    torch.manual_seed(0)
    return MultiHeadAttention(D_MODEL, N_HEADS, dropout=0.0).eval()


def test_attention_equals_scaled_dot_product_attention(attention):
    torch.manual_seed(1)
    query, memory = torch.randn(2, 5, D_MODEL), torch.randn(2, 7, D_MODEL)
    mask = torch.ones(2, 1, 1, 7, dtype=torch.bool)
    mask[1, ..., 5:] = False  # second sequence has two padded keys

    def heads(x):
        return x.view(x.shape[0], x.shape[1], N_HEADS, -1).transpose(1, 2)

    q, k, v = heads(attention.w_q(query)), heads(attention.w_k(memory)), heads(attention.w_v(memory))
    reference = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    reference = attention.w_o(reference.transpose(1, 2).reshape(2, 5, D_MODEL))
    ours = attention(query, memory, mask)
    assert torch.allclose(ours, reference, atol=1e-5)


def test_attention_equals_nn_multihead_attention_per_head(attention):
    torch.manual_seed(2)
    torch_mha = nn.MultiheadAttention(D_MODEL, N_HEADS, batch_first=True).eval()
    with torch.no_grad():
        torch_mha.in_proj_weight.copy_(torch.cat([attention.w_q.weight, attention.w_k.weight, attention.w_v.weight]))
        torch_mha.in_proj_bias.copy_(torch.cat([attention.w_q.bias, attention.w_k.bias, attention.w_v.bias]))
        torch_mha.out_proj.weight.copy_(attention.w_o.weight)
        torch_mha.out_proj.bias.copy_(attention.w_o.bias)
    x = torch.randn(3, 6, D_MODEL)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    ref_out, ref_weights = torch_mha(x, x, x, attn_mask=~causal, need_weights=True, average_attn_weights=False)
    with capture(attention, ["hook_weights"]) as run:
        out = attention(x, x, causal)
    assert torch.allclose(out, ref_out, atol=1e-5)
    assert torch.allclose(run.records["hook_weights"][0], ref_weights, atol=1e-5)


def test_positional_encoding_matches_paper_formula():
    pe = sinusoidal_positional_encoding(50, 16)
    for pos in (0, 1, 7, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_embedding_adds_scaled_tokens_and_positional_encoding(tokenizer):
    model = tiny_model(tokenizer.vocab_size)
    ids = torch.tensor([[5, 9, 3]])
    expected = model.encoder.embed.token_embedding.weight[ids] * math.sqrt(32) + sinusoidal_positional_encoding(3, 32)
    assert torch.allclose(model.encoder.embed(ids), expected, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_padding_does_not_change_real_positions(tokenizer, norm_first):
    model = tiny_model(tokenizer.vocab_size, norm_first=norm_first)
    src, tgt = torch.tensor([[10, 11, 12, 3]]), torch.tensor([[2, 20, 21]])
    padded_src = torch.tensor([[10, 11, 12, 3, 0, 0]])
    with torch.no_grad():
        assert torch.allclose(model(src, tgt), model(padded_src, tgt), atol=1e-5)


def test_decoder_cannot_see_the_future(tokenizer):
    model = tiny_model(tokenizer.vocab_size)
    src = torch.tensor([[10, 11, 3]])
    with torch.no_grad():
        a = model(src, torch.tensor([[2, 20, 21, 22]]))
        b = model(src, torch.tensor([[2, 20, 99, 98]]))
    assert torch.allclose(a[:, :2], b[:, :2], atol=1e-6)


def test_config_rejects_indivisible_heads_and_unknown_keys():
    with pytest.raises(ValueError, match="divisible"):
        TransformerConfig(vocab_size=10, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="unknown config keys"):
        TransformerConfig.from_dict({"vocab_size": 10, "flux": 1})


def test_tied_embeddings_share_one_matrix(tokenizer):
    model = tiny_model(tokenizer.vocab_size)
    assert model.generator.weight is model.encoder.embed.token_embedding.weight
    assert model.decoder.embed.token_embedding is model.encoder.embed.token_embedding


def test_column_major_weights_change_layout_not_results(tokenizer):
    row_major = tiny_model(tokenizer.vocab_size, tie_embeddings=False)
    col_major = tiny_model(tokenizer.vocab_size, tie_embeddings=False).use_column_major_weights()
    weight = col_major.decoder.layers[0].ffn.w_1.weight
    assert weight.shape == (64, 32) and weight.stride() == (1, 64)
    src, tgt = torch.tensor([[5, 6, 7, 3]]), torch.tensor([[2, 8, 9]])
    with torch.no_grad():
        torch.testing.assert_close(col_major(src, tgt), row_major(src, tgt), rtol=1e-5, atol=1e-5)
    for name, value in row_major.state_dict().items():
        assert torch.equal(col_major.state_dict()[name], value), name


def test_same_seed_same_weights_with_untied_embeddings(tokenizer):
    first, second = (tiny_model(tokenizer.vocab_size, tie_embeddings=False) for _ in range(2))
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        assert torch.equal(a, b), name


def test_fused_qkv_at_inference_equals_separate_projections_and_follows_weight_changes(attention):
    x = torch.randn(2, 5, D_MODEL)
    with torch.no_grad():
        fused = attention(x, x)  # eval, no grad: the stacked Q/K/V product
        attention.w_k.weight.mul_(2.0)  # an in-place change must rebuild the stacked weights
        changed = attention(x, x)
    separate = attention(x, x)  # grad enabled: three separate products, gradients reach each weight
    separate.sum().backward()
    assert attention.w_q.weight.grad is not None and attention.w_v.weight.grad is not None
    with torch.no_grad():
        attention.w_k.weight.mul_(0.5)
        torch.testing.assert_close(attention(x, x), fused)
    torch.testing.assert_close(changed, separate.detach())


@pytest.mark.parametrize(
    "rates, drops",
    [
        (dict(dropout=0.0, attention_dropout=0.5), True),  # the attention weights only
        (dict(dropout=0.0, activation_dropout=0.5), True),  # inside the FFN only
        (dict(dropout=0.3, attention_dropout=0.0, activation_dropout=0.0), True),  # residual dropout only (the paper's)
        (dict(dropout=0.0), False),  # unset rates follow dropout
    ],
)
def test_each_dropout_rate_reaches_its_own_place(tokenizer, rates, drops):
    model = tiny_model(tokenizer.vocab_size, **rates)
    attention_p = rates.get("attention_dropout", rates["dropout"])
    activation_p = rates.get("activation_dropout", rates["dropout"])
    assert {m.dropout.p for m in model.modules() if isinstance(m, MultiHeadAttention)} == {attention_p}
    assert {m.dropout.p for name, m in model.named_modules() if name.endswith(".ffn")} == {activation_p}
    src, tgt = torch.tensor([tokenizer.encode("A dog runs on the beach.") + [3]]), torch.tensor([[2, 20, 21, 22]])
    with torch.no_grad():
        evaluated = model.eval()(src, tgt)
        torch.manual_seed(0)
        trained = model.train()(src, tgt)
    assert (not torch.allclose(evaluated, trained)) == drops


@pytest.mark.parametrize("norm_first", [False, True])
def test_weight_accessors_reproduce_every_recorded_step_by_the_papers_formulas(tokenizer, norm_first):
    """q = x W_Q + b_Q per head, out = sum_h z_h W_O^h + b_O, the Add & Norms, the FFN's sum and the logits,
    from the interface's accessors alone, against what the forward pass recorded."""
    from model.core.hook_names import every_hook_name, hook_name

    model = tiny_model(tokenizer.vocab_size, n_encoder_layers=2, n_decoder_layers=2, norm_first=norm_first)
    src, tgt = torch.tensor([[10, 11, 12, 13, 3]]), torch.tensor([[2, 20, 21, 22]])
    with torch.no_grad(), capture(model, every_hook_name(model.cfg)) as run:
        logits = model(src, tgt)
    memory = model.encode(src)[0][0]

    def close(a, b):
        return torch.allclose(a, b, atol=1e-5)

    def add_and_norm(stack, layer, sublayer, stream, output):  # the paper's LayerNorm(x + Sublayer(x)), or pre-norm
        return stream + output if norm_first else model.layer_norm(stack, layer, sublayer)(stream + output)

    def sublayer_input(stack, layer, sublayer, stream):
        return model.layer_norm(stack, layer, sublayer)(stream) if norm_first else stream

    for kind, stack, sublayer, before, after in (
        ("encoder", "encoder", "self_attn", None, "resid_mid"),
        ("decoder", "decoder", "self_attn", None, "resid_self"),
        ("cross", "decoder", "cross_attn", "resid_self", "resid_cross"),
    ):
        for layer in range(2):
            if before:
                stream = run.tensor(hook_name(stack, layer, before))
            else:
                stream = run.tensor(
                    hook_name(stack, None, "sum") if layer == 0 else hook_name(stack, layer - 1, "resid_post")
                )
            x = sublayer_input(stack, layer, sublayer, stream)
            keys_from = memory if kind == "cross" else x
            w = model.attention_weights(kind, layer)
            for what, source, W, b in (
                ("q", x, w.W_Q, w.b_Q),
                ("k", keys_from, w.W_K, w.b_K),
                ("v", keys_from, w.W_V, w.b_V),
            ):
                recorded = run.tensor(hook_name(kind, layer, what))  # [head, pos, d_k]
                assert close(recorded, torch.einsum("pd,hdk->hpk", source, W) + b[:, None, :]), (kind, layer, what)
            z = run.tensor(hook_name(kind, layer, "head_out"))  # [head, q, d_k]
            out = torch.einsum("hqk,hkd->qd", z, w.W_O) + w.b_O
            assert close(run.tensor(hook_name(kind, layer, "out")), out)
            assert close(run.tensor(hook_name(stack, layer, after)), add_and_norm(stack, layer, sublayer, stream, out))
    for stack, last_attention in (("encoder", "resid_mid"), ("decoder", "resid_cross")):
        for layer in range(2):
            mid = run.tensor(hook_name(stack, layer, last_attention))
            ffn = run.tensor(hook_name(stack, layer, "ffn_out"))
            assert close(run.tensor(hook_name(stack, layer, "resid_post")), add_and_norm(stack, layer, "ffn", mid, ffn))
    final = model.layer_norm("decoder", None, "final")
    assert (final is not None) == norm_first and model.layer_norm("encoder", None, "embed") is None
    stream = run.tensor(hook_name("decoder", 1, "resid_post"))
    out = model.output_weights()
    assert close((final(stream) if final else stream) @ out.W_U + out.b_U, logits[0])
    assert torch.equal(model.unembed(stream), logits[0])

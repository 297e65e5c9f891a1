"""Per-call capture: exact, side-effect free, removed on every exit, isolated between threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.core.hook_names import ALL_WEIGHTS, every_hook_name, hook_name
from model.core.hooks import HookPoint, active_run, capture, hook_names
from model.decoding.translation import translate
from tests.conftest import run_concurrently, tiny_model


def _no_hooks_anywhere(model) -> bool:
    modules_clean = all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    global_clean = not torch.nn.modules.module._global_forward_hooks
    return modules_clean and global_clean and active_run() is None


def test_every_attention_has_named_hook_points(model):
    names = set(hook_names(model))
    for layer in range(model.cfg.n_decoder_layers):
        for part in ("encoder.layers.{}.self_attn", "decoder.layers.{}.self_attn", "decoder.layers.{}.cross_attn"):
            for what in ("q", "k", "v", "scores", "masked_scores", "weights", "head_out"):
                assert f"{part.format(layer)}.hook_{what}" in names
        assert f"encoder.layers.{layer}.hook_resid_post" in names
    assert {"encoder.embed.hook_tokens", "encoder.embed.hook_pos", "decoder.embed.hook_sum"} <= names
    assert all(isinstance(m, HookPoint) for n, m in model.named_modules() if n in names)


@pytest.mark.parametrize("depths", [(2, 2), (3, 1)])
def test_hook_name_names_every_hook_point_and_nothing_else(tokenizer, depths):
    model = tiny_model(tokenizer.vocab_size, n_encoder_layers=depths[0], n_decoder_layers=depths[1])
    names = every_hook_name(model.cfg)
    assert len(names) == len(set(names)) and set(names) == set(hook_names(model))
    assert hook_name("cross", 0, "out") == "decoder.layers.0.cross_attn.hook_out"
    assert hook_name("encoder", 1, "ffn_out") == "encoder.layers.1.ffn.hook_out"
    assert hook_name("decoder", None, "pos") == "decoder.embed.hook_pos"
    for kind, layer, what in (
        ("cross", None, "sum"),
        ("cross", 0, "resid_mid"),
        ("encoder", 0, "resid_cross"),
        ("encoder", 1, "tokens"),
        ("encoder", None, "q"),
        ("heads", 0, "q"),
    ):
        with pytest.raises(ValueError):
            hook_name(kind, layer, what)


def test_outputs_identical_with_capture_on_and_off(model):
    src, tgt = torch.tensor([[10, 11, 12, 3]]), torch.tensor([[2, 20, 21]])
    with torch.no_grad():
        plain = model(src, tgt)
        with capture(model, ["*"]) as run:
            captured = model(src, tgt)
    assert torch.equal(plain, captured)
    assert len(run.records) == len(hook_names(model))


def test_weights_are_distributions_with_exact_zeros_where_masked(model):
    src = torch.tensor([[10, 11, 12, 3, 0, 0], [10, 11, 12, 13, 14, 3]])
    tgt = torch.tensor([[2, 20, 21, 22], [2, 20, 21, 22]])
    with torch.no_grad(), capture(model, ALL_WEIGHTS) as run:
        model(src, tgt)
    assert len(run.records) == model.cfg.n_encoder_layers + 2 * model.cfg.n_decoder_layers
    for (weights,) in run.records.values():
        assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[:-1]), atol=1e-5)
    for layer in range(model.cfg.n_decoder_layers):
        enc = run.records[f"encoder.layers.{layer}.self_attn.hook_weights"][0]
        cross = run.records[f"decoder.layers.{layer}.cross_attn.hook_weights"][0]
        dec = run.records[f"decoder.layers.{layer}.self_attn.hook_weights"][0]
        assert torch.all(enc[0, :, :, 4:] == 0) and torch.all(cross[0, :, :, 4:] == 0)  # padded keys
        assert torch.all(enc[1] > 0)
        upper = torch.ones(4, 4, dtype=torch.bool).triu(1)
        assert torch.all(dec[:, :, upper] == 0) and torch.all(dec[:, :, ~upper] > 0)


def test_no_hooks_remain_after_capture_even_after_an_exception(model):
    src, tgt = torch.tensor([[10, 3]]), torch.tensor([[2]])
    with capture(model, ALL_WEIGHTS):
        model(src, tgt)
    assert _no_hooks_anywhere(model)
    with pytest.raises(RuntimeError, match="boom"), capture(model, ALL_WEIGHTS):
        model(src, tgt)
        raise RuntimeError("boom")
    assert _no_hooks_anywhere(model)
    with capture(model, ALL_WEIGHTS) as outer:
        with pytest.raises(ValueError), capture(model, ["no.such.hook"]):
            pass
        model(src, tgt)
    assert outer.records and _no_hooks_anywhere(model)


def test_user_forward_hooks_still_fire_on_hook_points(model):
    seen = []
    point = model.encoder.layers[0].self_attn.hook_weights
    handle = point.register_forward_hook(lambda module, inputs, output: seen.append(output.shape))
    try:
        model(torch.tensor([[10, 11, 3]]), torch.tensor([[2]]))
    finally:
        handle.remove()
    assert seen == [torch.Size([1, 4, 3, 3])]


def test_concurrent_calls_on_one_model_each_get_their_own_trace(model, tokenizer):
    sentences = [
        f"A man with {n} dogs walks along the {place}."
        for n, place in zip(
            ["two", "three", "many", "no", "seven", "big", "small", "old"],
            ["beach", "street", "river", "park", "road", "field", "lake", "city"],
        )
    ]
    expected = {s: translate(model, tokenizer, s, max_len=12).trace for s in sentences}
    results = {}

    def session(sentence: str) -> None:
        for _ in range(3):
            results.setdefault(sentence, []).append(translate(model, tokenizer, sentence, max_len=12).trace)

    assert run_concurrently(session, sentences) == []
    for sentence, traces in results.items():
        assert len(traces) == 3
        for trace in traces:
            assert trace.src_pieces == expected[sentence].src_pieces
            for kind in ("encoder", "decoder", "cross"):
                np.testing.assert_allclose(trace.attention(kind), expected[sentence].attention(kind), atol=1e-6)
    assert _no_hooks_anywhere(model)


def test_an_unknown_kind_is_refused_by_one_check_everywhere(model, tokenizer):
    """hook_name, check_head and Trace.attention refuse a kind with the same sentence; a decoder-only trace's kinds
    add "whole", which only its own `attention` reads."""
    from model.core.head_selection import check_head
    from model.core.kinds import DECODER_ONLY_KINDS, KINDS, check_kind

    trace = translate(model, tokenizer, "A dog.", max_len=4).trace
    expected = "unknown attention kind 'whole'; expected one of encoder, decoder, cross"
    refusals = (
        lambda: hook_name("whole", 0),
        lambda: check_head(model.cfg, "whole", 0, 0),
        lambda: trace.attention("whole"),
    )
    for refuse in refusals:
        with pytest.raises(ValueError) as caught:
            refuse()
        assert str(caught.value) == expected
    check_kind("whole", DECODER_ONLY_KINDS)
    assert [trace.attention(kind).shape[:2] for kind in KINDS] == [
        (model.cfg.n_encoder_layers, model.cfg.n_heads),
        (model.cfg.n_decoder_layers, model.cfg.n_heads),
        (model.cfg.n_decoder_layers, model.cfg.n_heads),
    ]

"""Decoding: incremental = full recomputation, trace = teacher-forced pass, beam 1 = greedy, ablation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.core.head_selection import head_masks, parse_head_spec
from model.core.hooks import capture
from model.decoding.batch import translate_many
from model.decoding.search import beam_search, beam_search_batch, greedy_search
from model.decoding.trace_from_hooks import forward_trace, inspect_head
from model.decoding.translation import InputError, translate
from tests.conftest import tiny_model

SENTENCE = "Two young men are playing football on a green field."


def test_incremental_decoding_equals_full_recomputation(model, tokenizer):
    src = torch.tensor([tokenizer.encode(SENTENCE) + [3]])
    hyp = greedy_search(model, src, max_len=15)[0]
    memory, src_mask = model.encode(src)
    cache = model.new_cache()
    prefix = [model.cfg.bos_id]
    with torch.no_grad():
        for step, token in enumerate(hyp.ids):
            incremental = model.decode_step(
                torch.tensor([prefix[-1]]), memory if step == 0 else None, src_mask, cache, step
            )
            full = torch.log_softmax(model(src, torch.tensor([prefix]))[0, -1], dim=-1)
            assert torch.allclose(incremental[0], full, atol=1e-5)
            prefix.append(token)


@pytest.mark.parametrize("beam", [1, 3])
def test_trace_after_decoding_equals_teacher_forced_pass(model, tokenizer, beam):
    result = translate(model, tokenizer, SENTENCE, beam=beam, max_len=15)
    reference, score = forward_trace(model, tokenizer, result.src_ids, result.out_ids)
    for kind in ("encoder", "decoder", "cross"):
        np.testing.assert_allclose(result.trace.attention(kind), reference.attention(kind), atol=1e-5)
    assert score == pytest.approx(result.score, abs=1e-4)
    assert result.trace.tgt_pieces[0] == "<s>" and result.trace.src_pieces[-1] == "</s>"
    for step, (ours, ref) in enumerate(zip(result.trace.candidates, reference.candidates)):
        assert [p for p, _ in ours] == [p for p, _ in ref]
        assert result.trace.out_pieces[step] == ours[0][0] or beam > 1
        np.testing.assert_allclose([q for _, q in ours], [q for _, q in ref], atol=1e-5)


def test_beam_size_one_equals_greedy(model, tokenizer):
    src = torch.tensor([tokenizer.encode(SENTENCE) + [3]])
    greedy = greedy_search(model, src, max_len=20)[0]
    beam = beam_search(model, src, beam_size=1, max_len=20)
    assert beam.ids == greedy.ids
    assert beam.score == pytest.approx(greedy.score, abs=1e-4)


def test_beam_search_finds_a_score_at_least_as_good_as_greedy(tokenizer):
    model = tiny_model(tokenizer.vocab_size, seed=1)
    with torch.no_grad():  # make </s> likely enough that both searches finish within the limit (greedy after 9 pieces)
        model.generator.bias[model.cfg.eos_id] += 3.0
    src = torch.tensor([tokenizer.encode(SENTENCE) + [3]])
    greedy = greedy_search(model, src, max_len=20)[0]
    beam = beam_search(model, src, beam_size=4, max_len=20, alpha=0.0)
    assert beam.ids[-1] == greedy.ids[-1] == model.cfg.eos_id
    assert len(greedy.ids) > 1  # a real search, not an immediate </s>
    assert beam.score >= greedy.score - 1e-4


def test_batched_greedy_equals_one_at_a_time(model, tokenizer):
    sentences = [SENTENCE, "A dog.", "", "People sit on a bench near the water and watch the boats."]
    batched = translate_many(model, tokenizer, sentences, batch_size=4, max_len=12)
    single = [translate(model, tokenizer, s, max_len=12, with_trace=False).text if s else "" for s in sentences]
    assert batched == single and batched[2] == ""


@pytest.mark.parametrize("eos_bias", [0.0, 3.0])  # 0: most beams are cut at the limit; 3: most finish early
def test_batched_beam_search_equals_one_at_a_time(tokenizer, eos_bias):
    model = tiny_model(tokenizer.vocab_size, seed=2)
    with torch.no_grad():
        model.generator.bias[model.cfg.eos_id] += eos_bias
    sentences = [
        SENTENCE,
        "A dog.",
        "",
        "People sit on a bench near the water and watch the boats.",
        "Two men.",
        "A woman in a red coat walks her dog along the beach at sunset.",
    ]
    for beam, batch_size in ((4, 8), (3, 64)):
        batched = translate_many(model, tokenizer, sentences, beam=beam, batch_size=batch_size, max_len=14)
        single = [
            translate(model, tokenizer, s, beam=beam, max_len=14, with_trace=False).text if s else "" for s in sentences
        ]
        assert batched == single and batched[2] == ""
    # own limits per sentence (2 * length + 10), padded together in one batch
    ids = [tokenizer.encode(s) + [model.cfg.eos_id] for s in sentences if s]
    src = torch.full((len(ids), max(map(len, ids))), model.cfg.pad_id)
    for b, row in enumerate(ids):
        src[b, : len(row)] = torch.tensor(row)
    limits = [2 * len(row) + 10 for row in ids]
    together = beam_search_batch(model, src, 4, limits)
    assert together == [beam_search(model, torch.tensor([row]), 4, limit).ids for row, limit in zip(ids, limits)]


def test_ablation_zeroes_a_heads_output(model, tokenizer):
    src, tgt = torch.tensor([tokenizer.encode(SENTENCE) + [3]]), torch.tensor([[2, 20, 21]])
    name = "decoder.layers.1.cross_attn.hook_head_out"
    with capture(model, [name], head_masks(model, [("cross", 1, 2)])) as run:
        model(src, tgt)
    out = run.records[name][0]
    assert torch.all(out[:, 2] == 0) and torch.all(out[:, [0, 1, 3]].abs().sum((-1, -2)) > 0)


def test_all_heads_off_leaves_only_the_output_projection_bias(model, tokenizer):
    src = torch.tensor([tokenizer.encode(SENTENCE) + [3]])
    attn = model.encoder.layers[0].self_attn
    seen = []
    handle = attn.register_forward_hook(lambda module, inputs, output: seen.append(output))
    try:
        with capture(model, [], head_masks(model, parse_head_spec("encoder:0:*", model.cfg))):
            model.encode(src)
    finally:
        handle.remove()
    assert torch.allclose(seen[0], attn.w_o.bias.expand_as(seen[0]), atol=0)


def test_ablating_heads_changes_the_translation_only_inside_the_call(model, tokenizer):
    before = translate(model, tokenizer, SENTENCE, max_len=15)
    ablated = translate(model, tokenizer, SENTENCE, max_len=15, ablate=parse_head_spec("cross:*:*", model.cfg))
    after = translate(model, tokenizer, SENTENCE, max_len=15)
    assert before.out_ids == after.out_ids
    assert ablated.score != pytest.approx(before.score)


def test_parse_head_spec(model):
    assert parse_head_spec("encoder:1:3", model.cfg) == [("encoder", 1, 3)]
    assert len(parse_head_spec("cross:*:*", model.cfg)) == 8
    assert len(parse_head_spec("*:0:0, cross:0:0", model.cfg)) == 3
    assert parse_head_spec("", model.cfg) == []
    for bad in ("encoder:2:0", "enc:0:0", "encoder:0", "decoder:x:1", "cross:0:-1"):
        with pytest.raises(ValueError):
            parse_head_spec(bad, model.cfg)


def test_empty_input_is_refused_with_a_message(model, tokenizer):
    for text in ("", "   \n\t"):
        with pytest.raises(InputError, match="empty"):
            translate(model, tokenizer, text)


def test_long_input_is_truncated_to_the_model_limit(model, tokenizer):
    result = translate(model, tokenizer, "dog " * 200, max_len=5)
    assert len(result.src_ids) == model.cfg.max_len and result.truncated == 200 - (model.cfg.max_len - 1)
    assert result.trace.positional_encoding.shape[0] >= model.cfg.max_len


def test_inspect_head_follows_the_papers_formula(tokenizer):
    model = tiny_model(tokenizer.vocab_size)
    result = translate(model, tokenizer, SENTENCE, max_len=6)
    for kind in ("encoder", "decoder", "cross"):
        d = inspect_head(model, result.src_ids, result.out_ids, kind, 1, 3)
        scores = d.q @ d.k.T / np.sqrt(model.cfg.d_k)
        np.testing.assert_allclose(d.scores, scores, atol=1e-5)
        masked = np.where(d.mask, scores, -np.inf)
        weights = np.exp(masked - masked.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        np.testing.assert_allclose(d.weights, weights, atol=1e-5)
        np.testing.assert_allclose(d.head_out, weights @ d.v, atol=1e-5)
        np.testing.assert_allclose(d.weights, result.trace.attention(kind)[1, 3], atol=1e-5)
    assert not inspect_head(model, result.src_ids, result.out_ids, "decoder", 0, 0).mask[0, 1]

"""A decoder-only translation as a trace (model.decoding.decoder_only_trace) and its NPZ, and `python -m
model.translate` on a decoder-only checkpoint: the slots against transformers' own attentions sliced by hand, the
rows of the output on a hand-made example, the command's output against `generate`."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from model.core.checkpoint import load_checkpoint
from model.decoding.decoder_only import LLMTranslation, translate_with_llm
from model.decoding.decoder_only_trace import DECODER_ONLY_LABELS, DecoderOnlyTrace, decoder_only_trace
from model.decoding.trace import KIND_LABELS, Trace
from model.import_hf import main as import_main
from tests.test_decoder_only import SENTENCE, bpe, qwen_folder  # noqa: F401  (fixtures)

transformers = pytest.importorskip("transformers")

MAX_NEW = 6


@pytest.fixture(scope="module")
def hf(qwen_folder):  # noqa: F811
    """transformers' model and tokenizer of the checkpoint: the reference."""
    model = transformers.AutoModelForCausalLM.from_pretrained(qwen_folder, attn_implementation="eager").eval()
    return model, transformers.PreTrainedTokenizerFast.from_pretrained(qwen_folder)


@pytest.fixture(scope="module")
def ours(qwen_folder, tmp_path_factory):  # noqa: F811
    dest = tmp_path_factory.mktemp("qwen_ours") / "q"
    assert import_main([str(qwen_folder), "--dest", str(dest), "--tgt-lang", "German"]) == 0
    return dest


def hf_prompt(tok, message: str) -> list[int]:
    ids = tok.apply_chat_template([{"role": "user", "content": message}], add_generation_prompt=True)
    return ids if isinstance(ids, list) else ids["input_ids"]


def hf_attention(model, ids: list[int]) -> np.ndarray:
    """[layers, heads, N, N] as transformers computes it over the whole sequence at once."""
    with torch.no_grad():
        found = model(torch.tensor([ids]), output_attentions=True).attentions
    return torch.stack([layer[0] for layer in found]).numpy()


def test_the_slots_are_transformers_attention_sliced_by_hand(ours, hf, tmp_path):
    model, tok = hf
    ckpt = load_checkpoint(ours)
    result = translate_with_llm(ckpt.model, ckpt.tokenizer, SENTENCE, "English", "German", max_new_tokens=MAX_NEW)
    trace = decoder_only_trace(result, ckpt.tokenizer.special_ids)

    prompt = hf_prompt(tok, f"Translate the following English text into German:\n\n{SENTENCE}")
    expected = model.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=MAX_NEW, pad_token_id=0)
    ids = expected[0].tolist()
    assert result.ids == ids
    n, start = len(ids), len(prompt)
    # The source sentence's pieces, found by hand: the shortest run of the prompt's pieces that decodes to it
    a, b = trace.src_span
    assert tok.decode(prompt[a:b]).strip() == SENTENCE
    assert SENTENCE not in tok.decode(prompt[a + 1 : b]) and SENTENCE not in tok.decode(prompt[a : b - 1])

    ref = hf_attention(model, ids)
    p = start - 1  # the row that produced the first output piece: the prompt's last
    assert trace.out_start == start and trace.whole.shape == (3, 4, n, n)
    np.testing.assert_allclose(trace.whole, ref, atol=1e-5)
    np.testing.assert_allclose(trace.attention("encoder"), ref[:, :, a:b, a:b], atol=1e-5)
    np.testing.assert_allclose(trace.attention("decoder"), ref[:, :, p : n - 1, p : n - 1], atol=1e-5)
    np.testing.assert_allclose(trace.attention("cross"), ref[:, :, p : n - 1, a:b], atol=1e-5)
    assert np.all(np.triu(trace.decoder, k=1) == 0)  # causal among the output's rows

    pieces = [tok.decode([i]) for i in ids]
    assert trace.axis_tokens("cross") == (pieces[p : n - 1], pieces[a:b])
    assert trace.out_tokens == pieces[start:] and trace.tokens == pieces
    assert trace.axis_tokens("whole") == (pieces, pieces) and trace.layers("whole") == 3 and trace.heads("cross") == 4
    assert trace.kinds == ("encoder", "decoder", "cross", "whole")
    assert [trace.kind_labels[k] for k in trace.kinds] == [
        "Source self-attention",
        "Output self-attention",
        "Output → source attention",
        "Whole self-attention",
    ]
    assert Trace.kind_labels is KIND_LABELS and DECODER_ONLY_LABELS is trace.kind_labels

    path = tmp_path / "llm.npz"
    trace.save_npz(path)
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(
            ["encoder", "decoder", "cross", "src_tokens", "tgt_tokens", "tokens", "attention", "src_span", "out_start"]
        )
        assert npz["tokens"].tolist() == pieces and npz["src_span"].tolist() == [a, b]
        assert int(npz["out_start"]) == start and npz["attention"].dtype == np.float32
        np.testing.assert_allclose(npz["attention"], ref, atol=1e-5)
        np.testing.assert_allclose(npz["cross"], ref[:, :, p : n - 1, a:b], atol=1e-5)
        np.testing.assert_allclose(npz["encoder"], ref[:, :, a:b, a:b], atol=1e-5)
        np.testing.assert_allclose(npz["decoder"], ref[:, :, p : n - 1, p : n - 1], atol=1e-5)
        assert npz["src_tokens"].tolist() == pieces[a:b] and npz["tgt_tokens"].tolist() == pieces[p : n - 1]


def hand_made(n_layers: int = 2, heads: int = 3) -> LLMTranslation:
    """Eight pieces: <s> Tr ' A' 'dog' '\\n' | Ein ' Hund' <e>; the source is pieces 2..3, the output starts at 5.
    Each weight names its place: 1000 * layer + 100 * head + 10 * query + key."""
    l, h, q, k = np.meshgrid(*(np.arange(s) for s in (n_layers, heads, 8, 8)), indexing="ij")
    attention = torch.tensor(1000.0 * l + 100 * h + 10 * q + k)
    tokens = ["<s>", "Tr", " A", "dog", "\n", "Ein", " Hund", "<e>"]
    return LLMTranslation(
        "Ein Hund", [1, 10, 11, 12, 13], [14, 15, 2], tokens, (2, 4), 5, -1.5, [-0.5, -0.5, -0.5], attention,
        [0, 0, 0], None,
    )  # fmt: skip


def test_the_output_rows_are_the_rows_that_produced_each_piece():
    translation = hand_made()
    trace = decoder_only_trace(translation, {1, 2})
    # Output piece 'Ein' (position 5) was chosen at row 4 ('\n'), ' Hund' at row 5, <e> at row 6
    assert trace.tgt_tokens == ["\n", "Ein", " Hund"] and trace.out_tokens == ["Ein", " Hund", "<e>"]
    assert trace.src_tokens == [" A", "dog"]
    assert trace.cross[0, 0].tolist() == [[42, 43], [52, 53], [62, 63]]
    assert trace.cross[1, 2].tolist() == [[1242, 1243], [1252, 1253], [1262, 1263]]
    assert trace.decoder[0, 1].tolist() == [[144, 145, 146], [154, 155, 156], [164, 165, 166]]
    assert trace.encoder[1, 0].tolist() == [[1022, 1023], [1032, 1033]]
    # .output_to_source() keeps each output piece's own row (5, 6, 7): one row later than the row that chose it
    kept = translation.output_to_source().numpy()
    assert kept[0, 0].tolist() == [[52, 53], [62, 63], [72, 73]]
    np.testing.assert_array_equal(trace.cross[:, :, 1:], kept[:, :, :-1])
    assert trace.out_logprobs == [-0.5, -0.5, -0.5] and trace.positional_encoding.shape == (3, 0)
    assert trace.word_starts == [True, True, True, False, True, True, True, True]
    assert trace.axis_word_starts("cross") == ([True, True, True], [True, False])


def test_a_trace_whose_parts_disagree_is_refused():
    trace = decoder_only_trace(hand_made(), {1, 2})
    with pytest.raises(ValueError, match="cross attention is not the slice"):
        dataclasses.replace(trace, cross=trace.cross + 1)
    with pytest.raises(ValueError, match="do not fit 8 pieces"):
        dataclasses.replace(trace, out_start=8)
    with pytest.raises(ValueError, match="the whole attention has shape"):
        dataclasses.replace(trace, whole=trace.whole[:, :, :7, :7])
    relabelled = dataclasses.replace(trace, src_tokens=["A", "dog"])  # as the app relabels pieces
    assert isinstance(relabelled, DecoderOnlyTrace) and relabelled.src_tokens == ["A", "dog"]
    with pytest.raises(ValueError, match="without its attention"):
        decoder_only_trace(dataclasses.replace(hand_made(), attention=None))

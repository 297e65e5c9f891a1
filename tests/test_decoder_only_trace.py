"""A decoder-only translation as a trace (model.decoding.decoder_only_trace) and its NPZ, and `python -m
model.translate` on a decoder-only checkpoint: the slots against transformers' own attentions sliced by hand, the
rows of the output on a hand-made example, the command's output against `generate`."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from model.core.checkpoint import load_checkpoint
from model.decoding.decoder_only_search import LLMTranslation, translate_with_llm
from model.decoding.decoder_only_trace import DECODER_ONLY_LABELS, DecoderOnlyTrace, decoder_only_trace
from model.decoding.trace import KIND_LABELS, Trace
from model.import_hf import main as import_main
from model.translate import main
from tests.test_decoder_only import CHATML, SENTENCE, bpe, family_model  # noqa: F401  (bpe: a fixture)

transformers = pytest.importorskip("transformers")

MAX_NEW = 6


@pytest.fixture(scope="module")
def varied(bpe, tmp_path_factory):  # noqa: F811
    """A tiny random Qwen2 folder whose weights are small enough that its output varies and beam search (3) finds
    another output than greedy search (test_decoder_only's saturates into one repeated piece)."""
    hf_tok = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", bos_token="<bos>")
    hf_tok.chat_template = CHATML
    model = family_model("qwen2", bpe.get_vocab_size(), bpe.token_to_id("<|im_end|>"), bpe.token_to_id("<bos>"))
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    folder = tmp_path_factory.mktemp("qwen2_varied")
    model.save_pretrained(folder)
    hf_tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def hf(varied):
    """transformers' model and tokenizer of the checkpoint: the reference."""
    model = transformers.AutoModelForCausalLM.from_pretrained(varied, attn_implementation="eager").eval()
    return model, transformers.PreTrainedTokenizerFast.from_pretrained(varied)


@pytest.fixture(scope="module")
def ours(varied, tmp_path_factory):
    dest = tmp_path_factory.mktemp("qwen_ours") / "q"
    assert import_main([str(varied), "--dest", str(dest), "--tgt-lang", "German"]) == 0
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

    pieces = trace.tokens  # the prompt's each as transformers decodes it; the output's together (bytes of a
    assert pieces[:start] == [tok.decode([i]) for i in prompt]  # character may be split between pieces)
    assert len(pieces) == n and "".join(pieces[start:]) == tok.decode(ids)[len(tok.decode(prompt)) :]
    assert trace.axis_tokens("cross") == (pieces[p : n - 1], pieces[a:b]) and trace.out_pieces == pieces[start:]
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
    assert trace.tgt_pieces == ["\n", "Ein", " Hund"] and trace.out_pieces == ["Ein", " Hund", "<e>"]
    assert trace.src_pieces == [" A", "dog"]
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
    relabelled = dataclasses.replace(trace, src_pieces=["A", "dog"])  # as the app relabels pieces
    assert isinstance(relabelled, DecoderOnlyTrace) and relabelled.src_pieces == ["A", "dog"]
    with pytest.raises(ValueError, match="without its attention"):
        decoder_only_trace(dataclasses.replace(hand_made(), attention=None))


def hf_output(model, tok, message: str, **search) -> tuple[list[int], str]:
    """transformers' search from the prompt of `message`: (prompt and output ids, output text)."""
    prompt = hf_prompt(tok, message)
    found = model.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=MAX_NEW, pad_token_id=0, **search)
    ids = found[0].tolist()
    return ids, tok.decode(ids[len(prompt) :], skip_special_tokens=True)


def test_the_command_translates_as_transformers_generates(ours, hf, capsys):
    model, tok = hf
    message = f"Translate the following English text into German:\n\n{SENTENCE}"
    assert main(["--checkpoint", str(ours), "--max-len", str(MAX_NEW), SENTENCE]) == 0
    captured = capsys.readouterr()
    expected = hf_output(model, tok, message)[1]
    assert expected.strip() and captured.out == expected + "\n"
    assert f"cut at {MAX_NEW} pieces" in captured.err  # a random model never ends its turn this soon
    assert main(["--checkpoint", str(ours), "--max-len", str(MAX_NEW), "--beam", "3", SENTENCE]) == 0
    beam = hf_output(model, tok, message, num_beams=3)[1]
    assert beam != expected and capsys.readouterr().out == beam + "\n"


def test_the_command_exports_the_npz_with_the_prompt_it_was_asked_for(ours, hf, tmp_path, capsys):
    model, tok = hf
    path = tmp_path / "fr.npz"
    args = ["--checkpoint", str(ours), "--max-len", str(MAX_NEW), "--tgt-lang", "French", "--export", str(path)]
    assert main([*args, SENTENCE]) == 0
    french = f"Translate the following English text into French:\n\n{SENTENCE}"
    ids, text = hf_output(model, tok, french)
    prompt = hf_prompt(tok, french)
    assert capsys.readouterr().out == text + "\n"
    with np.load(path, allow_pickle=False) as npz:
        assert len(npz["tokens"]) == len(ids)
        assert npz["tokens"].tolist()[: len(prompt)] == [tok.decode([i]) for i in prompt]
        np.testing.assert_allclose(npz["attention"], hf_attention(model, ids), atol=1e-5)
        assert int(npz["out_start"]) == len(prompt)

    instruction = "Render in {target}, please: {text}"
    assert main([*args, "--force", "--instruction", instruction, SENTENCE]) == 0
    ids, text = hf_output(model, tok, f"Render in French, please: {SENTENCE}")
    prompt = hf_prompt(tok, f"Render in French, please: {SENTENCE}")
    assert capsys.readouterr().out == text + "\n"
    with np.load(path, allow_pickle=False) as npz:
        assert npz["tokens"].tolist()[: len(prompt)] == [tok.decode([i]) for i in prompt]
        np.testing.assert_allclose(npz["attention"], hf_attention(model, ids), atol=1e-5)
        a, b = npz["src_span"].tolist()
        assert "".join(npz["tokens"][a:b]).strip() == SENTENCE


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--ablate", "cross:*:*"], "--ablate works with encoder-decoder models only"),
        (["--prefix", "Ein"], "--prefix works with encoder-decoder models only"),
        (["--instruction", "Translate this."], "must hold {text} once"),
        (["--instruction", "{text} {text}"], "must hold {text} once"),
        (["--tgt-lang", "Ger\nman"], "is not a language's name"),
        (["--src-lang", "x" * 65], "is not a language's name"),
    ],
)
def test_what_a_language_model_cannot_take_is_one_line(ours, capsys, extra, message):
    assert main(["--checkpoint", str(ours), "--max-len", "2", *extra, SENTENCE]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err and len(captured.err.strip().splitlines()) == 1


def test_an_instruction_for_an_encoder_decoder_is_one_line(checkpoint_dir, capsys):
    assert main(["--checkpoint", str(checkpoint_dir), "--instruction", "Say {text}", "A dog."]) == 2
    err = capsys.readouterr().err
    assert "--instruction works with decoder-only models only" in err and len(err.strip().splitlines()) == 1


def test_the_command_tidies_reads_files_and_refuses_no_text(ours, hf, tmp_path, capsys):
    model, tok = hf
    expected = hf_output(model, tok, f"Translate the following English text into German:\n\n{SENTENCE}")[1]
    untidy = "the cat sat on the mat by the small house"
    assert main(["--checkpoint", str(ours), "--max-len", str(MAX_NEW), "--tidy", untidy]) == 0
    captured = capsys.readouterr()
    assert captured.out == expected + "\n" and f"tidied: {SENTENCE}" in captured.err

    lines = tmp_path / "in.txt"
    lines.write_text(f"{SENTENCE}\n\n{SENTENCE}\n")
    assert main(["--checkpoint", str(ours), "--max-len", str(MAX_NEW), "--input", str(lines)]) == 0
    assert capsys.readouterr().out == "\n".join([expected.replace("\n", " "), "", expected.replace("\n", " ")]) + "\n"

    assert main(["--checkpoint", str(ours), "   "]) == 2
    err = capsys.readouterr().err
    assert "no text to translate" in err and len(err.strip().splitlines()) == 1

"""M2M-100, NLLB-200 and mBART-50 imports, checked against the independent reference: `transformers` itself.

For each family a random model is built from the family's own config class (tiny sizes), with a real SentencePiece
model trained here and the family's own tokenizer built on it (NLLB: NllbTokenizer; M2M-100: M2M100Tokenizer;
mBART-50: MBart50Tokenizer), saved with `save_pretrained`, imported with `python -m model.import_hf`, and compared:
logits, every layer's and head's attention of all three kinds, greedy and beam-4 output ids with the target
language forced first, and the tokenization of 200 Multi30k and FLORES sentences (Korean included).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sentencepiece as spm
import torch

transformers = pytest.importorskip("transformers")
from transformers import (  # noqa: E402
    M2M100Config,
    M2M100ForConditionalGeneration,
    M2M100Tokenizer,
    MBart50Tokenizer,
    MBartConfig,
    MBartForConditionalGeneration,
    NllbTokenizer,
)

from model.core.checkpoint import load_checkpoint  # noqa: E402
from model.core.hf_tokenizers import MultilingualTokenizer  # noqa: E402
from model.core.paths import DATA_DIR  # noqa: E402
from model.core.text_files import read_lines  # noqa: E402
from model.decoding.batch import translate_many  # noqa: E402
from model.decoding.translation import InputError, encode_source, reference_ids, translate  # noqa: E402
from model.import_hf import main as import_main  # noqa: E402
from model.importing import hf as hf_importer  # noqa: E402
from model.importing.hf import HFImportError, Imported, import_hf  # noqa: E402
from model.importing.in_memory import from_hf_objects  # noqa: E402
from model.importing.languages import NLLB_200  # noqa: E402
from model.translate import main as translate_main  # noqa: E402
from tests.test_marian import attention_difference  # noqa: E402

DATA = DATA_DIR
FAMILIES = ("m2m_100", "nllb", "mbart-50")
# a second NLLB-shaped model with the other settings its config class allows: untied output layer, unscaled
# embeddings, gelu, stacks of 3 and 1 layers
VARIANTS = {"nllb untied": dict(tie_word_embeddings=False, scale_embedding=False, activation_function="gelu")}
VARIANT_LAYERS = {"nllb untied": dict(encoder_layers=3, decoder_layers=1)}
# (source code, target code) as each family spells English and Korean
PAIRS = {"m2m_100": ("en", "ko"), "nllb": ("eng_Latn", "kor_Hang"), "mbart-50": ("en_XX", "ko_KR")}
SENTENCES = ["Two young men are playing football on a green field.", "A dog runs.", "Where is the train station?"]
TARGET = "두 남자가 축구를 한다."


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    flores_en, flores_ko = (
        read_lines(DATA / "flores/devtest.eng_Latn.gz"),
        read_lines(DATA / "flores/devtest.kor_Hang.gz"),
    )
    multi_en, multi_de = read_lines(DATA / "multi30k/train.en.gz"), read_lines(DATA / "multi30k/train.de.gz")
    return {
        "train": multi_en[:600] + multi_de[:600] + flores_en[:300] + flores_ko[:300],
        # 200 sentences none of which trained the SentencePiece model: 100 Korean, 50 English, 50 Multi30k
        "check": flores_ko[-100:]
        + flores_en[-50:]
        + read_lines(DATA / "multi30k/test_2016_flickr.en.gz")[:25]
        + read_lines(DATA / "multi30k/test_2016_flickr.de.gz")[:25],
    }


def train_spm(lines: list[str], model_type: str) -> bytes:
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=proto,
        vocab_size=1200,
        model_type=model_type,
        character_coverage=0.9995,  # rare Korean syllables stay unknown: <unk> is checked too
        minloglevel=2,
    )
    return proto.getvalue()


def quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call(*args, **kwargs)


def family_tokenizer(family: str, proto: bytes, folder: Path):
    """The family's own tokenizer built on `proto`, saved into the HF folder beside the SentencePiece model (as the
    released folders ship it)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sentencepiece.bpe.model").write_bytes(proto)
    src, tgt = PAIRS[family]
    if family == "m2m_100":  # vocab.json as fairseq numbers it: the four specials, then the SentencePiece pieces
        sp = spm.SentencePieceProcessor(model_proto=proto)
        vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
        for i in range(sp.get_piece_size()):
            if not (sp.is_control(i) or sp.is_unknown(i)):
                vocab.setdefault(sp.id_to_piece(i), len(vocab))
        (folder / "vocab.json").write_text(json.dumps(vocab))
        tok = quiet(
            M2M100Tokenizer,
            str(folder / "vocab.json"),
            str(folder / "sentencepiece.bpe.model"),
            src_lang=src,
            tgt_lang=tgt,
        )
    elif family == "nllb":
        tok = quiet(
            NllbTokenizer.from_pretrained, str(folder), extra_special_tokens=NLLB_200, src_lang=src, tgt_lang=tgt
        )
    else:
        tok = quiet(MBart50Tokenizer.from_pretrained, str(folder), src_lang=src, tgt_lang=tgt)
    quiet(tok.save_pretrained, str(folder))
    return tok


def family_model(family: str, vocab_size: int, seed: int, **overrides):
    torch.manual_seed(seed)
    sizes = (
        dict(
            vocab_size=vocab_size,
            d_model=16,
            encoder_layers=2,
            decoder_layers=3,  # the stacks differ in depth
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=32,
            decoder_ffn_dim=32,
            max_position_embeddings=64,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            decoder_start_token_id=2,
            forced_eos_token_id=None,
            dropout=0.0,
            attention_dropout=0.0,
            activation_dropout=0.0,
            scale_embedding=True,
        )
        | overrides
    )
    if family == "mbart-50":
        hf = MBartForConditionalGeneration(MBartConfig(**sizes)).eval()
    else:
        hf = M2M100ForConditionalGeneration(M2M100Config(**sizes)).eval()
    with torch.no_grad():  # layer norms and biases away from 1 and 0, so that a mapping mistake shows
        for name, p in hf.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.normal_(0, 0.3) if name.endswith("bias") else p.uniform_(0.5, 1.5)
        final_norm = hf.model.decoder.layer_norm
        eos = hf.model.shared.weight[2]
        final_norm.bias += 2.0 * eos / eos.norm() ** 2 * final_norm.weight.mean()  # </s> likely, so searches end
        if family == "mbart-50":
            hf.final_logits_bias.normal_(0, 0.5)
    return hf


@pytest.fixture(scope="module")
def protos(texts) -> dict[str, bytes]:
    return {"bpe": train_spm(texts["train"], "bpe"), "unigram": train_spm(texts["train"], "unigram")}


@pytest.fixture(scope="module", params=[*FAMILIES, *VARIANTS])
def family(request, protos, tmp_path_factory):
    """(family, HF model, HF tokenizer, our imported checkpoint); the import goes through the CLI."""
    name = request.param.split()[0]
    overrides = VARIANTS.get(request.param, {}) | VARIANT_LAYERS.get(request.param, {})
    root = tmp_path_factory.mktemp(name)
    folder = root / "hf"
    tok = family_tokenizer(name, protos["unigram" if name == "mbart-50" else "bpe"], folder)
    # M2M-100 leaves room for 8 made-up words, NLLB pads its vocabulary: ids the tokenizer never gives
    last_id = max(tok.lang_code_to_id.values()) if name == "m2m_100" else max(tok.get_vocab().values())
    vocab_size = last_id + 1 + {"m2m_100": 8, "nllb": 2, "mbart-50": 0}[name]
    hf = family_model(name, vocab_size, seed=len(request.param), **overrides)
    quiet(hf.save_pretrained, str(folder))
    assert import_main([str(folder), "--dest", str(root / "imported")]) == 0
    ckpt = load_checkpoint(root / "imported")
    cfg = ckpt.model.cfg
    expected = (overrides.get("tie_word_embeddings", True), overrides.get("scale_embedding", True))
    assert (cfg.tie_embeddings, cfg.scale_embedding) == expected
    assert cfg.activation == overrides.get("activation_function", "gelu" if name == "mbart-50" else "relu")
    return name, hf, tok, ckpt


def source(ckpt, text: str, src_lang: str | None = None) -> torch.Tensor:
    return torch.tensor([encode_source(ckpt.model, ckpt.tokenizer, text, src_lang)[0]])


def target_ids(ckpt, text: str) -> list[int]:
    """The output pieces of `text` in the default target language: its code, the pieces, </s>, as the family's own
    tokenizer gives them for a target text (checked in test_tokenization_equals_the_familys_tokenizer)."""
    ids = reference_ids(ckpt.model, ckpt.tokenizer, text)
    assert ids[0] == ckpt.tokenizer.language_id(ckpt.tokenizer.tgt_lang) and ids[-1] == ckpt.model.cfg.eos_id
    return ids


def test_logits_equal_transformers(family):
    _, hf, _, ckpt = family
    worst = 0.0
    for text in SENTENCES:
        src = source(ckpt, text)
        tgt_in = torch.tensor([[ckpt.model.cfg.decoder_start_id, *target_ids(ckpt, TARGET)[:-1]]])
        with torch.no_grad():
            ref = hf(input_ids=src, decoder_input_ids=tgt_in).logits
            ours = ckpt.model(src, tgt_in)
        worst = max(worst, float((ours - ref).abs().max()))
    print(f"{family[0]}: largest logit difference {worst:.3g}")
    assert worst <= 1e-5, worst


def test_every_heads_attention_equals_transformers(family):
    name, hf, _, ckpt = family
    hf.set_attn_implementation("eager")
    out_ids = target_ids(ckpt, TARGET)
    worst = max(attention_difference(hf, ckpt, source(ckpt, text), out_ids) for text in SENTENCES)
    print(f"{name}: largest attention difference {worst:.3g}")


def generate(hf, src: torch.Tensor, ckpt, tgt_lang: str | None = None, **kwargs) -> list[int]:
    tok, pad = ckpt.tokenizer, ckpt.model.cfg.pad_id
    with torch.no_grad():
        out = hf.generate(
            input_ids=src,
            attention_mask=torch.ones_like(src),
            forced_bos_token_id=tok.language_id(tgt_lang or tok.tgt_lang),
            bad_words_ids=[[pad]],  # ours never predicts <pad>
            max_new_tokens=20,
            do_sample=False,
            **kwargs,
        )
    ids = out[0, 1:].tolist()  # without the decoder's start symbol
    eos = ckpt.model.cfg.eos_id
    return ids[: ids.index(eos) + 1] if eos in ids else ids  # HF pads shorter beams


def test_greedy_output_equals_generate(family):
    _, hf, _, ckpt = family
    for text in SENTENCES:
        ours = translate(ckpt.model, ckpt.tokenizer, text, beam=1, max_len=20)
        assert ours.out_ids == generate(hf, source(ckpt, text), ckpt, num_beams=1)
        # the target language's code is the first, forced, output piece, visible in the trace
        assert ours.forced == ours.trace.forced == 1
        assert ours.trace.out_pieces[0] == ckpt.tokenizer.codes[ckpt.tokenizer.tgt_lang]


def test_beam_search_equals_generate(family):
    _, hf, _, ckpt = family
    for text in SENTENCES:
        ours = translate(ckpt.model, ckpt.tokenizer, text, beam=4, max_len=20, alpha=0.0, with_trace=False)
        assert ours.out_ids == generate(
            hf, source(ckpt, text), ckpt, num_beams=4, length_penalty=0.0, early_stopping=True
        )


def test_another_target_language_is_forced(family):
    name, hf, _, ckpt = family
    tok = ckpt.tokenizer
    other = next(code for code in ckpt.model.cfg.languages if code not in PAIRS[name])
    ours = translate(ckpt.model, tok, SENTENCES[1], max_len=20, tgt_lang=other, with_trace=False)
    assert ours.out_ids[0] == tok.language_id(other)
    assert ours.out_ids == generate(hf, source(ckpt, SENTENCES[1]), ckpt, tgt_lang=other, num_beams=1)
    with pytest.raises(InputError, match="the target language .xx_Nope. is not a language of this model"):
        translate(ckpt.model, tok, SENTENCES[1], tgt_lang="xx_Nope")
    # the source language's code is the encoder's first piece, as the family's tokenizer puts it
    ours = translate(ckpt.model, tok, SENTENCES[1], max_len=20, src_lang=other, with_trace=False)
    assert ours.src_ids[0] == tok.language_id(other) and ours.src_ids[-1] == ckpt.model.cfg.eos_id
    assert ours.out_ids == generate(hf, torch.tensor([ours.src_ids]), ckpt, num_beams=1)
    # a tokenizer that does not know the model's languages (files from two checkpoints) is one sentence too
    src = PAIRS[name][0]
    narrow = MultilingualTokenizer(tok.source_proto, tok.target_proto, tok.vocab, {src: tok.codes[src]}, src, src)
    with pytest.raises(InputError, match="do not belong together"):
        translate(ckpt.model, narrow, SENTENCES[1], tgt_lang=other)


def test_tokenization_equals_the_familys_tokenizer(family, texts):
    name, _, theirs, ckpt = family
    ours = ckpt.tokenizer
    src_lang, tgt_lang = PAIRS[name]
    theirs.src_lang, theirs.tgt_lang = src_lang, tgt_lang
    if hasattr(theirs, "set_src_lang_special_tokens"):
        theirs.set_src_lang_special_tokens(src_lang)
    unknown = 0
    for text in texts["check"]:
        expected = theirs(text).input_ids
        assert [ours.language_id(src_lang), *ours.encode(text), ours.eos_id] == expected, text  # (uncut: no max_len)
        target = theirs(text_target=text).input_ids
        assert [ours.language_id(tgt_lang), *ours.encode_target(text), ours.eos_id] == target, text
        if len(target) <= ckpt.model.cfg.max_len:  # what teacher forcing feeds (uncut here)
            assert reference_ids(ckpt.model, ours, text, tgt_lang) == target, text
        unknown += expected.count(ours.unk_id)
        # the text of the pieces alone (v5's M2M100Tokenizer keeps __en__ in skip_special_tokens text); HF drops <unk>
        # from text, we show it as ⁇
        known = [i for i in expected[1:-1] if i != ours.unk_id]
        assert ours.decode(known) == theirs.decode(known, skip_special_tokens=True), text
    # whitespace at the edges: NLLB's and mBART-50's tokenizers end a text ending in whitespace with a lone '▁'
    for text in [
        "A dog runs. ",
        "A dog\t",
        "개가 달린다\u3000",
        "a\u00a0",
        "  two  spaces",
        "x\u00ad",
        "x \u00ad",
        " ",
    ]:
        assert [*ours.encode(text), ours.eos_id] == theirs(text).input_ids[1:], repr(text)
    assert len(texts["check"]) == 200 and any("\uac00" <= c <= "\ud7a3" for c in texts["check"][0])  # Korean
    assert unknown > 0  # the unknown-piece path was exercised too


def test_languages_listed_in_checkpoint_and_card(family):
    name, _, _, ckpt = family
    cfg = ckpt.model.cfg
    expected = {"m2m_100": 100, "nllb": 202, "mbart-50": 52}[name]
    assert len(cfg.languages) == expected and len(ckpt.tokenizer.languages) == expected
    assert (ckpt.src_lang, ckpt.tgt_lang) == PAIRS[name]
    assert ckpt.card["languages"] == cfg.languages
    markdown = (ckpt.path / "README.md").read_text()
    assert f"Languages ({expected}" in markdown and PAIRS[name][1] in markdown


def test_positional_encoding_is_the_familys(family):
    name, hf, _, ckpt = family
    src = source(ckpt, SENTENCES[0])
    positions = hf.model.encoder.embed_positions
    with torch.no_grad():
        theirs = positions(src) if name != "mbart-50" else positions(src[..., 0:1].expand_as(src))
    n = src.shape[1]
    np.testing.assert_array_equal(ckpt.model.positional_encoding[:n].numpy(), theirs[0].numpy())


class Payload:
    """Unpickling this runs os.system: a .bin that must never be loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_payload_is_refused_and_never_runs(family, tmp_path):
    name, hf, _, ckpt = family
    folder = tmp_path / "hf"
    shutil.copytree(Path(ckpt.card["source_folder"]), folder)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "payload-ran"
    for write in (lambda f: pickle.dump(Payload(marker), f), lambda f: torch.save({"x": Payload(marker)}, f)):
        with open(folder / "pytorch_model.bin", "wb") as f:
            write(f)
        with pytest.raises(HFImportError, match="refused"):
            import_hf(folder)
        assert not marker.exists()
    torch.save(hf.state_dict(), folder / "pytorch_model.bin")  # plain tensors import
    model = import_hf(folder).model
    src = source(ckpt, SENTENCES[1])
    tgt = torch.tensor([[2, ckpt.tokenizer.language_id(ckpt.tgt_lang), 5, 6]])
    with torch.no_grad():
        assert torch.allclose(model(src, tgt), hf(input_ids=src, decoder_input_ids=tgt).logits, atol=1e-5)


def test_translate_cli_takes_the_languages(family, capsys):
    name, hf, _, ckpt = family
    other = next(code for code in ckpt.languages if code not in PAIRS[name])
    assert translate_main(["--checkpoint", str(ckpt.path), "--tgt-lang", other, "--max-len", "20", SENTENCES[1]]) == 0
    expected = translate(ckpt.model, ckpt.tokenizer, SENTENCES[1], max_len=20, tgt_lang=other, with_trace=False)
    assert capsys.readouterr().out.strip() == expected.text.strip()
    assert translate_main(["--checkpoint", str(ckpt.path), "--src-lang", "xx_Nope", SENTENCES[1]]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --src-lang 'xx_Nope' is not a language") and len(err.splitlines()) == 1


def import_in_legacy_order(ckpt, tmp_path: Path) -> tuple[Path, Imported]:
    """A copy of the NLLB model's Hugging Face folder whose tokenizer_config.json asks for legacy_behaviour, and its
    import."""
    folder = tmp_path / "hf"
    shutil.copytree(Path(ckpt.card["source_folder"]), folder)
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**settings, "legacy_behaviour": True}))
    return folder, import_hf(folder)


@pytest.mark.parametrize("family", ["nllb"], indirect=True)
def test_nllb_legacy_order_puts_the_code_after_eos(family, texts, tmp_path):
    """NLLB's legacy_behaviour: the source is pieces </s> [code]; the model is told so by tokenizer_config.json."""
    _, hf, _, ckpt = family
    folder, imported = import_in_legacy_order(ckpt, tmp_path)
    assert imported.model.cfg.language_code_position == "suffix"
    theirs = quiet(NllbTokenizer.from_pretrained, str(folder), src_lang="eng_Latn", legacy_behaviour=True)
    for text in texts["check"][:20] + SENTENCES:
        expected = theirs(text).input_ids
        assert expected[-2:] == [2, imported.tokenizer.language_id("eng_Latn")]
        if len(expected) <= imported.model.cfg.max_len:
            ours = encode_source(imported.model, imported.tokenizer, text)[0]
            assert ours == expected, text
    src = torch.tensor([encode_source(imported.model, imported.tokenizer, SENTENCES[0])[0]])
    tgt = torch.tensor([[2, imported.tokenizer.language_id("kor_Hang"), 5, 6]])
    with torch.no_grad():
        assert torch.allclose(imported.model(src, tgt), hf(input_ids=src, decoder_input_ids=tgt).logits, atol=1e-5)


def test_unusable_folders_give_one_sentence(family, tmp_path, capsys):
    name, _, _, ckpt = family
    folder = tmp_path / "hf"
    shutil.copytree(Path(ckpt.card["source_folder"]), folder)
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    if name == "mbart-50":  # mBART-25 puts the code after </s> and starts the decoder from it: refused, not misread
        (folder / "tokenizer_config.json").write_text(json.dumps({**settings, "tokenizer_class": "MBartTokenizer"}))
        with pytest.raises(HFImportError, match="mBART-25"):
            import_hf(folder)
        (folder / "tokenizer_config.json").write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="not a language of this model"):
        import_hf(folder, tgt_lang="xx_Nope")
    (folder / "sentencepiece.bpe.model").write_bytes(b"not sentencepiece")
    with pytest.raises(HFImportError, match="not a usable SentencePiece model"):
        import_hf(folder)
    (folder / "sentencepiece.bpe.model").unlink()
    assert import_main([str(folder), "--dest", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "sentencepiece.bpe.model" in err and len(err.splitlines()) == 1
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "encoder_layers": 10**6}))
    with pytest.raises(HFImportError, match="encoder_layers"):
        import_hf(folder)
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "bert"}))
    with pytest.raises(HFImportError, match="Headlight imports"):
        import_hf(folder)


def test_batches_force_the_target_language_too(family):
    """translate_many (model.evaluate, model.corpus) pads sentences into batches: each gets what translate() gives it
    alone, the target language's code first, in the language the tokenizer is set to."""
    name, _, _, ckpt = family
    other = next(code for code in ckpt.languages if code not in PAIRS[name])
    tok = ckpt.tokenizer.with_languages(tgt_lang=other)
    for beam in (1, 4):
        batched = translate_many(ckpt.model, tok, SENTENCES, beam=beam, max_len=20, alpha=0.0)
        alone = [
            translate(ckpt.model, tok, text, beam=beam, max_len=20, alpha=0.0, with_trace=False) for text in SENTENCES
        ]
        assert batched == [t.text for t in alone]
        assert all(t.out_ids[0] == tok.language_id(other) for t in alone)


def test_corpus_passes_force_the_target_language(family):
    """model.corpus's traced pass, greedy or teacher-forced on a reference, starts the output with the target code,
    as translate() does."""
    from model.analysis.corpus_run import traced_pass

    _, _, _, ckpt = family
    tok = ckpt.tokenizer
    trace, output, _ = traced_pass(ckpt.model, tok, SENTENCES[1], None)
    expected = translate(ckpt.model, tok, SENTENCES[1], with_trace=False)
    assert trace.out_pieces[0] == tok.codes[tok.tgt_lang] and output == expected.text
    trace, _, _ = traced_pass(ckpt.model, tok, SENTENCES[1], TARGET)
    assert trace.out_pieces == tok.target_pieces(target_ids(ckpt, TARGET))


@pytest.mark.parametrize(
    "settings",
    [
        {},  # the paper's
        {"pe_layout": "halves"},  # Marian
        {"pe_layout": "halves", "pe_formula": "fairseq", "position_offset": 2},  # M2M-100, NLLB-200
        {"position_kind": "learned", "position_offset": 2},  # mBART-50
    ],
    ids=["paper", "marian", "fairseq", "learned"],
)
def test_the_formula_shown_is_the_table_added(settings):
    """position_formula's description, evaluated by hand in float64, gives the rows the model adds."""
    from model.core.config import TransformerConfig
    from model.core.positions import position_formula
    from model.core.transformer import Transformer

    cfg = TransformerConfig(vocab_size=10, d_model=16, n_heads=4, max_len=64, **settings)
    model = Transformer(cfg)
    shown = position_formula(cfg)
    assert shown.first_position == cfg.position_offset and shown.kind == cfg.position_kind
    assert (f"p = n + {cfg.position_offset}" in shown.latex) == bool(cfg.position_offset)
    if cfg.position_kind == "learned":  # a table, not a formula: the rows from the offset on
        np.testing.assert_array_equal(model.positional_encoding.numpy(), model.encoder.embed.pe.detach()[2:].numpy())
        return
    d, half = cfg.d_model, cfg.d_model // 2
    p = np.arange(64, dtype=np.float64)[:, None] + cfg.position_offset
    i = np.arange(half, dtype=np.float64)[None, :]
    if cfg.pe_formula == "fairseq":
        angle = p * np.exp(-i * np.log(10000) / (half - 1))
    else:
        angle = p / 10000 ** (2 * i / d)
    if cfg.pe_layout == "halves":
        expected = np.concatenate([np.sin(angle), np.cos(angle)], axis=1)
    else:
        expected = np.stack([np.sin(angle), np.cos(angle)], axis=2).reshape(64, d)
    np.testing.assert_allclose(model.positional_encoding.numpy(), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("family", ["m2m_100"], indirect=True)
def test_a_broken_languages_file_is_one_sentence(family, tmp_path):
    from model.core.checkpoint import CheckpointError

    _, _, _, ckpt = family
    folder = tmp_path / "ckpt"
    shutil.copytree(ckpt.path, folder)
    good = json.loads((folder / "languages.json").read_text())
    for broken in (
        "not json",
        json.dumps({**good, "codes": {"ko": "__no_such_piece__"}}),
        json.dumps({**good, "tgt_lang": "xx"}),
        json.dumps({**good, "codes": ["ko"]}),
        json.dumps({**good, "trailing_space_piece": "yes"}),
    ):
        (folder / "languages.json").write_text(broken)
        with pytest.raises(CheckpointError) as error:
            load_checkpoint(folder)
        assert len(str(error.value).splitlines()) == 1


def hf_word_alignment(
    hf, theirs, src_text: str, tgt_text: str, shift: bool = False, source_tokenizer=None
) -> np.ndarray:
    """The reference for model.analysis.alignment, from transformers alone: the family's tokenizer gives the encoder
    input and the reference's ids (language codes where the family puts them), HF's eager cross-attention gives the
    rows, and the words are regrouped here by hand: the tokenizer's special pieces (language codes, </s>) left out, a
    word's pieces from one starting with '▁', its rows averaged (the row that produced each piece, or with `shift` the
    row that reads it), its columns summed. `source_tokenizer`: another one for the source (NLLB's legacy order)."""
    hf.set_attn_implementation("eager")
    src, labels = (source_tokenizer or theirs)(src_text).input_ids, theirs(text_target=tgt_text).input_ids
    assert theirs.unk_token_id not in src + labels  # <unk> would split a word
    with torch.no_grad():
        out = hf(
            input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([[2, *labels[:-1]]]), output_attentions=True
        )
    cross = torch.stack([a[0] for a in out.cross_attentions]).numpy()  # [L, H, target, source]

    specials = set(theirs.all_special_ids) | set(getattr(theirs, "lang_code_to_id", {}).values())  # M2M-100's codes

    def words(ids: list[int]) -> list[list[int]]:  # the positions of each word's pieces
        groups: list[list[int]] = []
        for position, (i, piece) in enumerate(zip(ids, theirs.convert_ids_to_tokens(ids))):
            if i not in specials:
                if piece.startswith("▁") or not groups:
                    groups.append([])
                groups[-1].append(position)
        return groups

    columns = np.stack([cross[..., g].sum(-1) for g in words(src)], axis=-1)  # [L, H, target, source words]
    return np.stack([columns[..., [p + shift for p in g], :].mean(-2) for g in words(labels)], axis=-2)


def family_tokenizer_for(theirs, name: str):
    """The family's tokenizer set to the pair our checkpoint translates by default."""
    theirs.src_lang, theirs.tgt_lang = PAIRS[name]
    if hasattr(theirs, "set_src_lang_special_tokens"):
        theirs.set_src_lang_special_tokens(PAIRS[name][0])
    return theirs


ALIGNED = ("Two young men are playing football .", "두 남자가 축구를 한다 .")


@pytest.mark.parametrize("shift", [False, True], ids=["produced", "read"])
def test_word_alignment_reads_what_translation_feeds_and_skips_the_code_pieces(family, shift):
    """head_alignments on a multilingual model: the encoder reads [code] pieces </s> as translation feeds it, the
    reference starts with the forced target code, and neither code is a word: equal to transformers' attention
    regrouped by hand."""
    from model.analysis.alignment import GoldSentence, head_alignments

    name, hf, theirs, ckpt = family
    src_text, tgt_text = ALIGNED
    gold = [GoldSentence(src_text.split(), tgt_text.split(), set(), set())]
    matrices, kept = head_alignments(ckpt.model, ckpt.tokenizer, gold, shift=shift)
    expected = hf_word_alignment(hf, family_tokenizer_for(theirs, name), src_text, tgt_text, shift)
    assert kept == [0] and matrices[0].shape == expected.shape == (*expected.shape[:2], 5, 7)
    np.testing.assert_allclose(matrices[0], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("family", ["nllb"], indirect=True)
def test_word_alignment_in_nllbs_legacy_order_skips_the_code_after_eos(family, tmp_path):
    from model.analysis.alignment import GoldSentence, head_alignments

    _, hf, _, ckpt = family
    folder, imported = import_in_legacy_order(ckpt, tmp_path)
    legacy = quiet(NllbTokenizer.from_pretrained, str(folder), src_lang="eng_Latn", legacy_behaviour=True)
    src_text, tgt_text = ALIGNED
    assert legacy(src_text).input_ids[-2:] == [2, imported.tokenizer.language_id("eng_Latn")]  # pieces </s> [code]
    gold = [GoldSentence(src_text.split(), tgt_text.split(), set(), set())]
    matrices, kept = head_alignments(imported.model, imported.tokenizer, gold)
    # the target code forced first, as translation (and generate's forced_bos_token_id) does
    theirs = quiet(NllbTokenizer.from_pretrained, str(folder), tgt_lang="kor_Hang", legacy_behaviour=False)
    expected = hf_word_alignment(hf, theirs, src_text, tgt_text, source_tokenizer=legacy)
    assert kept == [0]
    np.testing.assert_allclose(matrices[0], expected, atol=1e-5, rtol=0)


def one_line_error(capsys, start: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith(start) and len(err.splitlines()) == 1, err
    return err


REFERENCES = ["두 젊은 남자가 축구를 한다.", "개가 달린다.", "기차역은 어디에 있습니까?"]


def test_evaluate_takes_the_languages(family, tmp_path, capsys, monkeypatch):
    """model.evaluate --tgt-lang: the translations are the batched ones in that language (translate_many on a tokenizer
    set to it, checked against generate above), scored by sacreBLEU; a wrong code is model.translate's one sentence."""
    import sacrebleu

    import model.evaluate
    from model.evaluate import main as evaluate_main

    pairs = []  # the pair each batch was translated with (random models' text rarely tells languages apart)

    def recording(model, tok, sentences, **kwargs):
        pairs.append((tok.src_lang, tok.tgt_lang))
        return translate_many(model, tok, sentences, **kwargs)

    monkeypatch.setattr(model.evaluate, "translate_many", recording)

    name, _, _, ckpt = family
    other = next(code for code in ckpt.languages if code not in PAIRS[name])
    src, ref, hyp = tmp_path / "src.txt", tmp_path / "ref.txt", tmp_path / "hyp.txt"
    src.write_text("\n".join(SENTENCES) + "\n")
    ref.write_text("\n".join(REFERENCES) + "\n")
    files = ["--checkpoint", str(ckpt.path), "--src", str(src), "--ref", str(ref)]
    assert evaluate_main([*files, "--tgt-lang", other, "--output", str(hyp)]) == 0
    expected = translate_many(ckpt.model, ckpt.tokenizer.with_languages(tgt_lang=other), SENTENCES)
    assert hyp.read_text().splitlines() == expected and pairs == [(PAIRS[name][0], other)]
    bleu = sacrebleu.corpus_bleu(expected, [REFERENCES]).score
    assert capsys.readouterr().out.startswith(f"BLEU {bleu:.2f}  (")
    assert evaluate_main([*files, "--tgt-lang", "xx_Nope"]) == 2
    one_line_error(capsys, "error: --tgt-lang 'xx_Nope' is not a language of imported (its languages: ")
    # tidying rewrites English only: asked of a Korean source it is one sentence, of the English default it runs
    assert evaluate_main([*files, "--src-lang", PAIRS[name][1], "--input-style", "tidied"]) == 2
    one_line_error(capsys, f"error: --input-style tidied rewrites English; imported reads {PAIRS[name][1]}")
    assert evaluate_main([*files, "--input-style", "casual-tidied"]) == 0


def test_analyze_takes_the_languages(family, tmp_path, capsys):
    """model.analyze --tgt-lang: the statistics are those of translate(..., tgt_lang=) traces; the sweep record names
    the pair it swept."""
    from model.analysis.head_statistics import average_stats, trace_stats
    from model.analyze import main as analyze_main

    name, _, _, ckpt = family
    other = next(code for code in ckpt.languages if code not in PAIRS[name])
    src, ref, stats, sweep = (tmp_path / f for f in ("src.txt", "ref.txt", "stats.csv", "sweep.json"))
    src.write_text("\n".join(SENTENCES[:2]) + "\n")
    ref.write_text("\n".join(REFERENCES[:2]) + "\n")
    args = ["--checkpoint", str(ckpt.path), "--input", str(src), "--stats", str(stats)]
    assert analyze_main([*args, "--tgt-lang", other, "--sweep", str(sweep), "--ref", str(ref)]) == 0

    def expected(tgt_lang):
        traces = [translate(ckpt.model, ckpt.tokenizer, s, tgt_lang=tgt_lang).trace for s in SENTENCES[:2]]
        return average_stats([trace_stats(t) for t in traces]).round(4)

    written = pd.read_csv(stats)
    numbers = written.select_dtypes("number").columns
    np.testing.assert_allclose(written[numbers], expected(other)[numbers].astype(float), atol=1e-4)
    assert not np.allclose(written[numbers], expected(None)[numbers].astype(float), atol=1e-4, equal_nan=True)
    record = json.loads(sweep.read_text())
    assert (record["src_lang"], record["tgt_lang"]) == (PAIRS[name][0], other)
    capsys.readouterr()
    assert analyze_main([*args, "--src-lang", "xx_Nope"]) == 2
    one_line_error(capsys, "error: --src-lang 'xx_Nope' is not a language of imported (its languages: ")


# German, as each family spells it: what model.align_eval picks for the RWTH English→German gold
GERMAN = {"m2m_100": "de", "nllb": "deu_Latn", "mbart-50": "de_DE"}


def test_align_eval_picks_the_golds_pair_in_the_familys_codes(family, tmp_path, capsys):
    from model.align_eval import main as align_main

    name, _, _, ckpt = family
    out = tmp_path / "aer.csv"
    assert align_main(["--checkpoint", str(ckpt.path), "--gold", "rwth", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"imported translating {PAIRS[name][0]}→{GERMAN[name.split()[0]]}" in printed
    cfg = ckpt.model.cfg
    assert len(pd.read_csv(out)) == cfg.n_decoder_layers * (cfg.n_heads + 1)
    assert align_main(["--checkpoint", str(ckpt.path), "--gold", "rwth", "--tgt-lang", PAIRS[name][1]]) == 2
    one_line_error(capsys, f"error: rwth needs an en→de model; imported is {PAIRS[name][0]}→{PAIRS[name][1]}")


@pytest.mark.parametrize("family", ["m2m_100"], indirect=True)
def test_card_ships_and_scores_the_chosen_pair(family, tmp_path, capsys):
    import sacrebleu

    from model.card import main as card_main

    name, _, _, ckpt = family
    src, ref, dest = tmp_path / "src.txt", tmp_path / "ref.txt", tmp_path / "shipped"
    src.write_text("\n".join(SENTENCES) + "\n")
    ref.write_text("\n".join(REFERENCES) + "\n")
    other = next(code for code in ckpt.languages if code not in PAIRS[name])
    common = ["--source", str(ckpt.path), "--dest", str(dest), "--name", "M2M", "--about", "a random M2M-100."]
    common += ["--tgt-lang", other]
    assert card_main([*common, "--fp32", "--test", "t", str(src), str(ref)]) == 0
    shipped = load_checkpoint(dest)
    assert (shipped.src_lang, shipped.tgt_lang) == (shipped.tokenizer.src_lang, shipped.tokenizer.tgt_lang)
    assert shipped.tgt_lang == other and shipped.src_lang == PAIRS[name][0]
    greedy = translate_many(ckpt.model, ckpt.tokenizer.with_languages(tgt_lang=other), SENTENCES)
    card = json.loads((dest / "card.json").read_text())
    assert card["evaluation"]["t"]["greedy"]["bleu"] == round(sacrebleu.corpus_bleu(greedy, [REFERENCES]).score, 2)
    assert card_main([*common, "--test", "t", str(src), str(ref), "--src-lang", "xx_Nope"]) == 2
    one_line_error(capsys, "error: --src-lang 'xx_Nope' is not a language of imported")
    with pytest.raises(SystemExit) as usage:
        card_main([*common, "--markdown-only"])
    assert usage.value.code == 2


def test_translate_tidies_english_under_the_familys_code_only(family, capsys):
    """--tidy tidies the source when it is English as the family spells it (en, eng_Latn, en_XX), and leaves it alone
    when --src-lang names another language."""
    name, _, _, ckpt = family
    args = ["--checkpoint", str(ckpt.path), "--tidy", "--max-len", "5"]
    assert translate_main([*args, "where is the station"]) == 0
    assert "tidied: Where is the station?" in capsys.readouterr().err
    assert translate_main([*args, "--src-lang", PAIRS[name][1], "where is the station"]) == 0
    assert "tidied" not in capsys.readouterr().err


@pytest.mark.parametrize("family", ["nllb"], indirect=True)
def test_align_eval_reads_multi30k_by_the_two_letter_code_of_the_chosen_target(family, tmp_path, capsys):
    """eflomal-multi30k with --tgt-lang deu_Latn reads Multi30k's val.de.gz and train.de.gz; a target Multi30k does not
    have is one sentence naming the file it looked for."""
    pytest.importorskip("eflomal")
    import gzip

    from model.align_eval import main as align_main

    _, _, _, ckpt = family
    english = ["the dog runs .", "the cat sleeps .", "a dog sleeps .", "the cat runs ."] * 10
    german = ["der Hund rennt .", "die Katze schläft .", "ein Hund schläft .", "die Katze rennt ."] * 10
    for split, lines in (("val.en", english[:4]), ("val.de", german[:4]), ("train.en", english), ("train.de", german)):
        with gzip.open(tmp_path / f"{split}.gz", "wt", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
    args = ["--checkpoint", str(ckpt.path), "--gold", "eflomal-multi30k", "--multi30k", str(tmp_path)]
    assert align_main([*args, "--tgt-lang", "deu_Latn"]) == 0
    assert "imported translating eng_Latn→deu_Latn" in capsys.readouterr().out
    assert align_main(args) == 2  # the default target, Korean: no val.kor_Hang.gz
    assert "val.kor_Hang.gz" in one_line_error(capsys, "error: ")


@pytest.mark.parametrize("family", ["m2m_100"], indirect=True)
def test_card_of_an_imported_model_without_about_says_it_was_imported(family, tmp_path):
    from model.card import main as card_main

    name, _, _, ckpt = family
    src, ref, dest = tmp_path / "src.txt", tmp_path / "ref.txt", tmp_path / "shipped"
    src.write_text("\n".join(SENTENCES) + "\n")
    ref.write_text("\n".join(REFERENCES) + "\n")
    assert (
        card_main(["--source", str(ckpt.path), "--dest", str(dest), "--name", "M2M", "--test", "t", str(src), str(ref)])
        == 0
    )
    intro = (dest / "README.md").read_text().split("\n\n")[1]
    assert "imported exactly with `python -m model.import_hf`" in intro and "trained with Headlight" not in intro


def test_corpus_takes_the_languages(family, tmp_path, capsys):
    """model.corpus --tgt-lang: the run's outputs are translate(..., tgt_lang=)'s and progress.json records the pair;
    resuming with another pair, or a code the model lacks, is one sentence."""
    from model.analysis.corpus_run import corpus_summary
    from model.corpus import main as corpus_main

    name, _, _, ckpt = family
    other = next(code for code in ckpt.languages if code not in PAIRS[name])
    src, out = tmp_path / "src.txt", tmp_path / "corpus"
    src.write_text("\n".join(SENTENCES[:2]) + "\n")
    args = ["--checkpoint", str(ckpt.path), "--input", str(src), "--device", "cpu", "--out", str(out)]
    assert corpus_main([*args, "--tgt-lang", other]) == 0
    summary = corpus_summary(out)
    expected = [translate(ckpt.model, ckpt.tokenizer, s, tgt_lang=other, with_trace=False) for s in SENTENCES[:2]]
    assert list(summary.output) == [t.text for t in expected]
    assert all(ckpt.tokenizer.codes[other] in pieces.split() for pieces in summary.tgt_tokens)
    assert (summary.run.src_lang, summary.run.tgt_lang) == (PAIRS[name][0], other)
    capsys.readouterr()
    assert corpus_main(args) == 2  # the checkpoint's default pair is another run
    one_line_error(capsys, f"error: {out} holds a run with language pair (--src-lang, --tgt-lang) {PAIRS[name][0]} -> ")
    assert corpus_main([*args, "--src-lang", "xx_Nope"]) == 2
    one_line_error(capsys, "error: --src-lang 'xx_Nope' is not a language of imported (its languages: ")


@pytest.mark.parametrize("family", FAMILIES, indirect=True)
@pytest.mark.parametrize("bos", [None, -1, 10**9, "0", 1.5])
def test_a_bos_token_id_outside_the_vocabulary_is_refused_at_import(family, bos, tmp_path, capsys, monkeypatch):
    """bos_token_id is read like the other ids: checked where it enters, from a folder or a model in memory, so
    no checkpoint is written that cannot be loaded (`null` would import, then fail at translation)."""
    name, hf, tok, ckpt = family
    folder = tmp_path / "hf"
    shutil.copytree(Path(ckpt.card["source_folder"]), folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "bos_token_id": bos}))
    monkeypatch.setattr(hf_importer, "Transformer", lambda cfg: pytest.fail("a model was built"))
    with pytest.raises(HFImportError, match=r"gives bos_token_id = .*not an id of its \d+-piece vocabulary"):
        import_hf(folder)
    assert import_main([str(folder), "--dest", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "bos_token_id" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()
    monkeypatch.setitem(hf.config.__dict__, "bos_token_id", bos)  # past transformers' own type check
    with pytest.raises(HFImportError, match="gives bos_token_id = "):
        from_hf_objects(hf, tok)


@pytest.mark.parametrize("family", ["nllb"], indirect=True)
def test_a_model_in_memory_is_checked_as_a_folder_is(family, monkeypatch):
    """from_hf_objects and import_hf share one set-up (model.importing.hf.configured): the same bounds, before
    anything is built, and the same sentences."""
    _, hf, tok, _ = family
    monkeypatch.setattr(hf_importer, "Transformer", lambda cfg: pytest.fail("a model was built"))
    for key, value in (("encoder_layers", 10**6), ("d_model", 1e9), ("pad_token_id", None)):
        with monkeypatch.context() as patch:
            patch.setitem(hf.config.__dict__, key, value)  # past transformers' own type check
            start = time.perf_counter()
            with pytest.raises(HFImportError, match=f"the model's config gives {key} = "):
                from_hf_objects(hf, tok)
            assert time.perf_counter() - start < 1.0

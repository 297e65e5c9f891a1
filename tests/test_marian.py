"""OPUS-MT (Marian) import, checked against the independent reference: `transformers` itself.

Random MarianMTModels of several shapes are saved with `save_pretrained` beside real (small)
SentencePiece models trained here, imported with `python -m model.import_hf` (and its older name
`python -m model.import_marian`), and compared:
logits, every head's attention, greedy and beam-search output ids, and the tokenization.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm
import torch

transformers = pytest.importorskip("transformers")
from transformers import MarianConfig, MarianMTModel  # noqa: E402

from model.core.checkpoint import load_checkpoint  # noqa: E402
from model.decoding.search import beam_search, beam_search_batch, greedy_search  # noqa: E402
from model.decoding.trace_from_hooks import forward_trace  # noqa: E402
from model.decoding.translation import translate  # noqa: E402
from model.import_hf import main as import_hf_main  # noqa: E402
from model.import_marian import main as import_main  # noqa: E402
from model.importing.marian import MarianImportError, import_marian  # noqa: E402

SENTENCES = ["Two young men are playing football on a green field.", "A dog runs.", "Where is the train station?"]
VARIANTS = {
    "6+6 shared swish": dict(
        encoder_layers=6,
        decoder_layers=6,
        share_encoder_decoder_embeddings=True,
        activation_function="swish",
        scale_embedding=True,
    ),
    "6+2 separate relu": dict(
        encoder_layers=6,
        decoder_layers=2,
        share_encoder_decoder_embeddings=False,
        tie_word_embeddings=True,
        activation_function="relu",
        scale_embedding=False,
    ),
    "6+2 untied gelu": dict(
        encoder_layers=6,
        decoder_layers=2,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=False,
        activation_function="gelu",
        scale_embedding=True,
    ),
}


def train_spm(lines: list[str], vocab_size: int) -> bytes:
    proto = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=proto, vocab_size=vocab_size, character_coverage=1.0, minloglevel=2
    )
    return proto.getvalue()


@pytest.fixture(scope="module")
def opus_tokenizer_files(corpus, tmp_path_factory) -> Path:
    """source.spm (English), target.spm (German) and vocab.json laid out as OPUS-MT does: </s> 0, <unk> 1, <pad>
    last."""
    folder = tmp_path_factory.mktemp("opus-tok")
    source, target = train_spm(corpus[0], 180), train_spm(corpus[1], 180)
    pieces: list[str] = []
    for proto in (source, target):
        sp = spm.SentencePieceProcessor(model_proto=proto)
        pieces += [
            sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not sp.is_control(i) and not sp.is_unknown(i)
        ]
    vocab = {"</s>": 0, "<unk>": 1}
    for piece in pieces:
        vocab.setdefault(piece, len(vocab))
    vocab["<pad>"] = len(vocab)
    (folder / "source.spm").write_bytes(source)
    (folder / "target.spm").write_bytes(target)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    return folder


def make_hf_folder(tok_folder: Path, dest: Path, seed: int, **shape) -> tuple[MarianMTModel, Path]:
    vocab = json.loads((tok_folder / "vocab.json").read_text())
    pad = vocab["<pad>"]
    torch.manual_seed(seed)
    config = MarianConfig(
        vocab_size=len(vocab),
        decoder_vocab_size=len(vocab),
        d_model=32,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        pad_token_id=pad,
        eos_token_id=0,
        decoder_start_token_id=pad,
        forced_eos_token_id=None,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        **shape,
    )
    hf = MarianMTModel(config).eval()
    with torch.no_grad():  # a random, non-zero logits bias, and </s> likely enough that searches end
        hf.final_logits_bias.normal_(0, 0.5)
        hf.final_logits_bias[0, 0] += 4.0
    dest.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hf.save_pretrained(dest)
    for name in ("source.spm", "target.spm", "vocab.json"):
        (dest / name).write_bytes((tok_folder / name).read_bytes())
    return hf, dest


@pytest.fixture(scope="module", params=list(VARIANTS))
def pair(request, opus_tokenizer_files, tmp_path_factory):
    """(HF model, our imported checkpoint) for one variant; the import goes through the CLI."""
    root = tmp_path_factory.mktemp("marian")
    hf, folder = make_hf_folder(
        opus_tokenizer_files,
        root / "opus-mt-en-de",
        seed=list(VARIANTS).index(request.param),
        **VARIANTS[request.param],
    )
    assert import_hf_main([str(folder), "--dest", str(root / "imported")]) == 0
    return hf, load_checkpoint(root / "imported")


def hf_source(ckpt, text: str) -> torch.Tensor:
    return torch.tensor([ckpt.tokenizer.encode(text) + [ckpt.model.cfg.eos_id]])


def test_logits_equal_transformers(pair):
    hf, ckpt = pair
    worst = 0.0
    for text in SENTENCES:
        src = hf_source(ckpt, text)
        tgt_in = torch.tensor(
            [[ckpt.model.cfg.decoder_start_id] + ckpt.tokenizer.encode_target("Ein Hund läuft schnell.")]
        )
        with torch.no_grad():
            ref = hf(input_ids=src, decoder_input_ids=tgt_in).logits
            ours = ckpt.model(src, tgt_in)
        worst = max(worst, float((ours - ref).abs().max()))
    print(f"marian: largest logit difference {worst:.3g}")
    assert worst <= 1e-5, worst


def attention_difference(hf, ckpt, src: torch.Tensor, out_ids: list[int]) -> float:
    """Every layer's and head's encoder, decoder and cross attention of our teacher-forced trace against HF's eager
    `output_attentions` (asserted within 1e-6); returns the largest difference."""
    trace, _ = forward_trace(ckpt.model, ckpt.tokenizer, src[0].tolist(), out_ids)
    tgt_in = torch.tensor([[ckpt.model.cfg.decoder_start_id] + out_ids[:-1]])
    with torch.no_grad():
        ref = hf(input_ids=src, decoder_input_ids=tgt_in, output_attentions=True)
    worst = 0.0
    for kind, attentions in (
        ("encoder", ref.encoder_attentions),
        ("decoder", ref.decoder_attentions),
        ("cross", ref.cross_attentions),
    ):
        expected = torch.stack([a[0] for a in attentions]).numpy()  # [L, H, q, k]
        assert trace.attention(kind).shape == expected.shape
        np.testing.assert_allclose(trace.attention(kind), expected, atol=1e-6, rtol=0)
        worst = max(worst, float(np.abs(trace.attention(kind) - expected).max()))
    return worst


def test_every_heads_attention_equals_transformers(pair):
    hf, ckpt = pair
    hf.set_attn_implementation("eager")
    out_ids = ckpt.tokenizer.encode_target("Zwei junge Männer spielen Fußball.") + [ckpt.model.cfg.eos_id]
    worst = max(attention_difference(hf, ckpt, hf_source(ckpt, text), out_ids) for text in SENTENCES)
    print(f"marian: largest attention difference {worst:.3g}")


def generate(hf, src: torch.Tensor, ckpt, **kwargs) -> list[int]:
    pad = ckpt.model.cfg.pad_id
    with torch.no_grad():
        out = hf.generate(
            input_ids=src,
            attention_mask=torch.ones_like(src),
            bad_words_ids=[[pad]],
            max_new_tokens=30,
            do_sample=False,
            **kwargs,
        )
    return out[0, 1:].tolist()  # without the start symbol


def test_greedy_output_equals_generate(pair):
    hf, ckpt = pair
    for text in SENTENCES:
        src = hf_source(ckpt, text)
        ours = greedy_search(ckpt.model, src, max_len=30)[0].ids
        assert ours == generate(hf, src, ckpt, num_beams=1)
        assert ours[-1] == ckpt.model.cfg.eos_id  # a finished translation, not a cut one


def test_beam_search_equals_generate(pair):
    hf, ckpt = pair
    for text in SENTENCES:
        src = hf_source(ckpt, text)
        ours = beam_search(ckpt.model, src, beam_size=4, max_len=30, alpha=0.0)
        theirs = generate(hf, src, ckpt, num_beams=4, length_penalty=0.0, early_stopping=True)
        theirs = theirs[: theirs.index(0) + 1] if 0 in theirs else theirs  # HF pads shorter beams
        assert ours.ids == theirs


def test_batched_beam_search_equals_batched_generate(pair):
    """Sentences of different lengths padded into one batch: HF's batched beam search is the reference."""
    hf, ckpt = pair
    cfg = ckpt.model.cfg
    rows = [ckpt.tokenizer.encode(text) + [cfg.eos_id] for text in SENTENCES]
    src = torch.full((len(rows), max(map(len, rows))), cfg.pad_id)
    for b, row in enumerate(rows):
        src[b, : len(row)] = torch.tensor(row)
    ours = beam_search_batch(ckpt.model, src, 4, [30] * len(rows), alpha=0.0)
    with torch.no_grad():
        out = hf.generate(
            input_ids=src,
            attention_mask=(src != cfg.pad_id).long(),
            bad_words_ids=[[cfg.pad_id]],
            max_new_tokens=30,
            do_sample=False,
            num_beams=4,
            length_penalty=0.0,
            early_stopping=True,
        )
    for b, theirs in enumerate(out[:, 1:].tolist()):
        theirs = theirs[: theirs.index(cfg.eos_id) + 1] if cfg.eos_id in theirs else theirs
        assert ours[b] == theirs, b


def test_positional_encoding_is_marians(pair):
    hf, ckpt = pair
    theirs = hf.model.encoder.embed_positions.weight[:50]
    np.testing.assert_allclose(ckpt.model.positional_encoding[:50].numpy(), theirs.detach().numpy(), atol=1e-6)
    assert ckpt.model.cfg.pe_layout == "halves"


def test_tokenizer_pair_equals_marian_tokenizer(opus_tokenizer_files):
    from transformers import MarianTokenizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MarianTokenizer(
            str(opus_tokenizer_files / "source.spm"),
            str(opus_tokenizer_files / "target.spm"),
            str(opus_tokenizer_files / "vocab.json"),
        )
    from model.core.tokenizer import TokenizerPair

    ours = TokenizerPair.load(opus_tokenizer_files)
    for text in SENTENCES + ["Übermäßig 123 ☃ <b>x</b>"]:
        assert ours.encode(text) + [ours.eos_id] == theirs(text).input_ids
        ids = theirs(text_target=text).input_ids
        assert ours.encode_target(text) + [ours.eos_id] == ids
        known = [i for i in ids if i != ours.unk_id]  # HF drops <unk> from text; we show it as ⁇
        assert ours.decode(known) == theirs.decode(known, skip_special_tokens=True)


def test_imported_model_works_in_every_part_of_the_app(pair):
    _, ckpt = pair
    result = translate(ckpt.model, ckpt.tokenizer, SENTENCES[0], beam=2, max_len=12)
    trace = result.trace
    assert trace.tgt_pieces[0] == "<pad>"  # Marian's decoder starts from <pad>
    cfg = ckpt.model.cfg
    assert (trace.layers("encoder"), trace.layers("decoder"), trace.layers("cross")) == (
        cfg.n_encoder_layers,
        cfg.n_decoder_layers,
        cfg.n_decoder_layers,
    )


def test_missing_and_foreign_files_give_one_sentence(opus_tokenizer_files, tmp_path, capsys):
    _, folder = make_hf_folder(opus_tokenizer_files, tmp_path / "m", seed=0, encoder_layers=1, decoder_layers=1)
    (folder / "target.spm").unlink()
    capsys.readouterr()  # save_pretrained's progress bar
    with pytest.raises(MarianImportError, match="no target.spm"):
        import_marian(folder)
    assert import_main([str(folder), "--dest", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1
    (folder / "target.spm").write_bytes(b"not sentencepiece")
    with pytest.raises(MarianImportError, match="not usable"):
        import_marian(folder)
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(MarianImportError, match="not a Marian"):
        import_marian(folder)
    with pytest.raises(MarianImportError, match="no config.json"):
        import_marian(tmp_path)


class Payload:
    """Unpickling this runs os.system: a .bin that must never be loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_payload_in_pytorch_model_bin_is_refused_and_never_runs(opus_tokenizer_files, tmp_path):
    _, folder = make_hf_folder(opus_tokenizer_files, tmp_path / "m", seed=0, encoder_layers=1, decoder_layers=1)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "payload-ran"
    for name, write in (
        ("plain pickle", lambda f: pickle.dump(Payload(marker), f)),
        ("torch.save zip", lambda f: torch.save({"x": Payload(marker)}, f)),
    ):
        with open(folder / "pytorch_model.bin", "wb") as f:
            write(f)
        with pytest.raises(MarianImportError, match="refused"):
            import_marian(folder)
        assert not marker.exists(), name


def test_pytorch_model_bin_of_plain_tensors_imports(opus_tokenizer_files, tmp_path):
    hf, folder = make_hf_folder(opus_tokenizer_files, tmp_path / "m", seed=0, encoder_layers=2, decoder_layers=1)
    (folder / "model.safetensors").unlink()
    torch.save(hf.state_dict(), folder / "pytorch_model.bin")
    model, tok, _ = import_marian(folder)
    src = torch.tensor([tok.encode(SENTENCES[1]) + [0]])
    tgt = torch.tensor([[model.cfg.decoder_start_id, 5, 6]])
    with torch.no_grad():
        assert torch.allclose(model(src, tgt), hf(input_ids=src, decoder_input_ids=tgt).logits, atol=1e-4)


def test_tokenizer_pair_equals_marian_tokenizer_on_200_sentences(opus_tokenizer_files):
    """Multi30k and FLORES sentences the SentencePiece models never saw, Korean included (mostly <unk> here)."""
    from transformers import MarianTokenizer

    from model.core.paths import DATA_DIR as data
    from model.core.text_files import read_lines
    from model.core.tokenizer import TokenizerPair

    texts = (
        read_lines(data / "flores/devtest.kor_Hang.gz")[:50]
        + read_lines(data / "flores/devtest.eng_Latn.gz")[:50]
        + read_lines(data / "multi30k/test_2016_flickr.en.gz")[:50]
        + read_lines(data / "multi30k/test_2016_flickr.de.gz")[:50]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = MarianTokenizer(*(str(opus_tokenizer_files / f) for f in ("source.spm", "target.spm", "vocab.json")))
    ours = TokenizerPair.load(opus_tokenizer_files)
    for text in texts:
        assert ours.encode(text) + [ours.eos_id] == theirs(text).input_ids, text
        assert ours.encode_target(text) + [ours.eos_id] == theirs(text_target=text).input_ids, text
    assert len(texts) == 200

"""Hostile checkpoint folders: one clear error in the UI and the CLI, nothing executed, other models still served."""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
import subprocess
import sys
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from model.core import checkpoint
from model.core.checkpoint import (
    CONFIG_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from model.core.config import TransformerConfig
from model.core.hf_tokenizers import MultilingualTokenizer
from model.translate import main as translate_main
from tests.conftest import ROOT, figures, tiny_model
from tests.test_checkpoint import CodeRunningPayload


def make_bad(root, good, marker, tokenizer):
    """Next to a good checkpoint, one folder per way of being broken."""

    def copy(name):
        path = root / name
        shutil.copytree(good, path)
        return path

    copy("pickle-payload").joinpath(WEIGHTS_FILE).write_bytes(pickle.dumps(CodeRunningPayload(marker)))
    truncated = copy("truncated-weights") / WEIGHTS_FILE
    truncated.write_bytes(truncated.read_bytes()[:1000])
    cfg = copy("mismatched-config") / CONFIG_FILE
    data = json.loads(cfg.read_text())
    data["model"]["d_model"] = 64
    cfg.write_text(json.dumps(data))
    absurd = copy("absurd-config") / CONFIG_FILE  # would allocate gigabytes if it were built
    data = json.loads(absurd.read_text())
    data["model"]["d_model"] = 1e9
    absurd.write_text(json.dumps(data))
    (copy("missing-tokenizer") / TOKENIZER_FILE).unlink()
    (copy("foreign-tokenizer") / TOKENIZER_FILE).write_bytes(b"\x00\x01 not sentencepiece")
    empty = root / "empty-folder"
    empty.mkdir()
    (empty / CONFIG_FILE).write_text("")  # listed as a checkpoint, but nothing usable
    for name, key, value in WRONG_TYPES:  # each could load and then fail in torch, or load misread
        path = copy(name) / CONFIG_FILE
        data = json.loads(path.read_text())
        data["model"][key] = value
        path.write_text(json.dumps(data))
    multilingual = make_multilingual(root / "unknown-default-language", tokenizer)
    data = json.loads((multilingual / CONFIG_FILE).read_text())
    data["src_lang"] = "src"  # as an importer once wrote for a multilingual model
    (multilingual / CONFIG_FILE).write_text(json.dumps(data))
    return sorted(
        [
            "absurd-config",
            "empty-folder",
            "foreign-tokenizer",
            "mismatched-config",
            "missing-tokenizer",
            "pickle-payload",
            "truncated-weights",
            "unknown-default-language",
            *(name for name, _, _ in WRONG_TYPES),
        ]
    )


WRONG_TYPES = [  # (folder, key, value): verified to crash the page or load wrongly before config.py checked types
    ("dropout-as-text", "dropout", "x"),
    ("eps-as-text", "layer_norm_eps", "x"),
    ("flag-as-text", "norm_first", "no"),
]
CODES = {"aaa_Latn": "\u2581a", "bbb_Latn": "\u2581the"}  # two made-up languages, each code an existing piece


def make_multilingual(path, tokenizer):
    """A tiny multilingual checkpoint (as an imported NLLB one is saved): a MultilingualTokenizer on the test
    tokenizer's SentencePiece model, two language codes, and a model that places and forces them."""
    vocab = {tokenizer.sp.id_to_piece(i): i for i in range(tokenizer.vocab_size)}
    proto = tokenizer.model_proto
    tok = MultilingualTokenizer(proto, proto, vocab, CODES, "aaa_Latn", "bbb_Latn")
    model = tiny_model(
        tokenizer.vocab_size,
        languages=list(CODES),
        language_code_position="prefix",
        force_target_language=True,
    )
    return save_checkpoint(path, model, tok, "aaa_Latn", "bbb_Latn")


@pytest.fixture()
def zoo(tmp_path, checkpoint_dir, tokenizer, monkeypatch):
    root = tmp_path / "zoo"
    root.mkdir()
    shutil.copytree(checkpoint_dir, root / "a-good-model")
    marker = tmp_path / "payload-ran"
    bad = make_bad(root, checkpoint_dir, marker, tokenizer)
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(root))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield root, bad, marker
    st.cache_data.clear()
    st.cache_resource.clear()


def test_ui_shows_one_error_per_bad_checkpoint_and_keeps_serving(zoo):
    root, bad, marker = zoo
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    at.run()
    assert at.selectbox(key="ckpt").value == "a-good-model" and figures(at)
    for name in bad:
        at.selectbox(key="ckpt").set_value(name).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert len(at.error) == 1 and at.error[0].value.startswith("This checkpoint cannot be used"), name
        assert not figures(at)
    at.selectbox(key="ckpt").set_value("a-good-model").run()
    assert not at.error and figures(at)
    assert not marker.exists()


def test_cli_gives_one_line_of_error_for_each(zoo, capsys):
    """In process for every bad folder (each a fresh process would cost a torch import), and once as a real process."""
    from model.translate import main

    root, bad, marker = zoo
    for name in bad:
        assert main(["--checkpoint", str(root / name), "A dog."]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, (name, err)
    result = subprocess.run(
        [sys.executable, "-m", "model.translate", "--checkpoint", str(root / bad[0]), "A dog."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not marker.exists()


ABSURD = {  # what a hostile or careless config.json can claim: each would allocate gigabytes if built
    "d_model": 1e9,
    "n_encoder_layers": 1_000_000,
    "n_decoder_layers": 10**12,
    "d_ff": 2**40,
    "n_heads": 0,
    "vocab_size": 10**9,
    "max_len": 10**8,
    "n_layers": 1_000_000,  # the legacy single depth
}


@pytest.fixture()
def no_model_may_be_built(monkeypatch):
    built = []
    monkeypatch.setattr(checkpoint, "Transformer", lambda cfg: built.append(cfg) or pytest.fail("a model was built"))
    return built


@pytest.mark.parametrize("key, value", list(ABSURD.items()))
def test_absurd_configs_are_refused_fast_before_anything_is_built(
    tmp_path, checkpoint_dir, no_model_may_be_built, capsys, key, value
):
    folder = tmp_path / "absurd"
    shutil.copytree(checkpoint_dir, folder)
    data = json.loads((folder / CONFIG_FILE).read_text())
    if key == "n_layers":
        data["model"].pop("n_encoder_layers"), data["model"].pop("n_decoder_layers")
    data["model"][key] = value
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=f"gives {key} = .*Headlight accepts a whole number"):
        load_checkpoint(folder)
    assert time.perf_counter() - start < 1.0
    assert translate_main(["--checkpoint", str(folder), "A dog."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and str(value) in err
    assert not no_model_may_be_built


@pytest.mark.parametrize(
    "key, value", [("d_model", 64), ("d_ff", 4096), ("n_encoder_layers", 40), ("vocab_size", 5000)]
)
def test_a_config_within_bounds_but_not_the_weights_is_refused_from_the_header(
    tmp_path, checkpoint_dir, no_model_may_be_built, key, value
):
    folder = tmp_path / "mismatch"
    shutil.copytree(checkpoint_dir, folder)
    data = json.loads((folder / CONFIG_FILE).read_text())
    data["model"][key] = value
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="model.safetensors does not match config.json: "):
        load_checkpoint(folder)
    assert time.perf_counter() - start < 1.0 and not no_model_may_be_built


def test_a_forged_header_claiming_huge_tensors_is_refused(tmp_path, checkpoint_dir, no_model_may_be_built):
    folder = tmp_path / "forged"
    shutil.copytree(checkpoint_dir, folder)
    data = json.loads((folder / CONFIG_FILE).read_text())
    data["model"] |= {"d_model": 4096, "d_ff": 65536, "n_heads": 8, "n_encoder_layers": 64, "n_decoder_layers": 64}
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    header = {  # the shapes the config implies, in a file that does not hold their bytes
        "encoder.embed.token_embedding.weight": {
            "dtype": "F32",
            "shape": [300, 4096],
            "data_offsets": [0, 300 * 4096 * 4],
        }
    }
    raw = json.dumps(header).encode()
    (folder / WEIGHTS_FILE).write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(16))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="not a valid safetensors file .*outside the file"):
        load_checkpoint(folder)
    assert time.perf_counter() - start < 1.0 and not no_model_may_be_built


BAD_FIELDS = [  # (key, value): for every field of the config, a wrong type or a value out of range
    ("vocab_size", "300"),
    ("d_model", 32.0),
    ("n_heads", None),
    ("d_ff", [64]),
    ("n_encoder_layers", True),
    ("n_decoder_layers", "2"),
    ("max_len", 0),
    ("dropout", "x"),
    ("dropout", 1.5),
    ("dropout", float("inf")),  # json writes Infinity and reads it back
    ("attention_dropout", -0.1),
    ("activation_dropout", "0.1"),
    ("layer_norm_eps", "x"),
    ("layer_norm_eps", 0),
    ("layer_norm_eps", float("nan")),
    ("norm_first", "no"),
    ("share_embeddings", 1),
    ("tie_embeddings", "true"),
    ("scale_embedding", None),
    ("output_bias", 0),
    ("embedding_norm", "false"),
    ("final_norm", "yes"),
    ("force_target_language", 1),
    ("activation", ["relu"]),
    ("pe_layout", 3),
    ("position_kind", "learnt"),
    ("pe_formula", None),
    ("language_code_position", {"a": 1}),
    ("position_offset", -1),
    ("languages", "eng_Latn"),
    ("pad_id", "0"),
    ("unk_id", None),
    ("bos_id", 1.5),
    ("eos_id", 10**6),
    ("decoder_start_id", -1),
]


def test_every_config_field_has_a_bad_value_above():
    """A field added to TransformerConfig without a check (and a case here) fails this test."""
    assert {key for key, _ in BAD_FIELDS} == {f.name for f in dataclasses.fields(TransformerConfig)}


@pytest.mark.parametrize("key, value", BAD_FIELDS, ids=[f"{k}={v!r}" for k, v in BAD_FIELDS])
def test_a_config_field_of_the_wrong_type_or_range_is_one_sentence_naming_it(
    tmp_path, checkpoint_dir, no_model_may_be_built, capsys, key, value
):
    folder = tmp_path / "bad-field"
    shutil.copytree(checkpoint_dir, folder)
    data = json.loads((folder / CONFIG_FILE).read_text())
    data["model"][key] = value
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=rf"\b{key}\b") as refused:
        load_checkpoint(folder)
    message = str(refused.value)
    assert len(message.splitlines()) == 1 and message.endswith("."), message
    assert translate_main(["--checkpoint", str(folder), "A dog."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and key in err
    assert not no_model_may_be_built


def test_a_multilingual_checkpoint_loads_and_translates_between_its_languages(tmp_path, tokenizer):
    ckpt = load_checkpoint(make_multilingual(tmp_path / "multi", tokenizer))
    assert (ckpt.src_lang, ckpt.tgt_lang, ckpt.languages) == ("aaa_Latn", "bbb_Latn", list(CODES))
    assert translate_main(["--checkpoint", str(ckpt.path), "--max-len", "5", "--tgt-lang", "aaa_Latn", "A dog."]) == 0


@pytest.mark.parametrize("key", ["src_lang", "tgt_lang"])
@pytest.mark.parametrize("value", ["src", "", 7, None, "x" * 65])
def test_a_multilingual_default_pair_outside_its_languages_is_refused_on_load(tmp_path, tokenizer, key, value):
    folder = make_multilingual(tmp_path / "multi", tokenizer)
    data = json.loads((folder / CONFIG_FILE).read_text())
    data[key] = value
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=rf"{key}\b.*(is not a language of the model|a language name of)"):
        load_checkpoint(folder)


def test_a_bilingual_checkpoint_keeps_any_short_label(tmp_path, checkpoint_dir):
    folder = tmp_path / "labels"
    shutil.copytree(checkpoint_dir, folder)
    data = json.loads((folder / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps(data | {"src_lang": "English", "tgt_lang": "src"}))
    assert (load_checkpoint(folder).src_lang, load_checkpoint(folder).tgt_lang) == ("English", "src")
    (folder / CONFIG_FILE).write_text(json.dumps(data | {"src_lang": ["en"]}))
    with pytest.raises(CheckpointError, match="src_lang = \\['en'\\]"):
        load_checkpoint(folder)


@pytest.mark.parametrize("codes", [{}, {"aaa_Latn": "\u2581a"}, {"aaa_Latn": "\u2581a", "ccc_Latn": "\u2581the"}])
def test_a_tokenizer_with_other_language_codes_than_the_config_is_refused(tmp_path, tokenizer, codes):
    folder = make_multilingual(tmp_path / "multi", tokenizer)
    ckpt = load_checkpoint(folder)
    for file in MultilingualTokenizer.files:
        (folder / file).unlink()
    if codes:  # files from another checkpoint: other codes
        vocab = ckpt.tokenizer.vocab
        MultilingualTokenizer(
            ckpt.tokenizer.source_proto, ckpt.tokenizer.target_proto, vocab, codes, *list(codes)[:1] * 2
        ).save(folder)
    else:  # a bilingual tokenizer
        tokenizer.save(folder)
    with pytest.raises(CheckpointError, match="(is missing: config.json records it|not the tokenizer this model was)"):
        load_checkpoint(folder)  # the recorded hashes catch the swap first
    data = json.loads((folder / CONFIG_FILE).read_text())
    data.pop("tokenizer_sha256")  # as written before they were recorded: the language codes still tell
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match="does not match config.json: it has .* language codes, the config 2"):
        load_checkpoint(folder)


def test_any_other_failure_while_loading_is_one_sentence_and_the_picker_stays(zoo, monkeypatch):
    """A check load_checkpoint lacks must not take the page down: ui/requests.load says it in one sentence."""
    import ui.requests

    root, _, _ = zoo
    real = ui.requests.cached_checkpoint

    def cached_checkpoint(path):
        if path.endswith("dropout-as-text"):
            raise RuntimeError("something no check foresaw\nsecond line")
        return real(path)

    monkeypatch.setattr(ui.requests, "cached_checkpoint", cached_checkpoint)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    at.run()
    at.selectbox(key="ckpt").set_value("dropout-as-text").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == ["This checkpoint cannot be used: RuntimeError: something no check foresaw"]
    at.selectbox(key="ckpt").set_value("a-good-model").run()
    assert not at.error and figures(at)

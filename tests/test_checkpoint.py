"""Checkpoint folders: exact round trip, and one clear error (never code execution) for bad files."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from model.core.checkpoint import (
    CONFIG_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    find_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from model.core.tokenizer import Tokenizer
from tests.conftest import tiny_model


class CodeRunningPayload:
    """Unpickling this runs os.system: what a malicious 'checkpoint' does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture()
def bad_copy(tmp_path, checkpoint_dir) -> Path:
    path = tmp_path / "copy"
    shutil.copytree(checkpoint_dir, path)
    return path


def test_round_trip_gives_identical_weights_and_outputs(checkpoint_dir, model):
    ckpt = load_checkpoint(checkpoint_dir)
    for name, value in model.state_dict().items():
        assert torch.equal(ckpt.model.state_dict()[name], value), name
    src, tgt = torch.tensor([[10, 11, 12, 3]]), torch.tensor([[2, 20, 21]])
    with torch.no_grad():  # same values; the loaded weights are column-major, so float rounding may differ
        torch.testing.assert_close(ckpt.model(src, tgt), model(src, tgt), rtol=1e-5, atol=1e-5)
    assert (ckpt.src_lang, ckpt.tgt_lang) == ("en", "de") and ckpt.card["note"]
    assert ckpt.model.generator.weight is ckpt.model.encoder.embed.token_embedding.weight


def test_float16_checkpoint_loads_as_float32(tmp_path, model, tokenizer):
    save_checkpoint(tmp_path / "half", model, tokenizer, "en", "de", dtype=torch.float16)
    ckpt = load_checkpoint(tmp_path / "half")
    assert ckpt.model.generator.weight.dtype == torch.float32
    expected = model.generator.weight.half().float()
    assert torch.equal(ckpt.model.generator.weight, expected)


def test_pickle_renamed_as_weights_is_refused_without_running(bad_copy, tmp_path):
    marker = tmp_path / "payload-ran"
    (bad_copy / WEIGHTS_FILE).write_bytes(pickle.dumps({"state_dict": CodeRunningPayload(marker)}))
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_checkpoint(bad_copy)
    torch.save({"x": CodeRunningPayload(marker)}, bad_copy / WEIGHTS_FILE)  # a zip-format torch pickle
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_checkpoint(bad_copy)
    assert not marker.exists()


def test_truncated_weights(bad_copy):
    data = (bad_copy / WEIGHTS_FILE).read_bytes()
    (bad_copy / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        load_checkpoint(bad_copy)


def test_config_that_does_not_match_the_weights(bad_copy):
    config = json.loads((bad_copy / CONFIG_FILE).read_text())
    config["model"]["d_ff"] = 128
    (bad_copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="does not match config.json: .*w_1.weight has shape"):
        load_checkpoint(bad_copy)
    config["model"]["n_encoder_layers"] = 3
    config["model"]["d_ff"] = 64
    (bad_copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(bad_copy)


def test_foreign_or_broken_tokenizer(bad_copy, corpus):
    other = Tokenizer.train(corpus[0][:500], vocab_size=200)
    (bad_copy / TOKENIZER_FILE).write_bytes(other.model_proto)
    with pytest.raises(CheckpointError, match="not the tokenizer this model was saved with"):
        load_checkpoint(bad_copy)
    config = json.loads((bad_copy / CONFIG_FILE).read_text())
    config.pop("tokenizer_sha256")  # as written before the hash was recorded: the vocabulary check still catches it
    (bad_copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="belongs to another model"):
        load_checkpoint(bad_copy)
    (bad_copy / TOKENIZER_FILE).write_bytes(b"not a sentencepiece model")
    with pytest.raises(CheckpointError, match="not a usable SentencePiece model"):
        load_checkpoint(bad_copy)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"format": "something-else"}',
        '{"format": "headlight-checkpoint", "version": 1, "model": {"vocab_size": 300, "d_model": 30}}',
    ],
)
def test_broken_config(bad_copy, content):
    (bad_copy / CONFIG_FILE).write_text(content)
    with pytest.raises(CheckpointError):
        load_checkpoint(bad_copy)


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="missing config.json, model.safetensors, tokenizer.model"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="is not a folder"):
        load_checkpoint(tmp_path / "nope")


def test_find_checkpoints_lists_only_checkpoint_folders(tmp_path, tokenizer):
    save_checkpoint(tmp_path / "b", tiny_model(tokenizer.vocab_size), tokenizer, "en", "fr")
    save_checkpoint(tmp_path / "a", tiny_model(tokenizer.vocab_size), tokenizer, "en", "de")
    (tmp_path / "notes").mkdir()
    assert [p.name for p in find_checkpoints(tmp_path)] == ["a", "b"]
    assert find_checkpoints(tmp_path / "absent") == []

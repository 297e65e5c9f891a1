"""Configs checked before allocation: the bounds, the header reader against safetensors' own, and the written-out
shapes against a real model's state dict for every option of the config."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from model.core.checkpoint import unique_state_dict
from model.core.config import TransformerConfig
from model.core.size_check import SizeError, check_sizes, compare_shapes, expected_shapes, safetensors_shapes
from model.core.transformer import Transformer

SMALL = dict(vocab_size=50, d_model=16, n_heads=2, d_ff=24, n_encoder_layers=2, n_decoder_layers=1, max_len=20)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"share_embeddings": False},
        {"share_embeddings": False, "tie_embeddings": False},
        {"tie_embeddings": False, "output_bias": False},
        {"norm_first": True},
        {"norm_first": True, "final_norm": False},
        {"final_norm": True},
        {"position_kind": "learned", "position_offset": 2, "embedding_norm": True, "share_embeddings": False},
        {"pe_formula": "fairseq", "position_offset": 2, "pad_id": 1, "unk_id": 3, "bos_id": 0, "eos_id": 2},
        {"n_encoder_layers": 3, "n_decoder_layers": 4},
    ],
)
def test_written_out_shapes_are_a_real_models(options):
    cfg = TransformerConfig(**(SMALL | options))
    real = {name: tuple(t.shape) for name, t in unique_state_dict(Transformer(cfg)).items()}
    assert expected_shapes(cfg) == real


def test_header_shapes_equal_safetensors_own_reading(tmp_path):
    file = tmp_path / "w.safetensors"
    tensors = {"a": torch.zeros(3, 4), "b": torch.ones(7, dtype=torch.float16), "c": torch.zeros(2, 0, 5)}
    save_file(tensors, str(file), metadata={"note": "x"})
    with safe_open(str(file), "pt") as f:
        reference = {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}  # noqa: SIM118 - safe_open is not iterable
    assert safetensors_shapes(file) == reference == {"a": (3, 4), "b": (7,), "c": (2, 0, 5)}


def forged(tmp_path, header: dict, data: bytes = b"", length: int | None = None):
    raw = json.dumps(header).encode()
    file = tmp_path / "forged.safetensors"
    file.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return file


@pytest.mark.parametrize(
    "header, data, length, message",
    [
        ({}, b"", 10**12, "announce"),  # e.g. a pickle's first bytes read as a length
        ({"w": {"dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 4 * 10**10]}}, b"", None, "outside"),
        ({"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 16]}}, bytes(16), None, "16 bytes"),
        ({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 0]}}, b"", None, "shape"),
        ({"w": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, bytes(4), None, "dtype"),
        ({"w": {"shape": [1]}}, b"", None, "lacks"),
        ([1, 2], b"", None, "not a JSON object"),
    ],
)
def test_forged_headers_are_refused_without_reading_tensors(tmp_path, header, data, length, message):
    with pytest.raises(SizeError, match=message):
        safetensors_shapes(forged(tmp_path, header, data, length))


def test_bounds_name_the_files_own_key():
    fields = {"encoder_layers": "n_encoder_layers", "d_model": "d_model", "vocab_size": "vocab_size", "pad": "pad_id"}
    for config, message in (
        ({"encoder_layers": 1_000_000}, "encoder_layers = 1000000; .* from 1 to 64"),
        ({"d_model": 1e9}, r"d_model = 1000000000.0; .* from 2 to 4096"),
        ({"d_model": True}, "d_model = True"),
        ({"vocab_size": 10, "pad": 10}, "pad = 10, which is not an id of its 10-piece vocabulary"),
    ):
        with pytest.raises(SizeError, match=message):
            check_sizes(config, "config.json", fields)
    check_sizes({"encoder_layers": 64, "d_model": 4096, "vocab_size": 10, "pad": 9}, "config.json", fields)
    check_sizes({}, "config.json")  # defaults are within bounds


def test_compare_shapes_says_what_differs():
    expected = {"a": (2, 3), "b": (4,)}
    assert compare_shapes(expected, {"a": (2, 3), "b": (4,)}) is None
    assert compare_shapes(expected, {"a": (2, 3)}) == "missing ['b']"
    assert compare_shapes(expected, expected | {"c": (1,)}) == "unexpected ['c']"
    wrong = compare_shapes(expected, {"a": (3, 2), "b": (4,)})
    assert wrong == "a has shape (3, 2) in the weights, (2, 3) in the config"

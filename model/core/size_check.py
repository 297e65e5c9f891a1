"""What a config.json claims, checked before anything is allocated: sane bounds, then the weights file's own header.

A folder's config decides how much memory building the model takes; a hostile or careless one (`d_model: 1e9`,
`encoder_layers: 1e6`) would allocate gigabytes before failing. So every loader checks, in this order and in
well under a second: each size against `SIZE_LIMITS` (`check_sizes`), then every tensor the config implies
against the shapes in the weights file's header (`safetensors_shapes`, `expected_shapes`, `compare_shapes`) and
its dtypes (`non_float`), and only then reads the tensors and builds the model. Used by `model.core.checkpoint` and
the importers.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import Tensor

from model.core.config import TransformerConfig

# Generous for translation models (NLLB-3.3B: 24 + 24 layers, d_model 2048, d_ff 8192, 16 heads, 256k pieces,
# 1024 positions; M2M-100-12B: d_model 4096), small enough that nothing within them is a surprise once the
# weights file's header agrees.
SIZE_LIMITS: dict[str, tuple[int, int]] = {
    "n_encoder_layers": (1, 64),
    "n_decoder_layers": (1, 64),
    "d_model": (2, 4096),
    "d_ff": (1, 65536),
    "n_heads": (1, 256),
    "vocab_size": (4, 1 << 20),
    "max_len": (1, 4096),  # a sinusoidal table is computed, not read: the weights file cannot vouch for its size
    "position_offset": (0, 1024),
}


SPECIAL_IDS = ("pad_id", "unk_id", "bos_id", "eos_id", "decoder_start_id")


# safetensors' own limit on the JSON header; a pickle's first bytes read as a length are far beyond it
MAX_HEADER_BYTES = 100_000_000


DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
}
FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}


# config.json's model section: our own names, and n_layers (one depth for both stacks, as older configs hold)
OUR_FIELDS = {name: name for name in (*SIZE_LIMITS, *SPECIAL_IDS)} | {"n_layers": "n_encoder_layers"}


class SizeError(ValueError):
    """A config or weights header that must not be built; the message says why in one sentence."""


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_sizes(config: Mapping[str, object], where: str, fields: Mapping[str, str] | None = None) -> None:
    """Refuse a size outside `SIZE_LIMITS`, or a special id outside the vocabulary, as the file states it.

    `config` is the file's own dictionary, `where` names the file in the message, and `fields` maps each key
    to check onto the config field it sets (default: our own names, e.g. Marian's encoder_ffn_dim -> d_ff).
    Keys the file leaves out are skipped: their defaults are within bounds.
    """
    fields = OUR_FIELDS if fields is None else fields
    present = [(key, field, config[key]) for key, field in fields.items() if key in config]
    for key, field, value in present:
        if field in SIZE_LIMITS:
            low, high = SIZE_LIMITS[field]
            if not (_whole(value) and low <= value <= high):
                raise SizeError(
                    f"{where} gives {key} = {value!r}; Headlight accepts a whole number from {low} to {high}."
                )
    vocab = next((value for _, field, value in present if field == "vocab_size"), None)
    for key, field, value in present:
        if field in SPECIAL_IDS and vocab is not None and not (_whole(value) and 0 <= value < vocab):
            raise SizeError(f"{where} gives {key} = {value!r}, which is not an id of its {vocab}-piece vocabulary.")


def safetensors_header(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Each tensor's dtype (safetensors' name, e.g. "F32") and shape from a safetensors file's JSON header, read
    without reading any tensor.

    The header is checked against the file: known dtypes, whole non-negative dimensions, and byte ranges
    that fit the file and match each shape, so a header cannot claim more than the file holds.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise SizeError(f"it has {len(prefix)} bytes, fewer than a safetensors header's length field")
        (length,) = struct.unpack("<Q", prefix)
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise SizeError(f"its first 8 bytes announce a {length}-byte header in a {size}-byte file")
        raw = f.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SizeError(f"its header is not JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise SizeError("its header is not a JSON object")
    data_bytes, tensors = size - 8 - length, {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise SizeError(f"its header entry for {name!r} lacks dtype, shape or data_offsets") from None
        if dtype not in DTYPE_BYTES or not isinstance(shape, list) or not all(_whole(d) and d >= 0 for d in shape):
            raise SizeError(f"its header gives {name!r} an unknown dtype or shape ({dtype!r}, {shape!r})")
        if not (_whole(begin) and _whole(end) and 0 <= begin <= end <= data_bytes):
            raise SizeError(f"its header puts {name!r} at bytes {begin}..{end}, outside the file's {data_bytes}")
        if end - begin != math.prod(shape) * DTYPE_BYTES[dtype]:
            raise SizeError(f"its header gives {name!r} {end - begin} bytes for a {dtype} tensor of shape {shape}")
        tensors[name] = (dtype, tuple(shape))
    return tensors


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape from a safetensors file's header (`safetensors_header`)."""
    return {name: shape for name, (_, shape) in safetensors_header(path).items()}


def non_float(dtypes: Mapping[str, str]) -> str | None:
    """The first tensor whose stored dtype is not a floating-point one, as the end of a sentence, or None. Every
    weight of our model is a float (checkpoints store float32, float16 or bfloat16; the int8 weight mode is made
    in memory, never saved): a bool or integer tensor would be cast to float and misread."""
    for name, dtype in dtypes.items():
        if dtype not in FLOAT_DTYPES:
            return f"{name} is stored as {dtype}, not as floating point"
    return None


def expected_shapes(cfg: TransformerConfig) -> dict[str, tuple[int, ...]]:
    """Each tensor a checkpoint of `cfg` stores (tied tensors once, under the name saved), with its shape.

    Written out from the config alone, so nothing is allocated (a model on the meta device would be exact too,
    but its first use imports torch's compiler stack: seconds). It mirrors model/core/transformer.py;
    tests/test_size_check.py holds it to a real model's state dict for every option of the config.
    """
    d, d_ff, vocab = cfg.d_model, cfg.d_ff, cfg.vocab_size
    shapes: dict[str, tuple[int, ...]] = {}

    def linear(name: str, rows: int, cols: int, bias: bool = True) -> None:
        shapes[f"{name}.weight"] = (rows, cols)
        if bias:
            shapes[f"{name}.bias"] = (rows,)

    def norm(name: str) -> None:
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (d,), (d,)

    def attention(name: str) -> None:
        for part in ("w_q", "w_k", "w_v", "w_o"):
            linear(f"{name}.{part}", d, d)

    for stack in ("encoder", "decoder"):
        if stack == "encoder" or not cfg.share_embeddings:
            shapes[f"{stack}.embed.token_embedding.weight"] = (vocab, d)
        if cfg.position_kind == "learned":
            shapes[f"{stack}.embed.pe"] = (cfg.position_offset + cfg.max_len, d)
        if cfg.embedding_norm:
            norm(f"{stack}.embed.norm")
        sublayers = ("attn", "ffn") if stack == "encoder" else ("self", "cross", "ffn")
        for i in range(cfg.layers(stack)):
            layer = f"{stack}.layers.{i}"
            attention(f"{layer}.self_attn")
            if stack == "decoder":
                attention(f"{layer}.cross_attn")
            linear(f"{layer}.ffn.w_1", d_ff, d)
            linear(f"{layer}.ffn.w_2", d, d_ff)
            for sublayer in sublayers:
                norm(f"{layer}.sublayer_{sublayer}.norm")
        if cfg.has_final_norm:
            norm(f"{stack}.final_norm")
    if not cfg.tie_embeddings:
        shapes["generator.weight"] = (vocab, d)
    if cfg.output_bias:
        shapes["generator.bias"] = (vocab,)
    return shapes


def compare_shapes(expected: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]]) -> str | None:
    """None when `found` has exactly the tensors `expected` names, with their shapes; otherwise what differs,
    as the end of a sentence ("missing [...]", "unexpected [...]", "NAME has shape ... in the weights, ...")."""
    absent, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if absent:
        return f"missing {absent[:3]}"
    if extra:
        return f"unexpected {extra[:3]}"
    for name, shape in expected.items():
        if tuple(found[name]) != tuple(shape):
            return f"{name} has shape {tuple(found[name])} in the weights, {tuple(shape)} in the config"
    return None


def mapped_difference(
    cfg: TransformerConfig,
    shapes: Mapping[str, tuple[int, ...]],
    to_ours: Callable[[dict[str, Tensor]], Mapping[str, Tensor]],
) -> str | None:
    """`compare_shapes` for weights stored under another model's names: the importer's own mapping `to_ours`
    (names and shapes in, our state dict out) runs on shape-only tensors on the meta device, so nothing is
    allocated; tied tensors it fills twice are compared once, as `expected_shapes` lists them."""
    ours = to_ours({name: torch.empty(shape, device="meta") for name, shape in shapes.items()})
    expected = expected_shapes(cfg)
    return compare_shapes(expected, {name: tuple(t.shape) for name, t in ours.items() if name in expected})

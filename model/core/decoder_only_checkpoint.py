"""Checkpoint folders of decoder-only language models: safetensors weights (bfloat16 or float32, as the model
shipped), config.json with `"architecture": "decoder-only"`, the model's tokenizer.json and chat template.

Loaded with the same refusals as the encoder-decoder checkpoints (`model.core.checkpoint`, which dispatches here):
nothing is unpickled; a file linking outside the folder, sizes out of bounds, a weights header other than the
config implies, non-float or non-finite weights, and a tokenizer other than the one recorded (by SHA-256) are each
one sentence, and the sizes and the header are checked before anything is allocated. This module does not import
`model.core.checkpoint` (which imports it); `load_checkpoint` wraps what it returns in a `Checkpoint`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from model.core.decoder_only import DecoderOnlyTransformer
from model.core.decoder_only_config import ARCHITECTURE, DecoderOnlyConfig
from model.core.decoder_only_tokenizer import DEFAULT_INSTRUCTION, SPECIAL_TOKENS, ChatTokenizer, check_instruction
from model.core.files import sha256_file
from model.core.size_check import SizeError, compare_shapes, non_float, safetensors_header

FORMAT, VERSION = "headlight-checkpoint", 1  # the same marker and version as model.core.checkpoint's
CONFIG_FILE, WEIGHTS_FILE, CARD_JSON = "config.json", "model.safetensors", "card.json"
TOKENIZER_HASHES = "tokenizer_sha256"
MAX_CONFIG_BYTES = 16 << 20
MAX_LABEL_CHARS = 64


class DecoderOnlyCheckpointError(ValueError):
    """A decoder-only checkpoint folder that cannot be used; the message says why in one sentence."""


def decoder_only_shapes(cfg: DecoderOnlyConfig) -> dict[str, tuple[int, ...]]:
    """Each tensor a checkpoint of `cfg` stores (the tied output layer once, as the embedding), with its shape;
    written out from the config alone, so nothing is allocated. tests/test_decoder_only.py holds it to a model."""
    d, hd, shapes = cfg.d_model, cfg.head_dim, {}

    def linear(name: str, rows: int, cols: int, bias: bool) -> None:
        shapes[f"{name}.weight"] = (rows, cols)
        if bias:
            shapes[f"{name}.bias"] = (rows,)

    shapes["decoder.embed.token_embedding.weight"] = (cfg.vocab_size, d)
    for i in range(cfg.n_layers):
        layer = f"decoder.layers.{i}"
        linear(f"{layer}.self_attn.w_q", cfg.n_heads * hd, d, cfg.qkv_bias)
        linear(f"{layer}.self_attn.w_k", cfg.n_kv_heads * hd, d, cfg.qkv_bias)
        linear(f"{layer}.self_attn.w_v", cfg.n_kv_heads * hd, d, cfg.qkv_bias)
        linear(f"{layer}.self_attn.w_o", d, cfg.n_heads * hd, cfg.o_bias)
        if cfg.qk_norm:
            shapes[f"{layer}.self_attn.q_norm.weight"] = shapes[f"{layer}.self_attn.k_norm.weight"] = (hd,)
        linear(f"{layer}.ffn.w_gate", cfg.d_ff, d, cfg.mlp_bias)
        linear(f"{layer}.ffn.w_up", cfg.d_ff, d, cfg.mlp_bias)
        linear(f"{layer}.ffn.w_down", d, cfg.d_ff, cfg.mlp_bias)
        for place in ("attn", "attn_out", "ffn", "ffn_out") if cfg.sandwich_norms else ("attn", "ffn"):
            shapes[f"{layer}.norm_{place}.weight"] = (d,)
    shapes["decoder.final_norm.weight"] = (d,)
    if not cfg.tie_embeddings:
        shapes["generator.weight"] = (cfg.vocab_size, d)
    return shapes


def save_decoder_only(
    path: str | Path,
    cfg: DecoderOnlyConfig,
    state: dict[str, torch.Tensor],
    tokenizer: ChatTokenizer,
    src_lang: str,
    tgt_lang: str,
    card: dict | None = None,
    card_markdown: str | None = None,
) -> Path:
    """Write a checkpoint folder; `state` holds our names (`decoder_only_shapes`) in the dtype to store."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    difference = compare_shapes(decoder_only_shapes(cfg), {k: tuple(v.shape) for k, v in state.items()})
    if difference:
        raise ValueError(f"the weights do not match the config: {difference}")
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(path / WEIGHTS_FILE))
    tokenizer.save(path)
    config = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": ARCHITECTURE,
        "src_lang": src_lang,
        "tgt_lang": tgt_lang,
        TOKENIZER_HASHES: {name: sha256_file(path / name) for name in tokenizer.files},
        "chat": {**tokenizer.special, "instruction": tokenizer.instruction},
        "model": cfg.to_dict(),
    }
    (path / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    if card is not None:
        (path / CARD_JSON).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    if card_markdown is not None:
        (path / "README.md").write_text(card_markdown)
    return path


def _read_config(path: Path) -> dict | None:
    file = path / CONFIG_FILE
    try:
        if file.is_symlink() and not file.resolve().is_relative_to(path.resolve()):
            return None
        if not file.is_file() or file.stat().st_size > MAX_CONFIG_BYTES:
            return None
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def is_decoder_only(path: str | Path) -> bool:
    """Whether a folder's config.json marks a decoder-only checkpoint (False for anything unreadable: the usual
    loader then says what is wrong)."""
    data = _read_config(Path(path))
    return data is not None and data.get("architecture") == ARCHITECTURE


def _refuse_outside_links(path: Path, names: tuple[str, ...]) -> None:
    for name in names:
        file = path / name
        if file.is_symlink() and not file.resolve().is_relative_to(path.resolve()):
            raise DecoderOnlyCheckpointError(
                f"{file} is a link to {file.resolve()}, outside the checkpoint folder: Headlight reads only files "
                "inside it."
            )


def _label(data: dict, key: str, default: str, where: Path) -> str:
    value = data.get(key, default)
    if not (isinstance(value, str) and 0 < len(value) <= MAX_LABEL_CHARS):
        raise DecoderOnlyCheckpointError(
            f"{where} gives {key} = {value!r}; a language name of 1 to {MAX_LABEL_CHARS} characters is needed."
        )
    return value


def read_chat(data: dict, where: Path) -> tuple[dict[str, str], str]:
    """The special tokens' strings and the translation instruction from config.json's "chat" section."""
    chat = data.get("chat", {})
    if not isinstance(chat, dict):
        raise DecoderOnlyCheckpointError(f"{where} has a chat section that is not a JSON object.")
    special = {k: chat[k] for k in SPECIAL_TOKENS if k in chat}
    if not all(isinstance(v, str) and len(v) <= 256 for v in special.values()):
        raise DecoderOnlyCheckpointError(f"{where} gives a special token that is not a short string.")
    instruction = chat.get("instruction", DEFAULT_INSTRUCTION)
    try:
        check_instruction(instruction)
    except ValueError as exc:
        raise DecoderOnlyCheckpointError(f"{where}: {exc}.") from None
    return special, instruction


def load_decoder_only(path: str | Path, device: str | torch.device = "cpu"):
    """(model in eval mode, float32; tokenizer with its instruction; src_lang; tgt_lang; notes) of a decoder-only
    checkpoint folder. Every problem is one DecoderOnlyCheckpointError sentence."""
    path = Path(path)
    where = path / CONFIG_FILE
    _refuse_outside_links(path, (CONFIG_FILE, WEIGHTS_FILE, CARD_JSON, *ChatTokenizer.files))
    missing = [f for f in (CONFIG_FILE, WEIGHTS_FILE, *ChatTokenizer.files) if not (path / f).is_file()]
    if missing:
        raise DecoderOnlyCheckpointError(f"{path} is not a decoder-only checkpoint: missing {', '.join(missing)}.")
    data = _checked_config(path)
    try:
        cfg = DecoderOnlyConfig.from_dict(data["model"])  # every size within bounds before anything is built
    except (TypeError, ValueError) as exc:
        raise DecoderOnlyCheckpointError(f"{where} has an invalid model section ({exc}).") from None
    src_lang, tgt_lang = _label(data, "src_lang", "English", where), _label(data, "tgt_lang", "Korean", where)
    special, instruction = read_chat(data, where)
    _check_weights_header(path, cfg)
    notes = _check_tokenizer_files(path, data)
    try:
        tokenizer = ChatTokenizer.load(path, special, instruction)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DecoderOnlyCheckpointError(f"The tokenizer or chat template in {path} cannot be used ({exc}).") from None
    if tokenizer.vocab_size > cfg.vocab_size:
        raise DecoderOnlyCheckpointError(
            f"The tokenizer in {path} has {tokenizer.vocab_size} pieces, more than the model's {cfg.vocab_size}."
        )
    model = DecoderOnlyTransformer(cfg)
    state = _checked_weights(path / WEIGHTS_FILE)
    if cfg.tie_embeddings:
        state["generator.weight"] = state["decoder.embed.token_embedding.weight"]
    model.load_state_dict(state, strict=True)
    return model.to(device).eval(), tokenizer, src_lang, tgt_lang, notes


def _checked_config(path: Path) -> dict:
    """config.json as a JSON object of this format and version, with a model section."""
    where = path / CONFIG_FILE
    data = _read_config(path)
    if data is None:
        raise DecoderOnlyCheckpointError(
            f"{where} cannot be read as a JSON object of at most {MAX_CONFIG_BYTES} bytes."
        )
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise DecoderOnlyCheckpointError(
            f"{where} is not a Headlight config of version {VERSION} (format {data.get('format')!r}, version "
            f"{data.get('version')!r})."
        )
    if not isinstance(data.get("model"), dict):
        raise DecoderOnlyCheckpointError(f"{where} has no model section.")
    return data


def _check_weights_header(path: Path, cfg: DecoderOnlyConfig) -> None:
    """The weights file's header names exactly the model's tensors, in its shapes and of float types: checked before
    anything is allocated."""
    weights = path / WEIGHTS_FILE
    try:
        header = safetensors_header(weights)
    except SizeError as exc:
        raise DecoderOnlyCheckpointError(
            f"{weights} is not a valid safetensors file (truncated, or another format such as a pickle): {exc}."
        ) from None
    difference = compare_shapes(decoder_only_shapes(cfg), {name: shape for name, (_, shape) in header.items()})
    if difference:
        raise DecoderOnlyCheckpointError(f"{weights} does not match {CONFIG_FILE}: {difference}.")
    wrong_type = non_float({name: dtype for name, (dtype, _) in header.items()})
    if wrong_type:
        raise DecoderOnlyCheckpointError(f"{weights} cannot be this model's weights: {wrong_type}.")


def _check_tokenizer_files(path: Path, data: dict) -> list[str]:
    """Refuse tokenizer files other than the ones config.json records; the notes to show where it records none."""
    recorded = data.get(TOKENIZER_HASHES)
    if recorded is None:
        return [f"{CONFIG_FILE} records no tokenizer hash, so the tokenizer in {path.name} could not be checked."]
    if not (isinstance(recorded, dict) and set(recorded) == set(ChatTokenizer.files)):
        raise DecoderOnlyCheckpointError(
            f"{path / CONFIG_FILE} gives {TOKENIZER_HASHES} for other files than {ChatTokenizer.files}."
        )
    for name, digest in recorded.items():
        if sha256_file(path / name) != digest:
            raise DecoderOnlyCheckpointError(
                f"{path / name} is not the one this model was saved with: its SHA-256 differs from {CONFIG_FILE}'s."
            )
    return []


def _checked_weights(weights: Path) -> dict[str, torch.Tensor]:
    """The weights as float32 tensors, read without unpickling; NaN or infinity refused."""
    try:
        tensors = load_file(str(weights))  # parses a JSON header, never unpickles
    except Exception as exc:  # safetensors raises its own error types
        raise DecoderOnlyCheckpointError(f"{weights} is not a valid safetensors file ({exc}).") from None
    for name, tensor in tensors.items():
        if not math.isfinite(tensor.float().sum()) and not bool(torch.isfinite(tensor).all()):
            raise DecoderOnlyCheckpointError(f"{weights} holds NaN or infinity in {name}: the weights are damaged.")
    return {k: v.float() for k, v in tensors.items()}

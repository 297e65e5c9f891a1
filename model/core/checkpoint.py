"""Checkpoint folders: safetensors weights, JSON config, the tokenizer files and a model card.

The tokenizer is one joint SentencePiece model (`tokenizer.model`), or a source/target pair with one
id map (`source.spm`, `target.spm`, `vocab.json`, as OPUS-MT ships them).

Loading never unpickles anything, so a checkpoint downloaded from anywhere cannot run code. Every
problem with a folder surfaces as one `CheckpointError` sentence, never a traceback.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from model.core.config import TransformerConfig
from model.core.hf_tokenizers import check_language, load_tokenizer  # multilingual (languages.json) or bilingual
from model.core.interface import TranslationTokenizer
from model.core.size_check import SizeError, check_sizes, compare_shapes, expected_shapes, safetensors_shapes
from model.core.tokenizer import Tokenizer, TokenizerPair
from model.core.transformer import Transformer

FORMAT = "headlight-checkpoint"
VERSION = 1
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
TOKENIZER_FILE = Tokenizer.files[0]  # the joint tokenizer
CARD_JSON, CARD_MD = "card.json", "README.md"
MAX_LABEL_CHARS = 64  # src_lang / tgt_lang: a bilingual model's labels ("en") or a multilingual one's codes


class CheckpointError(Exception):
    """A checkpoint folder that cannot be used; the message says why in one sentence."""


@dataclass
class Checkpoint:
    path: Path
    model: Transformer
    tokenizer: TranslationTokenizer
    src_lang: str
    tgt_lang: str
    card: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def languages(self) -> list[str]:
        """The language codes a multilingual model translates between (empty for a bilingual one); pass two of them
        as src_lang/tgt_lang to `model.decoding.translation.translate` (default: src_lang -> tgt_lang)."""
        return list(self.model.cfg.languages)


def unique_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The state dict with tied tensors stored once (safetensors refuses shared storage)."""
    seen, state = set(), {}
    for name, tensor in model.state_dict().items():
        if tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        state[name] = tensor
    return state


def save_checkpoint(
    path: str | Path,
    model: Transformer,
    tokenizer: TranslationTokenizer,
    src_lang: str,
    tgt_lang: str,
    card: dict | None = None,
    card_markdown: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Path:
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
        for k, v in unique_state_dict(model).items()
    }
    save_file(state, str(path / WEIGHTS_FILE))
    config = {
        "format": FORMAT,
        "version": VERSION,
        "src_lang": src_lang,
        "tgt_lang": tgt_lang,
        "model": model.cfg.to_dict(),
    }
    (path / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    tokenizer.save(path)
    if card is not None:
        (path / CARD_JSON).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    if card_markdown is not None:
        (path / CARD_MD).write_text(card_markdown)
    return path


def _read_json(file: Path) -> dict:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{file.name} in {file.parent} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{file.name} in {file.parent} must hold a JSON object.")
    return data


def read_config(path: Path) -> tuple[TransformerConfig, str, str]:
    data = _read_json(path / CONFIG_FILE)
    if data.get("format") != FORMAT:
        raise CheckpointError(f"{path / CONFIG_FILE} is not a Headlight config (format is {data.get('format')!r}).")
    if data.get("version") != VERSION:
        raise CheckpointError(
            f"{path / CONFIG_FILE} has format version {data.get('version')!r}; this Headlight reads {VERSION}."
        )
    model = data.get("model")
    if not isinstance(model, dict):
        raise CheckpointError(f"{path / CONFIG_FILE} has no model section.")
    try:
        check_sizes(model, str(path / CONFIG_FILE))  # before anything is built from them
    except SizeError as exc:
        raise CheckpointError(str(exc)) from None
    try:
        cfg = TransformerConfig.from_dict(model)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path / CONFIG_FILE} has an invalid model section ({exc}).") from None
    pair = []
    for key, default in (("src_lang", "src"), ("tgt_lang", "tgt")):
        code = data.get(key, default)
        if not (isinstance(code, str) and 0 < len(code) <= MAX_LABEL_CHARS):
            raise CheckpointError(
                f"{path / CONFIG_FILE} gives {key} = {code!r}; a language name of 1 to {MAX_LABEL_CHARS} characters "
                "is needed."
            )
        if cfg.languages:  # a multilingual model translates between its own languages only
            try:
                check_language(code, cfg.languages, key, f"the model in {path / CONFIG_FILE}")
            except ValueError as exc:
                raise CheckpointError(f"{exc}.") from None
        pair.append(code)
    return cfg, pair[0], pair[1]


def check_weights_header(path: Path, cfg: TransformerConfig) -> None:
    """Refuse a weights file whose header does not hold exactly the tensors `cfg` implies, before reading them."""
    weights = path / WEIGHTS_FILE
    try:
        found = safetensors_shapes(weights)
    except SizeError as exc:
        raise CheckpointError(
            f"{weights} is not a valid safetensors file (truncated, or another format such as a pickle): {exc}."
        ) from None
    except OSError as exc:
        raise CheckpointError(f"{weights} cannot be read ({exc.strerror}).") from None
    difference = compare_shapes(expected_shapes(cfg), found)
    if difference:
        raise CheckpointError(f"{weights} does not match {CONFIG_FILE}: {difference}.")


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint folder for inference (eval mode, float32)."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a folder.")
    missing = [f for f in (CONFIG_FILE, WEIGHTS_FILE) if not (path / f).is_file()]
    if not (path / Tokenizer.files[0]).is_file() and not all((path / f).is_file() for f in TokenizerPair.files):
        missing.append(f"{Tokenizer.files[0]} (or {', '.join(TokenizerPair.files)})")
    if missing:
        raise CheckpointError(f"{path} is not a checkpoint: missing {', '.join(missing)}.")
    cfg, src_lang, tgt_lang = read_config(path)  # sizes within bounds
    check_weights_header(path, cfg)  # and what the weights file holds: nothing is allocated before both pass

    try:
        tokenizer = load_tokenizer(path)
    except Exception as exc:  # sentencepiece raises RuntimeError or OSError for foreign files
        files = TOKENIZER_FILE if (path / TOKENIZER_FILE).is_file() else " / ".join(TokenizerPair.files)
        raise CheckpointError(f"{path / files} is not a usable SentencePiece model and vocabulary ({exc}).") from None
    files = ", ".join(tokenizer.files)
    if tokenizer.vocab_size != cfg.vocab_size:
        raise CheckpointError(
            f"{path / files} has {tokenizer.vocab_size} pieces but the config expects {cfg.vocab_size}: "
            "the tokenizer belongs to another model."
        )
    specials = {"pad_id": tokenizer.pad_id, "unk_id": tokenizer.unk_id, "eos_id": tokenizer.eos_id}
    wrong = [f"{k} {v} (config: {getattr(cfg, k)})" for k, v in specials.items() if getattr(cfg, k) != v]
    if wrong:
        raise CheckpointError(f"The tokenizer in {path} does not match {CONFIG_FILE}: {', '.join(wrong)}.")
    codes = getattr(tokenizer, "languages", [])  # a bilingual tokenizer has none
    if set(codes) != set(cfg.languages):  # else a chosen language would fail later, at translation
        raise CheckpointError(
            f"The tokenizer in {path} does not match {CONFIG_FILE}: it has {len(codes)} language codes, the config "
            f"{len(cfg.languages)}{' (other ones)' if len(codes) == len(cfg.languages) else ''}."
        )

    try:
        tensors = load_file(str(path / WEIGHTS_FILE))  # parses a JSON header, never unpickles
    except Exception as exc:
        raise CheckpointError(
            f"{path / WEIGHTS_FILE} is not a valid safetensors file (truncated, or another format such as a "
            f"pickle): {exc}."
        ) from None

    model = Transformer(cfg)
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    model.to(device).eval().use_column_major_weights()
    card = _read_json(path / CARD_JSON) if (path / CARD_JSON).is_file() else {}
    return Checkpoint(path, model, tokenizer, src_lang, tgt_lang, card)


def with_languages(
    ckpt: Checkpoint,
    src_lang: str | None,
    tgt_lang: str | None,
    labels: tuple[str, str] = ("--src-lang", "--tgt-lang"),
) -> Checkpoint:
    """The checkpoint set to translate src_lang -> tgt_lang (its tokenizer's default pair and its src_lang/tgt_lang;
    None keeps the checkpoint's). A code the checkpoint does not know, or any code for a bilingual checkpoint, is a
    ValueError in one sentence naming the code by its label (default: the commands' flags)."""
    for label, code in zip(labels, (src_lang, tgt_lang)):
        if code is not None:
            check_language(code, ckpt.languages, label, ckpt.name)
    if not (src_lang or tgt_lang):
        return ckpt
    tokenizer = ckpt.tokenizer.with_languages(src_lang, tgt_lang)
    return dataclasses.replace(ckpt, tokenizer=tokenizer, src_lang=tokenizer.src_lang, tgt_lang=tokenizer.tgt_lang)


def find_checkpoints(root: str | Path) -> list[Path]:
    """Folders under `root` (one level) that look like checkpoints, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / CONFIG_FILE).is_file())

"""Checkpoint folders: safetensors weights, JSON config, the tokenizer files and a model card.

The tokenizer is one joint SentencePiece model (`tokenizer.model`), or a source/target pair with one
id map (`source.spm`, `target.spm`, `vocab.json`, as OPUS-MT ships them).

Loading never unpickles anything, so a checkpoint downloaded from anywhere cannot run code. Every
problem with a folder surfaces as one `CheckpointError` sentence, never a traceback. A model that is not what it
claims is refused: a file that links outside the folder, weights that are not floating point or hold NaN or
infinity, a tokenizer other than the one recorded (by SHA-256) when the checkpoint was written. What loads but is
worth saying (no recorded tokenizer hash, a malformed model card) goes to `Checkpoint.notes`.

The side files the views read (gallery.json, the card's sections) have their own validating readers here, so a
malformed one is one sentence and the rest of the page works.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from model.core.config import TransformerConfig
from model.core.decoder_only_checkpoint import DecoderOnlyCheckpointError, is_decoder_only, load_decoder_only
from model.core.files import read_json_within, sha256_file
from model.core.hf_tokenizers import (  # multilingual (languages.json) or bilingual
    MultilingualTokenizer,
    check_language,
    load_tokenizer,
)
from model.core.interface import TranslationTokenizer, language_codes
from model.core.size_check import SizeError, check_sizes, compare_shapes, expected_shapes, non_float, safetensors_header
from model.core.tokenizer import Tokenizer, TokenizerPair
from model.core.transformer import Transformer

FORMAT = "headlight-checkpoint"
VERSION = 1
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
TOKENIZER_FILE = Tokenizer.files[0]  # the joint tokenizer
CARD_JSON, CARD_MD = "card.json", "README.md"
GALLERY_JSON = "gallery.json"
MAX_LABEL_CHARS = 64  # src_lang / tgt_lang: a bilingual model's labels ("en") or a multilingual one's codes
TOKENIZER_HASHES = "tokenizer_sha256"  # config.json: {file name: SHA-256 hex digest} of the tokenizer's files
TOKENIZER_FILES = tuple(dict.fromkeys((*Tokenizer.files, *TokenizerPair.files, *MultilingualTokenizer.files)))
MAX_SIDE_FILE_BYTES = 16 << 20  # a side file (card, gallery, statistics) is kilobytes; more is not one of ours
MAX_GALLERY_ITEMS = 1000


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
    notes: list[str] = field(default_factory=list)  # sentences worth showing beside the model (a caption, stderr)

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
    tokenizer.save(path)
    config = {
        "format": FORMAT,
        "version": VERSION,
        "src_lang": src_lang,
        "tgt_lang": tgt_lang,
        TOKENIZER_HASHES: tokenizer_hashes(path, tokenizer.files),
        "model": model.cfg.to_dict(),
    }
    (path / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    if card is not None:
        (path / CARD_JSON).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    if card_markdown is not None:
        (path / CARD_MD).write_text(card_markdown)
    return path


def tokenizer_hashes(path: Path, files: tuple[str, ...] | list[str]) -> dict[str, str]:
    """{file name: SHA-256} of the tokenizer's files in `path`: what `sha256sum` prints for them."""
    return {name: sha256_file(path / name) for name in files}


def check_inside(folder: Path, file: Path) -> None:
    """Refuse a file (a symbolic link) that leads outside `folder`: a checkpoint is only what its folder holds."""
    target = file.resolve()
    if not target.is_relative_to(folder.resolve()):
        raise CheckpointError(
            f"{file} is a link to {target}, outside the checkpoint folder: Headlight reads only files inside it."
        )


def read_json_file(file: Path, kind: type | tuple[type, ...] = dict, what: str = "a JSON object"):
    """A side file's JSON, of type `kind`; anything else (unreadable, a link outside its folder, too large, not JSON,
    nested too deep for Python's parser, another type) is a CheckpointError naming the file and saying why."""
    where = f"{file.name} in {file.parent}"
    check_inside(file.parent, file)

    def too_large(size: int) -> str:
        return f"{where} has {size} bytes, more than the {MAX_SIDE_FILE_BYTES} a side file may have."

    return read_json_within(file, MAX_SIDE_FILE_BYTES, CheckpointError, where, too_large, kind, what)


def _read_json(file: Path) -> dict:
    return read_json_file(file)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _card_problem(key: str, value: object) -> str | None:
    """What is wrong with one of the card sections the app reads, as the end of a sentence, or None."""
    if key == "evaluation":
        test_sets = list(value.values()) if isinstance(value, dict) else [None]
        runs = [run for scores in test_sets if isinstance(scores, dict) for run in scores.values()]
        if not all(isinstance(scores, dict) for scores in test_sets) or not all(
            isinstance(run, dict) and _number(run.get("bleu")) for run in runs
        ):
            return "evaluation must map each test set to its decodings' scores, each with a number for bleu"
    elif key in ("data", "training") and not isinstance(value, dict):
        return f"{key} must be a JSON object"
    elif key == "data" and not (value.get("max_train_pieces") is None or _number(value["max_train_pieces"])):
        return "data.max_train_pieces must be a number"
    elif key == "training" and not (value.get("steps") is None or _number(value["steps"])):
        return "training.steps must be a number"
    return None


def read_card(path: Path) -> tuple[dict, list[str]]:
    """The folder's card.json ({} without one) and a sentence for each problem: a card that cannot be read is
    left out, and so is each section the app reads (evaluation, data, training) that has the wrong shape."""
    file = path / CARD_JSON
    if not file.is_file() and not file.is_symlink():
        return {}, []
    try:
        card = read_json_file(file)
    except CheckpointError as exc:
        return {}, [f"{str(exc).removesuffix('.')}; the model card is left out."]
    notes = []
    for key in ("evaluation", "data", "training"):
        problem = _card_problem(key, card[key]) if key in card else None
        if problem:
            notes.append(f"{CARD_JSON} in {path}: {problem}; that part of the card is left out.")
            card.pop(key)
    return card, notes


def _listed(value: object) -> list:
    return value if isinstance(value, list) else [value]


def read_gallery(path: str | Path) -> tuple[list[dict], str | None]:
    """The example sentences of the folder's gallery.json ([{"text", "look", "kind", "expect"}]: strings, "text" and
    "look" required, "expect" also a list of strings) and one sentence on what was wrong, if anything: a file that
    cannot be used gives no sentences, an item of the wrong shape is left out."""
    file = Path(path) / GALLERY_JSON
    if not file.is_file() and not file.is_symlink():
        return [], None
    try:
        items = read_json_file(file, list, "a list of examples")
    except CheckpointError as exc:
        return [], str(exc)
    if len(items) > MAX_GALLERY_ITEMS:
        return [], f"{file.name} in {file.parent} holds {len(items)} examples, more than {MAX_GALLERY_ITEMS}."
    good = [
        item
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("text"), str)
        and isinstance(item.get("look"), str)
        and isinstance(item.get("kind", ""), str)
        and all(isinstance(part, str) for part in _listed(item.get("expect", "")))
    ]
    if len(good) < len(items):
        return good, (
            f"{file.name} in {file.parent}: {len(items) - len(good)} of its {len(items)} examples are not objects "
            'with the strings "text" and "look" and were left out.'
        )
    return good, None


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
    """Refuse a weights file whose header does not hold exactly the tensors `cfg` implies, in floating point, before
    reading them."""
    weights = path / WEIGHTS_FILE
    try:
        header = safetensors_header(weights)
    except SizeError as exc:
        raise CheckpointError(
            f"{weights} is not a valid safetensors file (truncated, or another format such as a pickle): {exc}."
        ) from None
    except OSError as exc:
        raise CheckpointError(f"{weights} cannot be read ({exc.strerror}).") from None
    difference = compare_shapes(expected_shapes(cfg), {name: shape for name, (_, shape) in header.items()})
    if difference:
        raise CheckpointError(f"{weights} does not match {CONFIG_FILE}: {difference}.")
    wrong_type = non_float({name: dtype for name, (dtype, _) in header.items()})
    if wrong_type:
        raise CheckpointError(f"{weights} cannot be this model's weights: {wrong_type}.")


def recorded_tokenizer(path: Path) -> dict[str, str] | None:
    """The tokenizer hashes config.json records ({file: SHA-256}), or None where it records none."""
    recorded = _read_json(path / CONFIG_FILE).get(TOKENIZER_HASHES)
    if recorded is None:
        return None
    if not (
        isinstance(recorded, dict)
        and recorded
        and all(
            name in TOKENIZER_FILES
            and isinstance(digest, str)
            and len(digest) == 64
            and set(digest) <= set("0123456789abcdef")
            for name, digest in recorded.items()
        )
    ):
        raise CheckpointError(
            f"{path / CONFIG_FILE} gives {TOKENIZER_HASHES} = {str(recorded)[:80]!r}; a map from each tokenizer file "
            "to its SHA-256 (64 lowercase hex digits) is needed."
        )
    return recorded


def check_tokenizer_files(path: Path, recorded: dict[str, str]) -> None:
    """Refuse tokenizer files other than the ones the checkpoint was written with, before parsing them."""
    for name, digest in recorded.items():
        file = path / name
        if not file.is_file():
            raise CheckpointError(f"{file} is missing: {CONFIG_FILE} records it as part of the tokenizer.")
        if sha256_file(file) != digest:
            raise CheckpointError(
                f"{file} is not the tokenizer this model was saved with: its SHA-256 differs from the one in "
                f"{CONFIG_FILE}."
            )


def check_finite(tensors: dict[str, torch.Tensor], weights: Path) -> None:
    """Refuse weights holding NaN or infinity: they translate into nonsense. A float32 sum is finite only if every
    element is (NaN and infinity propagate), and costs a few ms per 100 MB; only a sum that is not finite (possibly
    an overflow of large but finite values) is checked element by element."""
    for name, tensor in tensors.items():
        if not math.isfinite(tensor.float().sum()) and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{weights} holds NaN or infinity in {name}: the weights are damaged.")


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint folder for inference (eval mode, float32)."""
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"{path} is not a folder.")
    if is_decoder_only(path):  # a language model (model.core.decoder_only), with the same refusals
        try:
            model, tokenizer, src_lang, tgt_lang, notes = load_decoder_only(path, device)
        except DecoderOnlyCheckpointError as exc:
            raise CheckpointError(str(exc)) from None
        card, card_notes = read_card(path)
        return Checkpoint(path, model, tokenizer, src_lang, tgt_lang, card, notes + card_notes)
    check_checkpoint_files(path)
    cfg, src_lang, tgt_lang = read_config(path)  # sizes within bounds
    check_weights_header(path, cfg)  # and what the weights file holds: nothing is allocated before both pass
    recorded, notes = recorded_tokenizer(path), []
    if recorded is None:
        notes.append(
            f"{CONFIG_FILE} records no tokenizer hash (written before Headlight recorded one), so the tokenizer in "
            f"{path.name} could not be checked against the model."
        )
    else:
        check_tokenizer_files(path, recorded)
    tokenizer = checked_tokenizer(path, cfg, recorded)
    model = Transformer(cfg)
    model.load_state_dict(checked_weights(path), strict=False)
    model.to(device).eval().use_column_major_weights()
    card, card_notes = read_card(path)
    return Checkpoint(path, model, tokenizer, src_lang, tgt_lang, card, notes + card_notes)


def check_checkpoint_files(path: Path) -> None:
    """Refuse a folder without a config, weights and a tokenizer, or whose files link outside it."""
    for name in (CONFIG_FILE, WEIGHTS_FILE, CARD_JSON, *TOKENIZER_FILES):
        if (path / name).is_symlink():
            check_inside(path, path / name)
    missing = [f for f in (CONFIG_FILE, WEIGHTS_FILE) if not (path / f).is_file()]
    if not (path / Tokenizer.files[0]).is_file() and not all((path / f).is_file() for f in TokenizerPair.files):
        missing.append(f"{Tokenizer.files[0]} (or {', '.join(TokenizerPair.files)})")
    if missing:
        raise CheckpointError(f"{path} is not a checkpoint: missing {', '.join(missing)}.")


def checked_tokenizer(path: Path, cfg: TransformerConfig, recorded: dict[str, str] | None) -> TranslationTokenizer:
    """The folder's tokenizer, refused unless it is the one recorded and agrees with the config (vocabulary size,
    special ids, language codes)."""
    try:
        tokenizer = load_tokenizer(path)
    except Exception as exc:  # sentencepiece raises RuntimeError or OSError for foreign files
        files = TOKENIZER_FILE if (path / TOKENIZER_FILE).is_file() else " / ".join(TokenizerPair.files)
        raise CheckpointError(f"{path / files} is not a usable SentencePiece model and vocabulary ({exc}).") from None
    files = ", ".join(tokenizer.files)
    if recorded is not None and set(tokenizer.files) != set(recorded):
        raise CheckpointError(
            f"The tokenizer in {path} ({files}) is not the one this model was saved with ({', '.join(recorded)})."
        )
    if tokenizer.vocab_size != cfg.vocab_size:
        raise CheckpointError(
            f"{path / files} has {tokenizer.vocab_size} pieces but the config expects {cfg.vocab_size}: "
            "the tokenizer belongs to another model."
        )
    specials = {"pad_id": tokenizer.pad_id, "unk_id": tokenizer.unk_id, "eos_id": tokenizer.eos_id}
    wrong = [f"{k} {v} (config: {getattr(cfg, k)})" for k, v in specials.items() if getattr(cfg, k) != v]
    if wrong:
        raise CheckpointError(f"The tokenizer in {path} does not match {CONFIG_FILE}: {', '.join(wrong)}.")
    codes = list(language_codes(tokenizer))  # a bilingual tokenizer has none
    if set(codes) != set(cfg.languages):  # else a chosen language would fail later, at translation
        raise CheckpointError(
            f"The tokenizer in {path} does not match {CONFIG_FILE}: it has {len(codes)} language codes, the config "
            f"{len(cfg.languages)}{' (other ones)' if len(codes) == len(cfg.languages) else ''}."
        )
    return tokenizer


def checked_weights(path: Path) -> dict[str, torch.Tensor]:
    """The weights as float32 tensors, read without unpickling; a damaged file or NaN/infinity is refused."""
    try:
        tensors = load_file(str(path / WEIGHTS_FILE))  # parses a JSON header, never unpickles
    except Exception as exc:
        raise CheckpointError(
            f"{path / WEIGHTS_FILE} is not a valid safetensors file (truncated, or another format such as a "
            f"pickle): {exc}."
        ) from None
    check_finite(tensors, path / WEIGHTS_FILE)
    return {k: v.float() for k, v in tensors.items()}


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

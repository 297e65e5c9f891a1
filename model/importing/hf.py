"""Hugging Face translators read into our Transformer exactly: Marian (OPUS-MT), M2M-100 and NLLB-200, mBART-50.

One table per family says how its config.json maps onto `TransformerConfig` and how its weights are named;
the tokenizer is rebuilt from the files the family ships (SentencePiece plus the family's id map and language
codes), so neither the import nor the runtime needs `transformers`. Weights come from model.safetensors, or from
pytorch_model.bin read with `weights_only=True` (a pickled program is refused before it runs).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm
import torch
from safetensors.torch import load_file

from model.core.checkpoint import FORMAT as CHECKPOINT_FORMAT
from model.core.config import TransformerConfig
from model.core.hf_tokenizers import MultilingualTokenizer
from model.core.size_check import SizeError, check_sizes, mapped_difference, safetensors_shapes
from model.core.tokenizer import EOS, PAD, UNK, TokenizerPair
from model.core.transformer import Transformer
from model.importing.languages import M2M_100, MBART_50, NLLB_200, WMT_21

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
SPM_FILE = "sentencepiece.bpe.model"  # the name M2M-100, NLLB-200 and mBART-50 ship their SentencePiece model under
MAX_JSON_BYTES = 64 << 20  # a tokenizer.json of a 256k vocabulary is ~30 MB
ACTIVATIONS = {"swish": "swish", "silu": "swish", "relu": "relu", "gelu": "gelu"}
FAMILIES = ("marian", "m2m_100", "mbart")
# config.json's keys checked against Headlight's bounds before anything is built, and the field each one sets
HF_FIELDS = {
    "vocab_size": "vocab_size",
    "d_model": "d_model",
    "encoder_layers": "n_encoder_layers",
    "decoder_layers": "n_decoder_layers",
    "encoder_attention_heads": "n_heads",
    "decoder_attention_heads": "n_heads",
    "encoder_ffn_dim": "d_ff",
    "decoder_ffn_dim": "d_ff",
    "max_position_embeddings": "max_len",
    "pad_token_id": "pad_id",
    "eos_token_id": "eos_id",
    "decoder_start_token_id": "decoder_start_id",
}
# config.json's flags that are read: true or false, never a truthy string ("false") or number
HF_FLAGS = (
    "scale_embedding",
    "tie_word_embeddings",
    "share_encoder_decoder_embeddings",
    "normalize_before",
    "add_final_layer_norm",
    "normalize_embedding",
)
# read by M2M-100/NLLB and mBART only: Marian has no <s> (transformers writes its bos_token_id as null)
MULTILINGUAL_FIELDS = HF_FIELDS | {"bos_token_id": "bos_id"}


# Per layer: (our module, the HF module, "attention" for the four projections or "block" for weight + bias).
# Both stacks end in the same feed-forward sub-layer.
FEED_FORWARD_NAMES = [
    ("ffn.w_1", "fc1", "block"),
    ("ffn.w_2", "fc2", "block"),
    ("sublayer_ffn.norm", "final_layer_norm", "block"),
]
LAYER_NAMES = {
    "encoder": [
        ("self_attn", "self_attn", "attention"),
        ("sublayer_attn.norm", "self_attn_layer_norm", "block"),
        *FEED_FORWARD_NAMES,
    ],
    "decoder": [
        ("self_attn", "self_attn", "attention"),
        ("sublayer_self.norm", "self_attn_layer_norm", "block"),
        ("cross_attn", "encoder_attn", "attention"),
        ("sublayer_cross.norm", "encoder_attn_layer_norm", "block"),
        *FEED_FORWARD_NAMES,
    ],
}


class HFImportError(ValueError):
    """A folder that cannot be imported; the message says why in one sentence."""


@dataclass(frozen=True)
class Family:
    """A family of released models, as the card credits it (the translation families here, the chat ones in llm.py)."""

    name: str  # marian, m2m_100, nllb, mbart-50; qwen2, llama, ...
    title: str
    licence: str  # the released models' licence, for the card
    citation: str


FAMILY_INFO = {
    "marian": Family("marian", "OPUS-MT (Marian)", "CC-BY 4.0", 'Tiedemann & Thottingal, 2020, "OPUS-MT"'),
    "m2m_100": Family("m2m_100", "M2M-100", "MIT", 'Fan et al., 2021, "Beyond English-Centric Multilingual MT"'),
    "nllb": Family("nllb", "NLLB-200", "CC-BY-NC 4.0", 'NLLB Team, 2022, "No Language Left Behind"'),
    "mbart-50": Family("mbart-50", "mBART-50", "MIT", 'Tang et al., 2020, "Multilingual Translation with mBART-50"'),
}


def read_json(file: Path) -> dict:
    try:
        if file.stat().st_size > MAX_JSON_BYTES:
            raise HFImportError(f"{file} is larger than {MAX_JSON_BYTES >> 20} MB: not a configuration file.")
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HFImportError(f"{file.parent} has no {file.name}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HFImportError(f"{file} is not valid JSON ({exc}).") from None
    if not isinstance(data, dict):
        raise HFImportError(f"{file} must hold a JSON object.")
    return data


def read_hf_config(folder: Path) -> dict:
    if not (folder / "config.json").is_file():
        raise HFImportError(f"{folder} has no config.json: it is not a Hugging Face model folder.")
    config = read_json(folder / "config.json")  # its model_type is checked by `configured`
    if config.get("format") == CHECKPOINT_FORMAT:
        raise HFImportError(
            f"{folder} is already a Headlight checkpoint, not a Hugging Face model folder: the app and the commands "
            "open it as it is."
        )
    return config


def _same(config: dict, a: str, b: str):
    if config.get(a) != config.get(b):
        raise HFImportError(f"{a} ({config.get(a)}) differs from {b} ({config.get(b)}): not supported.")
    return config[a]


def _activation(config: dict, default: str) -> str:
    activation = ACTIVATIONS.get(config.get("activation_function", default))
    if activation is None:
        raise HFImportError(f"activation {config.get('activation_function')!r} is not supported.")
    return activation


def _sizes(config: dict) -> dict:
    """What every family names alike."""
    if config.get("decoder_vocab_size") not in (None, config["vocab_size"]):
        raise HFImportError(
            f"separate source and target vocabularies ({config['vocab_size']} and {config['decoder_vocab_size']} "
            "ids) are not supported."
        )
    return dict(
        vocab_size=config["vocab_size"],
        d_model=config["d_model"],
        n_heads=_same(config, "encoder_attention_heads", "decoder_attention_heads"),
        d_ff=_same(config, "encoder_ffn_dim", "decoder_ffn_dim"),
        n_encoder_layers=config["encoder_layers"],
        n_decoder_layers=config["decoder_layers"],
        dropout=0.0,  # inference only
        max_len=config.get("max_position_embeddings", 512),
        tie_embeddings=config.get("tie_word_embeddings", True),
        scale_embedding=config.get("scale_embedding", False),  # checked as a real boolean by TransformerConfig
        layer_norm_eps=1e-5,  # nn.LayerNorm's default, which all three families use
        pad_id=config["pad_token_id"],
        eos_id=config["eos_token_id"],
        decoder_start_id=config.get("decoder_start_token_id", config["eos_token_id"]),
    )


def marian_config(config: dict) -> TransformerConfig:
    """Post-norm, sinusoids laid out sin | cos with the paper's frequencies, swish, a final logits bias, <pad> first."""
    if config.get("normalize_before") or config.get("add_final_layer_norm") or config.get("normalize_embedding"):
        raise HFImportError("this Marian variant uses pre-norm or extra layer norms, which the importer does not map.")
    sizes = _sizes(config)
    sizes["decoder_start_id"] = config.get("decoder_start_token_id", sizes["pad_id"])
    return TransformerConfig(
        **sizes,
        norm_first=False,
        share_embeddings=config.get("share_encoder_decoder_embeddings", True),
        activation=_activation(config, "swish"),
        pe_layout="halves",
        output_bias=True,  # final_logits_bias
        unk_id=1,
        bos_id=sizes["pad_id"],  # Marian has no <s>
    )


def _many_languages(config: dict, languages: list[str], code_position: str) -> dict:
    """What M2M-100 and mBART-50 share: pre-norm with final norms, one embedding for both sides, the target language
    forced first."""
    return dict(
        _sizes(config),
        norm_first=True,
        final_norm=True,
        share_embeddings=True,
        bos_id=config.get("bos_token_id", 0),
        languages=languages,
        language_code_position=code_position,
        force_target_language=True,
    )


def m2m100_config(config: dict, languages: list[str], code_position: str) -> TransformerConfig:
    """Pre-norm with final norms; fairseq's sinusoids starting at position pad_id + 1; relu; the target language
    forced first."""
    shared = _many_languages(config, languages, code_position)
    return TransformerConfig(
        **shared,
        activation=_activation(config, "relu"),
        pe_layout="halves",
        pe_formula="fairseq",
        position_offset=shared["pad_id"] + 1,
        output_bias=False,
    )


def mbart_config(config: dict, languages: list[str], code_position: str) -> TransformerConfig:
    """Pre-norm with final norms, learned positions from row 2, a layer norm on the embeddings, gelu, a final logits
    bias; the target language forced first."""
    return TransformerConfig(
        **_many_languages(config, languages, code_position),
        activation=_activation(config, "gelu"),
        position_kind="learned",
        position_offset=2,  # MBartLearnedPositionalEmbedding.offset
        embedding_norm=True,
        output_bias=True,
    )


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    if (folder / WEIGHT_FILES[0]).is_file():
        try:
            return load_file(str(folder / WEIGHT_FILES[0]))
        except Exception as exc:  # safetensors raises its own error types
            raise HFImportError(f"{folder / WEIGHT_FILES[0]} is not a valid safetensors file ({exc}).") from None
    if (folder / WEIGHT_FILES[1]).is_file():
        try:  # weights_only: tensors and plain containers only, a pickled program is refused before it runs
            state = torch.load(folder / WEIGHT_FILES[1], map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HFImportError(
                f"{folder / WEIGHT_FILES[1]} was refused: it is not a plain tensor file ({first})."
            ) from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise HFImportError(f"{folder / WEIGHT_FILES[1]} does not hold a state dict of tensors.")
        return state
    raise HFImportError(f"{folder} has no weights: neither {' nor '.join(WEIGHT_FILES)}.")


def share_and_tie_as_stored(cfg: TransformerConfig, hf: dict[str, torch.Tensor]) -> None:
    """Share or tie only what the file really holds once: HF unties every embedding when tie_word_embeddings
    is false, whatever share_encoder_decoder_embeddings says."""

    def same(a: str, b: str) -> bool:
        return a not in hf or b not in hf or torch.equal(hf[a], hf[b])

    enc, dec = "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"
    cfg.share_embeddings = cfg.share_embeddings and same(enc, dec) and same(enc, "model.shared.weight")
    cfg.tie_embeddings = (
        cfg.tie_embeddings and same("lm_head.weight", dec) and same("lm_head.weight", "model.shared.weight")
    )


def state_dict_for(cfg: TransformerConfig, hf: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our parameter names filled from the HF ones (tied tensors saved once by HF are looked up where they live)."""

    def get(*names: str) -> torch.Tensor:
        for name in names:
            if name in hf:
                return hf[name].float()
        raise HFImportError(f"the weights have no {names[0]}: the file does not match config.json.")

    shared = ("model.shared.weight",)
    ours = {
        "encoder.embed.token_embedding.weight": get("model.encoder.embed_tokens.weight", *shared),
        "decoder.embed.token_embedding.weight": get("model.decoder.embed_tokens.weight", *shared),
    }
    ours["generator.weight"] = (
        get("lm_head.weight") if not cfg.tie_embeddings else ours["decoder.embed.token_embedding.weight"]
    )
    if cfg.output_bias:
        bias = hf.get("final_logits_bias")
        ours["generator.bias"] = bias.float().reshape(-1) if bias is not None else torch.zeros(cfg.vocab_size)

    def attention(ours_prefix: str, hf_prefix: str) -> None:
        for mine, theirs in (("w_q", "q_proj"), ("w_k", "k_proj"), ("w_v", "v_proj"), ("w_o", "out_proj")):
            for p in ("weight", "bias"):
                ours[f"{ours_prefix}.{mine}.{p}"] = get(f"{hf_prefix}.{theirs}.{p}")

    def block(ours_prefix: str, hf_prefix: str) -> None:
        for p in ("weight", "bias"):
            ours[f"{ours_prefix}.{p}"] = get(f"{hf_prefix}.{p}")

    for stack, n_layers in (("encoder", cfg.n_encoder_layers), ("decoder", cfg.n_decoder_layers)):
        for i in range(n_layers):
            for mine, theirs, what in LAYER_NAMES[stack]:
                (attention if what == "attention" else block)(
                    f"{stack}.layers.{i}.{mine}", f"model.{stack}.layers.{i}.{theirs}"
                )
        if cfg.has_final_norm:
            block(f"{stack}.final_norm", f"model.{stack}.layer_norm")
        if cfg.embedding_norm:
            block(f"{stack}.embed.norm", f"model.{stack}.layernorm_embedding")
        if cfg.position_kind == "learned":
            ours[f"{stack}.embed.pe"] = get(f"model.{stack}.embed_positions.weight")
    return ours


def from_weights(cfg: TransformerConfig, weights: dict[str, torch.Tensor]) -> Transformer:
    """Our Transformer (eval mode) holding a HF state dict of any family; `cfg` from that family's mapping."""
    share_and_tie_as_stored(cfg, weights)
    model = Transformer(cfg)
    state = state_dict_for(cfg, weights)
    expected = model.state_dict()
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise HFImportError(
                f"{name} has shape {tuple(tensor.shape)} in the weights, {tuple(expected[name].shape)} from "
                "config.json."
            )
    model.load_state_dict(state, strict=True)
    return model.eval()


# --- tokenizers -------------------------------------------------------------------------------------------------


def _spm(folder: Path) -> bytes:
    if not (folder / SPM_FILE).is_file():
        raise HFImportError(f"{folder} has no {SPM_FILE}: the family's SentencePiece model is needed.")
    proto = (folder / SPM_FILE).read_bytes()
    try:
        spm.SentencePieceProcessor(model_proto=proto)
    except Exception as exc:  # sentencepiece: RuntimeError or OSError
        raise HFImportError(f"{folder / SPM_FILE} is not a usable SentencePiece model ({exc}).") from None
    return proto


def _fairseq_vocab(proto: bytes, extra: list[str]) -> dict[str, int]:
    """fairseq's map (NLLB-200, mBART-50): <s> <pad> </s> <unk> first, SentencePiece id i at i + 1, then `extra`."""
    sp = spm.SentencePieceProcessor(model_proto=proto)
    vocab = {"<s>": 0, PAD: 1, EOS: 2, UNK: 3}
    for i in range(sp.get_piece_size()):
        if not (sp.is_control(i) or sp.is_unknown(i)):
            vocab.setdefault(sp.id_to_piece(i), i + 1)
    for piece in extra:  # language codes and <mask> follow the last SentencePiece id
        vocab.setdefault(piece, max(vocab.values()) + 1)
    return vocab


def _tokenizer_json_vocab(folder: Path) -> dict[str, int] | None:
    """The piece -> id map in tokenizer.json (the model's vocabulary and its added tokens), if the folder has one."""
    if not (folder / "tokenizer.json").is_file():
        return None
    data = read_json(folder / "tokenizer.json")
    model = data.get("model") if isinstance(data.get("model"), dict) else {}
    raw = model.get("vocab")
    if isinstance(raw, dict):  # BPE, WordPiece: piece -> id
        vocab = dict(raw)
    elif isinstance(raw, list):  # Unigram: [piece, score] in id order
        vocab = {entry[0]: i for i, entry in enumerate(raw) if isinstance(entry, list) and entry}
    else:
        raise HFImportError(f"{folder / 'tokenizer.json'} has no vocabulary under model.vocab.")
    for token in data.get("added_tokens") or []:
        if isinstance(token, dict) and isinstance(token.get("content"), str):
            vocab[token["content"]] = token.get("id")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in vocab.values()):
        raise HFImportError(f"{folder / 'tokenizer.json'} gives a piece an id that is not a whole number.")
    return vocab


def _fill_unused(vocab: dict[str, int], vocab_size: int) -> dict[str, int]:
    """Name the ids the model has but the tokenizer never produces (NLLB pads 256,204 pieces to 256,206), so the map
    covers 0..vocab_size-1 once each; refuse a map that numbers beyond the model."""
    if vocab and max(vocab.values()) >= vocab_size:
        raise HFImportError(
            f"the tokenizer numbers pieces up to {max(vocab.values())}, beyond the model's {vocab_size} ids."
        )
    by_id: dict[int, str] = {}
    for piece, i in vocab.items():
        if i in by_id:
            raise HFImportError(f"the tokenizer gives id {i} to both {by_id[i]!r} and {piece!r}.")
        by_id[i] = piece
    filled = dict(vocab)
    for i in range(vocab_size):
        if i not in by_id:
            filled[f"<unused:{i}>"] = i
    return filled


def marian_tokenizer(folder: Path) -> TokenizerPair:
    missing = [f for f in TokenizerPair.files if not (folder / f).is_file()]
    if missing:
        raise HFImportError(
            f"{folder} has no {', '.join(missing)}: an OPUS-MT folder ships source.spm, target.spm and vocab.json."
        )
    try:
        return TokenizerPair.load(folder)
    except Exception as exc:  # sentencepiece: RuntimeError/OSError; vocab.json: ValueError
        raise HFImportError(f"the tokenizer files in {folder} are not usable ({exc}).") from None


@dataclass
class MultilingualSetup:
    family: str  # m2m_100, nllb, mbart-50
    vocab: dict[str, int]
    codes: dict[str, str]  # language code -> piece
    code_position: str  # where the source's code goes
    proto: bytes


def multilingual_setup(folder: Path, model_type: str, vocab_size: int) -> MultilingualSetup:
    """The family, piece -> id map and language codes of an M2M-100, NLLB-200 or mBART-50 folder."""
    proto = _spm(folder)
    tok_config = read_json(folder / "tokenizer_config.json") if (folder / "tokenizer_config.json").is_file() else {}
    tokenizer_class = str(tok_config.get("tokenizer_class") or "")
    from_json = _tokenizer_json_vocab(folder)
    if model_type == "mbart":
        if tokenizer_class.startswith("MBartTokenizer"):
            raise HFImportError(
                "this is an mBART-25 (cc25) model, whose source ends with its language code and whose decoder starts "
                "from it; Headlight imports mBART-50."
            )
        family, codes = "mbart-50", {c: c for c in MBART_50}
        vocab = from_json or _fairseq_vocab(proto, [*MBART_50, "<mask>"])
        position = "prefix"
    elif tokenizer_class.startswith("Nllb") or (from_json is not None and "eng_Latn" in from_json):
        family, codes = "nllb", {c: c for c in NLLB_200}
        vocab = from_json or _fairseq_vocab(proto, [*NLLB_200, "<mask>"])
        position = "suffix" if tok_config.get("legacy_behaviour") else "prefix"
    else:
        family = "m2m_100"
        listed = WMT_21 if tok_config.get("language_codes") == "wmt21" else M2M_100
        codes = {c: f"__{c}__" for c in listed}
        if (folder / "vocab.json").is_file():
            base = read_json(folder / "vocab.json")
            if not all(isinstance(v, int) for v in base.values()):
                raise HFImportError(f"{folder / 'vocab.json'} must map each piece to an integer id.")
            vocab = dict(base)
            for i, piece in enumerate(codes.values()):  # M2M100Tokenizer: codes follow vocab.json in order
                vocab.setdefault(piece, len(base) + i)
        elif from_json is not None:
            vocab = from_json
        else:
            raise HFImportError(f"{folder} has neither vocab.json nor tokenizer.json: the M2M-100 id map is needed.")
        position = "prefix"
    codes = {code: piece for code, piece in codes.items() if piece in vocab}
    if not codes:
        raise HFImportError(f"the tokenizer in {folder} has none of the {family} language codes.")
    for piece in (PAD, UNK, EOS):
        if piece not in vocab:
            raise HFImportError(f"the tokenizer in {folder} has no {piece}.")
    return MultilingualSetup(family, _fill_unused(vocab, vocab_size), codes, position, proto)


def default_pair(codes: list[str], src_lang: str | None, tgt_lang: str | None) -> tuple[str, str]:
    """English to Korean when the model knows both (the pair this project began with), else its first two codes."""
    english = next((c for c in ("eng_Latn", "en_XX", "en") if c in codes), codes[0])
    korean = next((c for c in ("kor_Hang", "ko_KR", "ko") if c in codes), None)
    korean = korean or next((c for c in codes if c != english), english)
    return src_lang or english, tgt_lang or korean


# --- the import -------------------------------------------------------------------------------------------------


@dataclass
class Imported:
    model: Transformer
    tokenizer: TokenizerPair  # a MultilingualTokenizer for the multilingual families
    config: dict  # the HF config.json
    family: Family
    src_lang: str
    tgt_lang: str


def configured(
    config: dict,
    where: str,
    read_tokenizer: Callable[[], TokenizerPair | MultilingualSetup],
    src_lang: str | None = None,
    tgt_lang: str | None = None,
) -> tuple[TransformerConfig, TokenizerPair, Family, str, str]:
    """Our config, the tokenizer, the family and the language pair for a HF config dict (from a folder or a model in
    memory; `where` names it in messages). `read_tokenizer()` gives a Marian tokenizer pair, or a multilingual
    family's set-up; it runs after the sizes are checked. Every problem is one HFImportError sentence."""
    model_type = config.get("model_type")
    if model_type not in FAMILIES:
        raise HFImportError(
            f"{where} describes a {model_type!r} model; Headlight imports Marian (OPUS-MT), M2M-100, NLLB-200 and "
            "mBART-50 translators, and Qwen2/Qwen2.5, Qwen3, Llama 3 and Gemma 3 chat models."
        )
    try:  # the sizes and ids as stated, before anything is allocated
        check_sizes(config, where, HF_FIELDS if model_type == "marian" else MULTILINGUAL_FIELDS)
    except SizeError as exc:
        raise HFImportError(str(exc)) from None
    for key in HF_FLAGS:
        if config.get(key) is not None and not isinstance(config[key], bool):
            raise HFImportError(f"{where} gives {key} = {config[key]!r}; Headlight accepts true or false.")
    try:
        tokenizer_or_setup = read_tokenizer()
        if model_type == "marian":
            tokenizer, cfg, family = tokenizer_or_setup, marian_config(config), FAMILY_INFO["marian"]
            src, tgt = src_lang or "src", tgt_lang or "tgt"
        else:
            setup = tokenizer_or_setup
            languages = list(setup.codes)
            src, tgt = default_pair(languages, src_lang, tgt_lang)
            tokenizer = MultilingualTokenizer(
                setup.proto, setup.proto, setup.vocab, setup.codes, src, tgt, setup.family != "m2m_100"
            )
            make = m2m100_config if model_type == "m2m_100" else mbart_config
            cfg, family = make(config, languages, setup.code_position), FAMILY_INFO[setup.family]
    except (KeyError, TypeError) as exc:
        raise HFImportError(f"{where} lacks a {model_type} setting ({exc}).") from None
    except HFImportError:
        raise
    except ValueError as exc:  # our own config's and tokenizer's checks
        raise HFImportError(str(exc)) from None
    if tokenizer.vocab_size != cfg.vocab_size:
        raise HFImportError(f"the tokenizer has {tokenizer.vocab_size} pieces but {where} says {cfg.vocab_size}.")
    if (tokenizer.pad_id, tokenizer.eos_id) != (cfg.pad_id, cfg.eos_id):
        raise HFImportError(
            f"the tokenizer puts <pad>/</s> at {tokenizer.pad_id}/{tokenizer.eos_id}, {where} at "
            f"{cfg.pad_id}/{cfg.eos_id}."
        )
    cfg.unk_id = tokenizer.unk_id
    return cfg, tokenizer, family, src, tgt


def import_hf(folder: str | Path, src_lang: str | None = None, tgt_lang: str | None = None) -> Imported:
    """Our Transformer holding the HF model's weights, its tokenizer and languages (defaults: English -> Korean
    for multilingual models; for Marian the names are only labels)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HFImportError(f"{folder} is not a folder.")
    config = read_hf_config(folder)
    model_type = config.get("model_type")

    def read_tokenizer() -> TokenizerPair | MultilingualSetup:
        if model_type == "marian":
            return marian_tokenizer(folder)
        return multilingual_setup(folder, model_type, config["vocab_size"])

    cfg, tokenizer, family, src, tgt = configured(
        config, str(folder / "config.json"), read_tokenizer, src_lang, tgt_lang
    )
    safetensors = folder / WEIGHT_FILES[0]
    if safetensors.is_file():  # its header against config.json, before any tensor is read
        try:
            check_weight_shapes(cfg, safetensors_shapes(safetensors), safetensors)
        except (SizeError, OSError) as exc:
            raise HFImportError(f"{safetensors} is not a valid safetensors file ({exc}).") from None
    weights = read_weights(folder)
    if not safetensors.is_file():  # a .bin has no header: its tensors, read weights_only, before the model is built
        check_weight_shapes(cfg, {name: tuple(t.shape) for name, t in weights.items()}, folder / WEIGHT_FILES[1])
    return Imported(from_weights(cfg, weights), tokenizer, config, family, src, tgt)


def check_weight_shapes(cfg: TransformerConfig, shapes: dict[str, tuple[int, ...]], file: Path) -> None:
    """Refuse weights whose shapes are not the ones config.json implies (model.core.size_check), in one sentence."""
    difference = mapped_difference(cfg, shapes, lambda tensors: state_dict_for(cfg, tensors))
    if difference:
        raise HFImportError(f"{file} does not match config.json: {difference}.")


def paper_differences(cfg: TransformerConfig, start: str) -> list[str]:
    """How an imported model departs from the paper's Transformer, each as a phrase for its card (`start`: the piece
    its decoder starts from)."""
    differences = [f"activation {cfg.activation}"]
    if cfg.norm_first:
        differences.append("layer norm before each sub-layer (pre-norm) and after each stack")
    if cfg.position_kind == "learned":
        differences.append(f"learned positions (one table per stack, the first piece at row {cfg.position_offset})")
    elif cfg.pe_formula == "fairseq":
        differences.append(
            f"sinusoids sin | cos with frequencies exp(-i ln(10000) / (d/2 - 1)), the first piece at position "
            f"{cfg.position_offset}"
        )
    else:
        differences.append("positional encoding laid out as all sines then all cosines")
    if cfg.embedding_norm:
        differences.append("a layer norm on the embeddings")
    differences.append(f"the decoder starts from `{start}`")
    if cfg.force_target_language:
        differences.append("the target language's code is forced as the first output piece")
    if cfg.output_bias:
        differences.append("a final logits bias")
    return differences


def model_card(
    source: Path, name: str, imported: Imported, licence: str | None = None, hub_id: str | None = None
) -> tuple[dict, str]:
    """The card (JSON and markdown) of a model imported from `source`, a folder (the snapshot of `hub_id` if given)."""
    model, cfg, family = imported.model, imported.model.cfg, imported.family
    licence = licence or family.licence
    card = {
        "name": name,
        "source_model": hub_id or name,
        "source_folder": str(source),
        "family": family.name,
        "licence": licence,
        "conversion": "python -m model.import_hf: weights copied unchanged (fp32) into model/core/transformer.py; "
        "the family's architecture is set in the config",
        "parameters": model.num_parameters(),
        "languages": list(cfg.languages),
        "hf_config": imported.config,
    }
    differences = paper_differences(cfg, imported.tokenizer.pieces([cfg.decoder_start_id])[0])
    lines = [
        f"# {name} (imported {family.title} model)\n",
        f"Imported from the Hugging Face {f'model `{hub_id}`' if hub_id else f'folder `{source}`'} with "
        "`python -m model.import_hf`. The weights are the "
        "original model's,\ncopied into Headlight's own Transformer (`model/core/transformer.py`), so every view, "
        "hook point and\nablation works on the real model and every number is what the model computes.\n",
        f"- Licence: {licence} (cite {family.citation}).",
        f"- Size: {model.num_parameters() / 1e6:.1f}M parameters; d_model {cfg.d_model}, {cfg.n_heads} heads, d_ff "
        f"{cfg.d_ff}, {cfg.n_encoder_layers} encoder + {cfg.n_decoder_layers} decoder layers, vocabulary "
        f"{cfg.vocab_size}.",
        f"- Differences from the paper, all reproduced exactly: {'; '.join(differences)}.",
    ]
    if cfg.languages:
        lines.append(
            f"- Languages ({len(cfg.languages)}; choose with `--src-lang`/`--tgt-lang`, default "
            f"{imported.src_lang} → {imported.tgt_lang}): {', '.join(cfg.languages)}."
        )
    if family.name == "marian":
        lines.append(
            "- Not reproduced: the Moses punctuation normalisation that `transformers`' MarianTokenizer applies when "
            "sacremoses\n  is installed (it changes only unusual punctuation)."
        )
    return card, "\n".join(lines) + "\n"

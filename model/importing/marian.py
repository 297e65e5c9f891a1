"""OPUS-MT (Marian) checkpoints read into our Transformer exactly."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import torch
from safetensors.torch import load_file

from model.core.config import TransformerConfig
from model.core.tokenizer import TokenizerPair
from model.core.transformer import Transformer

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


TOKENIZER_FILES = TokenizerPair.files


ACTIVATIONS = {"swish": "swish", "silu": "swish", "relu": "relu", "gelu": "gelu"}


# Per layer: (our module, Marian's module, "attention" for the four projections or "block" for weight + bias)
LAYER_NAMES = {
    "encoder": [
        ("self_attn", "self_attn", "attention"),
        ("sublayer_attn.norm", "self_attn_layer_norm", "block"),
        ("ffn.w_1", "fc1", "block"),
        ("ffn.w_2", "fc2", "block"),
        ("sublayer_ffn.norm", "final_layer_norm", "block"),
    ],
    "decoder": [
        ("self_attn", "self_attn", "attention"),
        ("sublayer_self.norm", "self_attn_layer_norm", "block"),
        ("cross_attn", "encoder_attn", "attention"),
        ("sublayer_cross.norm", "encoder_attn_layer_norm", "block"),
        ("ffn.w_1", "fc1", "block"),
        ("ffn.w_2", "fc2", "block"),
        ("sublayer_ffn.norm", "final_layer_norm", "block"),
    ],
}


class MarianImportError(ValueError):
    """A folder that cannot be imported; the message says why in one sentence."""


def read_marian_config(folder: Path) -> dict:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MarianImportError(f"{folder} has no config.json: it is not a Hugging Face model folder.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MarianImportError(f"{folder / 'config.json'} is not valid JSON ({exc}).") from None
    if not isinstance(config, dict) or config.get("model_type") != "marian":
        kind = config.get("model_type") if isinstance(config, dict) else None
        raise MarianImportError(f"{folder} holds a {kind!r} model, not a Marian (OPUS-MT) one.")
    return config


def our_config(config: dict) -> TransformerConfig:
    """The TransformerConfig that computes exactly what this Marian config describes."""

    def same(a: str, b: str):
        if config.get(a) != config.get(b):
            raise MarianImportError(f"{a} ({config.get(a)}) differs from {b} ({config.get(b)}): not supported.")
        return config[a]

    vocab = config["vocab_size"]
    if config.get("decoder_vocab_size") not in (None, vocab):
        raise MarianImportError(
            f"separate source and target vocabularies ({vocab} and {config['decoder_vocab_size']} ids) are not "
            "supported."
        )
    if config.get("normalize_before") or config.get("add_final_layer_norm") or config.get("normalize_embedding"):
        raise MarianImportError(
            "this Marian variant uses pre-norm or extra layer norms, which the importer does not map."
        )
    activation = ACTIVATIONS.get(config.get("activation_function", "swish"))
    if activation is None:
        raise MarianImportError(f"activation {config.get('activation_function')!r} is not supported.")
    pad = config["pad_token_id"]
    return TransformerConfig(
        vocab_size=vocab,
        d_model=config["d_model"],
        n_heads=same("encoder_attention_heads", "decoder_attention_heads"),
        d_ff=same("encoder_ffn_dim", "decoder_ffn_dim"),
        n_encoder_layers=config["encoder_layers"],
        n_decoder_layers=config["decoder_layers"],
        dropout=0.0,
        max_len=config.get("max_position_embeddings", 512),
        norm_first=False,
        share_embeddings=config.get("share_encoder_decoder_embeddings", True),
        tie_embeddings=config.get("tie_word_embeddings", True),
        activation=activation,
        scale_embedding=bool(config.get("scale_embedding", False)),
        pe_layout="halves",
        output_bias=True,  # Marian's final_logits_bias
        layer_norm_eps=1e-5,
        pad_id=pad,
        unk_id=1,
        bos_id=pad,  # Marian has no <s>
        eos_id=config["eos_token_id"],
        decoder_start_id=config.get("decoder_start_token_id", pad),
    )


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    if (folder / WEIGHT_FILES[0]).is_file():
        try:
            return load_file(str(folder / WEIGHT_FILES[0]))
        except Exception as exc:  # safetensors raises its own error types
            raise MarianImportError(f"{folder / WEIGHT_FILES[0]} is not a valid safetensors file ({exc}).") from None
    if (folder / WEIGHT_FILES[1]).is_file():
        try:  # weights_only: tensors and plain containers only, a pickled program is refused before it runs
            state = torch.load(folder / WEIGHT_FILES[1], map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MarianImportError(
                f"{folder / WEIGHT_FILES[1]} was refused: it is not a plain tensor file ({first})."
            ) from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise MarianImportError(f"{folder / WEIGHT_FILES[1]} does not hold a state dict of tensors.")
        return state
    raise MarianImportError(f"{folder} has no weights: neither {' nor '.join(WEIGHT_FILES)}.")


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
    """Our parameter names filled from Marian's (tied tensors saved once by HF are looked up where they live)."""

    def get(*names: str) -> torch.Tensor:
        for name in names:
            if name in hf:
                return hf[name].float()
        raise MarianImportError(f"the weights have no {names[0]}: the file does not match config.json.")

    shared = ("model.shared.weight",)
    ours = {
        "encoder.embed.token_embedding.weight": get("model.encoder.embed_tokens.weight", *shared),
        "decoder.embed.token_embedding.weight": get("model.decoder.embed_tokens.weight", *shared),
    }
    ours["generator.weight"] = (
        get("lm_head.weight") if not cfg.tie_embeddings else ours["decoder.embed.token_embedding.weight"]
    )
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
    return ours


def import_marian(folder: str | Path) -> tuple[Transformer, TokenizerPair, dict]:
    """Our Transformer holding the Marian model's weights, its tokenizer pair, and the Marian config."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MarianImportError(f"{folder} is not a folder.")
    config = read_marian_config(folder)
    missing = [f for f in TOKENIZER_FILES if not (folder / f).is_file()]
    if missing:
        raise MarianImportError(
            f"{folder} has no {', '.join(missing)}: an OPUS-MT folder ships source.spm, target.spm and vocab.json."
        )
    try:
        tokenizer = TokenizerPair.load(folder)
    except Exception as exc:  # sentencepiece: RuntimeError/OSError; vocab.json: ValueError
        raise MarianImportError(f"the tokenizer files in {folder} are not usable ({exc}).") from None
    try:
        cfg = our_config(config)
    except (KeyError, TypeError) as exc:
        raise MarianImportError(f"{folder / 'config.json'} lacks a Marian setting ({exc}).") from None
    except ValueError as exc:  # our own config's checks
        raise MarianImportError(str(exc)) from None
    if tokenizer.vocab_size != cfg.vocab_size:
        raise MarianImportError(f"vocab.json has {tokenizer.vocab_size} pieces but config.json says {cfg.vocab_size}.")
    if (tokenizer.pad_id, tokenizer.eos_id) != (cfg.pad_id, cfg.eos_id):
        raise MarianImportError(
            f"vocab.json puts <pad>/</s> at {tokenizer.pad_id}/{tokenizer.eos_id}, config.json at "
            f"{cfg.pad_id}/{cfg.eos_id}."
        )
    cfg.unk_id = tokenizer.unk_id
    return from_marian_weights(cfg, read_weights(folder)), tokenizer, config


def from_marian_weights(cfg: TransformerConfig, weights: dict[str, torch.Tensor]) -> Transformer:
    """Our Transformer (eval mode) holding a Marian state dict; `cfg` from `our_config`."""
    share_and_tie_as_stored(cfg, weights)
    model = Transformer(cfg)
    state = state_dict_for(cfg, weights)
    expected = model.state_dict()
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise MarianImportError(
                f"{name} has shape {tuple(tensor.shape)} in the weights, {tuple(expected[name].shape)} from "
                "config.json."
            )
    model.load_state_dict(state, strict=True)
    return model.eval()


def model_card(source: Path, name: str, config: dict, licence: str, model: Transformer) -> tuple[dict, str]:
    cfg = model.cfg
    card = {
        "name": name,
        "source_model": name,
        "source_folder": str(source),
        "licence": licence,
        "conversion": "python -m model.import_marian: weights copied unchanged (fp32) into model/core/transformer.py; "
        "Marian's sin|cos positional layout, swish, sqrt(d_model) embedding scale and final_logits_bias "
        "are set in the config",
        "parameters": model.num_parameters(),
        "marian_config": config,
    }
    markdown = (
        f"# {name} (imported OPUS-MT model)\n\n"
        f"Imported from the Hugging Face Marian folder `{source}` with `python -m model.import_marian`. The "
        "weights are the\n"
        "original model's, copied into Headlight's own Transformer (`model/core/transformer.py`), so every view, "
        "hook point and\n"
        "ablation works on the real model and every number is what the model computes.\n\n"
        f'- Licence: {licence} (OPUS-MT models by Helsinki-NLP; cite Tiedemann & Thottingal, 2020, "OPUS-MT").\n'
        f"- Size: {model.num_parameters() / 1e6:.1f}M parameters; d_model {cfg.d_model}, {cfg.n_heads} heads, d_ff "
        f"{cfg.d_ff}, "
        f"{cfg.n_encoder_layers} encoder + {cfg.n_decoder_layers} decoder layers, vocabulary {cfg.vocab_size}.\n"
        f"- Differences from the paper, all reproduced exactly: activation {cfg.activation}; positional encoding "
        "laid out as all sines\n"
        "  then all cosines; the decoder starts from `<pad>`; a final logits bias.\n"
        "- Not reproduced: the Moses punctuation normalisation that `transformers`' MarianTokenizer applies when "
        "sacremoses\n"
        "  is installed (it changes only unusual punctuation).\n"
    )
    return card, markdown

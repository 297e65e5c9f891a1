"""Decoder-only language models read into our `DecoderOnlyTransformer` exactly: Qwen2/Qwen2.5, Qwen3, Llama 3.x,
Gemma 3 (text, or the text half of a multimodal Gemma 3).

One table per family says how its config.json maps onto `DecoderOnlyConfig` and how its weights are named. The
weights are kept in the dtype they shipped in (bfloat16 or float32); the tokenizer is the model's tokenizer.json and
the chat template its own (chat_template.jinja, tokenizer_config.json's chat_template, or chat_template.json), so
neither the import nor the runtime needs `transformers`. Weights come from model.safetensors (or its shards, listed
in model.safetensors.index.json), or pytorch_model.bin read with `weights_only=True`; the sizes are bounded and
every shape checked against the files' headers before a tensor is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from model.core.decoder_only_checkpoint import decoder_only_shapes
from model.core.decoder_only_config import DecoderOnlyConfig
from model.core.decoder_only_tokenizer import DEFAULT_INSTRUCTION, SPECIAL_TOKENS, ChatTokenizer
from model.core.size_check import SizeError, compare_shapes, non_float, safetensors_header
from model.importing.hf import WEIGHT_FILES, Family, HFImportError, read_hf_config, read_json, read_weights

LLM_TYPES = ("qwen2", "qwen3", "llama", "gemma3_text", "gemma3")
SHARD_INDEX = "model.safetensors.index.json"
TEMPLATE_FILES = ("chat_template.jinja", "tokenizer_config.json", "chat_template.json")  # searched in this order
MAX_TEMPLATE_BYTES = 1 << 20
ACTIVATIONS = {"silu": "silu", "swish": "silu", "gelu_pytorch_tanh": "gelu_tanh", "gelu_tanh": "gelu_tanh"}
SIZE_KEYS = {  # HF key -> our field; checked by DecoderOnlyConfig's bounds
    "vocab_size": "vocab_size",
    "hidden_size": "d_model",
    "num_hidden_layers": "n_layers",
    "num_attention_heads": "n_heads",
    "intermediate_size": "d_ff",
}


FAMILIES = {
    "qwen2": Family("qwen2", "Qwen2 / Qwen2.5", "Apache 2.0 (most sizes; see the model's card)", "Qwen Team, 2024"),
    "qwen3": Family("qwen3", "Qwen3", "Apache 2.0", 'Qwen Team, 2025, "Qwen3 Technical Report"'),
    "llama": Family("llama", "Llama 3", "Llama 3 Community License", 'Grattafiori et al., 2024, "The Llama 3 Herd"'),
    "gemma3_text": Family("gemma3", "Gemma 3", "Gemma Terms of Use", 'Gemma Team, 2025, "Gemma 3 Technical Report"'),
}


def is_llm_config(config: dict) -> bool:
    return config.get("model_type") in LLM_TYPES


def text_config(config: dict, where: str) -> dict:
    """The language model's settings: a multimodal Gemma 3's text_config (with the top level's token ids and tying
    where it leaves them out), or the config itself."""
    if config.get("model_type") != "gemma3":
        return config
    text = config.get("text_config")
    if not isinstance(text, dict):
        raise HFImportError(f"{where} describes a multimodal Gemma 3 without a text_config.")
    text = {"model_type": "gemma3_text", **text}
    for key in ("bos_token_id", "eos_token_id", "pad_token_id", "tie_word_embeddings"):
        if key not in text and key in config:
            text[key] = config[key]
    return text


def _number(config: dict, key: str, default, where: str):
    value = config.get(key, default)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise HFImportError(f"{where} gives {key} = {value!r}; a number is needed.")
    return value


def _flag(config: dict, key: str, default: bool, where: str) -> bool:
    value = config.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise HFImportError(f"{where} gives {key} = {value!r}; Headlight accepts true or false.")
    return value


def _ids(value, where: str, key: str) -> list[int]:
    values = value if isinstance(value, list) else [] if value is None else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise HFImportError(f"{where} gives {key} = {value!r}; token ids are whole numbers.")
    return values


def rope_settings(config: dict, model_type: str, where: str) -> dict:
    """Our rope fields from either spelling: transformers 4's rope_theta / rope_scaling (and Gemma 3's
    rope_local_base_freq), or transformers 5's rope_parameters (per layer type for Gemma 3)."""
    params = config.get("rope_parameters")
    gemma = model_type == "gemma3_text"
    if isinstance(params, dict) and gemma and "full_attention" in params:
        full, local = params.get("full_attention") or {}, params.get("sliding_attention") or {}
        if local.get("rope_type", "default") != "default":
            raise HFImportError(f"{where} scales the sliding layers' rotation, which Headlight does not reproduce.")
        local_theta = local.get("rope_theta", 10000.0)
    elif isinstance(params, dict):
        full, local_theta = params, None
    else:
        full = dict(config.get("rope_scaling") or {})
        full.setdefault("rope_theta", config.get("rope_theta", 1_000_000.0 if gemma else 10000.0))
        local_theta = config.get("rope_local_base_freq", 10000.0) if gemma else None
    if not isinstance(full, dict):
        raise HFImportError(f"{where} gives rope settings that are not a JSON object.")
    rope_type = full.get("rope_type", full.get("type", "default"))
    if rope_type not in ("default", "linear", "llama3"):
        raise HFImportError(
            f"{where} uses {rope_type!r} rotary scaling; Headlight reproduces default, linear and llama3."
        )
    settings = {"rope_theta": full.get("rope_theta", 10000.0), "rope_type": rope_type}
    if rope_type != "default":
        settings["rope_factor"] = full.get("factor")
    if rope_type == "llama3":
        settings["rope_low_freq_factor"] = full.get("low_freq_factor")
        settings["rope_high_freq_factor"] = full.get("high_freq_factor")
        settings["rope_original_max_len"] = full.get("original_max_position_embeddings")
    if gemma:
        settings["rope_local_theta"] = local_theta
    for key, value in settings.items():
        if key != "rope_type" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise HFImportError(f"{where} gives the rotary setting {key} = {value!r}; a number is needed.")
    settings["rope_theta"] = float(settings["rope_theta"])
    if "rope_local_theta" in settings:
        settings["rope_local_theta"] = float(settings["rope_local_theta"])
    return settings


def layer_types(config: dict, model_type: str, n_layers: int, where: str) -> tuple[list[str], int | None]:
    """Per layer "full" or "sliding", and the window, from layer_types or the family's older spelling (Gemma 3:
    every sliding_window_pattern-th layer full; Qwen: sliding from max_window_layers on, if use_sliding_window)."""
    window = config.get("sliding_window")
    given = config.get("layer_types")
    if given is not None:
        names = {"full_attention": "full", "sliding_attention": "sliding"}
        if not isinstance(given, list) or not all(t in names for t in given):
            raise HFImportError(f"{where} gives layer_types other than full_attention and sliding_attention.")
        types = [names[t] for t in given]
    elif model_type == "gemma3_text":
        pattern = config.get("sliding_window_pattern", 6)
        if not (isinstance(pattern, int) and not isinstance(pattern, bool) and pattern >= 1):
            raise HFImportError(f"{where} gives sliding_window_pattern = {pattern!r}; a whole number is needed.")
        types = ["sliding" if (i + 1) % pattern else "full" for i in range(n_layers)]
    elif model_type in ("qwen2", "qwen3") and _flag(config, "use_sliding_window", False, where) and window:
        first = config.get("max_window_layers", 28)
        if not (isinstance(first, int) and not isinstance(first, bool)):
            raise HFImportError(f"{where} gives max_window_layers = {first!r}; a whole number is needed.")
        types = ["sliding" if i >= first else "full" for i in range(n_layers)]
    else:
        types = []
    if model_type in ("qwen2", "qwen3") and not _flag(config, "use_sliding_window", False, where) and given:
        types = ["full"] * len(types)  # transformers drops the window when use_sliding_window is false
    if "sliding" not in types:
        return types, None
    return types, window


def llm_config(config: dict, where: str, eos_ids: list[int]) -> DecoderOnlyConfig:
    """Our config for a family's config.json (already its text half); every problem is one HFImportError sentence."""
    model_type = config.get("model_type")
    gemma = model_type == "gemma3_text"
    for key in SIZE_KEYS:
        if key not in config:
            raise HFImportError(f"{where} has no {key}.")
    try:
        sizes = {field: config[key] for key, field in SIZE_KEYS.items()}
        n_heads = sizes["n_heads"]
        head_dim = config.get("head_dim") or (
            sizes["d_model"] // n_heads if isinstance(sizes["d_model"], int) and isinstance(n_heads, int) else None
        )
        activation = config.get("hidden_activation" if gemma else "hidden_act") or config.get("hidden_act", "silu")
        if activation not in ACTIVATIONS:
            raise HFImportError(
                f"{where} uses the activation {activation!r}; Headlight reproduces SiLU and GELU (tanh)."
            )
        if gemma and _flag(config, "use_bidirectional_attention", False, where):
            raise HFImportError(f"{where} makes the attention bidirectional; Headlight reproduces causal models only.")
        bias = _flag(config, "attention_bias", False, where)
        types, window = layer_types(config, model_type, sizes["n_layers"], where)
        query_scalar = _number(config, "query_pre_attn_scalar", 256, where) if gemma else None
        cfg = DecoderOnlyConfig(
            **sizes,
            n_kv_heads=config.get("num_key_value_heads") or n_heads,
            head_dim=head_dim,
            max_len=config.get("max_position_embeddings", 32768),
            activation=ACTIVATIONS[activation],
            rms_norm_eps=_number(config, "rms_norm_eps", 1e-6, where),
            norm_offset=1.0 if gemma else 0.0,
            qkv_bias=True if model_type == "qwen2" else bias,
            o_bias=False if model_type == "qwen2" else bias,
            mlp_bias=_flag(config, "mlp_bias", False, where) if model_type == "llama" else False,
            qk_norm=model_type in ("qwen3", "gemma3_text"),
            sandwich_norms=gemma,
            scale_embedding=gemma,
            query_scale=float(query_scalar) ** -0.5 if gemma else None,
            attn_softcap=_number(config, "attn_logit_softcapping", None, where) if gemma else None,
            final_softcap=_number(config, "final_logit_softcapping", None, where) if gemma else None,
            **rope_settings(config, model_type, where),
            layer_types=types,
            sliding_window=window,
            tie_embeddings=_flag(config, "tie_word_embeddings", gemma, where),
            bos_id=config.get("bos_token_id"),
            eos_ids=eos_ids,
            pad_id=config.get("pad_token_id"),
        )
    except HFImportError:
        raise
    except (TypeError, ValueError, ZeroDivisionError) as exc:  # our config's bounds and types
        raise HFImportError(f"{where} cannot be imported ({exc}).") from None
    return cfg


# --- weights ----------------------------------------------------------------------------------------------------

PREFIXES = ("model.language_model.", "language_model.model.", "language_model.", "model.")  # the first that fits


def hf_name(name: str) -> str | None:
    """A stored tensor's name without the wrapper's prefix ("layers.0....", "embed_tokens.weight", "norm.weight",
    "lm_head.weight"), or None for a multimodal model's vision parts."""
    if name.startswith(("vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal")):
        return None
    if name in ("lm_head.weight", "language_model.lm_head.weight"):
        return "lm_head.weight"
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def name_map(cfg: DecoderOnlyConfig, gemma: bool) -> dict[str, str]:
    """Our tensor name -> the family's (without its prefix), for every tensor a checkpoint of `cfg` stores."""
    ours = {"decoder.embed.token_embedding.weight": "embed_tokens.weight", "decoder.final_norm.weight": "norm.weight"}
    if not cfg.tie_embeddings:
        ours["generator.weight"] = "lm_head.weight"
    norms = (
        {"attn": "input_layernorm", "attn_out": "post_attention_layernorm", "ffn": "pre_feedforward_layernorm"}
        | {"ffn_out": "post_feedforward_layernorm"}
        if gemma
        else {"attn": "input_layernorm", "ffn": "post_attention_layernorm"}
    )
    parts = {f"self_attn.w_{p}": f"self_attn.{p}_proj" for p in "qkvo"}
    parts |= {f"ffn.w_{p}": f"mlp.{p}_proj" for p in ("gate", "up", "down")}
    parts |= {"self_attn.q_norm": "self_attn.q_norm", "self_attn.k_norm": "self_attn.k_norm"}
    parts |= {f"norm_{place}": theirs for place, theirs in norms.items()}
    for i in range(cfg.n_layers):
        for mine, theirs in parts.items():
            for p in ("weight", "bias"):
                ours[f"decoder.layers.{i}.{mine}.{p}"] = f"layers.{i}.{theirs}.{p}"
    expected = decoder_only_shapes(cfg)
    return {mine: theirs for mine, theirs in ours.items() if mine in expected}


def _safe_file(folder: Path, name: object, where: Path) -> Path:
    if not (isinstance(name, str) and name and "/" not in name and "\\" not in name and name not in (".", "..")):
        raise HFImportError(f"{where} names a weights file {name!r} that is not a plain file name in the folder.")
    return folder / name


def weight_files(folder: Path) -> dict[str, Path] | None:
    """Stored name -> safetensors file holding it (one file, or the shards the index lists); None without either."""
    single, index = folder / WEIGHT_FILES[0], folder / SHARD_INDEX
    if single.is_file():
        files = [single]
    elif index.is_file():
        weight_map = read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise HFImportError(f"{index} has no weight_map.")
        files = sorted({_safe_file(folder, f, index) for f in weight_map.values()})
    else:
        return None
    located = {}
    for file in files:
        try:
            header = safetensors_header(file)
        except (SizeError, OSError) as exc:
            raise HFImportError(f"{file} is not a valid safetensors file ({exc}).") from None
        wrong = non_float({name: dtype for name, (dtype, _) in header.items() if hf_name(name) is not None})
        if wrong:
            raise HFImportError(f"{file} cannot be a model's weights: {wrong}.")
        for name, (_, shape) in header.items():
            located[name] = (file, shape)
    return located


def check_shapes(
    cfg: DecoderOnlyConfig, gemma: bool, shapes: dict[str, tuple[int, ...]], where: Path
) -> dict[str, str]:
    """Our name -> stored name, once every tensor config.json implies is found with its shape; else one sentence."""
    by_hf = {hf_name(name): name for name in shapes if hf_name(name) is not None}
    mapping = name_map(cfg, gemma)
    if cfg.tie_embeddings is False and "lm_head.weight" not in by_hf:
        raise HFImportError(f"{where} has no lm_head.weight, yet config.json says the output layer is not tied.")
    found = {mine: tuple(shapes[by_hf[theirs]]) for mine, theirs in mapping.items() if theirs in by_hf}
    difference = compare_shapes(decoder_only_shapes(cfg), found)
    if difference:
        raise HFImportError(f"{where} does not match config.json: {difference}.")
    return {mine: by_hf[theirs] for mine, theirs in mapping.items()}


def read_llm_weights(folder: Path, cfg: DecoderOnlyConfig, gemma: bool) -> dict[str, torch.Tensor]:
    """Our state dict (the dtype as stored), reading only the language model's tensors, after every check."""
    located = weight_files(folder)
    if located is not None:
        stored = check_shapes(cfg, gemma, {name: shape for name, (_, shape) in located.items()}, folder)
        state, handles = {}, {}
        try:
            for mine, theirs in stored.items():
                file = located[theirs][0]
                if file not in handles:
                    handles[file] = safe_open(str(file), framework="pt")
                state[mine] = handles[file].get_tensor(theirs)
        except Exception as exc:  # safetensors' own error types
            raise HFImportError(f"the weights in {folder} could not be read ({exc}).") from None
        return state
    if not (folder / WEIGHT_FILES[1]).is_file():
        raise HFImportError(f"{folder} has no weights: neither {WEIGHT_FILES[0]}, {SHARD_INDEX} nor {WEIGHT_FILES[1]}.")
    tensors = read_weights(folder)  # weights_only: a pickled program is refused before it runs
    wrong = non_float({n: str(t.dtype).removeprefix("torch.") for n, t in tensors.items() if not t.is_floating_point()})
    if wrong:
        raise HFImportError(f"{folder / WEIGHT_FILES[1]} cannot be a model's weights: {wrong}.")
    stored = check_shapes(cfg, gemma, {n: tuple(t.shape) for n, t in tensors.items()}, folder / WEIGHT_FILES[1])
    return {mine: tensors[theirs] for mine, theirs in stored.items()}


# --- tokenizer and chat template ---------------------------------------------------------------------------------


def _token_string(value) -> str | None:
    if isinstance(value, dict):  # older tokenizer_config.json: {"content": ..., "lstrip": ...}
        value = value.get("content")
    return value if isinstance(value, str) else None


def chat_template(folder: Path) -> str:
    """The model's own chat template: chat_template.jinja, else tokenizer_config.json's chat_template (a string, or
    named templates of which "default"), else chat_template.json's."""
    jinja = folder / TEMPLATE_FILES[0]
    if jinja.is_file():
        if jinja.stat().st_size > MAX_TEMPLATE_BYTES:
            raise HFImportError(f"{jinja} is larger than {MAX_TEMPLATE_BYTES >> 10} kB: not a chat template.")
        try:
            return jinja.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HFImportError(f"{jinja} cannot be read as text ({exc}).") from None
    for name in TEMPLATE_FILES[1:]:
        if not (folder / name).is_file():
            continue
        template = read_json(folder / name).get("chat_template")
        if isinstance(template, list):  # [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
            named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
            template = named.get("default")
        if isinstance(template, str) and template.strip():
            return template
    raise HFImportError(
        f"{folder} has no chat template (chat_template.jinja, or chat_template in tokenizer_config.json): Headlight "
        "translates with instruction-tuned (chat) models, whose template says how a request is written."
    )


def chat_tokenizer(folder: Path, instruction: str = DEFAULT_INSTRUCTION) -> ChatTokenizer:
    if not (folder / "tokenizer.json").is_file():
        raise HFImportError(f"{folder} has no tokenizer.json: the model's fast tokenizer is needed.")
    read_json(folder / "tokenizer.json")  # size and JSON checked before the tokenizers library parses it
    settings = read_json(folder / "tokenizer_config.json") if (folder / "tokenizer_config.json").is_file() else {}
    special = {key: _token_string(settings.get(key)) for key in SPECIAL_TOKENS}
    try:
        return ChatTokenizer(
            (folder / "tokenizer.json").read_text(encoding="utf-8"),
            chat_template(folder),
            {k: v for k, v in special.items() if v is not None},
            instruction,
        )
    except ValueError as exc:
        raise HFImportError(f"The tokenizer or chat template in {folder} cannot be used ({exc}).") from None


def end_of_turn_ids(folder: Path, config: dict, tokenizer: ChatTokenizer, where: str) -> list[int]:
    """Every id that ends a reply: config.json's eos_token_id(s), generation_config.json's, and the template's
    eos_token; the first one found is the end-of-turn piece."""
    ids = _ids(config.get("eos_token_id"), where, "eos_token_id")
    if (folder / "generation_config.json").is_file():
        generation = read_json(folder / "generation_config.json")
        ids += _ids(generation.get("eos_token_id"), str(folder / "generation_config.json"), "eos_token_id")
    eos = tokenizer.special.get("eos_token")
    if eos is not None and tokenizer.piece_to_id(eos) is not None:
        ids.append(tokenizer.piece_to_id(eos))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise HFImportError(f"{where} names no end-of-sequence token (eos_token_id).")
    return ids


# --- the import -------------------------------------------------------------------------------------------------


@dataclass
class ImportedLLM:
    cfg: DecoderOnlyConfig
    state: dict[str, torch.Tensor]  # our names, in the dtype the model shipped in
    tokenizer: ChatTokenizer
    config: dict  # the HF config.json
    family: Family
    src_lang: str
    tgt_lang: str

    def num_parameters(self) -> int:
        return sum(t.numel() for t in self.state.values())


def check_label(value: str, flag: str) -> str:
    if not (isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable()):
        raise HFImportError(f"{flag} must be a language name of 1 to 64 printable characters, got {value!r}.")
    return value


def import_llm(
    folder: str | Path, src_lang: str | None = None, tgt_lang: str | None = None, instruction: str | None = None
) -> ImportedLLM:
    """The weights, config and tokenizer of a decoder-only model folder, checked, ready for `save_decoder_only`.
    src_lang/tgt_lang are the languages' names as the instruction writes them (default English -> Korean)."""
    folder = Path(folder)
    config = read_hf_config(folder)
    where = str(folder / "config.json")
    if not is_llm_config(config):
        raise HFImportError(f"{where} describes a {config.get('model_type')!r} model, not {', '.join(LLM_TYPES)}.")
    text = text_config(config, where)
    tokenizer = chat_tokenizer(folder, instruction or DEFAULT_INSTRUCTION)
    cfg = llm_config(text, where, end_of_turn_ids(folder, text, tokenizer, where))
    if tokenizer.vocab_size > cfg.vocab_size:
        raise HFImportError(
            f"the tokenizer has {tokenizer.vocab_size} pieces, more than the {cfg.vocab_size} rows {where} gives."
        )
    state = read_llm_weights(folder, cfg, text["model_type"] == "gemma3_text")
    src = check_label(src_lang or "English", "--src-lang")
    tgt = check_label(tgt_lang or "Korean", "--tgt-lang")
    return ImportedLLM(cfg, state, tokenizer, config, FAMILIES[text["model_type"]], src, tgt)


def llm_card(
    source: Path, name: str, imported: ImportedLLM, licence: str | None = None, hub_id: str | None = None
) -> tuple[dict, str]:
    """The card (JSON and markdown) of a decoder-only model imported from `source`."""
    cfg, family = imported.cfg, imported.family
    licence = licence or family.licence
    dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in imported.state.values()})
    card = {
        "name": name,
        "source_model": hub_id or name,
        "source_folder": str(source),
        "family": family.name,
        "architecture": "decoder-only",
        "licence": licence,
        "conversion": f"python -m model.import_hf: weights copied unchanged ({', '.join(dtypes)}) into "
        "model/core/decoder_only.py; computed in float32",
        "parameters": imported.num_parameters(),
        "hf_config": imported.config,
    }
    parts = [
        f"{cfg.n_layers} layers, d_model {cfg.d_model}, {cfg.n_heads} query heads sharing {cfg.n_kv_heads} key/value "
        f"heads of {cfg.head_dim}, d_ff {cfg.d_ff} ({'SwiGLU' if cfg.activation == 'silu' else 'GeGLU'}), vocabulary "
        f"{cfg.vocab_size}"
    ]
    if "sliding" in cfg.layer_types:
        parts.append(f"{cfg.layer_types.count('sliding')} sliding-window layers of {cfg.sliding_window} pieces")
    lines = [
        f"# {name} (imported {family.title} model)\n",
        f"Imported from the Hugging Face {f'model `{hub_id}`' if hub_id else f'folder `{source}`'} with "
        "`python -m model.import_hf`. A decoder-only language model: no encoder and no cross-attention; the "
        "output attends to the prompt (and the sentence in it) inside one self-attention.\n",
        f"- Licence: {licence} (cite {family.citation}).",
        f"- Size: {imported.num_parameters() / 1e6:.1f}M parameters; {'; '.join(parts)}.",
        f"- Translation prompt: the model's chat template around one user message, "
        f"{json.dumps(imported.tokenizer.instruction)}, default {imported.src_lang} → {imported.tgt_lang}.",
    ]
    return card, "\n".join(lines) + "\n"

"""A Hugging Face translator already in memory (a notebook's `from_pretrained` result) converted to ours.

`from_hf_objects(hf_model, hf_tokenizer)` reads the model's config and state dict and the tokenizer's own
SentencePiece models and id map, so no weight is written anywhere and `transformers` is never imported here (the
objects are read by their attributes). The result is what `model.importing.hf.import_hf` gives for a folder.
For M2M-100, NLLB-200 and mBART-50 only the tokenizer's small files pass through a temporary folder (the families'
id maps and language codes are read as `import_hf` reads them).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from model.core.tokenizer import TokenizerPair
from model.importing.hf import HFImportError, Imported, MultilingualSetup, configured, from_weights, multilingual_setup


def _config_dict(hf_model) -> dict:
    config = getattr(hf_model, "config", None)
    if config is None or not callable(getattr(config, "to_dict", None)):
        raise HFImportError(
            f"expected a Hugging Face model (an object with .config.to_dict()), got {type(hf_model).__name__}."
        )
    return config.to_dict()


def marian_tokenizer_from(hf_tokenizer) -> TokenizerPair:
    """Our tokenizer pair from a MarianTokenizer object: its two SentencePiece models and its piece -> id map."""
    if getattr(hf_tokenizer, "separate_vocabs", False):
        raise HFImportError("this Marian tokenizer has separate source and target vocabularies, which we do not map.")
    try:
        source = hf_tokenizer.spm_source.serialized_model_proto()
        target = hf_tokenizer.spm_target.serialized_model_proto()
        vocab = dict(hf_tokenizer.encoder)
    except AttributeError:
        raise HFImportError(
            f"expected a MarianTokenizer (with spm_source, spm_target and encoder), got {type(hf_tokenizer).__name__}."
        ) from None
    try:
        return TokenizerPair(source, target, vocab)
    except ValueError as exc:
        raise HFImportError(f"the Marian tokenizer is not usable ({exc}).") from None


def from_hf_objects(hf_model, hf_tokenizer, src_lang: str | None = None, tgt_lang: str | None = None) -> Imported:
    """Our Transformer and tokenizer from an in-memory HF Marian, M2M-100/NLLB-200 or mBART-50 model and tokenizer."""
    config = _config_dict(hf_model)
    model_type = config.get("model_type")

    def read_tokenizer() -> TokenizerPair | MultilingualSetup:
        if model_type == "marian":
            return marian_tokenizer_from(hf_tokenizer)
        if not callable(getattr(hf_tokenizer, "save_pretrained", None)):
            raise HFImportError(f"expected the model's Hugging Face tokenizer, got {type(hf_tokenizer).__name__}.")
        with tempfile.TemporaryDirectory() as folder:
            hf_tokenizer.save_pretrained(folder)
            return multilingual_setup(Path(folder), model_type, config["vocab_size"])

    cfg, tokenizer, family, src, tgt = configured(config, "the model's config", read_tokenizer, src_lang, tgt_lang)
    with torch.no_grad():
        weights = {name: tensor.detach().cpu() for name, tensor in hf_model.state_dict().items()}
    return Imported(from_weights(cfg, weights), tokenizer, config, family, src, tgt)

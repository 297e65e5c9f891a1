"""OPUS-MT (Marian) checkpoints read into our Transformer exactly: the Marian part of `model.importing.hf`.

Kept so that `import_marian`, `our_config` and `from_marian_weights` (bench/run.py, older notes) keep working.
"""

from __future__ import annotations

from pathlib import Path

import torch

from model.core.config import TransformerConfig
from model.core.tokenizer import TokenizerPair
from model.core.transformer import Transformer
from model.importing.hf import (
    WEIGHT_FILES,
    HFImportError,
    from_weights,
    import_hf,
    marian_config,
    read_json,
)

MarianImportError = HFImportError
TOKENIZER_FILES = TokenizerPair.files
__all__ = ["WEIGHT_FILES", "MarianImportError", "import_marian", "our_config", "from_marian_weights"]


def our_config(config: dict) -> TransformerConfig:
    """The TransformerConfig that computes exactly what this Marian config describes."""
    return marian_config(config)


def from_marian_weights(cfg: TransformerConfig, weights: dict[str, torch.Tensor]) -> Transformer:
    return from_weights(cfg, weights)


def import_marian(folder: str | Path) -> tuple[Transformer, TokenizerPair, dict]:
    """Our Transformer holding the Marian model's weights, its tokenizer pair, and the Marian config."""
    folder = Path(folder)
    if folder.is_dir() and (folder / "config.json").is_file():
        kind = read_json(folder / "config.json").get("model_type")
        if kind != "marian":
            raise MarianImportError(f"{folder} holds a {kind!r} model, not a Marian (OPUS-MT) one.")
    imported = import_hf(folder)
    return imported.model, imported.tokenizer, imported.config

"""Import a Hugging Face translator into our own Transformer: `python -m model.import_hf --help`.

  huggingface-cli download facebook/nllb-200-distilled-600M --local-dir nllb-200-distilled-600M
  python -m model.import_hf nllb-200-distilled-600M --dest checkpoints/nllb-200-distilled-600M
  python -m model.import_hf opus-mt-en-de --dest checkpoints/opus-mt-en-de

Families: Marian (OPUS-MT: config.json, source.spm, target.spm, vocab.json), M2M-100 (sentencepiece.bpe.model,
vocab.json), NLLB-200 (sentencepiece.bpe.model, tokenizer.json) and mBART-50 (sentencepiece.bpe.model). Weights from
model.safetensors, or pytorch_model.bin read with `weights_only=True`. The weights are copied, not wrapped: every
view, hook point and ablation then works on the real model. Needs neither `transformers` nor the network.
For a multilingual model, --src-lang/--tgt-lang set the default pair (English -> Korean when it knows both); every
language it knows stays a choice (model.translate --src-lang/--tgt-lang).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from model.cli.common import run
from model.core.checkpoint import save_checkpoint
from model.importing.hf import HFImportError, import_hf, model_card


def build_parser(prog: str = "python -m model.import_hf") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2],
    )
    p.add_argument("hf_dir", help="a local Hugging Face model folder (e.g. from huggingface-cli download)")
    p.add_argument("--dest", required=True, help="checkpoint folder to write, e.g. checkpoints/nllb-200-distilled-600M")
    p.add_argument("--name", help="model name for the card (default: the folder's name)")
    p.add_argument(
        "--src-lang",
        default=None,
        help="default source language (multilingual: a code the model knows, e.g. eng_Latn; Marian: a label, "
        "default from the folder name opus-mt-SRC-TGT)",
    )
    p.add_argument("--tgt-lang", default=None, help="default target language (e.g. kor_Hang)")
    p.add_argument("--licence", default=None, help="the source model's licence, for the card (default: the family's)")
    p.add_argument("--force", action="store_true", help="replace --dest if it exists")
    return p


def main(argv: list[str] | None = None, prog: str = "python -m model.import_hf") -> int:
    args = build_parser(prog).parse_args(argv)
    source, dest = Path(args.hf_dir), Path(args.dest)
    name = args.name or source.resolve().name
    if dest.exists() and not args.force:
        print(f"error: {dest} exists; pass --force to replace it", file=sys.stderr)
        return 2
    try:
        imported = import_hf(source, args.src_lang, args.tgt_lang)
    except HFImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if imported.family.name == "marian":  # labels only: Marian models are bilingual
        parts = name.split("-")
        imported.src_lang = args.src_lang or (parts[-2] if len(parts) >= 4 else "src")
        imported.tgt_lang = args.tgt_lang or (parts[-1] if len(parts) >= 4 else "tgt")
    if dest.exists():
        shutil.rmtree(dest)
    card, markdown = model_card(source, name, imported, args.licence)
    model = imported.model
    save_checkpoint(
        dest, model, imported.tokenizer, imported.src_lang, imported.tgt_lang, card=card, card_markdown=markdown
    )
    languages = f", {len(model.cfg.languages)} languages" if model.cfg.languages else ""
    print(
        f"imported {name} ({imported.family.title}): {model.num_parameters() / 1e6:.1f}M parameters, "
        f"{model.cfg.n_encoder_layers}+{model.cfg.n_decoder_layers} layers{languages} -> {dest}"
    )
    return 0


if __name__ == "__main__":
    run(main)

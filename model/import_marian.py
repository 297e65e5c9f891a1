"""Import an OPUS-MT (Marian) model into our own Transformer: `python -m model.import_marian --help`.

  huggingface-cli download Helsinki-NLP/opus-mt-en-de --local-dir opus-mt-en-de
  python -m model.import_marian opus-mt-en-de --dest checkpoints/opus-mt-en-de

Reads a local Hugging Face Marian folder (config.json; model.safetensors, or pytorch_model.bin read with
`weights_only=True`; source.spm, target.spm, vocab.json) and writes a Headlight checkpoint folder. The
weights are copied, not wrapped: every view, hook point and ablation then works on the real model.
Needs neither `transformers` nor the network.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from model.cli.common import run
from model.core.checkpoint import save_checkpoint
from model.importing.marian import MarianImportError, import_marian, model_card


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m model.import_marian",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2],
    )
    p.add_argument("hf_dir", help="a local Hugging Face Marian folder (e.g. from huggingface-cli download)")
    p.add_argument("--dest", required=True, help="checkpoint folder to write, e.g. checkpoints/opus-mt-en-de")
    p.add_argument("--name", help="model name for the card (default: the folder's name)")
    p.add_argument(
        "--src-lang", default=None, help="source language code (default: from the folder name opus-mt-SRC-TGT)"
    )
    p.add_argument("--tgt-lang", default=None)
    p.add_argument(
        "--licence", default="CC-BY 4.0", help="the source model's licence, for the card (OPUS-MT: CC-BY 4.0)"
    )
    p.add_argument("--force", action="store_true", help="replace --dest if it exists")
    args = p.parse_args(argv)
    source, dest = Path(args.hf_dir), Path(args.dest)
    name = args.name or source.resolve().name
    parts = name.split("-")
    src_lang = args.src_lang or (parts[-2] if len(parts) >= 4 else "src")
    tgt_lang = args.tgt_lang or (parts[-1] if len(parts) >= 4 else "tgt")
    if dest.exists() and not args.force:
        print(f"error: {dest} exists; pass --force to replace it", file=sys.stderr)
        return 2
    try:
        model, tokenizer, config = import_marian(source)
    except MarianImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if dest.exists():
        shutil.rmtree(dest)
    card, markdown = model_card(source, name, config, args.licence, model)
    save_checkpoint(dest, model, tokenizer, src_lang, tgt_lang, card=card, card_markdown=markdown)
    print(
        f"imported {name}: {model.num_parameters() / 1e6:.1f}M parameters, {model.cfg.n_encoder_layers}+"
        f"{model.cfg.n_decoder_layers} layers -> {dest}"
    )
    return 0


if __name__ == "__main__":
    run(main)

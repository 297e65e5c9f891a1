"""Import a Hugging Face translator into our own Transformer: `python -m model.import_hf --help`.

  python -m model.import_hf Helsinki-NLP/opus-mt-en-de                  # -> checkpoints/opus-mt-en-de
  python -m model.import_hf facebook/nllb-200-distilled-600M           # English -> Korean by default
  python -m model.import_hf path/to/opus-mt-en-de --dest checkpoints/opus-mt-en-de

SOURCE is a local folder or a Hugging Face model id (ORG/NAME). An id is downloaded by huggingface_hub into its usual
cache (HF_HOME; HF_HUB_OFFLINE=1 uses only what is cached), fetching only the files the import reads; a folder that
exists wins over an id spelled the same. --force replaces only a Headlight checkpoint, and only once the new one is
complete.

Families: Marian (OPUS-MT: config.json, source.spm, target.spm, vocab.json), M2M-100 (sentencepiece.bpe.model,
vocab.json), NLLB-200 (sentencepiece.bpe.model, tokenizer.json) and mBART-50 (sentencepiece.bpe.model); and the
decoder-only chat models Qwen2/Qwen2.5, Qwen3, Llama 3.x and Gemma 3 (tokenizer.json and the chat template; weights
kept in the dtype they shipped in; --src-lang/--tgt-lang are language names for the prompt, default English ->
Korean). Weights from
model.safetensors, or pytorch_model.bin read with `weights_only=True`. The weights are copied, not wrapped: every
view, hook point and ablation then works on the real model. Needs neither `transformers` nor (for a folder) the
network. For a multilingual model, --src-lang/--tgt-lang set the default pair (English -> Korean when it knows both);
every language it knows stays a choice (model.translate --src-lang/--tgt-lang).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.cli_support.common import run
from model.core.checkpoint import save_checkpoint
from model.core.decoder_only_checkpoint import save_decoder_only
from model.importing.destination import DestinationError, check_destination, staged_folder
from model.importing.hf import HFImportError, import_hf, model_card, read_hf_config
from model.importing.hub import HubError, parse_source, resolve_source
from model.importing.llm import ImportedLLM, import_llm, is_llm_config, llm_card


def build_parser(prog: str = "python -m model.import_hf") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2],
    )
    p.add_argument(
        "source",
        help="a Hugging Face model id (ORG/NAME, e.g. Helsinki-NLP/opus-mt-en-de) or a local Hugging Face model folder",
    )
    p.add_argument(
        "--dest",
        default=None,
        help="checkpoint folder to write (default: checkpoints/NAME, NAME being --name or the model's name)",
    )
    p.add_argument("--name", help="model name for the card (default: the repository's or the folder's name)")
    p.add_argument(
        "--src-lang",
        default=None,
        help="default source language (multilingual: a code the model knows, e.g. eng_Latn; Marian: a label, "
        "default from the name opus-mt-SRC-TGT)",
    )
    p.add_argument("--tgt-lang", default=None, help="default target language (e.g. kor_Hang)")
    p.add_argument("--licence", default=None, help="the source model's licence, for the card (default: the family's)")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace --dest if it is a Headlight checkpoint (never another folder, nor the source); the old one "
        "stays until the new one is complete",
    )
    return p


def main(argv: list[str] | None = None, prog: str = "python -m model.import_hf") -> int:
    args = build_parser(prog).parse_args(argv)
    dest = Path(args.dest or "checkpoints")
    try:
        source = parse_source(args.source)
        name = args.name or source.name
        dest = Path(args.dest) if args.dest else dest / name
        check_destination(dest, args.force, source.local_folder)  # before any download or work
        with staged_folder(dest) as staging:  # becomes dest only if everything below succeeds
            folder = resolve_source(source)
            check_destination(dest, args.force, folder)
            if is_llm_config(read_hf_config(folder)):  # Qwen, Llama, Gemma 3: model.importing.llm
                imported = import_llm(folder, args.src_lang, args.tgt_lang)
                card, markdown = llm_card(folder, name, imported, args.licence, source.hub_id)
                save_decoder_only(
                    staging,
                    imported.cfg,
                    imported.state,
                    imported.tokenizer,
                    imported.src_lang,
                    imported.tgt_lang,
                    card,
                    markdown,
                )
            else:
                imported = import_hf(folder, args.src_lang, args.tgt_lang)
                if imported.family.name == "marian":  # labels only: Marian models are bilingual
                    parts = name.split("-")
                    imported.src_lang = args.src_lang or (parts[-2] if len(parts) >= 4 else "src")
                    imported.tgt_lang = args.tgt_lang or (parts[-1] if len(parts) >= 4 else "tgt")
                card, markdown = model_card(folder, name, imported, args.licence, source.hub_id)
                save_checkpoint(
                    staging,
                    imported.model,
                    imported.tokenizer,
                    imported.src_lang,
                    imported.tgt_lang,
                    card=card,
                    card_markdown=markdown,
                )
    except (HubError, DestinationError, HFImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the destination: unwritable, full disk
        print(f"error: could not write {dest}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if isinstance(imported, ImportedLLM):
        print(
            f"imported {name} ({imported.family.title}): {imported.num_parameters() / 1e6:.1f}M parameters, "
            f"{imported.cfg.n_layers} layers, decoder-only -> {dest}"
        )
        return 0
    model = imported.model
    languages = f", {len(model.cfg.languages)} languages" if model.cfg.languages else ""
    print(
        f"imported {name} ({imported.family.title}): {model.num_parameters() / 1e6:.1f}M parameters, "
        f"{model.cfg.n_encoder_layers}+{model.cfg.n_decoder_layers} layers{languages} -> {dest}"
    )
    return 0


if __name__ == "__main__":
    run(main)

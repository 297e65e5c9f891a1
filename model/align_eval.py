"""Alignment error rate of every cross-attention head against human gold: `python -m model.align_eval --help`.

  python -m model.align_eval --checkpoint multi30k-en-de --gold rwth --out aer.csv
  python -m model.align_eval --checkpoint multi30k-en-fr --gold hansards --out aer.csv
  python -m model.align_eval --checkpoint nllb-200-distilled-600M --gold rwth   # eng_Latn→deu_Latn

Teacher-forces each gold sentence's reference translation, merges pieces into the gold's words, and
scores argmax and threshold alignments of each head (and each layer's mean) with corpus AER. A multilingual model
is scored on the gold's language pair in its own codes (--src-lang/--tgt-lang choose others, which must name the same
languages; for eflomal-multi30k, --tgt-lang picks the Multi30k language).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from model.analysis.alignment import GOLD_SETS, aer_table, gold_set, head_alignments, score_lines
from model.cli_support.common import add_checkpoint_flag, add_language_flags, command_parser, fail, load_model, run
from model.cli_support.outputs import OutputError, check_output, checkpoint_inputs, replaced_when_done
from model.core.checkpoint import CheckpointError, with_languages
from model.core.language_codes import code_for, language_of, means_language
from model.core.paths import DATA_DIR


def build_parser() -> argparse.ArgumentParser:
    p = command_parser("align_eval", __doc__)
    add_checkpoint_flag(p)
    p.add_argument(
        "--gold",
        choices=sorted(GOLD_SETS),
        required=True,
        help="rwth (English→German), hansards (English→French), or eflomal-multi30k: a statistical aligner's "
        "links on Multi30k validation (needs pip install eflomal), where no human gold exists",
    )
    p.add_argument("--multi30k", default=DATA_DIR / "multi30k", type=Path, help="Multi30k (default: the repository's)")
    p.add_argument(
        "--gold-dir", default=DATA_DIR / "alignment", type=Path, help="gold alignments (default: the repository's)"
    )
    p.add_argument("--out", help="write the per-head table to this CSV")
    p.add_argument(
        "--shift",
        action="store_true",
        help="read each target word's row where it is the decoder's input, one step after producing it (Chen et "
        "al., 2020)",
    )
    add_language_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _, reader, langs = GOLD_SETS[args.gold]
    try:
        out = args.out and check_output("--out", args.out, checkpoint_inputs(args.checkpoint))
        ckpt = load_model(args.checkpoint)
        src_lang, tgt_lang = args.src_lang, args.tgt_lang
        if ckpt.languages:  # a multilingual model: the gold's languages in its codes, unless the flags choose
            src_lang = src_lang or code_for(langs[0] if langs else "en", ckpt.languages)
            tgt_lang = tgt_lang or (code_for(langs[1], ckpt.languages) if langs else None)
        ckpt = with_languages(ckpt, src_lang, tgt_lang)
    except (CheckpointError, ValueError) as exc:  # (OutputError is a ValueError)
        return fail(exc)
    if reader is None:  # eflomal on Multi30k, whose files are named by two-letter code
        langs = ("en", language_of(ckpt.tgt_lang) or ckpt.tgt_lang)
    gold_src, gold_tgt = langs
    if not (means_language(ckpt.src_lang, gold_src) and means_language(ckpt.tgt_lang, gold_tgt)):
        return fail(f"{args.gold} needs an {gold_src}→{gold_tgt} model; {ckpt.name} is {ckpt.src_lang}→{ckpt.tgt_lang}")
    try:
        gold = gold_set(args.gold, Path(args.gold_dir), Path(args.multi30k), gold_tgt)
    except (OSError, ValueError, ImportError, EOFError) as exc:  # EOFError: a truncated .gz
        return fail(exc)
    start = time.perf_counter()
    bar = tqdm(total=len(gold), desc="teacher-forcing", file=sys.stderr)
    matrices, kept = head_alignments(
        ckpt.model,
        ckpt.tokenizer,
        gold,
        lambda n, _: bar.update(n - bar.n),
        shift=args.shift,
        src_lang=ckpt.src_lang,
        tgt_lang=ckpt.tgt_lang,
    )
    bar.close()
    if not kept:
        fail("no sentence's pieces regroup into the gold's words")
        return 1
    table = pd.DataFrame(aer_table(matrices, [gold[i] for i in kept]))
    if ckpt.languages:
        print(f"{ckpt.name} translating {ckpt.src_lang}→{ckpt.tgt_lang}")
    print(
        f"{len(kept)} of {len(gold)} sentences scored ({len(gold) - len(kept)} left out: pieces do not regroup "
        "into the gold's "
        f"words), {time.perf_counter() - start:.0f} s"
    )
    print("\n".join(score_lines(table, [gold[i] for i in kept])))
    if out:
        try:
            with replaced_when_done(out) as f:
                table.to_csv(f, index=False, float_format="%.4f")
        except OutputError as exc:
            return fail(exc)
    return 0


if __name__ == "__main__":
    run(main)

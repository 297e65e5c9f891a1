"""Batch head analysis: `python -m model.analyze --help`.

  python -m model.analyze --checkpoint multi30k-en-de --input sentences.txt --stats stats.csv
  python -m model.analyze --checkpoint multi30k-en-de --input val.en --ref val.de \\
      --sweep checkpoints/multi30k-en-de/head_importance.json
  python -m model.analyze --checkpoint nllb-200-distilled-600M --tgt-lang kor_Hang \\
      --input data/flores/devtest.eng_Latn.gz --stats stats.csv --max-sentences 100
"""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from model.analysis.head_statistics import LABEL_RULES
from model.analysis.importance import sentence_stats, sweep_record
from model.cli_support.common import (
    add_checkpoint_flag,
    add_language_flags,
    command_parser,
    fail,
    load_checkpoint_and_sentences,
    run,
)
from model.cli_support.numbers import count
from model.cli_support.outputs import OutputError, check_output, checkpoint_inputs, replaced_when_done
from model.core.head_selection import all_heads


def build_parser() -> argparse.ArgumentParser:
    labels = "\n".join(f"  {name}: {rule}" for name, rule, _ in LABEL_RULES)
    p = command_parser("analyze", __doc__, epilog_extra="\nLabels, first rule that holds:\n" + labels)
    add_checkpoint_flag(p)
    p.add_argument("--input", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--stats", help="write per-head statistics averaged over the sentences to this CSV")
    p.add_argument("--sweep", help="write each head's importance (drop when removed alone) to this JSON; needs --ref")
    p.add_argument("--ref", help="reference translations for --sweep")
    p.add_argument("--max-sentences", type=count, default=0, help="use only the first N sentences (0: all)")
    add_language_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if not (args.stats or args.sweep):
        p.error("give --stats OUT.csv, --sweep OUT.json, or both")
    if args.sweep and not args.ref:
        p.error("--sweep needs --ref")
    inputs = {"--input": args.input, "--ref": args.ref} | checkpoint_inputs(args.checkpoint)
    try:
        stats = args.stats and check_output("--stats", args.stats, inputs)
        sweep = args.sweep and check_output("--sweep", args.sweep, inputs | {"--stats": stats or None})
    except OutputError as exc:
        return fail(exc)
    languages = (args.src_lang, args.tgt_lang)  # a multilingual model's pair, the one the run translates
    loaded = load_checkpoint_and_sentences(args.checkpoint, args.input, args.ref, args.max_sentences, languages)
    if loaded is None:
        return 2
    ckpt, sources, references = loaded
    if not any(s.strip() for s in sources):
        return fail(f"{args.input} has no sentences")

    def bar(desc: str, total: int):
        b = tqdm(total=total, desc=desc, file=sys.stderr)
        return lambda n, _total: b.update(n - b.n)

    try:
        if stats:
            table = sentence_stats(ckpt, sources, bar("statistics", len(sources)))
            with replaced_when_done(stats) as f:
                table.to_csv(f, index=False, float_format="%.4f")
            print(
                f"wrote {len(table)} heads' statistics over {len(sources)} sentences to {args.stats}", file=sys.stderr
            )
        if sweep:
            record = sweep_record(ckpt, sources, references, bar("sweep", len(all_heads(ckpt.model.cfg))))
            with replaced_when_done(sweep) as f:
                json.dump(record, f, indent=1)
            print(f"wrote the importance of {len(record['heads'])} heads to {args.sweep}", file=sys.stderr)
    except OutputError as exc:
        return fail(exc)
    return 0


if __name__ == "__main__":
    run(main)

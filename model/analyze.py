"""Batch head analysis: `python -m model.analyze --help`.

  python -m model.analyze --checkpoint checkpoints/multi30k-en-de --input sentences.txt --stats stats.csv
  python -m model.analyze --checkpoint checkpoints/multi30k-en-de --input val.en --ref val.de \\
      --sweep checkpoints/multi30k-en-de/head_importance.json
  python -m model.analyze --checkpoint checkpoints/nllb-200-distilled-600M --tgt-lang kor_Hang \\
      --input ../shared/data/flores/devtest.eng_Latn.gz --stats stats.csv --max-sentences 100
"""

from __future__ import annotations

import argparse
import json
import sys

from tqdm import tqdm

from model.analysis.head_statistics import LABEL_RULES
from model.analysis.importance import sentence_stats, sweep_record
from model.cli.common import add_language_flags, load_checkpoint_and_sentences, run
from model.core.checkpoint import with_languages
from model.core.head_selection import all_heads


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m model.analyze",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2]
        + "\nLabels, first rule that holds:\n"
        + "\n".join(f"  {name}: {rule}" for name, rule, _ in LABEL_RULES),
    )
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--stats", help="write per-head statistics averaged over the sentences to this CSV")
    p.add_argument("--sweep", help="write each head's importance (drop when removed alone) to this JSON; needs --ref")
    p.add_argument("--ref", help="reference translations for --sweep")
    p.add_argument("--max-sentences", type=int, default=0, help="use only the first N sentences (0: all)")
    add_language_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if not (args.stats or args.sweep):
        p.error("give --stats OUT.csv, --sweep OUT.json, or both")
    if args.sweep and not args.ref:
        p.error("--sweep needs --ref")
    loaded = load_checkpoint_and_sentences(args.checkpoint, args.input, args.ref, args.max_sentences)
    if loaded is None:
        return 2
    ckpt, sources, references = loaded
    try:
        ckpt = with_languages(ckpt, args.src_lang, args.tgt_lang)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not any(s.strip() for s in sources):
        print(f"error: {args.input} has no sentences", file=sys.stderr)
        return 2

    def bar(desc: str, total: int):
        b = tqdm(total=total, desc=desc, file=sys.stderr)
        return lambda n, _total: b.update(n - b.n)

    if args.stats:
        table = sentence_stats(ckpt, sources, bar("statistics", len(sources)))
        table.to_csv(args.stats, index=False, float_format="%.4f")
        print(f"wrote {len(table)} heads' statistics over {len(sources)} sentences to {args.stats}", file=sys.stderr)
    if args.sweep:
        record = sweep_record(ckpt, sources, references, bar("sweep", len(all_heads(ckpt.model.cfg))))
        with open(args.sweep, "w") as f:
            json.dump(record, f, indent=1)
        print(f"wrote the importance of {len(record['heads'])} heads to {args.sweep}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run(main)

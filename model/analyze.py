"""Batch head analysis: `python -m model.analyze --help`.

  python -m model.analyze --checkpoint checkpoints/multi30k-en-de --input sentences.txt --stats stats.csv
  python -m model.analyze --checkpoint checkpoints/multi30k-en-de --input val.en --ref val.de \\
      --sweep checkpoints/multi30k-en-de/head_importance.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from tqdm import tqdm

from model.ablation import importance_sweep
from model.head_statistics import LABEL_RULES, average_stats, trace_stats
from model.cli import load_checkpoint_and_sentences, run
from model.decode import translate
from model.heads import all_heads

SWEEP_FILE = "head_importance.json"


def sentence_stats(ckpt, sentences: list[str], progress=None):
    """Statistics of every head averaged over the (non-empty) sentences' greedy translations."""
    frames = []
    for n, text in enumerate(sentences):
        if text.strip():
            frames.append(trace_stats(translate(ckpt.model, ckpt.tokenizer, text).trace))
        if progress:
            progress(n + 1, len(sentences))
    return average_stats(frames)


def sweep_record(ckpt, sources: list[str], references: list[str], progress=None) -> dict:
    start = time.perf_counter()
    table = importance_sweep(ckpt.model, ckpt.tokenizer, sources, references, progress)
    return {"checkpoint": ckpt.name, "sentences": len(sources), "seconds": round(time.perf_counter() - start, 1),
            "baseline": {k: round(v, 4) for k, v in table.attrs["baseline"].items()},
            "heads": table.round(4).to_dict("records")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.analyze", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n", 2)[2] + "\nLabels, first rule that holds:\n" +
                                "\n".join(f"  {name}: {rule}" for name, rule, _ in LABEL_RULES))
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--stats", help="write per-head statistics averaged over the sentences to this CSV")
    p.add_argument("--sweep", help="write each head's importance (drop when removed alone) to this JSON; needs --ref")
    p.add_argument("--ref", help="reference translations for --sweep")
    p.add_argument("--max-sentences", type=int, default=0, help="use only the first N sentences (0: all)")
    args = p.parse_args(argv)
    if not (args.stats or args.sweep):
        p.error("give --stats OUT.csv, --sweep OUT.json, or both")
    if args.sweep and not args.ref:
        p.error("--sweep needs --ref")
    loaded = load_checkpoint_and_sentences(args.checkpoint, args.input, args.ref, args.max_sentences)
    if loaded is None:
        return 2
    ckpt, sources, references = loaded
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

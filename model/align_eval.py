"""Alignment error rate of every cross-attention head against human gold: `python -m model.align_eval --help`.

  python -m model.align_eval --checkpoint checkpoints/multi30k-en-de --gold rwth --out aer.csv
  python -m model.align_eval --checkpoint checkpoints/multi30k-en-fr --gold hansards --out aer.csv

Teacher-forces each gold sentence's reference translation, merges pieces into the gold's words, and
scores argmax and threshold alignments of each head (and each layer's mean) with corpus AER.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from model.alignment import aer_table, corpus_aer, head_alignments, read_hansards, read_rwth
from model.checkpoint import CheckpointError, load_checkpoint
from model.cli import run

GOLD = {"rwth": ("rwth-de-en", read_rwth, ("en", "de")), "hansards": ("hansards-en-fr", read_hansards, ("en", "fr"))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.align_eval", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--gold", choices=sorted(GOLD), required=True, help="rwth (English→German) or hansards (English→French)")
    p.add_argument("--gold-dir", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "alignment"))
    p.add_argument("--out", help="write the per-head table to this CSV")
    p.add_argument("--shift", action="store_true",
                   help="read each target word's row where it is the decoder's input, one step after producing it (Chen et al., 2020)")
    args = p.parse_args(argv)
    folder, reader, (src_lang, tgt_lang) = GOLD[args.gold]
    try:
        ckpt = load_checkpoint(args.checkpoint)
        gold = reader(Path(args.gold_dir) / folder)
    except (CheckpointError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if (ckpt.src_lang, ckpt.tgt_lang) != (src_lang, tgt_lang):
        print(f"error: {args.gold} needs an {src_lang}→{tgt_lang} model; {ckpt.name} is {ckpt.src_lang}→{ckpt.tgt_lang}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    bar = tqdm(total=len(gold), desc="teacher-forcing", file=sys.stderr)
    matrices, kept = head_alignments(ckpt.model, ckpt.tokenizer, gold, lambda n, _: bar.update(n - bar.n), shift=args.shift)
    bar.close()
    if not kept:
        print("error: no sentence's pieces regroup into the gold's words", file=sys.stderr)
        return 1
    table = pd.DataFrame(aer_table(matrices, [gold[i] for i in kept]))
    best = table.loc[table["aer_argmax"].idxmin()]
    print(f"{len(kept)} of {len(gold)} sentences scored ({len(gold) - len(kept)} left out: pieces do not regroup into the gold's "
          f"words), {time.perf_counter() - start:.0f} s")
    diagonal = [{(t, min(len(g.source) - 1, round(t * len(g.source) / len(g.target)))) for t in range(len(g.target))}
                for g in (gold[i] for i in kept)]
    print(f"baseline, the diagonal (target word t -> source word t·S/T): AER {corpus_aer(diagonal, [gold[i] for i in kept]):.3f}")
    print(f"best head by argmax AER: layer {best['layer']} head {best['head']}: {best['aer_argmax']:.3f}; "
          f"worst: {table['aer_argmax'].max():.3f}")
    print(table.sort_values("aer_argmax").head(8).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if args.out:
        table.to_csv(args.out, index=False, float_format="%.4f")
    return 0


if __name__ == "__main__":
    run(main)

"""Heads across a corpus: `python -m model.corpus --checkpoint DIR --input FILE [--ref FILE] --out DIR`.

Translates every sentence once (greedy; or teacher-forces --ref), and stores, per head, what the head
dashboards need, in NPZ chunks (no pickles) written as it goes, so memory stays bounded and an
interrupted run resumes where it stopped:

- `stats`: [sentences, heads, statistics] (model/analysis/head_statistics.py's statistics of every head, per sentence);
- `pattern`: [heads, 2R + 1] running sums of the weight at each offset from the diagonal (key − query,
  cross-attention against the length-scaled diagonal), and their counts;
- `q`, `k`: a few sampled query and key vectors per head and sentence [sentences, heads, samples, d_k],
  with their positions, for the joint query/key projection;
- the sentences, their translations and pieces.

`corpus_summary` reads the chunks back: per head averages, the most extreme sentences for any statistic,
and the typical pattern.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from model.analysis.corpus import run_corpus
from model.cli.common import load_checkpoint_and_sentences, run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.corpus", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--ref", help="reference translations: teacher-force them instead of translating")
    p.add_argument("--out", required=True, help="folder for the NPZ chunks and progress.json (an existing run resumes)")
    p.add_argument("--max-sentences", type=int, default=0)
    p.add_argument("--chunk", type=int, default=200, help="sentences per chunk (memory is bounded by one chunk)")
    args = p.parse_args(argv)
    loaded = load_checkpoint_and_sentences(args.checkpoint, args.input, args.ref, args.max_sentences)
    if loaded is None:
        return 2
    ckpt, sources, references = loaded
    bar = tqdm(total=len(sources), desc="corpus", file=sys.stderr)
    meta = run_corpus(
        ckpt, sources, references, Path(args.out), args.chunk, progress=lambda n, _: bar.update(n - bar.n)
    )
    bar.close()
    print(
        f"{meta['done']} sentences in {meta['chunks']} chunks, {meta['seconds']:.0f} s, peak resident memory "
        f"{meta['peak_rss_mb']:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    run(main)

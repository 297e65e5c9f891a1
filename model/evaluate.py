"""Score a checkpoint with sacreBLEU and chrF: `python -m model.evaluate --help`.

  python -m model.evaluate --checkpoint checkpoints/multi30k-en-de \\
      --src ../shared/data/multi30k/test_2016_flickr.en.gz --ref ../shared/data/multi30k/test_2016_flickr.de.gz --beam 4
  python -m model.evaluate ... --input-style casual-tidied   # typed casually, then tidied as the app does
"""
from __future__ import annotations

import argparse
import sys
import time

import sacrebleu

from model.cli import run
from model.checkpoint import CheckpointError, load_checkpoint
from model.data import read_parallel
from model.batch import translate_many
from model.tidy import INPUT_STYLES


def score(hypotheses: list[str], references: list[str]) -> dict:
    """Corpus BLEU (sacreBLEU defaults: 13a, cased, detokenized) and chrF, with their signatures."""
    bleu, chrf = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF()
    b, c = bleu.corpus_score(hypotheses, [references]), chrf.corpus_score(hypotheses, [references])
    return {"bleu": round(b.score, 2), "chrf": round(c.score, 2),
            "bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature())}


def evaluate(ckpt, sources: list[str], references: list[str], beam: int) -> dict:
    start = time.perf_counter()
    hyps = translate_many(ckpt.model, ckpt.tokenizer, sources, beam=beam)
    result = score(hyps, references)
    result.update(beam=beam, sentences=len(sources), seconds=round(time.perf_counter() - start, 1))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--src", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--ref", required=True, help="reference translations, line by line")
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--output", help="also write the translations here")
    p.add_argument("--input-style", choices=list(INPUT_STYLES), default="as-written",
                   help="feed the sources as written, tidied (model.tidy), as people often type them (casual: lower-case "
                        "start, 'i', no end punctuation), or casual and then tidied, as the app does")
    args = p.parse_args(argv)
    try:
        ckpt = load_checkpoint(args.checkpoint)
        sources, references = read_parallel(args.src, args.ref)
    except (CheckpointError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sources = [INPUT_STYLES[args.input_style](s) for s in sources]
    hyps = translate_many(ckpt.model, ckpt.tokenizer, sources, beam=args.beam)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.writelines(h + "\n" for h in hyps)
    result = score(hyps, references)
    print(f"BLEU {result['bleu']:.2f}  ({result['bleu_signature']})")
    print(f"chrF {result['chrf']:.2f}  ({result['chrf_signature']})")
    return 0


if __name__ == "__main__":
    run(main)

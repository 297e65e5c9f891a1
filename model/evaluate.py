"""Score a checkpoint with sacreBLEU and chrF: `python -m model.evaluate --help`.

  python -m model.evaluate --checkpoint checkpoints/multi30k-en-de \\
      --src ../shared/data/multi30k/test_2016_flickr.en.gz --ref ../shared/data/multi30k/test_2016_flickr.de.gz --beam 4
  python -m model.evaluate ... --input-style casual-tidied   # typed casually, then tidied as the app does
  python -m model.evaluate --checkpoint checkpoints/nllb-200-distilled-600M --tgt-lang kor_Hang \\
      --src ../shared/data/flores/devtest.eng_Latn.gz --ref ../shared/data/flores/devtest.kor_Hang.gz
"""

from __future__ import annotations

import argparse
import sys

from model.cli.common import add_language_flags, run
from model.core.checkpoint import CheckpointError, load_checkpoint, with_languages
from model.core.language_codes import means_english
from model.core.text_files import read_parallel
from model.decoding.batch import translate_many
from model.decoding.tidy import INPUT_STYLES
from model.training.evaluation import score


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m model.evaluate",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 2)[2],
    )
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--src", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--ref", required=True, help="reference translations, line by line")
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--output", help="also write the translations here")
    p.add_argument(
        "--input-style",
        choices=list(INPUT_STYLES),
        default="as-written",
        help="feed the sources as written, tidied (model.decoding.tidy), as people often type them (casual: lower-case "
        "start, 'i', no end punctuation), or casual and then tidied, as the app does (English sources only)",
    )
    add_language_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        ckpt = with_languages(load_checkpoint(args.checkpoint), args.src_lang, args.tgt_lang)
        sources, references = read_parallel(args.src, args.ref)
    except (CheckpointError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.input_style != "as-written" and not means_english(ckpt.src_lang):
        print(
            f"error: --input-style {args.input_style} rewrites English; {ckpt.name} reads {ckpt.src_lang}",
            file=sys.stderr,
        )
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

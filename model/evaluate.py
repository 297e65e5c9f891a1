"""Score a checkpoint with sacreBLEU and chrF: `python -m model.evaluate --help`.

  python -m model.evaluate --checkpoint multi30k-en-de \\
      --src data/multi30k/test_2016_flickr.en.gz --ref data/multi30k/test_2016_flickr.de.gz --beam 4
  python -m model.evaluate ... --input-style casual-tidied   # typed casually, then tidied as the app does
  python -m model.evaluate --checkpoint nllb-200-distilled-600M --tgt-lang kor_Hang \\
      --src data/flores/devtest.eng_Latn.gz --ref data/flores/devtest.kor_Hang.gz
"""

from __future__ import annotations

import argparse

from model.cli_support.common import add_checkpoint_flag, add_language_flags, command_parser, fail, load_model, run
from model.cli_support.inputs import read_parallel_sentences
from model.cli_support.numbers import BEAM_HELP, beam_size
from model.cli_support.outputs import OutputError, check_output, checkpoint_inputs, replaced_when_done
from model.core.checkpoint import CheckpointError, with_languages
from model.core.language_codes import means_english
from model.decoding.batch import translate_many
from model.decoding.tidy import INPUT_STYLES
from model.training.evaluation import score


def build_parser() -> argparse.ArgumentParser:
    p = command_parser("evaluate", __doc__)
    add_checkpoint_flag(p)
    p.add_argument("--src", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--ref", required=True, help="reference translations, line by line")
    p.add_argument("--beam", type=beam_size, default=1, help=BEAM_HELP)
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
        inputs = {"--src": args.src, "--ref": args.ref} | checkpoint_inputs(args.checkpoint)
        output = args.output and check_output("--output", args.output, inputs)
        sources, references = read_parallel_sentences(args.src, args.ref)
        if not sources:
            return fail(f"{args.src} holds no sentences: nothing to evaluate.")
        ckpt = with_languages(load_model(args.checkpoint), args.src_lang, args.tgt_lang)
    except (CheckpointError, ValueError) as exc:  # (OutputError and InputFileError are ValueErrors)
        return fail(exc)
    if args.input_style != "as-written" and not means_english(ckpt.src_lang):
        return fail(f"--input-style {args.input_style} rewrites English; {ckpt.name} reads {ckpt.src_lang}")
    sources = [INPUT_STYLES[args.input_style](s) for s in sources]
    hyps = translate_many(ckpt.model, ckpt.tokenizer, sources, beam=args.beam)
    if output:
        try:
            with replaced_when_done(output) as f:
                f.writelines(h + "\n" for h in hyps)
        except OutputError as exc:
            return fail(exc)
    result = score(hyps, references)
    print(f"BLEU {result['bleu']:.2f}  ({result['bleu_signature']})")
    print(f"chrF {result['chrf']:.2f}  ({result['chrf_signature']})")
    return 0


if __name__ == "__main__":
    run(main)

"""Translate with a Headlight checkpoint: `python -m model.translate --help`.

python -m model.translate "A dog runs on the beach."                 # the app's default model
python -m model.translate --checkpoint multi30k-en-de "A dog runs on the beach."
python -m model.translate --input sentences.txt --beam 4 > translations.txt
python -m model.translate "A dog runs." --export trace.npz
python -m model.translate "A dog runs." --ablate cross:*:*
python -m model.translate "A dog runs." --prefix "Ein Hund"       # force the start, see what follows
python -m model.translate --tidy "where is the bus stop"          # "Where is the bus stop?", as the app does
python -m model.translate --checkpoint nllb-200-distilled-600M --tgt-lang kor_Hang "A dog runs."
python -m model.translate --checkpoint Qwen2.5-0.5B-Instruct --tgt-lang French "A dog runs."  # a language model

A decoder-only language model's --src-lang/--tgt-lang are the languages' names as its prompt writes them (default:
the checkpoint's, e.g. English and German), --instruction replaces the prompt's instruction, and --export writes the
whole self-attention with the three kinds cut from it (docs/formats.md); --ablate and --prefix are for
encoder-decoder models only.
"""

from __future__ import annotations

import argparse
import sys

from model.cli_support.common import add_checkpoint_flag, add_language_flags, command_parser, fail, load_model, run
from model.cli_support.lines import translate_lines
from model.cli_support.numbers import BEAM_HELP, beam_size, length_penalty, output_pieces
from model.cli_support.outputs import OutputError, check_output, checkpoint_inputs, replaced_when_done
from model.cli_support.translate_options import add_instruction_flag, translate_options
from model.core.checkpoint import CheckpointError
from model.core.decoder_only import DecoderOnlyTransformer
from model.core.defaults import MAX_LENGTH_PENALTY, MAX_OUTPUT_PIECES
from model.decoding.llm_text import LLMTextTranslation, translate_llm_text
from model.decoding.notes import translation_notes
from model.decoding.tidy import tidy_input
from model.decoding.translation import InputError, Translation, translate


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = command_parser("translate", __doc__)
    p.add_argument("text", nargs="?", help="the sentence to translate")
    add_checkpoint_flag(p)
    p.add_argument("--input", help="translate this file, one sentence per line, to standard output")
    p.add_argument("--beam", type=beam_size, default=1, help=BEAM_HELP)
    p.add_argument(
        "--length-penalty",
        type=length_penalty,
        default=None,
        help=f"beam search's length penalty, 0 (none) to {MAX_LENGTH_PENALTY:g}: GNMT's exponent alpha (default 0.6); "
        "decoder-only models: score / length ** penalty, as transformers (default 1)",
    )
    p.add_argument(
        "--max-len",
        type=output_pieces,
        default=None,
        help=f"most output pieces, 1 to {MAX_OUTPUT_PIECES} (default: 2 x source + 10, within the model's limit; "
        "decoder-only models: 256)",
    )
    p.add_argument(
        "--export", help="write the attention trace of TEXT to this file, as NPZ (the name is used as given)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing --export file")
    p.add_argument(
        "--prefix", default="", help="target text the translation must start with; the model continues from it"
    )
    add_language_flags(p)
    add_instruction_flag(p)
    p.add_argument(
        "--tidy",
        action="store_true",
        help="tidy English input first, as the app does: capital letter, 'I', '.' or '?' at the end "
        "(model.decoding.tidy)",
    )
    p.add_argument(
        "--ablate",
        default="",
        help="switch heads off: comma-separated kind:layer:head, '*' as a wildcard (e.g. cross:*:*,encoder:2:5)",
    )
    args = p.parse_args(argv)
    if (args.text is None) == (args.input is None):
        p.error("give either TEXT or --input FILE")
    if args.export and args.input:
        p.error("--export works with one TEXT, not with --input")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        export = args.export and check_output(
            "--export", args.export, checkpoint_inputs(args.checkpoint), force=args.force
        )
        ckpt = load_model(args.checkpoint)
        ckpt, options = translate_options(args, ckpt)
    except (CheckpointError, ValueError) as exc:  # (OutputError is a ValueError)
        return fail(exc)

    def translate_text(text: str, with_trace: bool = False) -> Translation | LLMTextTranslation:  # notes on stderr
        if isinstance(ckpt.model, DecoderOnlyTransformer):  # a language model: its own prompt and search
            result = translate_llm_text(ckpt.model, ckpt.tokenizer, text, args.tidy, with_trace, **options)
            tidied, notes = result.tidied, result.notes
        else:
            tidied = tidy_input(text, ckpt.src_lang, args.tidy)
            result = translate(ckpt.model, ckpt.tokenizer, tidied.text, with_trace=with_trace, **options)
            notes = translation_notes(result, ckpt.tokenizer, args.prefix)
        if tidied.changes and args.input is None:  # one sentence: say what was translated (a file's lines would flood)
            print(f"tidied: {tidied.text}", file=sys.stderr)
        for note in notes:
            print(note, file=sys.stderr)
        return result

    if args.input is not None:
        return translate_lines(args.input, lambda line: translate_text(line).text)
    try:
        result = translate_text(args.text, with_trace=bool(export))
    except InputError as exc:
        return fail(exc)
    print(result.text)
    if export:
        try:
            with replaced_when_done(export, "wb") as f:  # a file object: NumPy would append .npz to a name
                result.trace.save_npz(f)
        except OutputError as exc:
            return fail(exc)
    return 0


if __name__ == "__main__":
    run(main)

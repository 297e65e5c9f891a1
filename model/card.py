"""Ship a trained checkpoint with its model card: `python -m model.card --help`.

  python -m model.card --source runs/en-de/final --dest checkpoints/multi30k-en-de \\
      --data-dir data/multi30k --name "Multi30k English→German"
  python -m model.card --source runs/general-en-de/final --dest checkpoints/general-en-de --name "General
  English→German" \\
      --test tatoeba_test SRC REF --test newstest2014 SRC REF ... --data-json runs/data/general-en-de/stats.json \\
      --about "what the model was trained on, with licences" --demo checkpoints/samples/demo30.en.txt
  python -m model.card --source unused --dest checkpoints/general-en-de --name "General English→German" \\
      --demo-only --demo checkpoints/samples/demo30.en.txt    # a new list of demo sentences, scores untouched
  python -m model.card --source checkpoints/nllb-200-distilled-600M --dest checkpoints/nllb-en-ko \\
      --name "NLLB-200 English→Korean" --src-lang eng_Latn --tgt-lang kor_Hang \\
      --test flores data/flores/devtest.eng_Latn.gz data/flores/devtest.kor_Hang.gz

Copies the weights (fp16 by default), then scores the copy (what users get) on the test sets with
greedy search and beam 4, and writes card.json (what the app reads) and README.md. A multilingual model is shipped
as the pair --src-lang/--tgt-lang choose (its default pair otherwise): that pair is scored and is the copy's default.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from model.cli_support.common import add_language_flags, command_parser, fail, load_model, run
from model.cli_support.inputs import InputFileError, read_parallel_sentences, read_sentences
from model.cli_support.outputs import OutputError, check_output_folder
from model.core.checkpoint import CheckpointError, save_checkpoint, with_languages
from model.training.model_card import (
    card_from_run,
    demo_section,
    demo_train_sources,
    evaluation_section,
    multi30k_test_files,
    rewrite_markdown,
    write_card,
)


def build_parser() -> argparse.ArgumentParser:
    p = command_parser("card", __doc__)
    p.add_argument("--source", required=True, help="trained checkpoint folder (e.g. RUN_DIR/final)")
    p.add_argument("--dest", required=True, help="folder to ship")
    p.add_argument("--data-dir", help="folder with the Multi30k <split>.<lang>.gz test files (when no --test is given)")
    p.add_argument("--name", required=True, help="model name for the card's title")
    p.add_argument("--fp32", action="store_true", help="keep float32 weights (default: float16)")
    p.add_argument("--hardware", help="describe the training hardware (default: what the training run recorded)")
    p.add_argument("--log", help="the run's log.csv: the card then shows the whole curve and the run's full wall time")
    p.add_argument(
        "--test",
        nargs=3,
        action="append",
        metavar=("NAME", "SRC", "REF"),
        help="a test set to score (repeatable); default: the Multi30k test splits in --data-dir",
    )
    p.add_argument(
        "--data-json", help="the data preparation's stats.json (sources, licences, counts), copied into the card"
    )
    p.add_argument("--about", help="one sentence on the training data, for the card's first line")
    p.add_argument("--citation", help="the data's citation and licences, for the card's Data section")
    p.add_argument("--limits", help="what the model is not good at, for the card")
    p.add_argument("--demo", help="sentences to translate (beam 4 and greedy) into the card, one per line")
    p.add_argument(
        "--demo-train-src",
        action="append",
        metavar="FILE",
        help="English training sentences to mark the --demo sentences found in (repeatable; default: the "
        "training source the card names, when that file is here)",
    )
    p.add_argument(
        "--demo-only",
        action="store_true",
        help="only translate --demo into --dest's card (and rewrite its README.md): no copying, no scoring",
    )
    p.add_argument(
        "--notes", help="a Markdown file of context for the card (comparisons, why this size), after Evaluation"
    )
    p.add_argument(
        "--markdown-only",
        action="store_true",
        help="only rewrite --dest's README.md from its card.json (and --notes): no copying, no scoring",
    )
    add_language_flags(p)  # the pair the copy translates by default, scored on --test and shown in --demo
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if (args.markdown_only or args.demo_only) and (args.src_lang or args.tgt_lang):
        p.error(
            "--src-lang/--tgt-lang choose the pair to ship and score; --demo-only and --markdown-only keep --dest's"
        )
    if args.demo_only and not args.demo:
        p.error("--demo-only needs --demo FILE")
    if not (args.markdown_only or args.demo_only or args.test or args.data_dir):
        p.error("give --test NAME SRC REF (repeatable) or --data-dir with the Multi30k test splits")
    try:  # every file is read before anything is written: a bad one costs no copying or scoring
        notes = args.notes and Path(args.notes).read_text(encoding="utf-8")
        if args.demo:
            read_sentences(args.demo)
        if args.markdown_only or args.demo_only:
            return rewrite_markdown(Path(args.dest), args.name, args.notes, demo=args if args.demo_only else None)
        if args.data_json:
            try:
                data_preparation = json.loads(Path(args.data_json).read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                return fail(f"{args.data_json} is not JSON ({exc}).")
        src = with_languages(load_model(args.source), args.src_lang, args.tgt_lang)
        tests = args.test or multi30k_test_files(args.data_dir, src.src_lang, src.tgt_lang)
        for _, src_file, ref_file in tests:
            if not read_parallel_sentences(src_file, ref_file)[0]:
                return fail(f"{src_file} holds no sentences: nothing to score.")
        check_output_folder("--dest", args.dest, {"--source": args.source})
    except (CheckpointError, InputFileError, OutputError, OSError, UnicodeDecodeError, ValueError) as exc:
        return fail(exc if not isinstance(exc, OSError) else f"{exc.filename}: {exc.strerror}.")
    dtype = torch.float32 if args.fp32 else torch.float16
    card = card_from_run(src, args.name, dtype, args.log, args.hardware)
    save_checkpoint(args.dest, src.model, src.tokenizer, src.src_lang, src.tgt_lang, card=card, dtype=dtype)
    shipped = load_model(args.dest)  # scored as users get it
    card |= {key: getattr(args, key) for key in ("about", "citation", "limits") if getattr(args, key)}
    if notes:
        card["notes"] = notes
    if args.data_json:
        card["data_preparation"] = data_preparation
    card["evaluation"] = evaluation_section(shipped, tests)
    if args.demo:
        card["demo"], card["diagnostics"] = demo_section(shipped, args.demo, demo_train_sources(args, card))
    size_mb = write_card(Path(args.dest), args.name, card, shipped)
    print(f"shipped {Path(args.dest)} ({size_mb:.1f} MB weights)")
    return 0


if __name__ == "__main__":
    run(main)

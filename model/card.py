"""Ship a trained checkpoint with its model card: `python -m model.card --help`.

  python -m model.card --source runs/en-de/final --dest checkpoints/multi30k-en-de \\
      --data-dir ../shared/data/multi30k --name "Multi30k English→German"

Copies the weights (fp16 by default), then scores the copy (what users get) on the test sets with
greedy search and beam 4, and writes card.json (what the app reads) and README.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import torch

from model.cli import run
from model.checkpoint import CARD_JSON, CARD_MD, WEIGHTS_FILE, CheckpointError, load_checkpoint, save_checkpoint
from model.data import read_lines, read_parallel
from model.evaluate import evaluate

TEST_SETS = ("test_2016_flickr", "test_2017_flickr", "test_2017_mscoco")
CITATION = ('Elliott, D., Frank, S., Sima\'an, K., & Specia, L. (2016). "Multi30K: Multilingual English-German Image '
            'Descriptions." Proceedings of the 5th Workshop on Vision and Language.')


def command_flags(args: dict) -> str:
    """The training command's flags as typed (booleans as bare flags, defaults-like empties left out)."""
    flags = []
    for key, value in args.items():
        if value in (False, None, "", 0) or key == "device":
            continue
        flag = "--" + key.replace("_", "-")
        flags.append(flag if value is True else f"{flag} {value}")
    return " ".join(flags)


def card_markdown(name: str, card: dict, cfg: dict, size_mb: float) -> str:
    t = card.get("training", {})
    lines = [
        f"# {name}", "",
        f"An encoder-decoder Transformer (Vaswani et al., 2017) trained with Headlight's `python -m model.train` on "
        f"Multi30k {card['languages']['source']}→{card['languages']['target']} (train split only, 29,000 sentence pairs; "
        "model selected on the validation split only).", "",
        "## Model", "",
        "| setting | value |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in cfg.items()],
        f"| parameters | {card.get('parameters', 0) / 1e6:.2f}M |",
        f"| weights file | {size_mb:.1f} MB ({card.get('weights_dtype', 'float32')}) |", "",
        "## Training", "",
        f"- Hardware: {t.get('hardware', 'unknown')}",
        f"- Wall time: {t.get('wall_time_s', 0) / 60:.0f} minutes, {t.get('epochs')} epochs, {t.get('steps')} updates",
        f"- Selection: best validation BLEU {t.get('best_val_bleu')} at epoch {t.get('best_epoch')}"
        + (f"; average of epochs {t['averaged_epochs']} scored {t['val_bleu_averaged']} and was kept" if t.get("averaged_epochs") else ""),
        f"- Command: `python -m model.train {command_flags(t.get('args', {}))}`", "",
        "## Evaluation", "",
        "sacreBLEU (defaults: 13a tokenisation, cased, detokenized) and chrF on the test sets, scored on the shipped weights.", "",
        "| test set | sentences | BLEU greedy | BLEU beam 4 | chrF greedy | chrF beam 4 |", "|---|---|---|---|---|---|",
    ]
    for split, scores in card.get("evaluation", {}).items():
        g, b = scores["greedy"], scores["beam4"]
        lines.append(f"| {split} | {g['sentences']} | {g['bleu']:.2f} | {b['bleu']:.2f} | {g['chrf']:.2f} | {b['chrf']:.2f} |")
    any_scores = next(iter(card.get("evaluation", {}).values()), None)
    if any_scores:
        lines += ["", f"Signatures: `{any_scores['beam4']['bleu_signature']}`, `{any_scores['beam4']['chrf_signature']}`"]
    curve = card.get("curve", [])
    if curve:
        lines += ["", "## Training curve", "", "| epoch | train loss | val loss | val BLEU (greedy) | elapsed (min) |", "|---|---|---|---|---|"]
        lines += [f"| {r['epoch']} | {r['train_loss']} | {r['val_loss']} | {r['val_bleu']} | {int(float(r['elapsed_s'])) // 60} |" for r in curve]
    lines += ["", "## Data", "", CITATION, "", "## Limits", "",
              "Trained on short image captions: expect good translations of simple descriptive sentences and weak ones "
              "for anything else (news, dialogue, long sentences). Input longer than 255 pieces is cut.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.card", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    p.add_argument("--source", required=True, help="trained checkpoint folder (e.g. RUN_DIR/final)")
    p.add_argument("--dest", required=True, help="folder to ship")
    p.add_argument("--data-dir", required=True, help="folder with <split>.<lang>.gz test files")
    p.add_argument("--name", required=True, help="model name for the card's title")
    p.add_argument("--fp32", action="store_true", help="keep float32 weights (default: float16)")
    p.add_argument("--hardware", help="describe the training hardware (default: what the training run recorded)")
    p.add_argument("--log", help="the run's log.csv: the card then shows the whole curve and the run's full wall time")
    args = p.parse_args(argv)
    try:
        src = load_checkpoint(args.source)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    dtype = torch.float32 if args.fp32 else torch.float16
    card = dict(src.card)
    card["name"] = args.name
    card["weights_dtype"] = str(dtype).replace("torch.", "")
    train_files = card.get("data", {}).get("train", [])
    if train_files and all(Path(f).is_file() for f in train_files):
        longest = max(len(src.tokenizer.encode(line)) + 1 for f in train_files for line in read_lines(f))
        card["data"]["max_train_pieces"] = longest  # the positional-encoding view compares against it
    if args.log:
        with open(args.log, newline="") as f:
            card["curve"] = list(csv.DictReader(f))
        card.setdefault("training", {})["wall_time_s"] = max(int(float(r["elapsed_s"])) for r in card["curve"])
        card["training"]["epochs"] = len(card["curve"])
        card["training"]["steps"] = int(card["curve"][-1]["step"])
    if args.hardware:
        card.setdefault("training", {})["hardware"] = args.hardware
    save_checkpoint(args.dest, src.model, src.tokenizer, src.src_lang, src.tgt_lang, card=card, dtype=dtype)
    shipped = load_checkpoint(args.dest)
    card["evaluation"] = {}
    for split in TEST_SETS:
        data = Path(args.data_dir)
        sources, refs = read_parallel(data / f"{split}.{src.src_lang}.gz", data / f"{split}.{src.tgt_lang}.gz")
        card["evaluation"][split] = {"greedy": evaluate(shipped, sources, refs, beam=1), "beam4": evaluate(shipped, sources, refs, beam=4)}
        print(f"{split}: BLEU greedy {card['evaluation'][split]['greedy']['bleu']:.2f}, beam 4 {card['evaluation'][split]['beam4']['bleu']:.2f}",
              flush=True)
    dest = Path(args.dest)
    (dest / CARD_JSON).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    size_mb = (dest / WEIGHTS_FILE).stat().st_size / 1e6
    (dest / CARD_MD).write_text(card_markdown(args.name, card, shipped.model.cfg.to_dict(), size_mb))
    print(f"shipped {dest} ({size_mb:.1f} MB weights)")
    return 0


if __name__ == "__main__":
    run(main)

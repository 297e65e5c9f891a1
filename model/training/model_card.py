"""Model cards: card.json (what the app reads) and README.md, written from training runs and test scores."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import torch

from model.analysis.encoder_collapse import encoder_spread
from model.core.checkpoint import CARD_JSON, CARD_MD, WEIGHTS_FILE, Checkpoint, load_checkpoint
from model.core.text_files import read_lines, read_parallel, sentence_key
from model.decoding.batch import translate_many
from model.decoding.translation import sequence_ids
from model.training.config import default_of
from model.training.evaluation import evaluate

TEST_SETS = ("test_2016_flickr", "test_2017_flickr", "test_2017_mscoco")


CITATION = (
    "Elliott, D., Frank, S., Sima'an, K., & Specia, L. (2016). \"Multi30K: Multilingual English-German Image "
    'Descriptions." Proceedings of the 5th Workshop on Vision and Language.'
)


def command_flags(args: dict) -> str:
    """The training command's flags as typed: booleans as bare flags, empties and zeros at their default left out (a 0
    whose default is something else, such as --attention-dropout 0 against None, is kept)."""
    flags = []
    for key, value in args.items():
        empty = value is None or value is False or value == "" or (value == 0 and default_of(key) == 0)
        if empty or key == "device":
            continue
        flag = "--" + key.replace("_", "-")
        flags.append(flag if value is True else f"{flag} {value}")
    return " ".join(flags)


def training_compute(card: dict) -> tuple[float, float]:
    """(tokens seen, FLOPs ≈ 6 · parameters · tokens) from the curve's per-epoch throughput and elapsed time."""
    tokens, previous = 0.0, 0.0
    for row in card.get("curve", []):
        elapsed = float(row["elapsed_s"])
        tokens += float(row["tokens_per_s"]) * (elapsed - previous)
        previous = elapsed
    return tokens, 6 * card.get("parameters", 0) * tokens


def fill_notes(notes: str, card: dict) -> str:
    """The card's numbers in the notes: `{evaluation[newstest2014][beam4][bleu]:.1f}`, `{wall_time_h:.1f}`,
    `{training_tokens:.2e}`, `{training_flops:.1e}` (so no figure is typed by hand)."""
    tokens, flops = training_compute(card)
    values = dict(
        card,
        wall_time_h=card.get("training", {}).get("wall_time_s", 0) / 3600,
        training_tokens=tokens,
        training_flops=flops,
    )
    try:
        return notes.format_map(values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"the notes name a value the card does not have: {exc}") from None


def card_markdown(name: str, card: dict, cfg: dict, size_mb: float) -> str:
    """The card's README.md: what the model is, how it was trained, its scores, its curve, the notes, the demo
    sentences, the data and the limits."""
    lines = [
        *intro_markdown(name, card),
        *model_markdown(card, cfg, size_mb),
        *training_markdown(card.get("training", {})),
        *scores_markdown(card.get("evaluation", {})),
        *curve_markdown(card.get("curve", [])),
    ]
    if card.get("notes"):
        lines += ["", fill_notes(card["notes"], card).strip()]
    lines += demo_markdown(card.get("demo"))
    lines += data_and_limits_markdown(card)
    return "\n".join(lines)


def intro_markdown(name: str, card: dict) -> list[str]:
    if card.get("family"):  # imported by model.import_hf: not trained here, and its languages are a list of codes
        about = (
            card.get("about")
            or f"the data of its original release (see {card.get('source_model', 'its source')}'s own card)."
        )
        made = (
            f"An encoder-decoder Transformer of the {card['family']} family, imported exactly with "
            f"`python -m model.import_hf`; trained on {about}"
        )
        return [f"# {name}", "", made, ""]
    about = card.get("about") or (
        f"Multi30k {card['languages']['source']}→{card['languages']['target']} (train split only, 29,000 sentence "
        "pairs; "
        "model selected on the validation split only)."
    )
    return [
        f"# {name}",
        "",
        "An encoder-decoder Transformer (Vaswani et al., 2017) trained with Headlight's `python -m model.train` "
        f"on {about}",
        "",
    ]


def model_markdown(card: dict, cfg: dict, size_mb: float) -> list[str]:
    return [
        "## Model",
        "",
        "| setting | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in cfg.items()],
        f"| parameters | {card.get('parameters', 0) / 1e6:.2f}M |",
        f"| weights file | {size_mb:.1f} MB ({card.get('weights_dtype', 'float32')}) |",
        "",
    ]


def training_markdown(t: dict) -> list[str]:
    """Hardware, time, the pick and the command, from the card's `training` record."""
    return [
        "## Training",
        "",
        f"- Hardware: {t.get('hardware', 'unknown')}",
        f"- Wall time: {t.get('wall_time_s', 0) / 60:.0f} minutes, {t.get('epochs')} epochs, {t.get('steps')} updates",
        f"- Selection: best validation BLEU {t.get('best_val_bleu')} at epoch {t.get('best_epoch')}"
        + (
            f"; average of epochs {t['averaged_epochs']} scored {t['val_bleu_averaged']} and was kept"
            if t.get("averaged_epochs")
            else ""
        ),
        f"- Command: `python -m model.train {command_flags(t.get('args', {}))}`"
        + (
            f" (the last leg: the run went on from `{t['continued_from']['checkpoint']}` at update "
            f"{t['continued_from']['update']:,} "
            "with `--continue-from`, its earlier state being gone)"
            if t.get("continued_from")
            else ""
        ),
        "",
    ]


def scores_markdown(evaluation: dict) -> list[str]:
    """The test sets' BLEU and chrF table, greedy and beam 4, with sacreBLEU's signatures."""
    lines = [
        "## Evaluation",
        "",
        "sacreBLEU (defaults: 13a tokenisation, cased, detokenized) and chrF on the test sets, scored on the "
        "shipped weights.",
        "",
        "| test set | sentences | BLEU greedy | BLEU beam 4 | chrF greedy | chrF beam 4 |",
        "|---|---|---|---|---|---|",
    ]
    for split, scores in evaluation.items():
        g, b = scores["greedy"], scores["beam4"]
        lines.append(
            f"| {split} | {g['sentences']} | {g['bleu']:.2f} | {b['bleu']:.2f} | {g['chrf']:.2f} | {b['chrf']:.2f} |"
        )
    any_scores = next(iter(evaluation.values()), None)
    if any_scores:
        lines += [
            "",
            f"Signatures: `{any_scores['beam4']['bleu_signature']}`, `{any_scores['beam4']['chrf_signature']}`",
        ]
    return lines


def curve_markdown(curve: list[dict]) -> list[str]:
    if not curve:
        return []
    return [
        "",
        "## Training curve",
        "",
        "| epoch | train loss | val loss | val BLEU (greedy) | elapsed (min) |",
        "|---|---|---|---|---|",
        *[
            f"| {r['epoch']} | {r['train_loss']} | {r['val_loss']} | {r['val_bleu']} "
            f"| {int(float(r['elapsed_s'])) // 60} |"
            for r in curve
        ],
    ]


def demo_markdown(demo: list[dict] | None) -> list[str]:
    """The demo sentences, greedy and beam 4, marked where they were in the training data."""
    if not demo:
        return []
    lines = [
        "",
        "## Ordinary sentences",
        "",
        "Greedy is what the app shows by default (beam 1); beam 4 is what the scores above use.",
    ]
    provenance = demo_provenance(demo)
    lines += [provenance, ""] if provenance else [""]
    seen_column = any(row.get("in_training") for row in demo)
    lines += [
        "| English | greedy (the app's default) | beam 4 |" + (" in training data |" if seen_column else ""),
        "|---|---|---|" + ("---|" if seen_column else ""),
    ]
    lines += [
        f"| {row['source']} | {row.get('greedy', '')} | {row['translation']} |"
        + (f" {'yes' if row.get('in_training') else ''} |" if seen_column else "")
        for row in demo
    ]
    return lines


def data_and_limits_markdown(card: dict) -> list[str]:
    lines = ["", "## Data", ""]
    if card.get("data_preparation"):
        lines += ["```json", json.dumps(card["data_preparation"], indent=1, ensure_ascii=False), "```", ""]
    return [
        *lines,
        card.get("citation", CITATION),
        "",
        "## Limits",
        "",
        card.get(
            "limits",
            "Trained on short image captions: expect good translations of simple descriptive sentences and weak "
            "ones for anything else (news, dialogue, long sentences).",
        )
        + " Input longer than 255 pieces is cut.",
        "",
    ]


def demo_provenance(rows: list[dict]) -> str:
    """One sentence on whether the demo sentences were in the training data (empty when that was not checked)."""
    if not rows or any("in_training" not in row for row in rows):
        return ""
    seen = sum(row["in_training"] for row in rows)
    checked = "(checked against the training data's English side, ignoring case and punctuation)"
    if not seen:
        return (
            f"None of these {len(rows)} sentences is in the model's training data {checked}, "
            "so they show what it makes of new input."
        )
    return (
        f"{seen} of these {len(rows)} sentences are in the model's training data {checked}: what it writes for "
        "them is partly "
        "memory, not generalisation."
    )


def demo_section(shipped, demo_file: str | Path, train_sources: list[str | Path]) -> tuple[list[dict], dict]:
    """The sentences of `demo_file` (one per line) translated with beam 4 and greedily, each marked `in_training` when
    its words are a sentence of `train_sources` (case and punctuation ignored; not marked when no source is given); and
    the encoder's spread on them (`model.diagnostics`)."""
    sentences = [line for line in read_lines(demo_file) if line.strip()]
    beam4, greedy = (translate_many(shipped.model, shipped.tokenizer, sentences, beam=b) for b in (4, 1))
    seen = {sentence_key(line) for source in train_sources for line in read_lines(source)}
    rows = [
        {
            "source": s,
            "translation": t,
            "greedy": g,
            **({"in_training": sentence_key(s) in seen} if train_sources else {}),
        }
        for s, t, g in zip(sentences, beam4, greedy)
    ]
    spreads = encoder_spread(shipped.model, [sequence_ids(shipped.model, shipped.tokenizer, s) for s in sentences])
    diagnostics = {
        "encoder_relative_spread": [round(v, 4) for v in spreads],
        "min_spread": round(min(spreads), 4),
        "measured_on": "the --demo sentences (python -m model.diagnostics)",
    }
    return rows, diagnostics


def demo_train_sources(args, card: dict) -> list[str]:
    """--demo-train-src, else the English training file the card names when it is on this machine (else none)."""
    if args.demo_train_src:
        return args.demo_train_src
    named = card.get("data", {}).get("train", [])[:1]
    if named and Path(named[0]).is_file():
        return named
    print(
        "note: the training data is not here, so the demo sentences are not checked against it (--demo-train-src FILE)",
        file=sys.stderr,
    )
    return []


def rewrite_markdown(dest: Path, name: str, notes: str | None, demo: argparse.Namespace | None = None) -> int:
    """README.md again from card.json, with new --notes, and with `demo` (the --demo-only arguments) the demo sentences
    translated anew; the scores stay as they are."""
    shipped = load_checkpoint(dest)
    card = json.loads((dest / CARD_JSON).read_text(encoding="utf-8"))
    if notes:
        card["notes"] = Path(notes).read_text(encoding="utf-8")
    if demo:
        card["demo"], card["diagnostics"] = demo_section(shipped, demo.demo, demo_train_sources(demo, card))
    if notes or demo:
        (dest / CARD_JSON).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    (dest / CARD_MD).write_text(
        card_markdown(name, card, shipped.model.cfg.to_dict(), (dest / WEIGHTS_FILE).stat().st_size / 1e6)
    )
    print(f"rewrote {dest / CARD_MD}")
    return 0


def card_from_run(
    src: Checkpoint, name: str, dtype: torch.dtype, log: str | None = None, hardware: str | None = None
) -> dict:
    """The trained checkpoint's card as shipped: its name and weight type, the longest training sentence in pieces
    (when the training files are here), the whole curve and wall time from the run's `log` (its log.csv), and
    `hardware` when given (else what the run recorded)."""
    card = dict(src.card)
    card["name"] = name
    card["weights_dtype"] = str(dtype).replace("torch.", "")
    train_files = card.get("data", {}).get("train", [])
    if train_files and all(Path(f).is_file() for f in train_files):
        longest = max(len(src.tokenizer.encode(line)) + 1 for f in train_files for line in read_lines(f))
        card["data"]["max_train_pieces"] = longest  # the positional-encoding view compares against it
    if log:
        with open(log, newline="") as f:
            card["curve"] = list(csv.DictReader(f))
        card.setdefault("training", {})["wall_time_s"] = max(int(float(r["elapsed_s"])) for r in card["curve"])
        epochs = float(card["curve"][-1]["epoch"])  # fractional when training stopped inside an epoch
        card["training"]["epochs"] = int(epochs) if epochs.is_integer() else epochs
        card["training"]["steps"] = int(card["curve"][-1]["step"])
    if hardware:
        card.setdefault("training", {})["hardware"] = hardware
    return card


def multi30k_test_files(data_dir: str | Path, src_lang: str, tgt_lang: str) -> list[tuple[str, Path, Path]]:
    """(name, source file, reference file) of the Multi30k test splits in `data_dir`."""
    return [
        (split, Path(data_dir) / f"{split}.{src_lang}.gz", Path(data_dir) / f"{split}.{tgt_lang}.gz")
        for split in TEST_SETS
    ]


def evaluation_section(shipped: Checkpoint, tests) -> dict:
    """Each test set (name, source file, reference file) scored with greedy search and beam 4, printed as it goes."""
    section = {}
    for split, src_file, ref_file in tests:
        sources, refs = read_parallel(src_file, ref_file)
        section[split] = {
            "greedy": evaluate(shipped, sources, refs, beam=1),
            "beam4": evaluate(shipped, sources, refs, beam=4),
        }
        greedy, beam4 = section[split]["greedy"]["bleu"], section[split]["beam4"]["bleu"]
        print(f"{split}: BLEU greedy {greedy:.2f}, beam 4 {beam4:.2f}", flush=True)
    return section


def write_card(dest: Path, name: str, card: dict, shipped: Checkpoint) -> float:
    """card.json and README.md into `dest`; returns the weights' size in MB."""
    (dest / CARD_JSON).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    size_mb = (dest / WEIGHTS_FILE).stat().st_size / 1e6
    (dest / CARD_MD).write_text(card_markdown(name, card, shipped.model.cfg.to_dict(), size_mb))
    return size_mb

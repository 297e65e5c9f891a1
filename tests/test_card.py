"""Shipping a checkpoint with its card: any test sets, the data description, and the demo sentences."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import sacrebleu

from model.card import main as card_main
from model.core.checkpoint import load_checkpoint
from model.decoding.batch import translate_many

SOURCES = ["A dog runs.", "Two men play football.", "A woman reads a book."]
REFERENCES = ["Ein Hund rennt.", "Zwei Männer spielen Fußball.", "Eine Frau liest ein Buch."]


def write_gz(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


def ship_tiny(checkpoint_dir, tmp_path, *more: str) -> Path:
    """Ship the test checkpoint with a card scored on SOURCES/REFERENCES as test set "mini" and two demo sentences
    (tmp_path/demo.txt); `more` are further arguments. Returns the shipped folder."""
    src, ref = tmp_path / "t.en.gz", tmp_path / "t.de.gz"
    write_gz(src, SOURCES)
    write_gz(ref, REFERENCES)
    demo = tmp_path / "demo.txt"
    demo.write_text("Hello.\nWhere is the station?\n")
    dest = tmp_path / "shipped"
    where = ["--source", str(checkpoint_dir), "--dest", str(dest), "--name", "Tiny"]
    card = ["--test", "mini", str(src), str(ref), "--about", "nothing real.", "--demo", str(demo)]
    assert card_main([*where, *card, *more]) == 0
    return dest


def test_card_scores_the_given_test_sets_and_translates_the_demo(checkpoint_dir, tmp_path):
    stats = tmp_path / "stats.json"
    stats.write_text(json.dumps({"train_sources": {"tatoeba": 10}}))
    dest = ship_tiny(checkpoint_dir, tmp_path, "--data-json", str(stats))
    card = json.loads((dest / "card.json").read_text())
    shipped = load_checkpoint(dest)
    expected = sacrebleu.corpus_bleu(translate_many(shipped.model, shipped.tokenizer, SOURCES), [REFERENCES]).score
    assert card["evaluation"]["mini"]["greedy"]["bleu"] == round(expected, 2)
    assert [row["source"] for row in card["demo"]] == ["Hello.", "Where is the station?"]
    assert not any(
        "in_training" in row for row in card["demo"]
    )  # the card names no training file on this machine: not checked
    assert [row["greedy"] for row in card["demo"]] == translate_many(
        shipped.model, shipped.tokenizer, ["Hello.", "Where is the station?"]
    )
    assert card["data_preparation"] == {"train_sources": {"tatoeba": 10}}
    spreads = card["diagnostics"][
        "encoder_relative_spread"
    ]  # each encoder layer's output, then the stack's (after its norm)
    assert (
        len(spreads) == shipped.model.cfg.n_encoder_layers + 1 and card["diagnostics"]["min_spread"] == min(spreads) > 0
    )
    markdown = (dest / "README.md").read_text()
    assert (
        "nothing real." in markdown
        and f"| Hello. | {card['demo'][0]['greedy']} | {card['demo'][0]['translation']} |" in markdown
        and "| mini | 3 |" in markdown
    )
    # context written after scoring: only the README (and the card's notes) change, the scores stay
    notes = tmp_path / "notes.md"
    notes.write_text(
        "## Against the paper\n\n| model | newstest2014 |\n|---|---|\n| Transformer base | 27.3 |\n"
        "| this model | {evaluation[mini][greedy][bleu]:.2f} |\n"
    )
    before = json.loads((dest / "card.json").read_text())["evaluation"]
    assert (
        card_main(
            ["--source", "unused", "--dest", str(dest), "--name", "Tiny", "--markdown-only", "--notes", str(notes)]
        )
        == 0
    )
    markdown = (dest / "README.md").read_text()
    assert "| Transformer base | 27.3 |" in markdown and markdown.index("## Against the paper") > markdown.index(
        "## Evaluation"
    )
    assert f"| this model | {round(expected, 2):.2f} |" in markdown  # the card's own score, not typed by hand
    assert json.loads((dest / "card.json").read_text())["evaluation"] == before


def test_demo_sentences_found_in_the_training_data_are_marked_and_can_be_translated_anew(checkpoint_dir, tmp_path):
    train = tmp_path / "train.en.gz"
    write_gz(
        train, ["A dog runs.", "where is the STATION"]
    )  # the second is "Where is the station?" but for case and punctuation
    dest = ship_tiny(checkpoint_dir, tmp_path, "--demo-train-src", str(train))
    demo = tmp_path / "demo.txt"
    card = json.loads((dest / "card.json").read_text())
    assert [row["in_training"] for row in card["demo"]] == [False, True]
    markdown = (dest / "README.md").read_text()
    assert "1 of these 2 sentences are in the model's training data" in markdown
    assert (
        f"| Where is the station? | {card['demo'][1]['greedy']} | {card['demo'][1]['translation']} | yes |" in markdown
    )

    # new sentences into the shipped card: the demo and its diagnostics change, the scores stay
    demo.write_text("Good night.\nA cat sleeps.\n\n")
    before = card["evaluation"]
    assert (
        card_main(
            [
                "--source",
                "unused",
                "--dest",
                str(dest),
                "--name",
                "Tiny",
                "--demo-only",
                "--demo",
                str(demo),
                "--demo-train-src",
                str(train),
            ]
        )
        == 0
    )
    card = json.loads((dest / "card.json").read_text())
    shipped = load_checkpoint(dest)
    assert card["evaluation"] == before
    assert [row["source"] for row in card["demo"]] == ["Good night.", "A cat sleeps."]
    assert [row["translation"] for row in card["demo"]] == translate_many(
        shipped.model, shipped.tokenizer, ["Good night.", "A cat sleeps."], beam=4
    )
    assert [row["in_training"] for row in card["demo"]] == [False, False]
    markdown = (dest / "README.md").read_text()
    assert (
        "None of these 2 sentences is in the model's training data" in markdown and "in training data |" not in markdown
    )

    import pytest

    with pytest.raises(SystemExit) as stop:  # argparse's one-line error
        card_main(["--source", "unused", "--dest", str(dest), "--name", "Tiny", "--demo-only"])
    assert stop.value.code == 2


def test_training_compute_sums_each_epochs_tokens():
    from model.training.model_card import fill_notes, training_compute

    card = {
        "parameters": 1000,
        "training": {"wall_time_s": 7200},
        "curve": [{"tokens_per_s": "100", "elapsed_s": "10"}, {"tokens_per_s": "50", "elapsed_s": "30"}],
    }
    assert training_compute(card) == (100 * 10 + 50 * 20, 6 * 1000 * 2000)  # hand-computed
    assert fill_notes("{wall_time_h:.1f} h, {training_flops:.1e} FLOPs", card) == "2.0 h, 1.2e+07 FLOPs"
    import pytest

    with pytest.raises(ValueError, match="does not have"):
        fill_notes("{evaluation[newstest2014]}", card)


def test_the_training_command_keeps_a_zero_that_is_not_the_default():
    from model.training.model_card import command_flags

    flags = command_flags(
        {"d_model": 256, "attention_dropout": 0.0, "max_steps": 0, "resume": False, "bf16": True, "init_from": None}
    )
    assert (
        flags == "--d-model 256 --attention-dropout 0.0 --bf16"
    )  # max_steps 0 is its default; attention_dropout's is None


def test_the_ship_script_commands_parse(tmp_path):
    """docs/cards/ship-general.sh's `model.card`, `model.analyze` and `model.align_eval` command lines, as bash
    expands them (recorded by a stand-in python), are accepted by those commands' parsers."""
    import os
    import stat
    import subprocess

    from model.align_eval import build_parser as align_eval_parser
    from model.analyze import build_parser as analyze_parser
    from model.card import build_parser as card_parser
    from tests.conftest import ROOT

    stand_in = tmp_path / "bin" / "python"
    stand_in.parent.mkdir()
    stand_in.write_text(
        '#!/bin/sh\n[ "$1" = -c ] && echo 1.0 && exit 0\nprintf "%s\\n" "$@" > "$RECORD/$2.args"\nexit 0\n'
    )
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{stand_in.parent}:{os.environ['PATH']}", "RECORD": str(tmp_path)}
    for lang in ("de", "fr"):
        script = ROOT / "docs" / "cards" / "ship-general.sh"
        shipped = subprocess.run(["bash", str(script), lang], cwd=ROOT, env=env, capture_output=True, timeout=60)
        assert shipped.returncode == 0, shipped.stderr[-1000:]
        card_args = card_parser().parse_args((tmp_path / "model.card.args").read_text().splitlines()[2:])
        assert len(card_args.test) == (5 if lang == "de" else 4) and card_args.limits.endswith("resolved by meaning.")
        assert card_args.demo_train_src and card_args.log.endswith("/log.csv")
        gold = align_eval_parser().parse_args((tmp_path / "model.align_eval.args").read_text().splitlines()[2:]).gold
        assert gold == {"de": "rwth", "fr": "hansards"}[lang]
        analyze_args = analyze_parser().parse_args((tmp_path / "model.analyze.args").read_text().splitlines()[2:])
        sweep = f"checkpoints/general-en-{lang}/head_importance.json"
        assert (analyze_args.max_sentences, analyze_args.sweep) == (100, sweep)

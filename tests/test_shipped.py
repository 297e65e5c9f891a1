"""What every shipped checkpoint promises: small weights, a card with scores and signatures, sources and licences."""

from __future__ import annotations

import json

import pytest

from model.core.checkpoint import WEIGHTS_FILE, load_checkpoint
from model.core.paths import DATA_DIR
from tests.conftest import ROOT

SHIPPED = sorted(p for p in (ROOT / "checkpoints").iterdir() if (p / "config.json").is_file())


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_checkpoint_keeps_its_promises(folder):
    assert (folder / WEIGHTS_FILE).stat().st_size <= 50e6  # the repository stays small
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    assert card["evaluation"] and all(
        s["beam4"]["bleu_signature"].startswith("nrefs:1") for s in card["evaluation"].values()
    )
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "python -m model.train" in readme and "## Data" in readme
    assert any(word in readme for word in ("Licence", "licence", "CC-BY", "Multi30K")), (
        "the card must say where the data came from"
    )
    ckpt = load_checkpoint(folder)
    assert ckpt.model.num_parameters() == card["parameters"]


DEMO_FILE = ROOT / "checkpoints" / "samples" / "demo30.en.txt"
DEMO = [line for line in DEMO_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_demo_sentences_are_new_to_every_corpus_we_have():
    """The card's 30 sentences stand for what a person types: none may be a sentence the models could have memorised."""
    from model.core.text_files import read_lines, sentence_key

    english = [f for f in DATA_DIR.rglob("*.gz") if f.name.endswith(".en.gz") or "eng" in f.name.split(".")[0]]
    assert {f.parent.name for f in english} >= {"tatoeba", "multi30k", "news"}
    known = {sentence_key(line) for f in english for line in read_lines(f)}
    assert sentence_key("Where is the train station") in known  # a Tatoeba sentence, seen through case and punctuation
    assert len(DEMO) == 30 and [s for s in DEMO if sentence_key(s) in known] == []


@pytest.mark.parametrize("folder", [f for f in SHIPPED if f.name.startswith("general-")], ids=lambda p: p.name)
def test_a_general_card_shows_todays_demo_sentences_checked_against_its_training_data(folder):
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    assert [row["source"] for row in card["demo"]] == DEMO  # refresh with: python -m model.card --demo-only ...
    assert [row["in_training"] for row in card["demo"]] == [False] * len(DEMO)

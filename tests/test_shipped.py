"""What every shipped checkpoint promises: small weights, a card with scores and signatures, sources and licences."""
from __future__ import annotations

import json

import pytest

from model.checkpoint import WEIGHTS_FILE, load_checkpoint
from tests.conftest import ROOT

SHIPPED = sorted(p for p in (ROOT / "checkpoints").iterdir() if (p / "config.json").is_file())


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_shipped_checkpoint_keeps_its_promises(folder):
    assert (folder / WEIGHTS_FILE).stat().st_size <= 50e6  # the repository stays small
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    assert card["evaluation"] and all(s["beam4"]["bleu_signature"].startswith("nrefs:1") for s in card["evaluation"].values())
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "python -m model.train" in readme and "## Data" in readme
    assert any(word in readme for word in ("Licence", "licence", "CC-BY", "Multi30K")), "the card must say where the data came from"
    ckpt = load_checkpoint(folder)
    assert ckpt.model.num_parameters() == card["parameters"]

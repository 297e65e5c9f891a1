"""Each shipped gallery says what to look at; what it says about the translation must be true of the shipped model."""

from __future__ import annotations

import pytest

from model.core.checkpoint import load_checkpoint
from model.decoding.batch import translate_many
from tests.conftest import ROOT
from ui.examples import load_gallery

SHIPPED = sorted(p for p in (ROOT / "checkpoints").iterdir() if (p / "gallery.json").is_file())


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_gallery_claims_hold_for_the_shipped_model(folder):
    gallery = load_gallery(folder)
    assert len(gallery) >= 5 and any("fails" in g["look"] for g in gallery)
    ckpt = load_checkpoint(folder)
    outputs = translate_many(ckpt.model, ckpt.tokenizer, [g["text"] for g in gallery])
    for item, output in zip(gallery, outputs):
        for words in item.get("expect", []):
            assert words in output, (item["text"], output, words)

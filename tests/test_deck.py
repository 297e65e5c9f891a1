"""Decks: validation of uploaded files, the shipped deck's claims against the model's own statistics, stepping in the
app."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from model.analysis.deck import DeckError, build_aiayn_deck, validate_deck
from tests.conftest import ROOT
from tests.test_app import no_failures, open_app

SHIPPED = ROOT / "decks" / "aiayn-multi30k-en-fr.json"


def test_bad_decks_are_refused_with_a_sentence():
    for bad, match in (
        ([], "JSON object"),
        ({"slides": []}, "1 to"),
        ({"slides": [{"params": {"evil": "1"}}]}, "unknown parameters"),
        ({"slides": [{"title": "x"}]}, "no params"),
    ):
        with pytest.raises(DeckError, match=match):
            validate_deck(bad)
    deck = validate_deck({"slides": [{"params": {"view": "model", "layer": 1, "head": None, "text": "x" * 5000}}]})
    assert deck["slides"][0]["params"] == {"view": "model", "layer": "1", "text": "x" * 2000}


def test_shipped_deck_is_what_the_generator_writes_and_its_heads_are_the_statistics_extremes():
    folder = ROOT / "checkpoints" / "multi30k-en-fr"
    deck = build_aiayn_deck(folder, "A man drives a red car.")
    assert deck == json.loads(SHIPPED.read_text())  # the committed deck is reproducible
    assert len(deck["slides"]) == 10 and deck["checkpoint"] == "multi30k-en-fr"
    stats = pd.read_csv(folder / "head_stats.csv")
    cross = stats[stats.kind == "cross"].sort_values("monotonicity", ascending=False).iloc[0]
    aligning = deck["slides"][3]["params"]
    assert (int(aligning["layer"]), int(aligning["head"])) == (cross["layer"], cross["head"])
    assert f"monotonicity {cross.monotonicity:.2f}" in deck["slides"][3]["note"]
    encoder = stats[stats.kind == "encoder"].sort_values("previous", ascending=False).iloc[0]
    assert (int(deck["slides"][1]["params"]["layer"]), int(deck["slides"][1]["params"]["head"])) == (
        encoder["layer"],
        encoder["head"],
    )
    importance = pd.DataFrame(json.loads((folder / "head_importance.json").read_text())["heads"])
    top = importance.sort_values("bleu_drop", ascending=False).iloc[0]
    assert f"{top['kind']} layer {top['layer']} head {top['head']}" in deck["slides"][8]["note"]
    assert "rouge" in deck["slides"][5]["note"]  # the step where French puts the adjective after the noun


def test_stepping_through_a_deck_in_the_app(monkeypatch):
    import streamlit as st

    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(ROOT / "checkpoints"))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = open_app(present=1, ckpt="multi30k-en-fr", text="A dog runs.")
    at.selectbox(key="deck_shipped").set_value(at.selectbox(key="deck_shipped").options[1]).run()
    at.button(key="deck_open").click().run()
    assert (
        no_failures(at) and at.session_state.view == "positional" and at.session_state.text == "A man drives a red car."
    )
    at.button(key="deck_next").click().run()
    assert (
        at.session_state.view == "translate" and at.session_state.kind == "encoder" and at.session_state.deck_index == 1
    )
    assert at.query_params["view"] in ("translate", ["translate"])
    at.button(key="deck_prev").click().run()
    assert at.session_state.view == "positional" and no_failures(at)

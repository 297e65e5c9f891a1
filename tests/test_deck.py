"""Decks: validation of uploaded files, the shipped deck's claims against the model's own statistics, stepping in the
app."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from model.links.decks import DeckError, build_aiayn_deck, validate_deck
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


def test_decks_made_before_the_parameter_table_open_what_they_opened():
    """The shipped deck (written before model/links/parameters.py) reads back with the same parameters."""
    raw = json.loads(SHIPPED.read_text())
    deck = validate_deck(raw)
    assert [s["params"] for s in deck["slides"]] == [s["params"] for s in raw["slides"]]
    assert [s["title"] for s in deck["slides"]] == [s["title"] for s in raw["slides"]]
    assert not any("problems" in s for s in deck["slides"])


def test_a_deck_naming_views_by_their_earlier_names_opens_the_same_views():
    """`head` and `heads` (the names of inside and corpus when the shipped deck was written) open those views, with
    no note."""
    raw = json.loads(SHIPPED.read_text())
    views = [s["params"]["view"] for s in raw["slides"]]
    assert "inside" in views
    raw["slides"].append({"title": "corpus", "params": {"view": "corpus"}})
    earlier = json.loads(json.dumps(raw).replace('"view": "inside"', '"view": "head"'))
    earlier["slides"][-1]["params"]["view"] = "heads"
    deck = validate_deck(earlier)
    assert [s["params"] for s in deck["slides"]] == [s["params"] for s in raw["slides"]]
    assert not any("problems" in s for s in deck["slides"])


def test_a_deck_file_is_measured_before_it_is_parsed(monkeypatch):
    from model.links import decks

    def never(*args, **kwargs):
        raise AssertionError("parsed")

    monkeypatch.setattr(decks.json, "loads", never)
    big = b'{"slides": [' + b" " * 50_000_000 + b"]}"  # 50 MB: refused by its size alone
    with pytest.raises(DeckError, match="50.0 MB; a deck is at most 1 MB"):
        decks.parse_deck(big)


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"slides": [', "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"slides": [{"params": {"view": "model"}}], "title": {"x": 1}}', "the deck's title is an object, not text"),
        (b'{"slides": [{"params": {}, "note": ["a"]}]}', "slide 1's note is a list, not text"),
        (b'{"slides": [{"params": {"' + b"k" * 500_000 + b'": 1}}]}', "unknown parameters: k{40}$"),
    ],
    ids=["nested 100,000 deep", "cut short", "not UTF-8", "object as a title", "list as a note", "500 kB name"],
)
def test_any_parse_failure_is_one_sentence(raw, match):
    from model.links.decks import parse_deck

    with pytest.raises(DeckError, match=match) as info:
        parse_deck(raw)
    assert "\n" not in str(info.value)


def test_slide_values_go_through_the_parameter_table():
    deck = validate_deck({"slides": [{"params": {"beam": 999, "head": -2, "layer": "NaN", "view": "model"}}]})
    slide = deck["slides"][0]
    assert slide["params"] == {"beam": "16", "head": "mean", "layer": "-1", "view": "model"}
    assert len(slide["problems"]) == 3


MARKDOWN_TRAP = "![pixel](http://198.51.100.7/track.png) **bold** [link](http://198.51.100.7) <img src=x>"


def test_titles_and_notes_are_plain_text_and_a_missing_checkpoint_is_named(app_env, tmp_path):
    """A slide's title and note cannot show an image or a link (markdown is escaped, so nothing is fetched); a slide
    naming a checkpoint that is not there says so, names it, and shows the default one."""
    from model.links.decks import parse_deck

    deck = parse_deck(
        json.dumps(
            {
                "title": MARKDOWN_TRAP,
                "slides": [
                    {"title": MARKDOWN_TRAP + "\nline two", "note": MARKDOWN_TRAP, "params": {"view": "translate"}},
                    {"title": "gone", "params": {"view": "model", "ckpt": "no-such-model"}},
                ],
            }
        ).encode()
    )
    assert deck["slides"][0]["title"] == MARKDOWN_TRAP + " line two"  # one line, as written
    at = open_app(present=1, text="A dog runs.")
    at.session_state["deck"] = deck
    at.session_state["deck_index"] = 0
    at.run()
    shown = [h.proto.body for h in at.get("html")]  # as HTML-escaped text, never as markdown
    assert any("![pixel](http://198.51.100.7/track.png) **bold**" in body for body in shown)
    assert any("&lt;img src=x&gt;" in body for body in shown) and not any("<img" in body for body in shown)
    assert not any(MARKDOWN_TRAP[:20] in c.value for c in [*at.caption, *at.markdown])
    at.button(key="deck_next").click().run()
    warnings = " ".join(w.value for w in at.warning)
    assert "no-such-model" in warnings and at.session_state.ckpt == "tiny-en-de" and no_failures(at)


@pytest.mark.parametrize(
    "raw, params, problem",
    [
        (b'{"beam": ' + b"9" * 5000 + b"}", {"beam": "16"}, "is more than 16"),  # int() refuses over 4300 digits
        (b'{"layer": -' + b"9" * 5000 + b"}", {"layer": "-1"}, "is less than -1"),
        (b'{"beam": 1e999}', {"beam": "1"}, "is not a whole number"),
        (b'{"text": "a\\ud800b"}', {"text": "a?b"}, "lone surrogates"),
        (b'{"view": "model", "text": ["a"]}', {"view": "model"}, "text: a list is not a value"),
        (b'{"kind": {"x": 1}}', {}, "kind: an object is not a value"),
        (b'{"text": "' + b"x" * 900_000 + b'"}', {"text": "x" * 2000}, "longer than 2000 characters"),
        (b'{"beam": "\xd9\xa3", "head": "\xef\xbc\x93"}', {"beam": "1", "head": "mean"}, "ASCII digits"),
    ],
    ids=["5000 digits", "-5000 digits", "1e999", "lone surrogate", "list", "object", "900 kB string", "not ASCII"],
)
def test_a_slide_value_of_a_wrong_type_or_size_is_clamped_with_a_note(raw, params, problem):
    """Each value a deck may hold becomes a usable one and a sentence, never a traceback (the numbers' references:
    the parameter table's ranges, beam 1..16, layer -1..63)."""
    from model.links.decks import parse_deck

    deck = parse_deck(b'{"slides": [{"params": ' + raw + b"}]}")
    slide = deck["slides"][0]
    assert slide["params"] == params
    assert any(problem in p for p in slide["problems"]), slide["problems"]
    assert all("\n" not in p and len(p) < 300 for p in slide["problems"])
    json.dumps(deck).encode("utf-8")  # what the page sends the browser holds no lone surrogate


def test_titles_and_notes_that_are_null_numbers_or_surrogates_are_shown_as_text():
    from model.links.decks import parse_deck

    deck = parse_deck(
        b'{"title": null, "checkpoint": null, "slides": [{"title": null, "note": null, "params": {}},'
        b' {"title": ' + b"7" * 5000 + b', "note": "a\\udfffb", "params": {}}]}'
    )
    assert deck["title"] == "Deck" and deck["checkpoint"] == ""  # never "None"
    assert [s["title"] for s in deck["slides"]] == ["Slide 1", "7" * 200] and deck["slides"][0]["note"] == ""
    assert deck["slides"][1]["note"] == "a b"


def test_a_byte_order_mark_is_read_and_a_key_given_twice_is_one_sentence():
    from model.links.decks import parse_deck

    deck = parse_deck(b'\xef\xbb\xbf{"slides": [{"params": {"view": "steps"}}]}')  # as some editors save UTF-8
    assert deck["slides"][0]["params"] == {"view": "steps"}
    with pytest.raises(DeckError, match=r"^the file gives 'view' twice in one object; give each key once$"):
        parse_deck(b'{"slides": [{"params": {"view": "steps", "view": "lesson"}}]}')


def test_the_deck_command_takes_a_checkpoint_by_name_and_defaults_to_the_apps_model(tmp_path, monkeypatch, capsys):
    """--checkpoint as every command reads it: a name in checkpoints/ ($HEADLIGHT_CHECKPOINTS), or the app's default."""
    from model.core.defaults import DEFAULT_CHECKPOINT
    from model.deck import main

    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(ROOT / "checkpoints"))
    monkeypatch.chdir(tmp_path)  # a bare name is not a folder here: only the checkpoints folder knows it
    assert main(["--checkpoint", "multi30k-en-fr", "--out", "named.json"]) == 0
    assert json.loads((tmp_path / "named.json").read_text()) == json.loads(SHIPPED.read_text())
    assert main(["--out", "default.json"]) == 0
    written = json.loads((tmp_path / "default.json").read_text())
    assert written == build_aiayn_deck(ROOT / "checkpoints" / DEFAULT_CHECKPOINT, "A man drives a red car.")
    assert written["checkpoint"] == DEFAULT_CHECKPOINT
    capsys.readouterr()

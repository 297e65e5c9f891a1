"""The one parameter table (model/links/parameters.py): every value checked as it is read, the share link
carries the request (beam and max_len included) and old links open what they opened."""

from __future__ import annotations

import pytest

from model.links.parameters import (
    DECK_KEYS,
    LINK_KEYS,
    MIN_SCREEN_PX,
    PARAMS,
    VIEW_NAMES,
    link_value,
    read_value,
)
from tests.test_app import charts, heading, no_failures, open_app


@pytest.mark.parametrize(
    "name, raw, value, said",
    [
        ("beam", "4", 4, False),
        ("beam", "4.0", 4, False),
        ("beam", "17", 16, True),
        ("beam", "1e400", 1, True),
        ("beam", "2.5", 1, True),
        ("beam", "", 1, True),
        ("max_len", "-1", 0, True),
        ("max_len", "256", 256, False),
        ("layer", "-1", -1, False),  # the last layer, as links have always said
        ("layer", "-2", -1, True),
        ("head", "mean", "mean", False),
        ("head", "3", "3", False),
        ("head", "-1", "mean", True),  # never head n-1 counted from the end
        ("head", "inf", "mean", True),
        ("step", "NaN", 0, True),
        ("present", "true", True, False),
        ("present", "2", False, True),
        ("view", "corpus", "corpus", False),
        ("view", "head", "inside", False),  # the views' earlier names: links written with them open the same view
        ("view", "heads", "corpus", False),
        ("text", "x" * 2001, "x" * 2000, True),
        ("prefix", "", "", False),
        ("beam", "\u0663", 1, True),  # ARABIC-INDIC DIGIT THREE: float() reads it as 3
        ("head", "\uff13", "mean", True),  # FULLWIDTH DIGIT THREE
        ("step", "\u09e8", 0, True),  # BENGALI DIGIT TWO
        ("beam", "1_0", 1, True),  # float() reads 10
        ("beam", "+3", 3, False),
        ("beam", "9" * 5000, 16, True),  # int() refuses more than 4300 digits
        ("layer", "-" + "9" * 5000, -1, True),
        ("screen", "0", 0, False),  # the browser window's own height
        ("screen", "1", MIN_SCREEN_PX, True),
        ("screen", "199", MIN_SCREEN_PX, True),
        ("screen", str(MIN_SCREEN_PX), MIN_SCREEN_PX, False),
        ("screen", "720", 720, False),
        ("text", "a\ud800b", "a?b", True),  # a lone surrogate cannot be sent to the browser
        ("beam", ["3"], 1, True),
    ],
)
def test_each_value_is_read_within_its_range(name, raw, value, said):
    got, sentence = read_value(name, raw)
    assert got == value and bool(sentence) == said
    assert "\n" not in sentence


def test_every_part_of_the_app_reads_the_same_table():
    from model.links.decks import PARAM_KEYS
    from ui.views import VIEWS

    assert list(VIEWS) == list(VIEW_NAMES)  # the app's views are the ones a link and a deck may name
    assert PARAM_KEYS == DECK_KEYS and set(DECK_KEYS) <= {p.name for p in PARAMS}
    assert {"beam", "max_len", "text", "view", "kind", "layer", "head", "step"} <= set(LINK_KEYS) & set(DECK_KEYS)
    assert {"present", "screen"} <= set(LINK_KEYS) - set(DECK_KEYS)
    assert link_value("beam", 1) is None and link_value("beam", 4) == "4" and link_value("text", "x") == "x"


def test_beam_and_max_len_travel_in_the_share_link(app_env):
    at = open_app(text="A dog runs.", beam=3, max_len=12)
    assert no_failures(at) and (at.session_state.beam, at.session_state.max_len) == (3, 12)
    assert at.query_params["beam"] in ("3", ["3"]) and at.query_params["max_len"] in ("12", ["12"])
    at.sidebar.slider(key="beam").set_value(5).run()
    assert at.query_params["beam"] in ("5", ["5"])
    at.sidebar.slider(key="beam").set_value(1).run()  # at the default: out of the link
    assert "beam" not in at.query_params


def test_a_link_made_before_the_table_opens_what_it_opened(app_env):
    """`?view=…&kind=…&layer=…&head=…` as links were written before: the same view, kind, layer and head."""
    at = open_app(text="A dog runs.", view="compare", kind="encoder", layer=1, head=2, step=1)
    assert no_failures(at) and not at.warning
    assert (at.session_state.kind, at.session_state.layer, at.session_state.head) == ("encoder", 1, "2")
    at = open_app(text="A dog runs.", view="translate", kind="decoder", layer=0, head="mean")
    assert charts(at)[0]["layout"]["title"]["text"] == "Decoder masked self-attention, layer 0, mean of heads"
    assert heading(at).startswith("#### DE:") and not at.warning


@pytest.mark.parametrize("earlier, now", [("head", "inside"), ("heads", "corpus")])
def test_a_link_naming_a_view_by_its_earlier_name_opens_that_view_without_a_note(app_env, earlier, now):
    at = open_app(text="A dog runs.", view=earlier)
    assert no_failures(at) and at.session_state.view == now and not at.warning
    assert at.query_params["view"] in (now, [now])  # the share link then names it as it is called now


@pytest.mark.parametrize("view", VIEW_NAMES)
def test_a_tiny_screen_height_is_raised_to_what_the_figures_need(app_env, view):
    """`?present=1&screen=1` must not give a view a negative figure height (Plotly refuses it: the view would fail)."""
    at = open_app(text="A dog runs.", view=view, present=1, screen=1)
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    assert at.session_state.screen == MIN_SCREEN_PX and "screen=" in " ".join(w.value for w in at.warning)
    heights = [spec["layout"]["height"] for spec in charts(at) if "height" in spec["layout"]]
    assert charts(at) or (view == "corpus" and at.info)
    assert all(h >= 10 for h in heights), heights  # plotly.js's smallest height


def test_a_whole_number_is_read_exactly_as_written():
    """Past 2**53 a float rounds: 9007199254740993 must not become ...992 (its note would quote another number)."""
    from model.core.number_text import whole_number

    assert whole_number("9007199254740993") == 9007199254740993
    assert whole_number("123456789012345678") == 123456789012345678
    assert whole_number("-0") == 0 and whole_number("+7") == 7 and whole_number("3.0") == 3

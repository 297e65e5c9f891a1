"""The numbers a command line reads, each an argparse `type=` with the app's bounds (model.core.defaults): a value out
of range is argparse's one line of error, the same words for every command. A number is read as a link or a deck
reads it (model.core.number_text), so "--beam 4" and "beam=4" can never mean two things."""

from __future__ import annotations

import argparse

from model.core.defaults import MAX_BEAM, MAX_LENGTH_PENALTY, MAX_OUTPUT_PIECES
from model.core.number_text import LONGEST_INTEGER, NUMBER_RULE, decimal_number
from model.core.number_text import whole_number as read_whole_number

BEAM_HELP = (
    f"beam size, 1 (greedy) to {MAX_BEAM}: a picture needs no wider search, and memory grows with beam x output length"
)


def whole_number(text: str, low: int, high: int | None = None) -> int:
    """A whole number read as a link reads it (model.core.number_text: "3", "3.0" and "1e1" are whole; "1_6", "３",
    "2.5" are not), within low..high."""
    value = read_whole_number(text.strip())
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ({NUMBER_RULE})")
    if abs(value) >= 10**LONGEST_INTEGER:
        raise argparse.ArgumentTypeError(f"{text!r} has more than {LONGEST_INTEGER} digits")
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f"at least {low}"
        raise argparse.ArgumentTypeError(f"must be {bounds}, not {value}")
    return value


def beam_size(text: str) -> int:
    return whole_number(text, 1, MAX_BEAM)


def output_pieces(text: str) -> int:
    """A most-output-pieces limit, 1 to the app's 256."""
    return whole_number(text, 1, MAX_OUTPUT_PIECES)


def length_penalty(text: str) -> float:
    """GNMT's exponent alpha: finite, 0 to 5 (a huge or negative one divided by zero or overflowed)."""
    value = decimal_number(text.strip())
    if value is None or not 0 <= value <= MAX_LENGTH_PENALTY:
        raise argparse.ArgumentTypeError(
            f"must be a number from 0 to {MAX_LENGTH_PENALTY:g} ({NUMBER_RULE}), not {text}"
        )
    return value


def count(text: str) -> int:
    """A number of things, 0 or more (0 usually means all)."""
    return whole_number(text, 0)


def positive_count(text: str) -> int:
    return whole_number(text, 1)

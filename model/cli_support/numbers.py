"""The numbers a command line reads, each an argparse `type=` with the app's bounds (model.core.defaults): a value out
of range is argparse's one line of error, the same words for every command."""

from __future__ import annotations

import argparse
import math

from model.core.defaults import MAX_BEAM, MAX_LENGTH_PENALTY, MAX_OUTPUT_PIECES

BEAM_HELP = (
    f"beam size, 1 (greedy) to {MAX_BEAM}: a picture needs no wider search, and memory grows with beam x output length"
)


def ascii_text(text: str) -> str:
    """Python's int() and float() read any script's digits ("٣", "３"); a number typed here is ASCII."""
    text = text.strip()
    if not text.isascii():
        raise argparse.ArgumentTypeError(f"{text!r} is not a number written in ASCII digits")
    return text


def whole_number(text: str, low: int, high: int | None = None) -> int:
    try:
        value = int(ascii_text(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
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
    try:
        value = float(ascii_text(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_LENGTH_PENALTY:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to {MAX_LENGTH_PENALTY:g}, not {text}")
    return value


def count(text: str) -> int:
    """A number of things, 0 or more (0 usually means all)."""
    return whole_number(text, 0)


def positive_count(text: str) -> int:
    return whole_number(text, 1)

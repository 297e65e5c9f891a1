"""Reading a number typed by a person, the same way wherever it comes from: a command line, a link or a deck.

A number is ASCII: an optional sign, digits with an optional decimal point, an optional exponent ("3", "-2", "0.5",
"3.0", "1e1"). Python's int() and float() also read other scripts' digits ("٣", "３"), underscores ("1_6" is 16),
padding and words ("nan", "inf"): none of those is a number here. A whole number may be written with a zero
fraction or an exponent ("3.0", "1e1"), as a spreadsheet or a JSON writer may write it."""

from __future__ import annotations

import math
import re

NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
LONGEST_INTEGER = 18  # digits: beyond every range here, and far below int()'s 4300-digit limit
NUMBER_RULE = "ASCII digits, an optional sign, decimal point and exponent"


def decimal_number(text: str) -> float | None:
    """`text` (already stripped) as a finite float, or None when it is not a number by the rule above."""
    if not NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def whole_number(text: str) -> int | None:
    """'3', '3.0', '-2', '+7', '1e3' as an int; 'NaN', 'inf', '2.5', '1e400', '1_6', '٣', '３', 'x' as None. A whole
    number of more than 18 digits is ±10**18 (out of every range: the caller says so), never int()'s ValueError."""
    if not NUMBER.fullmatch(text):
        return None
    digits = text.lstrip("+-").lstrip("0")
    if digits.isdigit() and len(digits) > LONGEST_INTEGER:
        return -(10**LONGEST_INTEGER) if text.startswith("-") else 10**LONGEST_INTEGER
    if text.lstrip("+-").isdigit():  # exactly as written: float() would round past 2**53
        return int(text)
    value = float(text)
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)

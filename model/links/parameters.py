"""The app's parameters, in one table: what a share link (`?view=…&kind=…`) and a deck slide may carry.

Each row says the name, the type, the allowed range, the default, and whether it goes into the share link and into a
deck. The app (ui/url.py: URL in and out) and the decks (model/links/decks.py, ui/deck_panel.py) read this table and
nothing else; every value from outside goes through `read_value`, which never raises: an unreadable or
out-of-range value becomes the default (or the nearest allowed value) and says so in one sentence.

Ranges here are the ones that hold for any model (beam ≤ 16: a picture needs no wider search; max_len ≤ 256 pieces);
the app then clamps layer, head and step into the loaded model's own range (`clamp_to_model`).
"""

from __future__ import annotations

from dataclasses import dataclass

from model.core.defaults import (  # shared with the commands
    DEFAULT_CHECKPOINT,
    MAX_BEAM,
    MAX_OUTPUT_PIECES,
    MAX_TEXT_CHARS,
)
from model.core.kinds import KINDS
from model.core.number_text import LONGEST_INTEGER, whole_number

# The app's views, in the picker's order (ui/views.py maps each to the function that draws it and refuses to import
# if its views differ from these).
VIEW_NAMES = (
    "translate",
    "model",
    "compare",
    "steps",
    "inside",
    "positional",
    "analysis",
    "whatif",
    "lesson",
    "corpus",
    "training",
)
# Views' earlier names -> their names now: every link and deck written with them opens the same view.
RENAMED_VIEWS = (("head", "inside"), ("heads", "corpus"))
MAX_LAYERS = 64  # deeper than any model this app loads; the model's own depth clamps further
MAX_HEADS = 64
MAX_FILM_FRAMES = 1000  # a film's most frames (model/analysis/film.py); the film's own count clamps further
DEFAULT_TEXT = "Yesterday I bought a new car."  # the default model reorders it (verb second, participle last)
# Presentation mode's `screen`: the smallest height the figures fit: about 190 px of controls and the translation, a
# view's own row (up to 60 px), and ui/figure.js's smallest figure (240 px). Nonzero values below it are raised to it.
MIN_SCREEN_PX = 480


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # "text", "choice", "int", "bool" or "head" ("mean" or a head number)
    default: object
    low: int = 0  # int: the allowed range; text: the longest value kept (high)
    high: int = 0
    choices: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()  # choice: (earlier name, name now), read as the name now
    in_link: bool = True  # written into the share link (when not at its default, or always for text/ckpt/view)
    in_deck: bool = True  # a deck slide may set it
    floor: int = 0  # int: a nonzero value below it is raised to it (0 keeps its own meaning)
    meaning: str = ""

    def describe_range(self) -> str:
        if self.type == "choice":
            return " | ".join(self.choices)
        if self.type == "int":
            return f"{self.low}..{self.high}"
        if self.type == "head":
            return f"mean | 0..{self.high}"
        if self.type == "text":
            return f"up to {self.high} characters"
        return "0 | 1"


PARAMS = (
    Param("text", "text", DEFAULT_TEXT, high=MAX_TEXT_CHARS, meaning="the sentence as typed"),
    Param("ckpt", "text", DEFAULT_CHECKPOINT, high=200, meaning="the checkpoint folder's name"),
    Param(
        "view",
        "choice",
        "translate",
        choices=VIEW_NAMES,
        renamed=RENAMED_VIEWS,
        meaning="the view; `head` and `heads`, their earlier names, open `inside` and `corpus`",
    ),
    Param("kind", "choice", "cross", choices=KINDS, meaning="attention kind"),
    Param("layer", "int", -1, low=-1, high=MAX_LAYERS - 1, meaning="-1: the last layer"),
    Param("head", "head", "mean", high=MAX_HEADS - 1, meaning="a head, or the mean of the layer's heads"),
    Param("step", "int", 0, low=0, high=MAX_OUTPUT_PIECES, meaning="decoding step"),
    Param("frame", "int", -1, low=-1, high=MAX_FILM_FRAMES - 1, meaning="training film frame (-1: the last)"),
    Param("prefix", "text", "", high=500, meaning="the translation is forced to start with it"),
    Param("lang", "choice", "en", choices=("en", "ko"), meaning="the app's language"),
    Param("beam", "int", 1, low=1, high=MAX_BEAM, meaning="beam size (1: greedy)"),
    Param("max_len", "int", 0, low=0, high=MAX_OUTPUT_PIECES, meaning="most output pieces (0: automatic)"),
    Param("tidy", "bool", True, meaning="tidy the typed sentence before translating"),
    Param("src", "text", "", high=16, meaning="source language (empty: the checkpoint's)"),
    Param("tgt", "text", "", high=16, meaning="target language (empty: the checkpoint's)"),
    Param("present", "bool", False, in_deck=False, meaning="presentation mode"),
    Param(
        "screen",
        "int",
        0,
        low=0,
        high=4320,
        floor=MIN_SCREEN_PX,
        in_deck=False,
        meaning="presentation mode: a screen height in px to size for (0: the browser window's own)",
    ),
)
PARAM = {p.name: p for p in PARAMS}
LINK_KEYS = tuple(p.name for p in PARAMS if p.in_link)
DECK_KEYS = tuple(p.name for p in PARAMS if p.in_deck)
ALWAYS_IN_LINK = ("text", "ckpt", "view")  # a shared link names its sentence, model and view even at the defaults


def read_value(name: str, raw: object) -> tuple[object, str]:
    """`raw` (a URL's or a deck's value) as the parameter's type, within its range; and a sentence if it was not
    usable as given ("" when it was). Never raises. The sentence quotes `raw` as plain text: whoever shows it in
    markdown escapes it (ui/text.py)."""
    param = PARAM[name]
    text = as_text(raw)
    if text is None:
        return param.default, f"{name}: {kind_of(raw)} is not a value; using {param.default!r}."
    if param.type == "text":
        kept, problem = text, ""
        if has_surrogates(kept):
            kept = kept.encode("utf-8", "replace").decode("utf-8")
            problem = f"{name}: holds characters that are not text (lone surrogates); each is shown as '?'."
        if len(kept) > param.high:
            return kept[: param.high], f"{name}: longer than {param.high} characters; the rest is left out."
        return kept, problem
    text = text.strip()
    shown = quoted(text)
    if param.type == "choice":
        text = dict(param.renamed).get(text, text)
        if text in param.choices:
            return text, ""
        return param.default, f"{name}={shown} is not one of {', '.join(param.choices)}; using {param.default}."
    if param.type == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True, ""
        if text.lower() in ("0", "false", "no", "off"):
            return False, ""
        return param.default, f"{name}={shown} is not 0 or 1; using {int(param.default)}."
    if param.type == "head" and text == "mean":
        return "mean", ""
    number = whole_number(text)
    if number is None:
        return param.default, f"{name}={shown} is not a whole number (ASCII digits); using {param.default}."
    said = f"{name}={number}" if abs(number) < 10**LONGEST_INTEGER else f"{name}={shown}"
    if param.type == "head":
        if number < 0:  # never wraps around to a head counted from the end
            return "mean", f"{said} is negative; showing the mean of the heads."
        if number > param.high:
            return "mean", f"{said} is more than {param.high}; showing the mean of the heads."
        return str(number), ""
    if number < param.low:
        return param.default, f"{said} is less than {param.low}; using {param.default}."
    if number > param.high:
        return param.high, f"{said} is more than {param.high}; using {param.high}."
    if 0 < number < param.floor:
        return param.floor, f"{said} is less than {param.floor}, the smallest the figures fit; using it."
    return number, ""


def as_text(raw: object) -> str | None:
    """A scalar as its text; None for anything else (a list, an object, None, an int too long for str())."""
    if isinstance(raw, bool):
        return str(int(raw))
    if isinstance(raw, int):
        return str(raw) if raw.bit_length() < 14_000 else None  # str() refuses ints of more than 4300 digits
    if isinstance(raw, (str, float)):
        return str(raw)
    return None


def kind_of(raw: object) -> str:
    """What a value that is not a value is, as a sentence names it."""
    names = {list: "a list", dict: "an object", type(None): "null", int: "a number too long to read"}
    return next((name for kind, name in names.items() if isinstance(raw, kind)), f"a {type(raw).__name__}")


def has_surrogates(text: str) -> bool:
    """Lone surrogates ("\\ud800" in JSON): Python keeps them in a str, but they cannot be sent to a browser."""
    return any("\ud800" <= c <= "\udfff" for c in text)


def quoted(text: str, limit: int = 40) -> str:
    """`text` as a sentence quotes it: its repr (no control character, no lone surrogate), cut to `limit`."""
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def link_value(name: str, value: object) -> str | None:
    """The value as it goes into a share link, or None where the link leaves it out (a setting at its default)."""
    param = PARAM[name]
    if not param.in_link or (value == param.default and name not in ALWAYS_IN_LINK):
        return None
    return str(int(value)) if isinstance(value, bool) else str(value)


def clamp_to_model(name: str, value: object, count: int) -> tuple[object, str]:
    """A layer, head or step read from outside, brought into the `count` the model (or the translation) has: a layer
    past the last is the last (-1 stays "the last"), a head past the last is the mean, a step past the last is 0."""
    if name == "layer" and isinstance(value, int) and value >= count:
        return (
            count - 1,
            f"layer {value}: this model has {count} layers of this kind (0..{count - 1}); showing {count - 1}.",
        )
    if name == "head" and value != "mean" and int(value) >= count:
        return "mean", f"head {value}: this model has {count} heads (0..{count - 1}); showing the mean of the heads."
    if name == "step" and isinstance(value, int) and value >= count:
        return 0, f"step {value}: this translation has {count} steps (0..{count - 1}); showing step 0."
    return value, ""

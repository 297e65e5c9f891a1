"""Talk decks: a JSON list of slides, each a view of the app with its parameters."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from model.core.checkpoint import load_checkpoint
from model.decoding.translation import translate
from model.links.parameters import DECK_KEYS, as_text, kind_of, read_value

PARAM_KEYS = DECK_KEYS  # what a slide may set: the parameter table's "in deck" rows
MAX_SLIDES = 200
MAX_DECK_BYTES = 1_000_000  # a deck is a few KB


class DeckError(ValueError):
    """A deck file that cannot be used; the message says why in one sentence."""


def parse_deck(raw: bytes) -> dict:
    """A deck file's bytes as a checked deck, or DeckError: the size is checked before anything is parsed, and any
    parse failure (bad UTF-8, bad JSON, nesting too deep for the parser) is one sentence. A whole number too long for
    int() (over 4300 digits) is kept as its digits: the parameter table then says it is out of range."""
    if len(raw) > MAX_DECK_BYTES:
        raise DeckError(f"the file is {len(raw) / 1e6:.1f} MB; a deck is at most {MAX_DECK_BYTES // 1_000_000} MB")
    try:
        data = json.loads(
            raw.decode("utf-8-sig"),  # an editor's byte-order mark is no reason to refuse a deck
            parse_int=lambda digits: int(digits) if len(digits) < 100 else digits,
            object_pairs_hook=unique_keys,
        )
    except UnicodeDecodeError:
        raise DeckError("the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise DeckError(f"the file is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise DeckError("the file's JSON is nested too deeply to be a deck") from None
    return validate_deck(data)


def unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose keys are each given once: with two, which one the deck meant is unknown."""
    data = dict(pairs)
    if len(data) < len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise DeckError(f"the file gives {one_line(twice, 40)!r} twice in one object; give each key once")
    return data


def one_line(value: object, limit: int) -> str:
    """Text shown as it is: one line of at most `limit` characters, no control characters or lone surrogates."""
    text = "".join(c if c.isprintable() else " " for c in str(value)[: limit * 4])  # a 1 MB title: read no more
    return " ".join(text.split())[:limit]


def text_field(where: str, value: object, default: str, limit: int) -> str:
    """A title, note or checkpoint name: text (or a number) on one line; absent or null is `default`; a list, an
    object or true/false is refused in one sentence."""
    if value is None:
        return default
    text = None if isinstance(value, bool) else as_text(value)
    if text is None:
        raise DeckError(f"{where} is {kind_of(value)}, not text")
    return one_line(text, limit)


def validate_deck(data: object) -> dict:
    """The deck if it is well formed (only known parameters, each read through the parameter table), else DeckError.
    A value the table cannot use becomes its default (or the nearest allowed value) and the slide's `problems` say so.
    """
    if not isinstance(data, dict) or not isinstance(data.get("slides"), list):
        raise DeckError("a deck is a JSON object with a list of slides")
    if not 0 < len(data["slides"]) <= MAX_SLIDES:
        raise DeckError(f"a deck holds 1 to {MAX_SLIDES} slides, this one {len(data['slides'])}")
    slides = []
    for n, slide in enumerate(data["slides"], start=1):
        if not isinstance(slide, dict) or not isinstance(slide.get("params"), dict):
            raise DeckError(f"slide {n} has no params object")
        unknown = sorted(one_line(name, 40) or repr(name)[:40] for name in set(slide["params"]) - set(PARAM_KEYS))
        if unknown:
            listed = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
            raise DeckError(f"slide {n} has unknown parameters: {listed}")
        params, problems = {}, []
        for key, raw in slide["params"].items():
            if raw is None:
                continue  # no value: the slide leaves this parameter as it is
            if isinstance(raw, (dict, list)):
                problems.append(f"{key}: {kind_of(raw)} is not a value; left as it is.")
                continue
            value, problem = read_value(key, raw)
            params[key] = str(int(value)) if isinstance(value, bool) else str(value)
            if problem:
                problems.append(problem)
        checked = {
            "title": text_field(f"slide {n}'s title", slide.get("title"), f"Slide {n}", 200),
            "note": text_field(f"slide {n}'s note", slide.get("note"), "", 2000),
        }
        slides.append(checked | {"params": params} | ({"problems": problems} if problems else {}))
    return {
        "title": text_field("the deck's title", data.get("title"), "Deck", 200),
        "checkpoint": text_field("the deck's checkpoint", data.get("checkpoint"), "", 200),
        "slides": slides,
    }


def read_stats(folder: Path) -> list[dict]:
    with (folder / "head_stats.csv").open(newline="") as f:
        return [
            {k: (v if k in ("kind", "label") else float(v) if v else float("nan")) for k, v in row.items()}
            for row in csv.DictReader(f)
        ]


def best(rows: list[dict], kind: str, key: str, lowest: bool = False) -> dict:
    candidates = [r for r in rows if r["kind"] == kind]
    return (min if lowest else max)(candidates, key=lambda r: r[key])


AIAYN_TITLE = "Attention Is All You Need in ten views"
# The generated deck: each slide's title, note and params; the note and the params' values are filled in by
# str.format with `aiayn_facts` (the heads this checkpoint's statistics pick); every slide also sets text and ckpt.
AIAYN_SLIDES = (
    {
        "title": "1 · Positions as sinusoids",
        "note": "Attention ignores order: a fixed sine/cosine vector per position is added. Every position is "
        "distinct, bounded, defined beyond the training lengths, and PE(p + k) is a rotation of PE(p).",
        "params": {"view": "positional"},
    },
    {
        "title": "2 · Encoder self-attention",
        "note": "{ordering} puts {ordering_share:.0%} of its weight on the previous piece (averaged over the "
        "validation sentences): a head that learned word order.",
        "params": {
            "view": "translate",
            "kind": "encoder",
            "layer": "{ordering_layer}",
            "head": "{ordering_head}",
        },
    },
    {
        "title": "3 · The decoder's mask",
        "note": "{masked}: everything above the diagonal is exactly 0, the decoder never sees the future; this head "
        "gives {masked_share:.0%} of its weight to the piece just produced.",
        "params": {"view": "translate", "kind": "decoder", "layer": "{masked_layer}", "head": "{masked_head}"},
    },
    {
        "title": "4 · Cross-attention aligns words",
        "note": "{aligning} is the most monotonic cross head (monotonicity {aligning_monotonicity:.2f}): each output "
        "piece looks at the source word it translates.",
        "params": {"view": "translate", "kind": "cross", "layer": "{aligning_layer}", "head": "{aligning_head}"},
    },
    {
        "title": "5 · Many heads, different jobs",
        "note": "Every cross head at once, on one colour scale: heads of one layer look at different places. "
        "{aligning} follows the source order most closely (monotonicity {aligning_monotonicity:.2f}); {other} "
        "differs most from it in that layer (entropy {other_entropy:.2f} against {aligning_entropy:.2f} bits; "
        "averages over the validation sentences).",
        "params": {"view": "model", "kind": "cross", "layer": "{other_layer}", "head": "{other_head}"},
    },
    {
        "title": "6 · Decoding, step by step",
        "note": "Step {step} produces {step_piece}{step_remark} Every head's cross-attention for this step, and the "
        "candidates the model weighed.",
        "params": {"view": "steps", "step": "{step}"},
    },
    {
        "title": "7 · What if",
        "note": "Force another word, follow the beam, and see how much each source piece contributed through each "
        "head (not only the weights).",
        "params": {"view": "whatif"},
    },
    {
        "title": "8 · Inside one head",
        "note": "The numbers of softmax(QKᵀ/√d_k)V for {aligning}.",
        "params": {"view": "inside", "kind": "cross", "layer": "{aligning_layer}", "head": "{aligning_head}"},
    },
    {
        "title": "9 · Switching a head off",
        "note": "{top} is the head whose removal costs the most: {top_bleu_drop:.2f} BLEU on the validation sample; "
        "no single head is indispensable.",
        "params": {"view": "analysis"},
    },
    {
        "title": "10 · The whole forward pass",
        "note": "The paper's equations with this sentence's real numbers, from the pieces to the probabilities of the "
        "next word.",
        "params": {"view": "lesson"},
    },
)


def head_facts(name: str, row: dict) -> dict:
    """A head's name ("cross layer 2 head 3"), layer and head under `name`, `name`_layer and `name`_head."""
    layer, head = int(row["layer"]), int(row["head"])
    return {name: f"{row['kind']} layer {layer} head {head}", f"{name}_layer": layer, f"{name}_head": head}


def crossing_step(cross: np.ndarray, pieces: list[str]) -> tuple[int, bool]:
    """The first step where a cross head's strongest source position moves backwards (the word order changes), and
    True; else the step where it looks hardest, and False. `cross`: the head's weights [steps, source]."""
    looks = cross.argmax(axis=-1)  # source position per step
    crossings = [t for t in range(1, len(pieces) - 1) if looks[t] < looks[t - 1]]
    if crossings:
        return crossings[0], True
    return max(range(len(pieces) - 1), key=lambda t: float(cross[t].max())), False


def aiayn_facts(folder: Path, sentence: str) -> dict:
    """What the slide texts quote: the heads this checkpoint's statistics pick, and the step of its translation of
    `sentence` where the word order changes."""
    ckpt = load_checkpoint(folder)
    stats = read_stats(folder)
    importance = json.loads((folder / "head_importance.json").read_text())["heads"]
    ordering = best(stats, "encoder", "previous")
    masked = best(stats, "decoder", "previous")
    aligning = best(stats, "cross", "monotonicity")
    same_layer = [r for r in stats if r["kind"] == "cross" and r["layer"] == aligning["layer"] and r is not aligning]
    other = max(same_layer, key=lambda r: abs(r["entropy"] - aligning["entropy"]))  # the one least like it
    top = max(importance, key=lambda h: h["bleu_drop"])
    result = translate(ckpt.model, ckpt.tokenizer, sentence)
    pieces = ckpt.tokenizer.target_pieces(result.out_ids)
    step, crossed = crossing_step(result.trace.cross[int(aligning["layer"]), int(aligning["head"])], pieces)
    return {
        **head_facts("ordering", ordering),
        **head_facts("masked", masked),
        **head_facts("aligning", aligning),
        **head_facts("other", other),
        "ordering_share": ordering["previous"],
        "masked_share": masked["previous"],
        "aligning_monotonicity": aligning["monotonicity"],
        "aligning_entropy": aligning["entropy"],
        "other_entropy": other["entropy"],
        "top": f"{top['kind']} layer {top['layer']} head {top['head']}",
        "top_bleu_drop": top["bleu_drop"],
        "step": step,
        "step_piece": pieces[step],
        "step_remark": ", looking back at an earlier source word: the word order changes here." if crossed else ".",
    }


def build_aiayn_deck(folder: Path, sentence: str) -> dict:
    """Ten views following the paper (`AIAYN_SLIDES`), with heads chosen from this checkpoint's own statistics."""
    folder = Path(folder)
    facts = aiayn_facts(folder, sentence)
    slides = [
        {
            "title": slide["title"],
            "note": slide["note"].format(**facts),
            "params": {"text": sentence, "ckpt": folder.name}
            | {key: value.format(**facts) for key, value in slide["params"].items()},
        }
        for slide in AIAYN_SLIDES
    ]
    return validate_deck({"title": AIAYN_TITLE, "checkpoint": folder.name, "slides": slides})

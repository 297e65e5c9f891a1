"""Decks: a talk as a sequence of views, each one the URL parameters that open it; and a deck's handout.

A deck is a small JSON file: {"title", "checkpoint", "slides": [{"title", "note", "params"}]}, where
`params` are exactly what the app's URL carries (text, view, kind, layer, head, step, ...).

Write "Attention Is All You Need in ten views" for a checkpoint from its own statistics (head_stats.csv,
head_importance.json), so the heads it shows do what the slides say:

    python -m model.deck --checkpoint multi30k-en-fr --out decks/aiayn-multi30k-en-fr.json

Make a deck's handout: one HTML file with every slide's title, note and figure (interactive, plotly.js inside), that
opens offline, on a phone too. Each slide's sentence is translated by the checkpoint it names (found by name in
checkpoints/, or in $HEADLIGHT_CHECKPOINTS when set; one that is not there is the app's default model, and the slide
says so):

    python -m model.deck decks/aiayn-multi30k-en-fr.json --handout talk.html
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from model.analysis.handout import HandoutError, handout_slides
from model.analysis.importance import SWEEP_FILE
from model.cli_support.common import add_checkpoint_flag, command_parser, fail, run
from model.cli_support.outputs import OutputError, check_output, checkpoint_inputs, replaced_when_done
from model.core.checkpoint import CheckpointError, find_checkpoints
from model.core.defaults import checkpoints_folder
from model.links.decks import MAX_DECK_BYTES, DeckError, build_aiayn_deck, parse_deck
from model.links.parameters import DEFAULT_CHECKPOINT, MAX_TEXT_CHARS
from viz.handout import app_bundle, deck_handout


def main(argv: list[str] | None = None) -> int:
    p = command_parser("deck", __doc__)
    p.add_argument("deck", nargs="?", help="a deck file (JSON) to make the handout of, with --handout")
    p.add_argument("--handout", metavar="HTML", help="write DECK's handout to this HTML file")
    add_checkpoint_flag(p)  # writing a deck: its folder must hold head_stats.csv and head_importance.json
    p.add_argument("--sentence", default="A man drives a red car.", help="writing a deck: the slides' sentence")
    p.add_argument("--out", help="writing a deck: the deck file to write")
    args = p.parse_args(argv)
    if args.deck is not None or args.handout is not None:
        if args.deck is None or args.handout is None:
            p.error("a handout needs both a deck file and --handout HTML")
        try:
            target = check_output("--handout", args.handout, {"the deck": args.deck})
            with open(args.deck, "rb") as f:
                deck = parse_deck(f.read(MAX_DECK_BYTES + 1))  # one byte more than a deck may have: refused unread
            checkpoints = {folder.name: folder for folder in find_checkpoints(checkpoints_folder())}
            slides = handout_slides(deck, checkpoints, DEFAULT_CHECKPOINT)
            page = deck_handout(
                deck["title"], slides, app_bundle(), about=f"{len(slides)} slides from {Path(args.deck).name}"
            )
            with replaced_when_done(target) as out:
                out.write(page)
        except (DeckError, HandoutError, OutputError) as exc:
            return fail(exc)
        except OSError as exc:
            return fail(f"cannot read {args.deck}: {exc.strerror or exc}.")
        print(f"{target}: {len(slides)} slides, {target.stat().st_size / 1e6:.1f} MB")
        return 0
    if args.out is None:
        p.error("writing a deck needs --out (or give a deck file and --handout HTML)")
    sentence = args.sentence
    if len(sentence) > MAX_TEXT_CHARS:  # the app cuts a deck's text there: the slides must quote what it shows
        print(f"note: --sentence cut to the app's {MAX_TEXT_CHARS} characters.", file=sys.stderr)
        sentence = sentence[:MAX_TEXT_CHARS]
    folder = args.checkpoint
    reads = checkpoint_inputs(folder) | {f"--checkpoint's {n}": folder / n for n in ("head_stats.csv", SWEEP_FILE)}
    try:
        target = check_output("--out", args.out, reads)
        deck = build_aiayn_deck(folder, sentence)
        with replaced_when_done(target) as out:
            out.write(json.dumps(deck, indent=1, ensure_ascii=False) + "\n")
    except (CheckpointError, OSError, KeyError, DeckError, ValueError) as exc:  # OutputError is a ValueError
        return fail(exc)
    for s in deck["slides"]:
        print(f"{s['title']}: /?" + "&".join(f"{k}={v}" for k, v in s["params"].items()))
    return 0


if __name__ == "__main__":
    run(main)

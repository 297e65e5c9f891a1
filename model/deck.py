"""Decks: a talk as a sequence of views, each one the URL parameters that open it. `python -m model.deck --help`.

A deck is a small JSON file: {"title", "checkpoint", "slides": [{"title", "note", "params"}]}, where
`params` are exactly what the app's URL carries (text, view, kind, layer, head, step, ...). `build_aiayn_deck`
writes "Attention Is All You Need in ten views" for a checkpoint from its own statistics
(head_stats.csv, head_importance.json), so the heads it shows do what the slides say.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.analysis.deck import DeckError, build_aiayn_deck
from model.cli.common import run
from model.core.checkpoint import CheckpointError


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.deck", description=__doc__.split("\n")[0])
    p.add_argument(
        "--checkpoint", required=True, help="a shipped checkpoint folder with head_stats.csv and head_importance.json"
    )
    p.add_argument("--sentence", default="A man drives a red car.")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    try:
        deck = build_aiayn_deck(Path(args.checkpoint), args.sentence)
    except (CheckpointError, OSError, KeyError, DeckError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    Path(args.out).write_text(json.dumps(deck, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for s in deck["slides"]:
        print(f"{s['title']}: /?" + "&".join(f"{k}={v}" for k, v in s["params"].items()))
    return 0


if __name__ == "__main__":
    run(main)

"""Example sentences: each checkpoint's gallery of telling examples (gallery.json), then Multi30k test sentences."""

from __future__ import annotations

import json
from pathlib import Path


def load_gallery(checkpoint: str | Path) -> list[dict]:
    """[{"text", "look", "kind", "expect"}] from the checkpoint's gallery.json, or [] (a broken file is ignored)."""
    try:
        items = json.loads((Path(checkpoint) / "gallery.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [
        i for i in items if isinstance(i, dict) and isinstance(i.get("text"), str) and isinstance(i.get("look"), str)
    ]


EXAMPLES = [
    "A man in an orange hat starring at something.",
    "Five people wearing winter jackets and helmets stand in the snow, with snowmobiles in the background.",
    "Men playing volleyball, with one player missing the ball but hands still in the air.",
    "A woman in a pink sweater and an apron, cleaning a table with a sponge.",
    "People sit inside a train.",
    "A brown dog walks in the grass with its tongue hanging out.",
    "A black and white photo of a dog staring ahead with a background of signs written in asian language characters.",
    "A calm lake surrounded by trees and rocks.",
    "Privately owned poster and restaurant poster",
    "A finger pointing at a hotdog with cheese, sauerkraut and ketchup.",
    "A young man stands pointing in the picture.",
]

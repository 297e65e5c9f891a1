"""Example sentences: each checkpoint's gallery of telling examples (gallery.json), then Multi30k test sentences."""

from __future__ import annotations

from pathlib import Path

from model.core.checkpoint import read_gallery
from ui.url import add_note


def load_gallery(checkpoint: str | Path) -> list[dict]:
    """[{"text", "look", "kind", "expect"}] from the checkpoint's gallery.json; what is wrong with it, a page note."""
    items, problem = read_gallery(checkpoint)
    if problem:
        add_note(problem)
    return items


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

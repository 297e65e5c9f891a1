"""The app's views, in the order the picker shows them: name (the URL's `view=`) -> the function that draws it.

Everything that must cover every view (the app's picker, the tests, harness/layout.py) reads this one list; the
names and their order are the parameter table's VIEW_NAMES (what a link and a deck may name): this module refuses to
import if the two differ. The labels are in ui/i18n.py ("view.<name>").
"""

from __future__ import annotations

from model.links.parameters import VIEW_NAMES
from ui import (
    analysis_page,
    compare_page,
    corpus_page,
    inside_page,
    lesson_page,
    model_view_page,
    positional_page,
    steps_page,
    training_page,
    translate_page,
    whatif_page,
)

VIEWS = {
    "translate": translate_page.render,
    "model": model_view_page.render,
    "compare": compare_page.render,
    "steps": steps_page.render,
    "inside": inside_page.render,
    "positional": positional_page.render,
    "analysis": analysis_page.render,
    "whatif": whatif_page.render,
    "lesson": lesson_page.render,
    "corpus": corpus_page.render,
    "training": training_page.render,
}
if tuple(VIEWS) != VIEW_NAMES:
    raise ImportError(f"ui/views.py draws the views {list(VIEWS)}, the parameter table names {list(VIEW_NAMES)}")

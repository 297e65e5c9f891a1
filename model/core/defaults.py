"""What the app and every command share: the default model, where checkpoints are found by name, and the bounds of the
search settings (a beam, an output length, a length penalty), written once."""

from __future__ import annotations

import os
from pathlib import Path

from model.core.paths import REPO_ROOT

DEFAULT_CHECKPOINT = "general-en-de"  # the general-domain model: it translates what people type
CHECKPOINTS_ENV = "HEADLIGHT_CHECKPOINTS"  # a folder of checkpoint folders instead of the repository's checkpoints/
SHIPPED_CHECKPOINTS = REPO_ROOT / "checkpoints"

# A picture needs no wider search than 16, and a beam's memory grows with beam x output length (docs/benchmarks.md);
# 256 pieces is longer than any sentence the views can draw.
MAX_BEAM = 16
MAX_OUTPUT_PIECES = 256
# GNMT's length-penalty exponent alpha: 0 is none, 0.6 to 1 is usual; far beyond that it only ranks by length.
MAX_LENGTH_PENALTY = 5.0
# The longest sentence the app takes (a link's text, a deck's, a typed one); a command's input line is cut there too.
MAX_TEXT_CHARS = 2000


def checkpoints_folder() -> Path:
    """The folder whose subfolders are the checkpoints offered by name: $HEADLIGHT_CHECKPOINTS, or checkpoints/."""
    return Path(os.environ.get(CHECKPOINTS_ENV) or SHIPPED_CHECKPOINTS)


def checkpoint_folder(name_or_path: str | Path) -> Path:
    """A checkpoint given by folder path as written, or by the name of a folder in `checkpoints_folder()`."""
    path = Path(name_or_path)
    if path.is_dir() or len(path.parts) != 1 or str(name_or_path) in ("", ".", ".."):
        return path
    named = checkpoints_folder() / path
    return named if named.is_dir() else path

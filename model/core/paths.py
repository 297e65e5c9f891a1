"""Folders of the repository that commands use as defaults, written once."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
# The corpora, test sets and gold alignments the repository carries (data/README.md lists every file).
DATA_DIR = REPO_ROOT / "data"

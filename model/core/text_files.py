"""Sentence files: one sentence a line, plain or gzipped."""

from __future__ import annotations

import gzip
import re
from pathlib import Path


def read_lines(path: str | Path) -> list[str]:
    """One sentence per line; a trailing newline does not make an extra empty sentence."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n").rstrip("\r") for line in f]


def sentence_key(text: str) -> str:
    """A sentence's words, case-folded, without punctuation: "Hello, how are you?" and "hello how are you" share one key
    (to tell whether a sentence is in a corpus however it is punctuated)."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def read_parallel(src_path: str | Path, tgt_path: str | Path) -> tuple[list[str], list[str]]:
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if len(src) != len(tgt):
        raise ValueError(f"{src_path} has {len(src)} lines but {tgt_path} has {len(tgt)}")
    return src, tgt

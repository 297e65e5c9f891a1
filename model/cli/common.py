"""Entry-point wrapper for the command-line tools: Ctrl+C and a closed pipe end quietly, never with a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable


def run(main: Callable[[], int]) -> None:
    try:
        code = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:  # e.g. `... | head -1`: the reader left; stop without a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)


def load_checkpoint_and_sentences(checkpoint: str, input_path: str, ref_path: str | None, max_sentences: int = 0):
    """(checkpoint, sources, references or None) for the corpus-style CLIs, or None after one line of error on
    stderr."""
    from model.core.checkpoint import CheckpointError, load_checkpoint
    from model.core.text_files import read_lines

    try:
        ckpt = load_checkpoint(checkpoint)
        sources = read_lines(input_path)
        references = read_lines(ref_path) if ref_path else None
    except (CheckpointError, OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if references is not None and len(references) != len(sources):
        print(f"error: {input_path} has {len(sources)} lines but {ref_path} has {len(references)}", file=sys.stderr)
        return None
    if max_sentences:
        sources = sources[:max_sentences]
        references = references[:max_sentences] if references else None
    return ckpt, sources, references


def add_language_flags(p: argparse.ArgumentParser) -> None:
    """--src-lang and --tgt-lang: the language pair of a multilingual checkpoint (each default: the checkpoint's)."""
    p.add_argument(
        "--src-lang", default=None, help="multilingual models: the source language's code (default: the checkpoint's)"
    )
    p.add_argument(
        "--tgt-lang",
        default=None,
        help="multilingual models: the target language's code, e.g. kor_Hang (default: the checkpoint's)",
    )

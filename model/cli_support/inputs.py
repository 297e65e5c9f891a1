"""Reading a command's sentence files: every problem (missing, not UTF-8, a truncated or damaged .gz) is one
InputFileError sentence naming the file, never a traceback."""

from __future__ import annotations

import gzip
import stat
import zlib
from pathlib import Path

from model.core.text_files import read_lines


class InputFileError(ValueError):
    """A sentence file that cannot be read; the message names it and says why."""


def check_regular(path: str | Path) -> None:
    """Refuse a device or a pipe (/dev/zero never ends, a FIFO may never open): a sentence file is a file."""
    try:
        mode = Path(path).stat().st_mode
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(mode):
        raise InputFileError(f"{path} is a folder; give a file of sentences.")
    if not stat.S_ISREG(mode):
        raise InputFileError(f"{path} is a device or a pipe, not a file; give a file of sentences.")


def read_sentence_bytes(path: str | Path) -> bytes:
    """The whole file as bytes, a .gz one decompressed (each line is then decoded on its own)."""
    check_regular(path)
    try:
        if Path(path).suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return Path(path).read_bytes()
    except READ_FAILURES as exc:
        raise read_failure(path, exc) from None


def read_sentences(path: str | Path) -> list[str]:
    """One sentence per line, plain or gzipped (model.core.text_files.read_lines)."""
    check_regular(path)
    try:
        return read_lines(path)
    except READ_FAILURES as exc:
        raise read_failure(path, exc) from None


READ_FAILURES = (OSError, EOFError, zlib.error, UnicodeDecodeError)  # gzip.BadGzipFile is an OSError


def read_failure(path: str | Path, exc: Exception) -> InputFileError:
    """What went wrong reading `path`, as one sentence naming it."""
    if isinstance(exc, gzip.BadGzipFile):
        return InputFileError(f"{path} is not a gzip file ({exc}).")
    if isinstance(exc, OSError):
        return InputFileError(f"cannot read {path}: {exc.strerror or exc}.")
    if isinstance(exc, EOFError):
        return InputFileError(f"{path} ends early: the gzip file is truncated.")
    if isinstance(exc, UnicodeDecodeError):
        return InputFileError(f"{path} is not UTF-8 text (byte {exc.start} of a line cannot be read).")
    return InputFileError(f"{path} is a damaged gzip file ({exc}).")


def read_parallel_sentences(src: str | Path, ref: str | Path) -> tuple[list[str], list[str]]:
    """Sources and their references, line by line; files of different lengths are refused."""
    sources, references = read_sentences(src), read_sentences(ref)
    if len(sources) != len(references):
        raise InputFileError(f"{src} has {len(sources)} lines but {ref} has {len(references)}.")
    return sources, references

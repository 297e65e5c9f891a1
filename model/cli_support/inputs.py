"""Reading a command's sentence files: every problem (missing, not UTF-8, a truncated or damaged .gz) is one
InputFileError sentence naming the file, never a traceback."""

from __future__ import annotations

import gzip
import os
import stat
import sys
import zlib
from pathlib import Path

from model.core.text_files import read_lines


class InputFileError(ValueError):
    """A sentence file that cannot be read; the message names it and says why."""


STANDARD_INPUT = "-"
MAX_STREAM_BYTES = 1 << 30  # a pipe or standard input may hold at most this much: `yes | ...` never ends


def check_readable(path: str | Path) -> bool:
    """Whether `path` is a stream (standard input as `-`, or a pipe such as `<(zcat corpus.gz)`) rather than a file;
    a folder or a device is refused (/dev/zero never ends)."""
    if str(path) == STANDARD_INPUT:
        return True
    try:
        mode = Path(path).stat().st_mode
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(mode):
        raise InputFileError(f"{path} is a folder; give a file of sentences.")
    if stat.S_ISFIFO(mode):
        return True
    if not stat.S_ISREG(mode):
        raise InputFileError(f"{path} is a device, not a file; give a file of sentences (or - for standard input).")
    return False


def read_stream(path: str | Path) -> bytes:
    """All a pipe or standard input holds, up to MAX_STREAM_BYTES. A pipe is opened without waiting for a writer: one
    that nobody writes to reads as empty instead of hanging."""
    if str(path) == STANDARD_INPUT:
        data = sys.stdin.buffer.read(MAX_STREAM_BYTES + 1)
    else:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)  # open did not wait; reads now wait for what a writer sends
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_STREAM_BYTES + 1)
    if len(data) > MAX_STREAM_BYTES:
        raise InputFileError(f"{path} holds more than {MAX_STREAM_BYTES >> 20} MB; give a file of sentences.")
    return gzip.decompress(data) if str(path).endswith(".gz") else data


def read_sentence_bytes(path: str | Path) -> bytes:
    """The whole file as bytes, a .gz one decompressed (each line is then decoded on its own)."""
    try:
        if check_readable(path):
            return read_stream(path)
        if Path(path).suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return Path(path).read_bytes()
    except READ_FAILURES as exc:
        raise read_failure(path, exc) from None


def read_sentences(path: str | Path) -> list[str]:
    """One sentence per line, plain or gzipped (model.core.text_files.read_lines), from a file, a pipe or `-`."""
    try:
        if check_readable(path):
            text = read_stream(path).decode("utf-8")
            lines = text.split("\n")
            return [line.rstrip("\r") for line in (lines[:-1] if text.endswith("\n") or not text else lines)]
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

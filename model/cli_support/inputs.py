"""Reading a command's sentence files: every problem (missing, not UTF-8, a truncated or damaged .gz) is one
InputFileError sentence naming the file, never a traceback."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from model.core.text_files import read_lines


class InputFileError(ValueError):
    """A sentence file that cannot be read; the message names it and says why."""


def read_sentences(path: str | Path) -> list[str]:
    """One sentence per line, plain or gzipped (model.core.text_files.read_lines)."""
    try:
        return read_lines(path)
    except gzip.BadGzipFile as exc:
        raise InputFileError(f"{path} is not a gzip file ({exc}).") from None
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}.") from None
    except EOFError:
        raise InputFileError(f"{path} ends early: the gzip file is truncated.") from None
    except zlib.error as exc:
        raise InputFileError(f"{path} is a damaged gzip file ({exc}).") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path} is not UTF-8 text (byte {exc.start} of a line cannot be read).") from None


def read_parallel_sentences(src: str | Path, ref: str | Path) -> tuple[list[str], list[str]]:
    """Sources and their references, line by line; files of different lengths are refused."""
    sources, references = read_sentences(src), read_sentences(ref)
    if len(sources) != len(references):
        raise InputFileError(f"{src} has {len(sources)} lines but {ref} has {len(references)}.")
    return sources, references

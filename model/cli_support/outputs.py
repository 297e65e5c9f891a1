"""Writing a command's output without destroying anything: the path is checked before the work starts (a folder that
is missing or unwritable, a folder or a device given as the file, one of the command's own inputs, an existing file
that needs --force), and the file is written beside its final place and moved over it only when whole, so that a
failed or interrupted command leaves the old file as it was."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from model.core.checkpoint import CARD_JSON, CARD_MD, CONFIG_FILE, WEIGHTS_FILE
from model.core.files import atomic_file, temporary_file
from model.core.hf_tokenizers import LANGUAGES_FILE
from model.core.tokenizer import Tokenizer, TokenizerPair

CHECKPOINT_FILES = (
    CONFIG_FILE,
    WEIGHTS_FILE,
    *Tokenizer.files,
    *TokenizerPair.files,
    LANGUAGES_FILE,
    CARD_JSON,
    CARD_MD,
)


class OutputError(ValueError):
    """An output that cannot or must not be written; the message says why in one sentence."""


def same_file(a: str | Path, b: str | Path) -> bool:
    """The same path once links are followed, or two names of one file (a hard link)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def checkpoint_inputs(folder: str | Path, flag: str = "--checkpoint") -> dict[str, Path]:
    """A checkpoint folder's own files, as inputs an output must not replace (its side files, e.g. head_stats.csv, may
    be rewritten)."""
    return {f"{flag}'s {name}": Path(folder) / name for name in CHECKPOINT_FILES}


def check_output(
    flag: str, path: str | Path, inputs: Mapping[str, str | Path | None] | None = None, force: bool | None = None
) -> Path:
    """The file to write for `flag PATH`, checked before any work: links are followed, and every refusal is one
    OutputError sentence. `inputs` maps a name ("--src") to a file the command reads; `force` False refuses an
    existing file (None: an existing file is replaced, as the command always did)."""
    given = str(path)
    target = Path(path).resolve()
    if target.is_dir():
        raise OutputError(f"{flag} {given} is a folder; give a file name.")
    if target.exists() and not target.is_file():
        raise OutputError(f"{flag} {given} is a device or a pipe, not a file; give a file name.")
    for name, read in (inputs or {}).items():
        if read is not None and same_file(target, read):
            raise OutputError(f"{flag} {given} is also {name}: writing it would destroy the input; give another file.")
    if force is False and target.exists():
        raise OutputError(f"{flag} {given} exists: add --force to replace it, or give another file.")
    folder = target.parent
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write {flag} {given}: {folder} is a file, not a folder.")
    if not folder.is_dir():
        raise OutputError(f"cannot write {flag} {given}: the folder {folder} does not exist.")
    try:  # the folder may exist yet refuse files (permissions, a read-only disk): find out now, not after the work
        probe = temporary_file(target)
    except OSError as exc:
        raise OutputError(f"cannot write {flag} {given}: {exc.strerror or exc}.") from None
    os.close(probe[0])
    os.unlink(probe[1])
    return target


def check_output_folder(flag: str, path: str | Path, inputs: Mapping[str, str | Path | None] | None = None) -> Path:
    """The folder to write for `flag PATH`, made if missing and checked before any work: not a file, not one of the
    command's input folders, and writable; every refusal is one OutputError sentence."""
    given = str(path)
    target = Path(path).resolve()
    if target.exists() and not target.is_dir():
        raise OutputError(f"{flag} {given} is a file, not a folder.")
    for name, read in (inputs or {}).items():
        if read is not None and same_file(target, read):
            raise OutputError(
                f"{flag} {given} is also {name}: writing it would destroy the input; give another folder."
            )
    try:
        target.mkdir(parents=True, exist_ok=True)
        descriptor, probe = temporary_file(target / "probe")
        os.close(descriptor)
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write in {flag} {given}: {exc.strerror or exc}.") from None
    return target


@contextmanager
def replaced_when_done(target: str | Path, mode: str = "w") -> Iterator:
    """An open file ("w" text in UTF-8, or "wb") that becomes `target` when the block ends without an error; on any
    error or interruption `target` is left as it was and the partial file removed. A failing write is OutputError."""
    try:
        with atomic_file(target, mode) as f:
            yield f
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}.") from None

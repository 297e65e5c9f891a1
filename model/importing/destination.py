"""Where an import writes: a new folder, or (with --force) a Headlight checkpoint replaced only once the new one is
complete.

`--force` replaces only a folder whose config.json carries our format marker (what `save_checkpoint` writes) and that
holds nothing but what a save writes, never the source, a folder holding the source, the working folder, the project
or the home folder. The new checkpoint is written into a sibling folder and swapped in at the end, so a failed or
interrupted import leaves the old one whole.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from model.core.checkpoint import CARD_JSON, CARD_MD, CONFIG_FILE, FORMAT, WEIGHTS_FILE
from model.core.decoder_only_tokenizer import CHAT_TEMPLATE, TOKENIZER_JSON
from model.core.hf_tokenizers import LANGUAGES_FILE
from model.core.tokenizer import Tokenizer, TokenizerPair

MAX_CONFIG_BYTES = 16 << 20  # our config.json is a few kB (a multilingual one lists ~200 codes)
PROJECT = Path(__file__).resolve().parents[2]
# What a checkpoint save writes (either kind): --force replaces a folder holding nothing else, so that nobody's notes,
# corpus runs, statistics or alignment tables go with it.
SAVED_FILES = frozenset(
    (
        CONFIG_FILE,
        WEIGHTS_FILE,
        CARD_JSON,
        CARD_MD,
        LANGUAGES_FILE,
        TOKENIZER_JSON,
        CHAT_TEMPLATE,
        *Tokenizer.files,
        *TokenizerPair.files,
    )
)


class DestinationError(ValueError):
    """A destination that must not be written or replaced; the message says why in one sentence."""


def is_headlight_checkpoint(folder: Path) -> bool:
    """A real folder (not a link) whose config.json says it was written by `save_checkpoint`."""
    config = folder / CONFIG_FILE
    if folder.is_symlink() or not folder.is_dir() or config.is_symlink() or not config.is_file():
        return False
    try:
        if config.stat().st_size > MAX_CONFIG_BYTES:
            return False
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_destination(dest: Path, force: bool, source: Path | None = None) -> None:
    """Refuse, before any work, a destination that exists (without --force) or may not be replaced (with it)."""
    if not (dest.exists() or dest.is_symlink()):
        return
    if not force:
        raise DestinationError(f"{dest} exists; pass --force to replace it.")
    if dest.is_symlink():
        raise DestinationError(f"{dest} is a link; --force replaces only a checkpoint folder itself.")
    target = dest.resolve()
    protected = [("the source folder", source)] if source is not None else []
    protected += [("the working folder", Path.cwd()), ("the project", PROJECT), ("the home folder", Path.home())]
    for what, folder in protected:
        if _within(folder.resolve(), target):
            relation = "is" if folder.resolve() == target else "holds"
            raise DestinationError(f"{dest} {relation} {what}; --force never replaces it.")
    if not is_headlight_checkpoint(dest):
        raise DestinationError(
            f"{dest} is not a Headlight checkpoint (no config.json with format {FORMAT!r}); --force replaces only a "
            "checkpoint, so choose another --dest or remove the folder yourself."
        )
    others = sorted(entry.name for entry in target.iterdir() if entry.name not in SAVED_FILES or not entry.is_file())
    if others:
        named = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise DestinationError(
            f"{dest} holds more than a checkpoint save writes ({named}); --force would delete it, so move those "
            "away first or choose another --dest."
        )


def _fresh_sibling(dest: Path, role: str) -> Path:
    """A new hidden folder beside `dest` (made with the usual permissions, unlike mkdtemp's 0700)."""
    while True:
        candidate = dest.parent / f".{dest.name}.{role}-{secrets.token_hex(4)}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue


@contextmanager
def staged_folder(dest: Path) -> Iterator[Path]:
    """A fresh folder beside `dest` to write into; it becomes `dest` (replacing the old one) only when the block ends
    without an error, and is removed otherwise. Made first, so an unwritable destination is found before any work."""
    made = [folder for folder in [dest.parent, *dest.parent.parents] if not folder.exists()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = _fresh_sibling(dest, "importing")
    try:
        yield staging
        swap_in(staging, dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
            for folder in made:  # the parents made for a destination that never came, innermost first
                try:
                    folder.rmdir()
                except OSError:
                    break


def swap_in(staging: Path, dest: Path) -> None:
    """Put `staging` at `dest`; an old `dest` is moved aside first and deleted only after the new one is in place."""
    old = None
    if dest.exists():
        old = dest.parent / f".{dest.name}.replaced-{secrets.token_hex(4)}"
        os.rename(dest, old)
    try:
        os.rename(staging, dest)  # refuses (ENOTEMPTY) a folder that appeared at dest meanwhile
    except BaseException:  # Ctrl+C too: the old checkpoint goes back
        if old is not None and not dest.exists():
            os.rename(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

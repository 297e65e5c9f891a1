"""Writing a file whole or not at all: the text goes to a new file beside its final place and is moved over it only
when complete, so that a reader (or a run cut off mid-write) sees the old file or the new one, never half of one.

The new file gets the mode a file made by `open` gets (0666 less the umask), or the replaced file's mode: a shared
film or table is readable by whoever could read the old one, not owner-only as `tempfile.mkstemp` would make it."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def temporary_file(target: Path) -> tuple[int, Path]:
    """A new, empty file beside `target` (same folder, so that moving it over `target` is atomic): its descriptor and
    path. Made with the mode a new file gets (0666 less the umask), as `open` would."""
    while True:
        path = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), path
        except FileExistsError:
            continue


@contextmanager
def atomic_file(target: str | Path, mode: str = "wb") -> Iterator[IO]:
    """An open file ("wb", or "w": text in UTF-8) that becomes `target` when the block ends without an error; on any
    error or interruption `target` is left as it was and the partial file removed."""
    target = Path(target)
    descriptor, tmp = temporary_file(target)
    try:
        if target.is_file():  # keep the replaced file's permissions
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        with os.fdopen(descriptor, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomically(target: str | Path, write: Callable[[IO], object], mode: str = "wb") -> None:
    """Write `target` through `write(file)` (see `atomic_file`)."""
    with atomic_file(target, mode) as f:
        write(f)


def sha256_file(file: Path) -> str:
    """The file's SHA-256, as `sha256sum` prints it, read a megabyte at a time."""
    digest = hashlib.sha256()
    with file.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_within(
    file: Path,
    limit: int,
    error: type[Exception],
    name: str,
    too_large: Callable[[int], str],
    kind: type | tuple[type, ...] = dict,
    what: str = "a JSON object",
):
    """The JSON in `file`, of type `kind` (never a bool), read only if it has at most `limit` bytes. Anything else is
    one `error` sentence that begins with `name` (the file as the caller's messages call it) and says why: too large
    (`too_large(size)` is that whole sentence), unreadable, not JSON, nested too deeply for Python's parser, or
    another type (`what` names the one expected)."""
    try:
        size = file.stat().st_size
        if size > limit:
            raise error(too_large(size))
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{name} cannot be read ({exc.strerror or exc}).") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{name} is not valid JSON ({exc}).") from None
    except RecursionError:
        raise error(f"{name} is nested too deeply to be read.") from None
    if not isinstance(data, kind) or isinstance(data, bool):
        raise error(f"{name} must hold {what}, not {type(data).__name__}.")
    return data

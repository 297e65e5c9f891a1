"""A command's --input FILE, one line out per line in: what the translate command does with a file."""

from __future__ import annotations

import sys
from collections.abc import Callable

from model.cli_support.common import fail
from model.cli_support.inputs import InputFileError, read_sentence_bytes
from model.core.defaults import MAX_TEXT_CHARS


def translate_lines(path: str, translate_line: Callable[[str], str]) -> int:
    """Each line of the file (plain or .gz, as every command reads it) through `translate_line`, written to stdout
    as it goes; a line that is not UTF-8 or that `translate_line` refuses (ValueError, RuntimeError) is left empty
    and said on stderr (exit status 1). A line longer than the app takes is cut there first, and said."""
    try:
        raw = read_sentence_bytes(path)  # a device is refused: /dev/zero would fill the memory
    except InputFileError as exc:
        return fail(exc)
    failures = 0
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the final newline ends the last line, it does not start another
    for number, line in enumerate(lines, start=1):
        try:
            text = line.rstrip(b"\r").decode("utf-8")
            if len(text) > MAX_TEXT_CHARS:  # tokenizing one 50 MB line would take minutes and gigabytes
                print(f"line {number}: {len(text)} characters, cut to the first {MAX_TEXT_CHARS}", file=sys.stderr)
                text = text[:MAX_TEXT_CHARS]
            out = translate_line(text) if text.strip() else ""
        except UnicodeDecodeError:
            print(f"line {number}: not valid UTF-8, left empty", file=sys.stderr)
            out, failures = "", failures + 1
        except (ValueError, RuntimeError) as exc:  # (an InputError is a ValueError)
            print(f"line {number}: {exc}, left empty", file=sys.stderr)
            out, failures = "", failures + 1
        sys.stdout.write(out.replace("\n", " ") + "\n")
        sys.stdout.flush()
    return 1 if failures else 0

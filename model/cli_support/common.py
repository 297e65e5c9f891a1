"""What every command shares: the entry-point wrapper, the parser with its one-line errors, the --checkpoint and
language flags, and reading a checkpoint with its sentence files."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from model.core.defaults import DEFAULT_CHECKPOINT, checkpoint_folder


def run(main: Callable[[], int]) -> None:
    """Run a command's main: Ctrl+C and a closed pipe end quietly, never with a traceback."""
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


def fail(message: object) -> int:
    """Say what went wrong in one line on stderr; the exit status of a refused input or output."""
    print(f"error: {message}", file=sys.stderr)
    return 2


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (the usage itself is what --help is for)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def command_parser(command: str, doc: str, epilog_extra: str = "") -> CommandParser:
    """The parser of `python -m model.<command>`: the module docstring's first line describes it, the rest (examples,
    details) follows the options in --help as written."""
    description, _, rest = doc.partition("\n")
    return CommandParser(
        prog=f"python -m model.{command}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(rest.strip("\n") + epilog_extra) or None,
    )


def add_checkpoint_flag(p: argparse.ArgumentParser) -> None:
    """--checkpoint: a shipped checkpoint's name or a folder; the app's default model when left out."""
    p.add_argument(
        "--checkpoint",
        default=DEFAULT_CHECKPOINT,
        type=checkpoint_folder,
        metavar="NAME_OR_FOLDER",
        help="the model: a checkpoint's name (a folder in checkpoints/, or in $HEADLIGHT_CHECKPOINTS when set) or a "
        "checkpoint folder's path (default: %(default)s, the app's default model)",
    )


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


def load_model(folder):
    """`load_checkpoint(folder)`, with each of its notes (e.g. an older checkpoint that records no tokenizer hash)
    printed to stderr as one `note:` line; CheckpointError passes through to the caller's one line of error."""
    from model.core.checkpoint import load_checkpoint

    ckpt = load_checkpoint(folder)
    for note in ckpt.notes:
        print(f"note: {note}", file=sys.stderr)
    return ckpt


def load_checkpoint_and_sentences(
    checkpoint, input_path: str, ref_path: str | None, max_sentences: int = 0, languages: tuple = (None, None)
):
    """(checkpoint, sources, references or None) for the corpus-style CLIs, the checkpoint set to `languages` (a
    multilingual model's (src_lang, tgt_lang); None keeps its default), or None after one line of error on stderr.
    The sentence files are read first: a bad file is found before the model is loaded."""
    from model.cli_support.inputs import InputFileError, read_parallel_sentences, read_sentences
    from model.core.checkpoint import CheckpointError, with_languages

    try:
        if ref_path:
            sources, references = read_parallel_sentences(input_path, ref_path)
        else:
            sources, references = read_sentences(input_path), None
        ckpt = with_languages(load_model(checkpoint), *languages)
    except (CheckpointError, InputFileError, ValueError) as exc:
        fail(exc)
        return None
    if max_sentences:
        sources = sources[:max_sentences]
        references = references[:max_sentences] if references else None
    return ckpt, sources, references

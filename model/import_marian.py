"""Import an OPUS-MT (Marian) model: the older name of `python -m model.import_hf`, kept for commands in cards.

  python -m model.import_marian opus-mt-en-de --dest checkpoints/opus-mt-en-de

Same arguments and result as `python -m model.import_hf`, which also imports M2M-100, NLLB-200 and mBART-50.
"""

from __future__ import annotations

from model.cli_support.common import run
from model.import_hf import main as import_hf_main


def main(argv: list[str] | None = None) -> int:
    return import_hf_main(argv, prog="python -m model.import_marian")


if __name__ == "__main__":
    run(main)

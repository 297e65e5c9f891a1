"""Prepare the general-domain training data: `python -m model.prepare_general --help`.

Reads the repository's `data/` (Tatoeba, Multi30k, WMT newstest) and writes gzipped parallel files:
train, val and test (validation and test cut from Tatoeba by English sentence), plus the Tatoeba
Challenge test set without the pairs whose English sentence occurs in our training data, and
`stats.json` with every count. Deterministic: the split of a sentence depends only on its text.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from model.cli_support.common import command_parser, fail
from model.cli_support.outputs import check_output_folder
from model.core.paths import DATA_DIR
from model.training.prepare import prepare


def main(argv: list[str] | None = None) -> int:
    p = command_parser("prepare_general", __doc__)
    p.add_argument("--data-dir", default=DATA_DIR, type=Path, help="the corpora (default: the repository's data/)")
    p.add_argument("--tgt-lang", choices=["de", "fr"], default="de")
    p.add_argument("--out", type=Path, required=True, help="folder for the prepared files (not committed)")
    p.add_argument("--no-news", action="store_true", help="leave out WMT newstest (English-German only)")
    p.add_argument("--no-multi30k", action="store_true", help="leave out Multi30k train")
    args = p.parse_args(argv)
    out, data = args.out.resolve(), args.data_dir.resolve()
    if out.is_relative_to(data) and out.is_dir() and any(out.iterdir()):
        return fail(f"--out {args.out} is a folder of --data-dir that holds files: prepare into a new folder.")
    try:
        check_output_folder("--out", args.out, {"--data-dir": args.data_dir})
        stats = prepare(args.data_dir, args.tgt_lang, args.out, not args.no_news, not args.no_multi30k)
    except (OSError, ValueError, EOFError) as exc:  # (OutputError is a ValueError; EOFError: a truncated .gz)
        return fail(exc)
    print(json.dumps(stats, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

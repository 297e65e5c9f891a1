"""Train a Transformer translator: `python -m model.train --help`.

Runs on the CPU, one GPU, or several under `torchrun` (DistributedDataParallel). The run folder
holds the tokenizer, a resumable state (safetensors + JSON, no pickles) written every few minutes,
the best checkpoint by validation BLEU, per-epoch snapshots for averaging, and a per-epoch CSV log.
Every flag, its default and its bounds: model/training/config.py (TrainConfig).
"""

from __future__ import annotations

import sys

from model.cli_support.common import fail
from model.cli_support.outputs import check_output_folder
from model.training.config import parse_config
from model.training.loop import train


def main(argv: list[str] | None = None) -> int:
    config = parse_config(argv)
    inputs = {
        f"--{name.replace('_', '-')}": getattr(config, name)
        for name in ("train_src", "train_tgt", "valid_src", "valid_tgt", "tokenizer", "init_from", "continue_from")
    }
    try:
        check_output_folder("--run-dir", config.run_dir, inputs)  # before any data is read or a step is taken
        train(config)
    except KeyboardInterrupt:
        print("interrupted: continue with --resume (the last saved state is kept)", file=sys.stderr)
        return 130
    except (OSError, ValueError, EOFError) as exc:  # (OutputError is a ValueError; EOFError: a truncated .gz)
        return fail(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Train a Transformer translator: `python -m model.train --help`.

Runs on the CPU, one GPU, or several under `torchrun` (DistributedDataParallel). The run folder
holds the tokenizer, a resumable state (safetensors + JSON, no pickles) written every few minutes,
the best checkpoint by validation BLEU, per-epoch snapshots for averaging, and a per-epoch CSV log.
Every flag, its default and its bounds: model/training/config.py (TrainConfig).
"""

from __future__ import annotations

import sys

from model.training.config import parse_config
from model.training.loop import train


def main(argv: list[str] | None = None) -> int:
    config = parse_config(argv)
    try:
        train(config)
    except KeyboardInterrupt:
        print("interrupted: continue with --resume (the last saved state is kept)", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

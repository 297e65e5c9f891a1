"""Train a Transformer translator: `python -m model.train --help`.

Runs on the CPU, one GPU, or several under `torchrun` (DistributedDataParallel). The run folder
holds the tokenizer, a resumable state (safetensors + JSON, no pickles) written every few minutes,
the best checkpoint by validation BLEU, per-epoch snapshots for averaging, and a per-epoch CSV log.
"""

from __future__ import annotations

import argparse
import sys

from model.training.loop import build_parser, train


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


# -- distributed -------------------------------------------------------------------------------


# -- resumable state: safetensors for tensors, JSON for the rest ------------------------------


# -- evaluation --------------------------------------------------------------------------------


# -- the run -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        train(args)
    except KeyboardInterrupt:
        print("interrupted: continue with --resume (the last saved state is kept)", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

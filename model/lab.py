"""Watch a tiny Transformer learn a toy task in a few minutes: `python -m model.lab --help`.

python -m model.lab --task reverse --out runs/lab-reverse      # 3 1 4 1 5 -> 5 1 4 1 3
python -m model.lab --task sort --out runs/lab-sort --max-minutes 2
python -m model.translate --checkpoint runs/lab-reverse/final "3 1 4"

The folder holds the task's data (data/), the run (an ordinary model.train run folder), its film (film/, saved after
every frame, so that the Training view can show it while it learns), lab.json (state, update, elapsed time, what the
film has shown so far) and, when done, the final checkpoint (final/, with its film). SIGTERM stops it cleanly: state
"stopped", the film so far kept. Exit status: 0 done, 1 failed, 2 refused, 143 stopped.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.cli_support.common import command_parser, fail, run
from model.training.lab_status import MAX_LAB_MINUTES, LabError, open_lab
from model.training.toy_tasks import TASKS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = command_parser("lab", __doc__)
    p.add_argument("--task", required=True, choices=TASKS, help="copy, reverse or sort sequences of digits")
    p.add_argument("--out", required=True, help="the lab's folder (new or empty; an earlier lab's with --force)")
    p.add_argument(
        "--max-minutes",
        type=float,
        default=3.0,
        help=f"stop training in time to finish within this many minutes (above 0, at most {MAX_LAB_MINUTES:g})",
    )
    p.add_argument("--steps", type=int, default=0, help="stop after this many updates (0: the lab's own number)")
    p.add_argument("--seed", type=int, default=1, help="the data's and the model's seed")
    p.add_argument("--force", action="store_true", help="replace an earlier lab in --out")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.steps < 0 or args.seed < 0:
        return fail("--steps and --seed must be 0 or more")
    try:
        # lab.json first, then PyTorch (seconds to import): a viewer sees the lab starting at once
        status = open_lab(args.task, Path(args.out), args.max_minutes, args.force)
    except (LabError, OSError) as exc:
        return fail(exc)
    from model.training.live_lab import run_lab

    try:
        status = run_lab(args.task, status.folder, seed=args.seed, steps=args.steps, status=status)
    except SystemExit as exc:  # the training loop's own refusals are one sentence already
        fail(str(exc.code).removeprefix("error: ") if isinstance(exc.code, str) else status.message)
        return 1
    except Exception:  # lab.json says "failed" and why; here the same sentence, without a traceback
        fail(status.message)
        return 1
    if status.state == "done":
        print(f"final checkpoint: {status.checkpoint}")
        return 0
    return 1 if status.state == "failed" else 143


if __name__ == "__main__":
    run(main)

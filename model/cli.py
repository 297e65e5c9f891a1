"""Entry-point wrapper for the command-line tools: Ctrl+C and a closed pipe end quietly, never with a traceback."""
from __future__ import annotations

import os
import sys
from typing import Callable


def run(main: Callable[[], int]) -> None:
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

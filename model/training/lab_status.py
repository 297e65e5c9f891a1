"""The live lab's folder and its status file, lab.json: light enough to import (no PyTorch) that a viewer sees the lab
starting within a second, while the lab itself is still importing (`model.training.live_lab` runs it). The lab writes
it (`LabStatus`); a watcher such as the app reads it (`read_status`) and moves the finished model (`move_checkpoint`).

lab.json is replaced whole whenever it changes (a reader never sees half of it):
{"format": "headlight-lab", "version": 1, "task", "state": "training" | "done" | "failed" | "stopped", "step",
"total_steps", "started" (ISO 8601, UTC), "elapsed_s", "max_minutes", "message", "film" (the live film's folder,
relative to the lab's), "checkpoint" (the final checkpoint's folder when done, else null), "pid", "reached" (when the
film first showed what the task asks: see docs/training.md, "Live lab"), "held_out_exact" (the share of the held-out
sequences the final model translates exactly, when done)}.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from model.core.files import write_atomically
from model.training.toy_tasks import TASKS

LAB_FILE, DATA_DIR, FILM_FOLDER, FINAL_DIR = "lab.json", "data", "film", "final"
FORMAT, VERSION = "headlight-lab", 1
STATES = ("training", "done", "failed", "stopped")
MAX_LAB_MINUTES = 60.0


class LabError(ValueError):
    """A lab that cannot start, said in one sentence."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class LabStatus:
    """lab.json, written whole (temporary file, then rename) whenever it changes; `stop_requested` is set by SIGTERM
    once `catch_sigterm` was called."""

    folder: Path
    task: str
    max_minutes: float
    state: str = "training"
    step: int = 0
    total_steps: int = 0
    message: str = "starting"
    checkpoint: str | None = None
    started_at: float = field(default_factory=time.monotonic)
    started: str = field(default_factory=now_iso)
    reached: dict = field(default_factory=dict)
    held_out_exact: float | None = None
    last_written: float = 0.0
    stop_requested: bool = False
    previous_handler: object = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def as_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "task": self.task,
            "state": self.state,
            "step": self.step,
            "total_steps": self.total_steps,
            "started": self.started,
            "elapsed_s": round(self.elapsed(), 2),
            "max_minutes": self.max_minutes,
            "message": self.message,
            "film": FILM_FOLDER,
            "checkpoint": self.checkpoint,
            "pid": os.getpid(),
            "reached": self.reached,
            "held_out_exact": self.held_out_exact,
        }

    def write(self, **changes) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        text = json.dumps(self.as_json(), ensure_ascii=False, allow_nan=False, indent=1)
        write_atomically(self.folder / LAB_FILE, lambda f: f.write(text), mode="w")
        self.last_written = time.monotonic()

    def catch_sigterm(self) -> None:
        """From now on SIGTERM asks the lab to stop at the next safe point (after an update), instead of ending the
        process with its files half written. Only the main thread can take signals; elsewhere nothing changes."""
        if threading.current_thread() is threading.main_thread():
            self.previous_handler = signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stop_requested", True))

    def release_sigterm(self) -> None:
        if self.previous_handler is not None:
            signal.signal(signal.SIGTERM, self.previous_handler)
            self.previous_handler = None


def prepare_folder(out: Path, force: bool) -> None:
    """The lab's folder: new or empty, or (with `force`) an earlier lab's folder, emptied. Never another folder."""
    if out.exists() and not out.is_dir():
        raise LabError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / LAB_FILE).is_file():
            raise LabError(f"--out {out} holds files that are not a lab's; give a new or empty folder")
        if not force:
            raise LabError(f"--out {out} holds an earlier lab; give --force to replace it, or another folder")
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise LabError(f"--out {out} cannot be written ({exc.strerror or exc})") from None


def open_lab(task: str, out: Path, max_minutes: float = 3.0, force: bool = False) -> LabStatus:
    """Check the lab's request, prepare its folder and write its first lab.json (state "training", "starting");
    SIGTERM is caught from here on."""
    if task not in TASKS:
        raise LabError(f"--task must be one of {', '.join(TASKS)}, not {task!r}")
    if not 0 < max_minutes <= MAX_LAB_MINUTES:
        raise LabError(f"--max-minutes must be above 0 and at most {MAX_LAB_MINUTES:g}, not {max_minutes:g}")
    out = Path(out)
    prepare_folder(out, force)
    status = LabStatus(out, task, max_minutes)
    status.catch_sigterm()
    status.write()
    return status


# -- reading, for whoever watches the lab (the app) ------------------------------------------------------------------

MAX_LAB_JSON_BYTES = 1_000_000


@dataclass
class LabReading:
    """lab.json as a watcher reads it, checked: what a progress line shows."""

    state: str
    step: int
    total_steps: int
    elapsed_s: float
    message: str


def read_status(folder: Path) -> LabReading | str | None:
    """The lab's lab.json, checked; a sentence if it cannot be used; None while it is not there yet."""
    path = Path(folder) / LAB_FILE
    try:
        if path.stat().st_size > MAX_LAB_JSON_BYTES:
            return f"{LAB_FILE} is larger than {MAX_LAB_JSON_BYTES} bytes"
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return f"{LAB_FILE} cannot be read ({type(exc).__name__})"
    if not isinstance(data, dict) or data.get("state") not in STATES:
        return f"{LAB_FILE} has no known state"
    numbers = [data.get(k) for k in ("step", "total_steps", "elapsed_s")]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 for v in numbers):
        return f"{LAB_FILE} has a step, total or time that is not a number of 0 or more"
    message = data.get("message")
    return LabReading(
        data["state"],
        int(numbers[0]),
        int(numbers[1]),
        float(numbers[2]),
        message[:300] if isinstance(message, str) else "",
    )


def move_checkpoint(folder: Path, to: Path) -> None:
    """Move a finished lab's final checkpoint from `folder` to `to`, and rewrite lab.json's "checkpoint" to name where
    it now is. OSError or ValueError (lab.json unreadable) when either cannot be done."""
    folder, to = Path(folder), Path(to)
    os.replace(folder / FINAL_DIR, to)
    data = json.loads((folder / LAB_FILE).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{LAB_FILE} is not an object")
    data["checkpoint"] = str(to.resolve())
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=1)
    write_atomically(folder / LAB_FILE, lambda f: f.write(text), mode="w")

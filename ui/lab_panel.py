"""The live lab in the Training view: "Train one now" runs `python -m model.lab` in a subprocess and the view streams
its film as the frames arrive.

One lab at a time per server process (module state behind a lock): every visitor sees the running one and may watch
it or stop it. Labs live in `ui.cache.labs_folder()`: each run in runs/NAME (its data, lab.json, live film), and, once
done, its final checkpoint moved to NAME beside runs/, where the model picker lists it. Only the newest few are kept.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from model.analysis.film import has_film
from model.training.lab_status import FILM_FOLDER, FINAL_DIR, LabReading, move_checkpoint, read_status
from model.training.toy_tasks import TASKS
from ui.cache import ROOT, labs_folder
from ui.i18n import t
from ui.text import plain

TIME_CAP_MINUTES = 3.0  # the lab stops training in time to finish within this (model.lab --max-minutes)
GRACE_S = 60  # past the cap by this much, the lab is stopped (SIGTERM), then killed 10 s later
KEEP = 3  # labs (runs and models) kept; older ones are deleted when a new one starts
# A lab model a page showed within this long is never deleted: a visitor may still be looking at it.
IN_USE_S = 3600
LAB_NAME = re.compile(rf"lab-({'|'.join(map(re.escape, TASKS))})-\d{{8}}-\d{{6}}")  # the only names ever deleted
RUNS = "runs"


@dataclass
class Lab:
    task: str
    name: str
    run: Path  # the run folder: data, lab.json, the live film
    model: Path  # where its final checkpoint goes once done (listed by the model picker)
    process: subprocess.Popen
    started: float  # time.monotonic()

    def running(self) -> bool:
        return self.process.poll() is None

    def film_folder(self) -> Path:
        """The finished model's film once it is moved beside runs/, else the live one."""
        for folder in (self.model, self.run / FINAL_DIR, self.run / FILM_FOLDER):
            if has_film(folder):
                return folder
        return self.run / FILM_FOLDER


_LOCK = threading.Lock()
_LAB: Lab | None = None  # this server's lab: the running one, or the last one
_SHOWN: dict[str, float] = {}  # lab name -> when (time.monotonic()) a page last showed its model


def note_shown(path: str | Path) -> None:
    """A page shows the model in `path`: if it is a lab's, `prune` keeps it for IN_USE_S from now."""
    name = Path(path).name
    if LAB_NAME.fullmatch(name):
        _SHOWN[name] = time.monotonic()


def current() -> Lab | None:
    return _LAB


def start(task: str, root: Path | None = None) -> tuple[Lab, bool]:
    """Start a lab on `task`, unless one is running: then that one. Returns the lab and whether this call started it."""
    global _LAB
    if task not in TASKS:
        raise ValueError(f"the lab's task must be one of {', '.join(TASKS)}")
    with _LOCK:
        if _LAB is not None and _LAB.running():
            return _LAB, False
        root = root or labs_folder()
        (root / RUNS).mkdir(parents=True, exist_ok=True)
        prune(root, KEEP - 1)
        name = f"lab-{task}-{time.strftime('%Y%m%d-%H%M%S')}"
        run = root / RUNS / name
        with open(root / RUNS / f"{name}.log", "wb") as log:  # the child keeps its own handle
            process = subprocess.Popen(
                [sys.executable, "-m", "model.lab", "--task", task, "--out", str(run)]
                + ["--max-minutes", f"{TIME_CAP_MINUTES:g}"],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _LAB = Lab(task, name, run, root / name, process, time.monotonic())
        atexit.register(stop)  # a server that stops takes its lab with it
        threading.Thread(target=finish, args=(_LAB,), daemon=True, name=f"headlight-{name}").start()
        return _LAB, True


def stop() -> None:
    """Ask the running lab to stop (SIGTERM): it keeps the film so far."""
    with _LOCK:
        if _LAB is not None and _LAB.running():
            _LAB.process.terminate()


def finish(lab: Lab) -> None:
    """Wait for the lab (stopping it past its time cap); once done, move its checkpoint where the picker lists it."""
    try:
        lab.process.wait(timeout=TIME_CAP_MINUTES * 60 + GRACE_S)
    except subprocess.TimeoutExpired:
        lab.process.terminate()
        try:
            lab.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            lab.process.kill()
            lab.process.wait()
    status = read_status(lab.run)
    if isinstance(status, LabReading) and status.state == "done" and (lab.run / FINAL_DIR / "config.json").is_file():
        with contextlib.suppress(OSError, ValueError):  # else the picker misses it; its film stays in the run folder
            move_checkpoint(lab.run, lab.model)


def prune(root: Path, keep: int) -> None:
    """Delete all but the newest `keep` labs (their runs, logs and models); only folders named as a lab names them.
    Never the running lab, nor one whose model a page showed within IN_USE_S (`note_shown`)."""
    runs = root / RUNS
    names = sorted(
        {p.name.removesuffix(".log") for p in runs.iterdir() if LAB_NAME.fullmatch(p.name.removesuffix(".log"))}
    )
    names += [p.name for p in root.iterdir() if LAB_NAME.fullmatch(p.name) and p.name not in names]
    by_age = sorted(set(names), key=lambda n: n.split("-", 2)[2], reverse=True)  # the name ends with its start time
    for name in by_age[keep:]:
        if _LAB is not None and _LAB.name == name and _LAB.running():
            continue
        if time.monotonic() - _SHOWN.get(name, -math.inf) < IN_USE_S:
            continue
        for path in (runs / name, root / name):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
        (runs / f"{name}.log").unlink(missing_ok=True)


def log_tail(lab: Lab) -> str:
    """The last line the lab printed (its one-sentence error when it could not start)."""
    try:
        lines = (lab.run.parent / f"{lab.name}.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def progress(lab: Lab, where=st) -> None:
    """One line: the lab's state, update and time (from lab.json), as a progress bar while it trains."""
    status = read_status(lab.run)
    if isinstance(status, str):
        where.warning(plain(status))
        return
    if status is None:
        elapsed = time.monotonic() - lab.started
        if lab.running():
            where.progress(0.0, text=t("lab.starting", task=t(f"lab.task.{lab.task}"), s=f"{elapsed:.0f}"))
        else:
            where.error(t("lab.no_start", why=plain(log_tail(lab)) or "?"))
        return
    task = t(f"lab.task.{lab.task}")
    if status.state == "training" and lab.running():
        share = min(1.0, status.step / status.total_steps) if status.total_steps else 0.0
        text = t("lab.training", task=task, step=status.step, total=status.total_steps, s=f"{status.elapsed_s:.0f}")
        where.progress(share, text=text)
    elif status.state == "done":
        where.success(t("lab.done", task=task, name=lab.name, message=plain(status.message)))
    elif status.state == "training":  # the process ended without saying so: killed
        where.warning(t("lab.ended", task=task, step=status.step))
    else:
        where.warning(t(f"lab.{status.state}", task=task, message=plain(status.message)))


def panel(watching: bool) -> None:
    """The lab's controls: the task, "Train one now" (or the running lab's Stop) and its progress."""
    lab = current()
    with st.container(border=True, key="lab_panel"):
        st.markdown(f"**{t('lab.title')}**")
        st.caption(t("lab.intro", minutes=f"{TIME_CAP_MINUTES:g}"))
        cols = st.columns([2, 2, 3], vertical_alignment="bottom")
        running = lab is not None and lab.running()
        task = cols[0].selectbox(
            t("lab.task"), TASKS, format_func=lambda x: t(f"lab.task.{x}"), key="lab_task", disabled=running
        )
        if running:
            cols[1].button(t("lab.stop"), key="lab_stop", on_click=stop, type="secondary")
            if not watching:
                cols[2].button(t("lab.watch"), key="lab_watch", on_click=watch)
        else:
            cols[1].button(t("lab.start"), key="lab_start", on_click=start_and_watch, args=(task,), type="primary")
        problem = st.session_state.pop("lab_error", None)
        if problem:
            st.error(t("lab.cannot_start", why=plain(problem)))
        if lab is not None and not watching:  # while watching, the film's own fragment shows the progress
            progress(lab)


def watch() -> None:
    st.session_state.film_source = "lab"
    st.session_state.frame = -1  # the newest frame, as it arrives


def start_and_watch(task: str) -> None:
    try:
        start(task)
    except OSError as exc:
        st.session_state.lab_error = f"{exc.strerror or exc}"
        return
    watch()

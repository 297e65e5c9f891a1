"""A real `streamlit run app.py` server and Debian's headless Chromium, shared by the browser tests and bench/run.py."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAIN_PLOT = '[data-testid="stMainBlockContainer"] .js-plotly-plot'  # the sidebar holds the training curve
HEATMAP = f"{MAIN_PLOT} .heatmaplayer"
# ui/figure.js draws each figure on its own, some only once the browser is idle: true when every one is drawn
ALL_FIGURES_DRAWN = "() => !document.querySelector('.headlight-figure:not(.js-plotly-plot)')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(checkpoints: Path | None = None, app: Path = ROOT / "app.py"):
    """Start the app (or another Streamlit script) headless on a free loopback port; yield its URL; always stop it."""
    port = free_port()
    env = dict(os.environ)
    if checkpoints is not None:
        env["HEADLIGHT_CHECKPOINTS"] = str(checkpoints)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, proc, 60):
            raise RuntimeError(f"streamlit did not start: {proc.stderr.read().decode()[-2000:]}")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float) -> bool:
    """Wait until the server at `url` answers its health check (True), or it exits or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.3)


def shipped_or(fallback: Path) -> Path:
    """The shipped checkpoints if there are any (real attention in screenshots), else `fallback`."""
    shipped = ROOT / "checkpoints"
    return shipped if any(shipped.glob("*/config.json")) else fallback

"""A classroom server: several app processes behind HAProxy, each visitor kept on one of them by a cookie.

    apt-get install -y haproxy
    python -m harness.replicas --replicas 2 --port 8500     # then open http://HOST:8500/

One Streamlit process runs every visitor's page in its own thread, and PyTorch work in threads of one process
shares one interpreter: past a few simultaneous translations, visitors wait for each other. Several processes
(one per core or two) share the load; the proxy sends each new visitor to the next process and keeps them there
with a cookie, because a Streamlit session (its websocket, its widgets' state, its downloads) lives in the process
that started it. `docs/serving.md` explains the set-up; this command writes the HAProxy configuration it describes,
starts the replicas and the proxy, and stops them all on Ctrl+C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import browser

ROOT = Path(__file__).resolve().parent.parent
COOKIE = "HEADLIGHT_REPLICA"


def haproxy_config(port: int, replica_ports: list[int], stats_port: int) -> str:
    """HAProxy's configuration: round robin for new visitors, the cookie for returning ones, websockets passed on."""
    servers = "\n".join(
        f"    server r{i} 127.0.0.1:{p} check cookie r{i}" for i, p in enumerate(replica_ports, start=1)
    )
    return f"""global
    maxconn 2000

defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h

frontend classroom
    bind 127.0.0.1:{port}
    default_backend headlight

backend headlight
    balance roundrobin
    option httpchk GET /_stcore/health
    cookie {COOKIE} insert indirect nocache httponly
{servers}

listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
"""


def start_replica(port: int, checkpoints: Path | None) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if checkpoints is not None:
        env["HEADLIGHT_CHECKPOINTS"] = str(checkpoints)
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    if not browser.wait_healthy(url, process, seconds):
        raise RuntimeError(f"{url} did not start")


def sessions_per_replica(stats_port: int) -> dict[str, int]:
    """Total sessions HAProxy sent to each replica so far (its CSV statistics, column stot)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/stats;csv", timeout=5) as response:
        lines = response.read().decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
    return {r["svname"]: int(r["stot"]) for r in rows if r["pxname"] == "headlight" and r["svname"].startswith("r")}


class Classroom:
    """The replicas and the proxy as one context manager: `with Classroom(2, 8500) as url: ...`."""

    def __init__(self, replicas: int, port: int, first_replica_port: int, stats_port: int, checkpoints=None):
        self.port, self.stats_port, self.checkpoints = port, stats_port, checkpoints
        self.replica_ports = [first_replica_port + i for i in range(replicas)]
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> str:
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            raise RuntimeError("HAProxy is not installed (Debian: apt-get install -y haproxy)")
        try:
            for p in self.replica_ports:
                self.processes.append(start_replica(p, self.checkpoints))
            for p, process in zip(self.replica_ports, self.processes):
                wait_healthy(f"http://127.0.0.1:{p}", process)
            self.folder = tempfile.TemporaryDirectory()
            config = Path(self.folder.name) / "haproxy.cfg"
            config.write_text(haproxy_config(self.port, self.replica_ports, self.stats_port))
            self.processes.append(subprocess.Popen([haproxy, "-f", str(config)], stdout=subprocess.DEVNULL))
            wait_healthy(f"http://127.0.0.1:{self.port}", self.processes[-1], seconds=20)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m harness.replicas", description=__doc__.split("\n")[0])
    p.add_argument("--replicas", type=int, default=2, help="app processes (about one per CPU core)")
    p.add_argument("--port", type=int, default=8500, help="the port visitors open")
    p.add_argument("--first-replica-port", type=int, default=8601, help="replicas listen on this port and up")
    p.add_argument("--stats-port", type=int, default=8499, help="HAProxy's statistics page (/stats)")
    args = p.parse_args(argv)
    if not 1 <= args.replicas <= 64:
        print("error: --replicas must be between 1 and 64", file=sys.stderr)
        return 2
    try:
        with Classroom(args.replicas, args.port, args.first_replica_port, args.stats_port) as url:
            print(f"serving {url}/ with {args.replicas} replicas (statistics: :{args.stats_port}/stats); Ctrl+C stops")
            while True:
                time.sleep(3600)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())

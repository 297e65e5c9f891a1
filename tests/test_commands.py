"""Every command starts as a user runs it: `python -m model.X --help` and `python bench/run.py --help`, each run as
`__main__` the way `python -m` runs it (runpy), in one fresh process, so that a broken entry point or import shows here
while the other command-line tests call `main(argv)` in the test process. One process for all: each launch of its own
would spend 1.5 s of CPU importing PyTorch again."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

COMMANDS = sorted(f"model.{p.stem}" for p in (ROOT / "model").glob("*.py") if p.stem != "__init__")
LAUNCHER = """
import contextlib, io, json, runpy, sys
results = {}
for name in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    sys.argv = [name, "--help"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            if name.endswith(".py"):
                runpy.run_path(name, run_name="__main__")
            else:
                runpy.run_module(name, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stop:
            code = stop.code
    results[name] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(results))
"""


def test_every_command_starts_and_prints_its_usage():
    named_in_the_readme = ("translate", "train", "evaluate", "card", "analyze", "corpus", "align_eval", "deck")
    assert {f"model.{name}" for name in named_in_the_readme} <= set(COMMANDS)
    launcher = [sys.executable, "-c", LAUNCHER, *COMMANDS, "bench/run.py"]
    launched = subprocess.run(launcher, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert launched.returncode == 0, launched.stderr[-2000:]
    results = json.loads(launched.stdout)
    assert sorted(results) == sorted([*COMMANDS, "bench/run.py"])
    for name, (code, out, err) in results.items():
        usage = "usage: " + (f"python -m {name} " if name.startswith("model.") else "")
        assert (code, err) == (0, "") and out.startswith(usage), f"{name} --help: {code} {err[-1000:]} {out[:200]}"
        # docs/cli.md is built from these: a default shown as this machine's path would land in the docs
        assert str(ROOT) not in out, f"{name} --help shows a path of this machine"

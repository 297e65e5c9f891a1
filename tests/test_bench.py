"""bench/run.py runs and writes the documented JSON rows (timings are reported, never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_writes_json_rows(checkpoint_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--quick",
            "--checkpoint",
            str(checkpoint_dir),
            "--skip",
            "hf,marian,app",
            "--repeats",
            "1",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(out.read_text())
    names = [r["measure"] for r in rows]
    assert names[:4] == [
        "capture_overhead",
        "incremental_vs_recompute",
        "matrix_products_vs_recompute",
        "model_view_build_ms",
    ]
    assert [n for n in names if n.startswith("capture_scaling_S")] == [
        f"capture_scaling_S{n}" for n in (10, 32, 64, 128, 256)
    ]
    assert all(set(r) == {"measure", "value", "unit"} and r["value"] > 0 for r in rows)
    assert "| capture_overhead |" in result.stdout

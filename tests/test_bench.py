"""bench/run.py runs and writes the documented JSON rows (timings are reported, never asserted). In this process, on
the tiny checkpoint; its real launch is in tests/test_commands.py."""

from __future__ import annotations

import json
import re

from bench.run import main


def test_bench_writes_json_rows(checkpoint_dir, tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = ["--quick", "--checkpoint", str(checkpoint_dir), "--skip", "hf,marian,app", "--repeats", "1"]
    assert main([*args, "--json", str(out)]) == 0
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
    assert all(set(r) == {"measure", "value", "unit", "run"} and r["value"] > 0 for r in rows)
    assert re.match(r"\d{4}-\d{2}-\d{2} · .* · `python bench/run.py --quick ", rows[0]["run"])  # docs/hooks.py reads it
    table = capsys.readouterr().out
    assert all(f"| {name} |" in table for name in names)

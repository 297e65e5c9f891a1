"""bench/run.py runs and writes the documented JSON rows (timings are reported, never asserted). In this process, on
the tiny checkpoint; its real launch is in tests/test_commands.py."""

from __future__ import annotations

import json
import re

import pytest

from bench.run import main


def test_bench_writes_json_rows(checkpoint_dir, tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = ["--quick", "--checkpoint", str(checkpoint_dir), "--skip", "hf,marian,llm,app", "--repeats", "1"]
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


def test_the_llm_rows_are_written_at_a_tiny_size(checkpoint_dir, tmp_path, capsys):
    """The llm group end to end on a tiny random Qwen2 model: built with transformers, imported by ours, translated by
    both on the same weights; the bench itself asserts both chose the same pieces."""
    pytest.importorskip("transformers")
    out = tmp_path / "bench.json"
    skip = "capture,incremental,hf,marian,nllb,model_view,scaling,bandwidth,app"
    args = ["--checkpoint", str(checkpoint_dir), "--skip", skip, "--llm-size", "tiny", "--repeats", "1"]
    assert main([*args, "--json", str(out)]) == 0
    rows = {r["measure"]: r for r in json.loads(out.read_text())}
    assert list(rows) == [
        "llm_capture_ms",
        "llm_vs_hf_generate",
        "llm_vs_bandwidth_floor",
        "llm_peak_memory_vs_weights",
        "llm_attention_max_diff_vs_hf",
    ]
    assert rows["llm_attention_max_diff_vs_hf"]["value"] <= 1e-5  # ours' captured attention is HF's
    assert all(rows[n]["value"] > 0 for n in rows if n != "llm_attention_max_diff_vs_hf")
    assert rows["llm_peak_memory_vs_weights"]["value"] >= 1  # the weights themselves, at least
    table = capsys.readouterr().out
    assert "| llm_vs_hf_generate |" in table and "| ≤ 0.8 |" in table
    assert "[2, 4, " in table  # the whole attention of the tiny model: [layers, query heads, N, N]

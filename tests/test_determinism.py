"""Determinism: the same input gives bit-identical attention, in one process and across processes."""

from __future__ import annotations

import numpy as np

from model.core.checkpoint import load_checkpoint
from model.decoding.translation import translate
from tests.conftest import run_translate

TEXT = "A group of people stand in front of an igloo."


def test_repeated_calls_are_bit_identical(checkpoint_dir):
    ckpt = load_checkpoint(checkpoint_dir)
    first = translate(ckpt.model, ckpt.tokenizer, TEXT, beam=3, max_len=15)
    for _ in range(3):
        again = translate(ckpt.model, ckpt.tokenizer, TEXT, beam=3, max_len=15)
        for kind in ("encoder", "decoder", "cross"):
            assert np.array_equal(first.trace.attention(kind), again.trace.attention(kind))


def test_identical_across_processes(checkpoint_dir, tmp_path):
    """A trace exported by another process (`python -m model.translate --export`) equals this process's, bit for bit."""
    path = tmp_path / "trace.npz"
    result = run_translate(checkpoint_dir, 15, "--export", str(path), TEXT, timeout=120)
    assert result.returncode == 0, result.stderr
    ckpt = load_checkpoint(checkpoint_dir)
    here = translate(ckpt.model, ckpt.tokenizer, TEXT, max_len=15).trace.npz_arrays()
    with np.load(path) as there:
        assert sorted(there.files) == sorted(here)
        for key in there.files:
            assert np.array_equal(there[key], here[key]), key

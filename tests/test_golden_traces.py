"""Every shipped model gives, bit for bit, the translations and traces stored in tests/golden/.

The stored files are written with `HEADLIGHT_WRITE_GOLDEN=1 python -m pytest tests/test_golden_traces.py` and kept: a
refactor that changes one float of one head fails here. PyTorch's CPU kernels round
differently on another instruction set (AVX-512 against AVX2: ~1e-6), so floats are compared bit for bit on the kind of
processor that wrote the files (`golden/machine.json`) and to float rounding elsewhere; ids, pieces and texts always
exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from model.core.checkpoint import load_checkpoint
from model.decoding.translation import translate

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SHIPPED = sorted(p.name for p in (ROOT / "checkpoints").iterdir() if (p / "config.json").exists())
BEAMS = (1, 4)
WRITTEN_ON = json.loads((GOLDEN / "machine.json").read_text())
SAME_KERNELS = WRITTEN_ON["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def first_gallery_sentence(name: str) -> str:
    return json.loads((ROOT / "checkpoints" / name / "gallery.json").read_text())[0]["text"]


def traced(name: str) -> dict[str, np.ndarray]:
    ckpt = load_checkpoint(ROOT / "checkpoints" / name)
    arrays: dict[str, np.ndarray] = {}
    for beam in BEAMS:
        result = translate(ckpt.model, ckpt.tokenizer, first_gallery_sentence(name), beam=beam)
        trace = result.trace
        for kind in ("encoder", "decoder", "cross"):
            arrays[f"beam{beam}_{kind}"] = trace.attention(kind)
        arrays[f"beam{beam}_out_ids"] = np.array(result.out_ids)
        arrays[f"beam{beam}_logprobs"] = np.array(result.logprobs)
        arrays[f"beam{beam}_score"] = np.array(result.score)
        arrays[f"beam{beam}_text"] = np.array(result.text)
        arrays[f"beam{beam}_tokens"] = np.array(trace.src_pieces + ["|"] + trace.tgt_pieces)
        arrays[f"beam{beam}_candidates"] = np.array([p for row in trace.candidates for p, _ in row])
        arrays[f"beam{beam}_candidate_probs"] = np.array([q for row in trace.candidates for _, q in row])
    return arrays


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_trace_is_unchanged_bit_for_bit(name):
    path = GOLDEN / f"{name}.npz"
    arrays = traced(name)
    if os.environ.get("HEADLIGHT_WRITE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        np.savez_compressed(path, **arrays)
    stored = np.load(path, allow_pickle=False)
    assert sorted(stored.files) == sorted(arrays)
    for key, value in arrays.items():
        assert stored[key].dtype == value.dtype, key
        if SAME_KERNELS or value.dtype.kind != "f":
            assert np.array_equal(stored[key], value), f"{name}: {key} differs from the stored trace"
        else:
            np.testing.assert_allclose(value, stored[key], rtol=0, atol=1e-5, err_msg=f"{name}: {key}")

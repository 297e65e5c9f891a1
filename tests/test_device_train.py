"""The prepared GPU call (docs/cards/device-train.sh) works end to end on the CPU, within the device tool's limits.

A lent GPU gives a task minutes, once: the script must not meet its first bug there.
"""

from __future__ import annotations

import json
import os
import subprocess

from model.core.checkpoint import load_checkpoint
from model.core.text_files import read_lines
from model.training.prepare import write_pairs
from tests.conftest import DATA, ROOT

SCRIPT = ROOT / "docs" / "cards" / "device-train.sh"
MIB = 1 << 20


def test_the_device_call_trains_both_sizes_and_hands_back_the_better_in_parts(tmp_path):
    data, out, runs, dest = (tmp_path / name for name in ("data", "out", "runs", "unpacked"))
    data.mkdir()
    out.mkdir()
    for split, n in (("train", 64), ("val", 4)):  # the layout `prepare` writes
        pairs = list(zip(read_lines(DATA / f"{split}.en.gz")[:n], read_lines(DATA / f"{split}.de.gz")[:n]))
        write_pairs(data, split, pairs, "en", "de")
    (data / "tokenizer.model").write_bytes((ROOT / "checkpoints" / "general-en-de" / "tokenizer.model").read_bytes())
    env = {
        **os.environ,
        "OUT": str(out),
        "DATA": str(data),
        "RUNS": str(runs),
        "DEST": str(dest),
        "DEVICE": "cpu",
        "EXTRA": "--max-len 24 --max-tokens 300 --threads 1",
    }
    train = subprocess.run(
        ["bash", str(SCRIPT), "train", "de", "0.001"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert train.returncode == 0, train.stderr[-2000:]
    back = sorted(p.name for p in out.iterdir())
    # what the device tool hands back: at most 8 plain files of at most 16 MiB, named in letters, digits, '.', '_', '-'
    assert len(back) <= 8 and all(p.stat().st_size <= 16 * MIB for p in out.iterdir())
    assert all(name.replace(".", "").replace("_", "").replace("-", "").isalnum() for name in back)
    assert {"wide.log", "d512.log", "picked.txt", "final.tar.part00"} <= set(back)
    picked = (out / "picked.txt").read_text().strip()
    assert picked in ("wide", "d512")
    unpack = subprocess.run(
        ["bash", str(SCRIPT), "unpack", "de", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert unpack.returncode == 0, unpack.stderr[-2000:]
    ckpt = load_checkpoint(dest / "final")
    cfg = ckpt.model.cfg
    # by hand, pre-norm, 10k tied vocabulary + output bias: encoder layer 4(d²+d) + FFN (2·d·ff + ff + d) + 2
    # LayerNorms,
    # decoder layer twice the attention and 3 LayerNorms, one final LayerNorm per stack
    expected = {
        "wide": (384, 8, 2, 8 * 1_774_464 + 2 * 2_366_592 + 3_851_536),
        "d512": (512, 4, 2, 4 * 2_627_584 + 2 * 3_679_232 + 5_132_048),
    }[picked]
    assert (cfg.d_model, cfg.n_encoder_layers, cfg.n_decoder_layers, ckpt.model.num_parameters()) == expected
    weights = dest / "final" / "model.safetensors"
    assert weights.stat().st_size < 50e6  # float16, as shipped: within the 50 MB
    card = json.loads((dest / "final" / "card.json").read_text())
    assert card["training"]["steps"] >= 1 and (dest / "log.csv").is_file()

"""The prepared GPU call (docs/cards/device-train.sh) works end to end on the CPU, within the device tool's limits.

A lent GPU gives a task minutes, once: the script must not meet its first bug there. The plumbing (two runs side by
side, the pick, float16, the hand-back in parts, the unpacking) runs here on tiny models; the two real sizes are checked
by building them from the script's own command lines.
"""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess

import torch
from safetensors.torch import load_file

from model.core.checkpoint import load_checkpoint
from model.core.text_files import read_lines
from model.core.tokenizer import Tokenizer
from model.core.transformer import Transformer
from model.training.config import parse_config
from model.training.loop import model_config
from model.training.prepare import write_pairs
from tests.conftest import DATA, ROOT

SCRIPT = ROOT / "docs" / "cards" / "device-train.sh"
MIB = 1 << 20
TOKENIZER = ROOT / "checkpoints" / "general-en-de" / "tokenizer.model"
# what the device tool hands back: at most 8 plain files of at most 16 MiB, named in letters, digits, '.', '_', '-'
MAX_FILES, MAX_FILE = 8, 16 * MIB


def script_env(tmp_path, **extra) -> dict[str, str]:
    data, out = tmp_path / "data", tmp_path / "out"
    for folder in (data, out):
        folder.mkdir(exist_ok=True)
    return {
        **os.environ,
        "OUT": str(out),
        "DATA": str(data),
        "RUNS": str(tmp_path / "runs"),
        "DEST": str(tmp_path / "unpacked"),
        "DEVICE": "cpu",
        **extra,
    }


def test_the_two_sizes_fit_a_shipped_checkpoint_and_the_hand_back(tmp_path):
    """The script's own `model.train` command lines (recorded by a stand-in python3) build the sizes its comment
    promises; as float16 each is within the 50 MB a shipped checkpoint may weigh and hands back in few enough parts."""
    stand_in = tmp_path / "bin" / "python3"
    stand_in.parent.mkdir()
    stand_in.write_text('#!/bin/sh\n[ "$2" = model.train ] && printf "%s\\n" "$@" > "$RECORD/$$.args"\nexit 0\n')
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "record").mkdir()
    env = script_env(tmp_path, PATH=f"{stand_in.parent}:{os.environ['PATH']}", RECORD=str(tmp_path / "record"))
    subprocess.run(["bash", str(SCRIPT), "train", "de", "7.5"], cwd=ROOT, env=env, capture_output=True, timeout=60)
    commands = [p.read_text().splitlines()[2:] for p in (tmp_path / "record").iterdir()]
    configs = {parse_config(argv).run_dir.rsplit("/", 1)[1]: parse_config(argv) for argv in commands}
    assert sorted(configs) == ["d512", "wide"]
    vocab = Tokenizer(TOKENIZER.read_bytes()).vocab_size
    # by hand, pre-norm, 10k tied vocabulary + output bias: encoder layer 4(d²+d) + FFN (2·d·ff + ff + d) + 2
    # LayerNorms, decoder layer twice the attention and 3 LayerNorms, one final LayerNorm per stack
    expected = {
        "wide": (384, 6, 8, 2, 8 * 1_774_464 + 2 * 2_366_592 + 3_851_536),
        "d512": (512, 8, 4, 2, 4 * 2_627_584 + 2 * 3_679_232 + 5_132_048),
    }
    for name, config in configs.items():
        assert config.max_minutes == 7.5 and config.device == "cpu" and config.pre_norm
        cfg = model_config(config, vocab)
        parameters = Transformer(cfg).num_parameters()
        assert (cfg.d_model, cfg.n_heads, cfg.n_encoder_layers, cfg.n_decoder_layers, parameters) == expected[name]
        weights = 2 * parameters  # float16, as shipped
        assert weights < 50e6
        parts = math.ceil((weights + MIB) / (15 * MIB))  # split -b 15M; a MiB for the tokenizer, card and log
        assert parts + len(["wide.log", "d512.log", "picked.txt", "gpu.txt"]) <= MAX_FILES


def test_the_device_call_trains_both_runs_and_hands_back_the_better_in_parts(tmp_path):
    tiny = "--d-model 32 --n-heads 2 --d-ff 64 --encoder-layers 1 --decoder-layers 1 --max-len 24 --max-tokens 300"
    env = script_env(tmp_path, EXTRA=f"{tiny} --threads 1")
    data, out, dest = (tmp_path / name for name in ("data", "out", "unpacked"))
    for split, n in (("train", 64), ("val", 4)):  # the layout `prepare` writes
        pairs = list(zip(read_lines(DATA / f"{split}.en.gz")[:n], read_lines(DATA / f"{split}.de.gz")[:n]))
        write_pairs(data, split, pairs, "en", "de")
    (data / "tokenizer.model").write_bytes(TOKENIZER.read_bytes())
    train = subprocess.run(
        ["bash", str(SCRIPT), "train", "de", "0.001"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert train.returncode == 0, train.stderr[-2000:]
    back = sorted(p.name for p in out.iterdir())
    assert len(back) <= MAX_FILES and all(p.stat().st_size <= MAX_FILE for p in out.iterdir())
    assert all(name.replace(".", "").replace("_", "").replace("-", "").isalnum() for name in back)
    assert {"wide.log", "d512.log", "picked.txt", "final.tar.part00"} <= set(back)
    assert (out / "picked.txt").read_text().strip() in ("wide", "d512")
    unpack = subprocess.run(
        ["bash", str(SCRIPT), "unpack", "de", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert unpack.returncode == 0, unpack.stderr[-2000:]
    ckpt = load_checkpoint(dest / "final")
    cfg = ckpt.model.cfg
    assert (cfg.d_model, cfg.n_encoder_layers, cfg.vocab_size) == (32, 1, ckpt.tokenizer.vocab_size)  # EXTRA won
    weights = load_file(str(dest / "final" / "model.safetensors"))
    assert {tensor.dtype for tensor in weights.values()} == {torch.float16}  # as shipped
    card = json.loads((dest / "final" / "card.json").read_text())
    assert card["training"]["steps"] >= 1 and (dest / "log.csv").is_file()

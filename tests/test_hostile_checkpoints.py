"""Hostile checkpoint folders: one clear error in the UI and the CLI, nothing executed, other models still served."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from model.core import checkpoint
from model.core.checkpoint import CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE, CheckpointError, load_checkpoint
from model.translate import main as translate_main
from tests.conftest import ROOT, figures
from tests.test_checkpoint import CodeRunningPayload


def make_bad(root, good, marker):
    """Next to a good checkpoint, one folder per way of being broken."""

    def copy(name):
        path = root / name
        shutil.copytree(good, path)
        return path

    copy("pickle-payload").joinpath(WEIGHTS_FILE).write_bytes(pickle.dumps(CodeRunningPayload(marker)))
    truncated = copy("truncated-weights") / WEIGHTS_FILE
    truncated.write_bytes(truncated.read_bytes()[:1000])
    cfg = copy("mismatched-config") / CONFIG_FILE
    data = json.loads(cfg.read_text())
    data["model"]["d_model"] = 64
    cfg.write_text(json.dumps(data))
    absurd = copy("absurd-config") / CONFIG_FILE  # would allocate gigabytes if it were built
    data = json.loads(absurd.read_text())
    data["model"]["d_model"] = 1e9
    absurd.write_text(json.dumps(data))
    (copy("missing-tokenizer") / TOKENIZER_FILE).unlink()
    (copy("foreign-tokenizer") / TOKENIZER_FILE).write_bytes(b"\x00\x01 not sentencepiece")
    empty = root / "empty-folder"
    empty.mkdir()
    (empty / CONFIG_FILE).write_text("")  # listed as a checkpoint, but nothing usable
    return [
        "absurd-config",
        "empty-folder",
        "foreign-tokenizer",
        "mismatched-config",
        "missing-tokenizer",
        "pickle-payload",
        "truncated-weights",
    ]


@pytest.fixture()
def zoo(tmp_path, checkpoint_dir, monkeypatch):
    root = tmp_path / "zoo"
    root.mkdir()
    shutil.copytree(checkpoint_dir, root / "a-good-model")
    marker = tmp_path / "payload-ran"
    bad = make_bad(root, checkpoint_dir, marker)
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(root))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield root, bad, marker
    st.cache_data.clear()
    st.cache_resource.clear()


def test_ui_shows_one_error_per_bad_checkpoint_and_keeps_serving(zoo):
    root, bad, marker = zoo
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    at.run()
    assert at.selectbox(key="ckpt").value == "a-good-model" and figures(at)
    for name in bad:
        at.selectbox(key="ckpt").set_value(name).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert len(at.error) == 1 and at.error[0].value.startswith("This checkpoint cannot be used"), name
        assert not figures(at)
    at.selectbox(key="ckpt").set_value("a-good-model").run()
    assert not at.error and figures(at)
    assert not marker.exists()


def test_cli_gives_one_line_of_error_for_each(zoo):
    root, bad, marker = zoo
    for name in bad:
        result = subprocess.run(
            [sys.executable, "-m", "model.translate", "--checkpoint", str(root / name), "A dog."],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, name
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, (
            name,
            result.stderr,
        )
    assert not marker.exists()


ABSURD = {  # what a hostile or careless config.json can claim (issue 27): each would allocate gigabytes if built
    "d_model": 1e9,
    "n_encoder_layers": 1_000_000,
    "n_decoder_layers": 10**12,
    "d_ff": 2**40,
    "n_heads": 0,
    "vocab_size": 10**9,
    "max_len": 10**8,
    "n_layers": 1_000_000,  # the legacy single depth
}


@pytest.fixture()
def no_model_may_be_built(monkeypatch):
    built = []
    monkeypatch.setattr(checkpoint, "Transformer", lambda cfg: built.append(cfg) or pytest.fail("a model was built"))
    return built


@pytest.mark.parametrize("key, value", list(ABSURD.items()))
def test_absurd_configs_are_refused_fast_before_anything_is_built(
    tmp_path, checkpoint_dir, no_model_may_be_built, capsys, key, value
):
    folder = tmp_path / "absurd"
    shutil.copytree(checkpoint_dir, folder)
    data = json.loads((folder / CONFIG_FILE).read_text())
    if key == "n_layers":
        data["model"].pop("n_encoder_layers"), data["model"].pop("n_decoder_layers")
    data["model"][key] = value
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=f"gives {key} = .*Headlight accepts a whole number"):
        load_checkpoint(folder)
    assert time.perf_counter() - start < 1.0
    assert translate_main(["--checkpoint", str(folder), "A dog."]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and str(value) in err
    assert not no_model_may_be_built


@pytest.mark.parametrize(
    "key, value", [("d_model", 64), ("d_ff", 4096), ("n_encoder_layers", 40), ("vocab_size", 5000)]
)
def test_a_config_within_bounds_but_not_the_weights_is_refused_from_the_header(
    tmp_path, checkpoint_dir, no_model_may_be_built, key, value
):
    folder = tmp_path / "mismatch"
    shutil.copytree(checkpoint_dir, folder)
    data = json.loads((folder / CONFIG_FILE).read_text())
    data["model"][key] = value
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="model.safetensors does not match config.json: "):
        load_checkpoint(folder)
    assert time.perf_counter() - start < 1.0 and not no_model_may_be_built


def test_a_forged_header_claiming_huge_tensors_is_refused(tmp_path, checkpoint_dir, no_model_may_be_built):
    folder = tmp_path / "forged"
    shutil.copytree(checkpoint_dir, folder)
    data = json.loads((folder / CONFIG_FILE).read_text())
    data["model"] |= {"d_model": 4096, "d_ff": 65536, "n_heads": 8, "n_encoder_layers": 64, "n_decoder_layers": 64}
    (folder / CONFIG_FILE).write_text(json.dumps(data))
    header = {  # the shapes the config implies, in a file that does not hold their bytes
        "encoder.embed.token_embedding.weight": {
            "dtype": "F32",
            "shape": [300, 4096],
            "data_offsets": [0, 300 * 4096 * 4],
        }
    }
    raw = json.dumps(header).encode()
    (folder / WEIGHTS_FILE).write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(16))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match="not a valid safetensors file .*outside the file"):
        load_checkpoint(folder)
    assert time.perf_counter() - start < 1.0 and not no_model_may_be_built

"""Hugging Face folders whose config.json lies: refused in one sentence, in well under a second, before
any model is built, through `import_hf` and the `python -m model.import_marian` command."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

pytest.importorskip("transformers")  # the folders are written by transformers' own save_pretrained

from model.import_marian import main as import_main  # noqa: E402
from model.importing import hf  # noqa: E402
from model.importing.hf import HFImportError, import_hf  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.test_marian import make_hf_folder, opus_tokenizer_files  # noqa: E402, F401 - a fixture

ABSURD = {  # what each would allocate if it were built: gigabytes to terabytes
    "d_model": 1e9,
    "encoder_layers": 1_000_000,
    "decoder_layers": 10**12,
    "encoder_ffn_dim": 2**40,
    "vocab_size": 10**9,
    "max_position_embeddings": 10**8,
    "encoder_attention_heads": 0,
}


@pytest.fixture(scope="module")
def hf_folder(opus_tokenizer_files, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """A real (tiny, random) Marian folder: 2 + 1 layers, d_model 32, d_ff 64."""
    destination = tmp_path_factory.mktemp("hostile") / "opus-mt-en-de"
    return make_hf_folder(opus_tokenizer_files, destination, 0, encoder_layers=2, decoder_layers=1)[1]


@pytest.fixture()
def copy_of(hf_folder, tmp_path, monkeypatch):
    """A copy to spoil; building a model from it fails the test."""
    monkeypatch.setattr(hf, "Transformer", lambda cfg: pytest.fail("a model was built"))

    def copy(**config_changes):
        folder = tmp_path / "opus-mt-en-de"
        if not folder.exists():
            folder.mkdir()
            for file in hf_folder.iterdir():
                (folder / file.name).write_bytes(file.read_bytes())
        config = json.loads((hf_folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps(config | config_changes))
        return folder

    return copy


def refused_fast(folder, match: str) -> None:
    start = time.perf_counter()
    with pytest.raises(HFImportError, match=match):
        import_hf(folder)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("key, value", list(ABSURD.items()))
def test_absurd_sizes_are_refused_before_anything_is_built(copy_of, tmp_path, capsys, key, value):
    folder = copy_of(**{key: value})
    refused_fast(folder, f"gives {key} = .*Headlight accepts a whole number")
    assert import_main([str(folder), "--dest", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and key in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("weights", ["safetensors", "bin"])
@pytest.mark.parametrize(
    "changes, detail",
    [
        ({"d_model": 64}, "has shape .* in the weights, .* in the config"),
        ({"encoder_ffn_dim": 128, "decoder_ffn_dim": 128}, "fc1.weight|w_1.weight"),
        ({"encoder_layers": 3}, "the weights have no model.encoder.layers.2"),
    ],
)
def test_sizes_within_bounds_but_not_the_weights_are_refused_from_the_header(copy_of, changes, detail, weights):
    folder = copy_of(**changes)
    if weights == "bin":  # no header: the tensors are read (weights_only), then compared before the model is built
        torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
        (folder / "model.safetensors").unlink()
    refused_fast(folder, detail)


def test_a_header_claiming_more_than_the_file_holds_is_refused(copy_of):
    folder = copy_of(d_model=4096, encoder_ffn_dim=65536, decoder_ffn_dim=65536, encoder_layers=64)
    embedding = {"dtype": "F32", "shape": [200, 4096], "data_offsets": [0, 200 * 4096 * 4]}
    raw = json.dumps({"model.shared.weight": embedding}).encode()
    (folder / "model.safetensors").write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(64))
    refused_fast(folder, "not a valid safetensors file .*outside the file")


def test_the_command_gives_one_line(hf_folder, tmp_path):
    """One real process, as a user runs it."""
    folder = tmp_path / "opus-mt-en-de"
    folder.mkdir()
    for file in hf_folder.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(config | {"d_model": 1e9}))
    result = subprocess.run(
        [sys.executable, "-m", "model.import_marian", str(folder), "--dest", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1 and "d_model = 1000000000.0" in result.stderr


@pytest.mark.parametrize(
    "key, value",
    [
        ("scale_embedding", "false"),  # bool("false") would read it as true
        ("tie_word_embeddings", "no"),
        ("share_encoder_decoder_embeddings", 1),
        ("normalize_before", "false"),  # not a pre-norm variant: must not be refused as one
        ("pad_token_id", None),
    ],
)
def test_flags_and_ids_of_the_wrong_type_are_refused_not_misread(copy_of, key, value):
    refused_fast(copy_of(**{key: value}), rf"gives {key} = {value!r}".replace("'", "."))


def test_marians_null_bos_token_id_imports(hf_folder):
    """transformers writes a Marian config's bos_token_id as null: Marian has no <s> (its decoder starts from <pad>),
    so the id is not read, and not refused."""
    config = json.loads((hf_folder / "config.json").read_text())
    assert "bos_token_id" in config and config["bos_token_id"] is None
    cfg = import_hf(hf_folder).model.cfg
    assert cfg.bos_id == cfg.pad_id == config["pad_token_id"]

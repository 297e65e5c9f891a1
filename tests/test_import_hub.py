"""`python -m model.import_hf ORG/NAME`: a Hugging Face model id imported through huggingface_hub's cache, offline.

A temporary HF_HOME holds a tiny random Marian model in the hub's own cache layout, with the listing of a whole
repository (files the importer does not need included) that an online `snapshot_download` records; the import by id
runs with HF_HUB_OFFLINE=1 and must equal the import of the same folder bit for bit. Also: `--force` replaces only a
Headlight checkpoint, never the source, and a failed import leaves the old checkpoint whole.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

pytest.importorskip("transformers")
import model.import_hf as import_hf_command  # noqa: E402
from model.core.checkpoint import load_checkpoint  # noqa: E402
from model.decoding.translation import translate  # noqa: E402
from model.importing import hub  # noqa: E402
from model.importing.hf import import_hf  # noqa: E402
from model.importing.hub import HubError, resolve_source  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.test_marian import SENTENCES, make_hf_folder, opus_tokenizer_files  # noqa: E402, F401 - a fixture

HUB_ID = "Helsinki-NLP/opus-mt-en-de"
COMMIT = "3f1c9d0b2a8e4c6d5f7a9b1c3e5d7f9a1b3c5d7e"  # a snapshot is named by the commit it was taken at
# generation_config.json: fetched for every model (a language model's extra end-of-turn ids live there), unused here
NEEDED = ["config.json", "source.spm", "target.spm", "vocab.json", "model.safetensors", "generation_config.json"]
# in the real repository too, and never needed: if the import asked for them, the offline snapshot would be incomplete
NOT_NEEDED = ["README.md", "pytorch_model.bin", "tf_model.h5", "rust_model.ot"]


@pytest.fixture(scope="module")
def hf_folders(opus_tokenizer_files, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """Two tiny random Marian folders (different weights), each as `save_pretrained` writes it."""
    root = tmp_path_factory.mktemp("hub-source")
    return [
        make_hf_folder(
            opus_tokenizer_files, root / f"seed{seed}" / "opus-mt-en-de", seed, encoder_layers=2, decoder_layers=1
        )
        for seed in (0, 1)
    ]


def fill_hub_cache(hub_cache: Path, hub_id: str, folder: Path, cached: list[str], listed: list[str]) -> Path:
    """The hub's cache layout: models--ORG--NAME/ with blobs/ named by content hash, snapshots/<commit>/ whose files
    link (relatively) to the blobs, refs/main naming the commit, and trees/<commit>.json listing every file of the
    repository at that commit, fetched (`cached`) or not (`listed`)."""
    storage = hub_cache / f"models--{hub_id.replace('/', '--')}"
    snapshot = storage / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (storage / "blobs").mkdir()
    listing = {}
    for name in cached:
        data = (folder / name).read_bytes()
        blob = hashlib.sha256(data).hexdigest()
        (storage / "blobs" / blob).write_bytes(data)
        (snapshot / name).symlink_to(Path("..", "..", "blobs", blob))
        listing[name] = {"size": len(data), "blob_id": hashlib.sha1(data).hexdigest()}
    for name in listed:
        listing[name] = {"size": 1000, "blob_id": hashlib.sha1(name.encode()).hexdigest()}
    (storage / "refs").mkdir()
    (storage / "refs" / "main").write_text(COMMIT)  # no newline: the hub reads the file's whole text as the hash
    (storage / "trees").mkdir()
    (storage / "trees" / f"{COMMIT}.json").write_text(json.dumps({"format_version": 1, "files": listing}))
    return snapshot


@pytest.fixture()
def offline_home(tmp_path, monkeypatch) -> Path:
    """An empty HF_HOME with HF_HUB_OFFLINE=1, and no socket may connect anywhere."""
    from huggingface_hub import constants

    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads the environment once, when first imported (transformers may have done it already)
    monkeypatch.setattr(constants, "HF_HOME", str(home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    def refuse(self, address):
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return home


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    return err


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_import_by_id_offline_equals_importing_the_folder(hf_folders, tmp_path):
    """A real process, as a user runs it: HF_HOME and HF_HUB_OFFLINE from the environment, the default --dest."""
    _, folder = hf_folders[0]
    home = tmp_path / "hf-home"
    fill_hub_cache(home / "hub", HUB_ID, folder, NEEDED, NOT_NEEDED)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env |= {"HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "model.import_hf", HUB_ID],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "imported opus-mt-en-de" in result.stdout
    by_id = tmp_path / "checkpoints" / "opus-mt-en-de"  # the default destination, named after the repository

    assert import_hf_command.main([str(folder), "--dest", str(tmp_path / "direct")]) == 0
    direct = tmp_path / "direct"
    weights, reference = load_file(by_id / "model.safetensors"), load_file(direct / "model.safetensors")
    assert weights.keys() == reference.keys()
    assert all(torch.equal(weights[k], reference[k]) for k in reference)
    for name in ("source.spm", "target.spm", "vocab.json"):
        assert (by_id / name).read_bytes() == (direct / name).read_bytes()
    assert json.loads((by_id / "config.json").read_text()) == json.loads((direct / "config.json").read_text())
    card = json.loads((by_id / "card.json").read_text())
    assert card["source_model"] == HUB_ID and f"`{HUB_ID}`" in (by_id / "README.md").read_text()

    one, two = load_checkpoint(by_id), load_checkpoint(direct)
    first, second = (translate(c.model, c.tokenizer, SENTENCES[0], max_len=12) for c in (one, two))
    assert first.out_ids == second.out_ids and first.text == second.text and first.score == second.score
    tgt = torch.tensor([[one.model.cfg.decoder_start_id, 5, 6, 7]])
    with torch.no_grad():  # beyond the first step (this random model's greedy output ends at once)
        assert torch.equal(one.model(torch.tensor([first.src_ids]), tgt), two.model(torch.tensor([first.src_ids]), tgt))


def test_an_id_resolves_through_snapshot_download_to_the_cached_snapshot(hf_folders, offline_home, monkeypatch):
    _, folder = hf_folders[0]
    snapshot = fill_hub_cache(offline_home / "hub", HUB_ID, folder, NEEDED, NOT_NEEDED)
    assert resolve_source(HUB_ID) == snapshot
    # the same cache, asked for the whole repository: the hub itself says what is missing
    monkeypatch.setattr(hub, "IMPORT_FILES", ("*",))
    with pytest.raises(HubError, match="only partly in the Hugging Face cache"):
        resolve_source(HUB_ID)


def test_a_repository_without_config_json_is_one_sentence(hf_folders, offline_home):
    fill_hub_cache(offline_home / "hub", HUB_ID, hf_folders[0][1], ["source.spm", "target.spm"], ["README.md"])
    with pytest.raises(HubError, match=f"^{HUB_ID} on the Hugging Face hub has no config.json"):
        resolve_source(HUB_ID)


def test_pytorch_model_bin_is_fetched_only_without_safetensors(hf_folders, offline_home, tmp_path):
    hf, folder = hf_folders[1]
    torch.save(hf.state_dict(), tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_bytes((folder / "config.json").read_bytes())
    for name in ("source.spm", "target.spm", "vocab.json"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    cached = ["config.json", "source.spm", "target.spm", "vocab.json", "pytorch_model.bin"]
    snapshot = fill_hub_cache(offline_home / "hub", HUB_ID, tmp_path, cached, ["tf_model.h5"])
    assert resolve_source(HUB_ID) == snapshot
    imported = import_hf(snapshot)  # read with weights_only=True, as for a folder
    src = torch.tensor([imported.tokenizer.encode(SENTENCES[1]) + [0]])
    tgt = torch.tensor([[imported.model.cfg.decoder_start_id, 5, 6]])
    with torch.no_grad():
        assert torch.allclose(imported.model(src, tgt), hf(input_ids=src, decoder_input_ids=tgt).logits, atol=1e-4)


def test_a_folder_that_exists_wins_over_an_id_spelled_the_same(hf_folders, offline_home, tmp_path, monkeypatch):
    fill_hub_cache(offline_home / "hub", HUB_ID, hf_folders[0][1], NEEDED, NOT_NEEDED)
    monkeypatch.chdir(tmp_path)
    local = tmp_path / HUB_ID
    local.mkdir(parents=True)
    for file in hf_folders[1][1].iterdir():
        (local / file.name).write_bytes(file.read_bytes())
    assert resolve_source(HUB_ID).resolve() == local
    assert import_hf_command.main([HUB_ID, "--dest", "out"]) == 0
    assert (tmp_path / "out" / "card.json").is_file()
    cached_weights = load_file(hf_folders[0][1] / "model.safetensors")
    local_weights = load_file(local / "model.safetensors")
    name = "model.encoder.layers.0.fc1.weight"
    assert not torch.equal(cached_weights[name], local_weights[name])  # so that the comparison below can tell
    ours = load_file(tmp_path / "out" / "model.safetensors")
    assert torch.equal(ours["encoder.layers.0.ffn.w_1.weight"], local_weights[name])


@pytest.mark.parametrize(
    "source, says",
    [
        ("nobody/no-such-model", "not in the Hugging Face cache .*HF_HUB_OFFLINE is set"),
        ("opus-mt-xx-yy", "neither a folder nor a Hugging Face model id"),  # a bare NAME: a mistyped folder
        ("a/b/c", "neither a folder nor a Hugging Face model id"),
        ("bad--name/x", "neither a folder nor a Hugging Face model id"),
    ],
)
def test_a_missing_id_offline_is_one_sentence_and_writes_nothing(
    offline_home, tmp_path, monkeypatch, capsys, source, says
):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert import_hf_command.main([source, "--dest", "checkpoints/new"]) == 2
    assert re.search(says, one_error_line(capsys))
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no checkpoints/ nor a staging folder left


# --- --force ----------------------------------------------------------------------------------------------------


@pytest.fixture()
def checkpoint(hf_folders, tmp_path) -> Path:
    """A real Headlight checkpoint, imported from the first folder."""
    dest = tmp_path / "ckpts" / "opus-mt-en-de"
    assert import_hf_command.main([str(hf_folders[0][1]), "--dest", str(dest)]) == 0
    return dest


def test_an_existing_destination_needs_force(hf_folders, checkpoint, capsys):
    before = snapshot_of(checkpoint)
    assert import_hf_command.main([str(hf_folders[1][1]), "--dest", str(checkpoint)]) == 2
    assert "pass --force" in one_error_line(capsys) and snapshot_of(checkpoint) == before


def test_force_replaces_a_checkpoint_and_leaves_nothing_beside_it(hf_folders, checkpoint, tmp_path):
    assert import_hf_command.main([str(hf_folders[1][1]), "--dest", str(checkpoint), "--force"]) == 0
    assert import_hf_command.main([str(hf_folders[1][1]), "--dest", str(tmp_path / "reference")]) == 0
    assert snapshot_of(checkpoint) == snapshot_of(tmp_path / "reference")
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == [checkpoint.name]


def test_force_refuses_a_folder_that_is_not_a_checkpoint(hf_folders, tmp_path, capsys):
    for make in (
        lambda d: (d / "notes.txt").write_text("my thesis"),
        lambda d: (d / "config.json").write_text(json.dumps({"model_type": "marian"})),  # a HF folder
        lambda d: (d / "config.json").write_text(json.dumps(["headlight-checkpoint"])),
    ):
        dest = tmp_path / f"folder{len(list(tmp_path.iterdir()))}"
        dest.mkdir()
        make(dest)
        before = snapshot_of(dest)
        assert import_hf_command.main([str(hf_folders[1][1]), "--dest", str(dest), "--force"]) == 2
        assert "not a Headlight checkpoint" in one_error_line(capsys)
        assert snapshot_of(dest) == before


def test_force_keeps_a_checkpoint_that_holds_anything_a_save_does_not_write(hf_folders, checkpoint, capsys):
    """A user's notes, corpus runs, statistics, alignment tables, gallery and film would go with the folder."""
    (checkpoint / "Documents").mkdir()
    (checkpoint / "Documents" / "thesis.tex").write_text("two years")
    (checkpoint / "corpus").mkdir()
    for name in ("notes.txt", "head_stats.csv", "alignment_rwth.csv", "gallery.json", "film.json"):
        (checkpoint / name).write_text("mine")
    before = snapshot_of(checkpoint)
    assert import_hf_command.main([str(hf_folders[1][1]), "--dest", str(checkpoint), "--force"]) == 2
    line = one_error_line(capsys)
    assert "holds more than a checkpoint save writes (Documents, alignment_rwth.csv, corpus, film.json, " in line
    assert "gallery.json and 2 more); --force would delete it" in line
    assert snapshot_of(checkpoint) == before


def test_a_headlight_checkpoint_given_as_the_source_is_named_as_one(checkpoint, tmp_path, capsys):
    assert import_hf_command.main([str(checkpoint), "--dest", str(tmp_path / "again")]) == 2
    line = one_error_line(capsys)
    assert f"{checkpoint} is already a Headlight checkpoint, not a Hugging Face model folder" in line
    assert "None" not in line and not (tmp_path / "again").exists()


def test_force_never_replaces_the_source_or_a_folder_holding_it(hf_folders, checkpoint, capsys):
    source = hf_folders[1][1]
    before = snapshot_of(source)
    assert import_hf_command.main([str(source), "--dest", str(source), "--force"]) == 2
    assert "is the source folder" in one_error_line(capsys) and snapshot_of(source) == before

    inside = checkpoint / "downloads" / "opus-mt-en-de"  # a checkpoint that holds the folder being imported
    inside.mkdir(parents=True)
    for file in source.iterdir():
        (inside / file.name).write_bytes(file.read_bytes())
    before = snapshot_of(checkpoint)
    assert import_hf_command.main([str(inside), "--dest", str(checkpoint), "--force"]) == 2
    assert "holds the source folder" in one_error_line(capsys) and snapshot_of(checkpoint) == before


@pytest.mark.parametrize("where", ["working folder", "home folder"])
def test_force_never_replaces_the_working_or_home_folder(hf_folders, checkpoint, monkeypatch, capsys, where):
    inside = checkpoint / "sub"
    inside.mkdir()
    if where == "working folder":
        monkeypatch.chdir(inside)
    else:
        monkeypatch.setenv("HOME", str(checkpoint))
    before = snapshot_of(checkpoint)
    assert import_hf_command.main([str(hf_folders[1][1]), "--dest", str(checkpoint), "--force"]) == 2
    assert f"the {where}" in one_error_line(capsys) and snapshot_of(checkpoint) == before


def test_force_refuses_a_link(hf_folders, checkpoint, tmp_path, capsys):
    link = tmp_path / "link"
    link.symlink_to(checkpoint)
    before = snapshot_of(checkpoint)
    assert import_hf_command.main([str(hf_folders[1][1]), "--dest", str(link), "--force"]) == 2
    assert "is a link" in one_error_line(capsys) and snapshot_of(checkpoint) == before


def test_a_failed_import_leaves_the_old_checkpoint_whole(hf_folders, checkpoint, monkeypatch, capsys):
    before = snapshot_of(checkpoint)
    real_save = import_hf_command.save_checkpoint

    def save_then_fail(path, *args, **kwargs):
        real_save(path, *args, **kwargs)  # the whole new checkpoint is written, then the disk fills
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(import_hf_command, "save_checkpoint", save_then_fail)
    assert import_hf_command.main([str(hf_folders[1][1]), "--dest", str(checkpoint), "--force"]) == 2
    assert "No space left on device" in one_error_line(capsys)
    assert snapshot_of(checkpoint) == before
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == [checkpoint.name]  # the staging folder is gone

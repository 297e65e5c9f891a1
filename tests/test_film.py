"""The training film: recorded while training without changing it, each frame the attention the weights of that update
really give, resumed without a seam, and a damaged film refused in one sentence."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from model.analysis.film import FilmError, load_film
from model.core.checkpoint import load_checkpoint
from model.decoding.trace_from_hooks import forward_trace
from model.decoding.translation import reference_ids, sequence_ids
from model.train import main
from model.training.film_recorder import frame_steps
from tests.test_train import small_data, train_args  # noqa: F401 - the fixture is used by name

SOURCES = ["A man in a blue shirt is standing on a ladder.", "Two young girls play in the sand."]
REFERENCES = ["Ein Mann in einem blauen Hemd steht auf einer Leiter.", "Zwei junge Mädchen spielen im Sand."]
# A man in a blue shirt ... -> Ein Mann in einem blauen Hemd ...: word i of the source to word i of the reference
GOLD = ["1-1 2-2 3-3 4-4 5-5 6-6 7p7 8p8", "1-1 2-2 3-3 4-4 5p5 6p6 6p7"]


@pytest.fixture(scope="module")
def film_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("film")
    files = {}
    for name, lines in (("src", SOURCES), ("ref", REFERENCES), ("gold", GOLD)):
        files[name] = folder / f"film.{name}"
        files[name].write_text("\n".join(lines) + "\n")
    return files


def film_flags(files: dict[str, Path], frames: int = 12) -> list[str]:
    return [
        "--film",
        str(files["src"]),
        "--film-refs",
        str(files["ref"]),
        "--film-gold",
        str(files["gold"]),
        "--film-frames",
        str(frames),
    ]


@pytest.fixture(scope="module")
def runs(small_data, film_files, tmp_path_factory) -> dict[str, Path]:  # noqa: F811 - small_data is a fixture
    folder = tmp_path_factory.mktemp("film-runs")
    plain, filmed = folder / "plain", folder / "filmed"
    assert main(train_args(small_data, plain, "--epochs", "2")) == 0
    assert main(train_args(small_data, filmed, "--epochs", "2", *film_flags(film_files))) == 0
    return {"plain": plain, "filmed": filmed}


def test_frames_are_log_spaced_from_zero_to_the_last_update():
    # geomspace(1, 1000, 3) = 1, 31.6, 1000
    assert frame_steps(1000, 4) == [0, 1, 32, 1000]
    assert frame_steps(0) == [0]
    steps = frame_steps(5000, 60)
    assert steps[0] == 0 and steps[-1] == 5000 and 50 <= len(steps) <= 60
    gaps = np.diff(steps[1:])
    assert gaps[-1] > 20 * gaps[0]  # dense early, sparse late


def test_a_filmed_run_ends_in_the_same_weights_as_one_without(runs):
    for name in ("final/model.safetensors", "epochs/epoch002.safetensors"):
        assert (runs["plain"] / name).read_bytes() == (runs["filmed"] / name).read_bytes(), name
    assert (runs["plain"] / "log.csv").read_text().splitlines()[1:] != []


def test_the_film_travels_with_the_final_checkpoint_and_loads(runs):
    film = load_film(runs["filmed"] / "final")
    total = film.total_steps
    steps = film.steps()
    assert steps[0] == 0 and steps[-1] == total and steps == sorted(set(steps))
    assert set(frame_steps(total, 12)) <= set(steps)  # the planned frames, plus each epoch's end
    log = (runs["filmed"] / "log.csv").read_text().splitlines()[1:]
    epoch_ends = {int(line.split(",")[1]) for line in log}
    assert epoch_ends <= set(steps)
    for frame in film.frames:
        assert (frame.bleu is not None) == (frame.step in epoch_ends)
        assert frame.val_loss is not None and len(frame.translations) == 2
        assert (frame.train_loss is None) == (frame.step == 0)
        cfg_heads = 4 * (2 + 2 + 2)  # 4 heads in 2 encoder, 2 decoder and 2 cross layers
        assert len(frame.heads) == cfg_heads
        cross = [r for r in frame.heads if r["kind"] == "cross"]
        assert all(0 <= r["aer"] <= 1 for r in cross) and all(r["aer"] is None for r in frame.heads if r not in cross)
    for weights in film.attention.values():
        assert weights.shape[0] == len(steps)
        np.testing.assert_allclose(weights.sum(-1), 1.0, atol=4e-3)  # softmax rows, stored as float16


def test_a_frame_holds_the_attention_of_the_weights_at_its_update(runs):
    """The last frame (the end of epoch 2) against a teacher-forced pass of that epoch's saved weights."""
    film = load_film(runs["filmed"] / "final")
    ckpt = load_checkpoint(runs["filmed"] / "final")
    ckpt.model.load_state_dict(load_file(str(runs["filmed"] / "epochs" / "epoch002.safetensors")), strict=False)
    model, tok = ckpt.model.eval(), ckpt.tokenizer
    for n, (source, reference) in enumerate(zip(SOURCES, REFERENCES)):
        trace, _ = forward_trace(model, tok, sequence_ids(model, tok, source), reference_ids(model, tok, reference))
        assert film.sentences[n].src_pieces == trace.src_pieces and film.sentences[n].tgt_pieces == trace.tgt_pieces
        for kind in ("encoder", "decoder", "cross"):
            np.testing.assert_allclose(film.attention[n, kind][-1], trace.attention(kind), atol=1e-3)


def test_a_run_cut_off_and_resumed_continues_the_same_film(small_data, film_files, runs, tmp_path, monkeypatch):  # noqa: F811
    """Cut off mid-run (as a session's end does) after its state was saved, then --resume: the same frames."""
    import model.training.loop as loop

    straight = load_film(runs["filmed"] / "final")
    cut_at, step = straight.total_steps * 2 // 3, loop.train_step  # inside epoch 2
    calls = []

    def cut_off(run, batch):
        calls.append(1)
        if len(calls) == cut_at:
            raise KeyboardInterrupt
        return step(run, batch)

    monkeypatch.setattr(loop, "train_step", cut_off)
    cut = tmp_path / "cut"
    flags = [*film_flags(film_files), "--save-every-minutes", "0"]
    assert main(train_args(small_data, cut, "--epochs", "2", *flags)) != 0  # "interrupted: continue with --resume"
    monkeypatch.setattr(loop, "train_step", step)
    assert load_film(cut / "film").steps()[-1] < straight.steps()[-1]
    assert main(train_args(small_data, cut, "--epochs", "2", "--resume", *flags)) == 0
    resumed = load_film(cut / "final")
    assert resumed.steps() == straight.steps()
    for key, weights in straight.attention.items():
        np.testing.assert_array_equal(resumed.attention[key], weights)
    assert [f.translations for f in resumed.frames] == [f.translations for f in straight.frames]


def test_film_input_problems_are_one_sentence(small_data, film_files, tmp_path, capsys):  # noqa: F811
    bad_gold = tmp_path / "gold"
    bad_gold.write_text("1-1 99-2\n1-1\n")
    flags = film_flags(film_files)
    flags[flags.index("--film-gold") + 1] = str(bad_gold)
    assert main(train_args(small_data, tmp_path / "run", "--epochs", "1", *flags)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {bad_gold} line 1 links a word past the end of its sentence"]
    assert not (tmp_path / "run" / "tokenizer.model").exists()  # refused before the tokenizer is trained


def test_a_device_as_a_film_file_is_refused_before_it_is_read(small_data, film_files, tmp_path, capsys):  # noqa: F811
    for flag in ("--film", "--film-refs", "--film-gold"):
        flags = film_flags(film_files)
        flags[flags.index(flag) + 1] = "/dev/zero"  # read line by line, it never ends
        assert main(train_args(small_data, tmp_path / "run", "--epochs", "1", *flags)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"error: {flag} /dev/zero is not a file of sentences (missing, a folder, a device or a pipe)"]
        assert not (tmp_path / "run" / "tokenizer.model").exists()


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda d: (d / "film.npz").write_bytes((d / "film.npz").read_bytes()[:100]), "film.npz cannot be read"),
        (lambda d: (d / "film.npz").unlink(), "film.npz cannot be read"),
        (lambda d: (d / "film.json").write_text("[1, 2]"), "is not a Headlight training film"),
        (lambda d: (d / "film.json").write_text("[" * 100_000), "film.json cannot be read"),
        (lambda d: edit_json(d, lambda f: f["frames"].reverse()), "not in increasing step order"),
        (lambda d: edit_json(d, lambda f: f["frames"][1].update(bleu="high")), "BLEU is not a finite number"),
        (lambda d: edit_json(d, lambda f: f.update(heads=5)), "not a float array of shape"),
        (lambda d: edit_json(d, lambda f: f.update(version=2)), "version 2"),
        (lambda d: edit_json(d, lambda f: f["frames"][0]["heads"][0].update(layer=7)), "layer must be"),
        (lambda d: edit_json(d, lambda f: f["frames"][0].update(translations=["x"])), "1 translations for 2"),
        (lambda d: edit_arrays(d, lambda a: a * 5), "attention weights outside 0..1"),
        (lambda d: edit_arrays(d, lambda a: -a), "attention weights outside 0..1"),
        (lambda d: edit_arrays(d, lambda a: a * 0.5), "a row of attention weights that does not sum to 1"),
        (lambda d: huge_header(d), r"s0.encoder is not a float array of shape \("),
        (lambda d: replace(d / "film.npz", os.mkfifo), "film.npz cannot be read: it is missing or not a regular file"),
        (lambda d: replace(d / "film.json", os.mkfifo), "film.json cannot be read: it is missing or not a regular"),
        (lambda d: replace(d / "film.json", lambda p: p.symlink_to("/dev/zero")), "not a regular file"),
        (lambda d: outside_link(d), "film.json is a link out of"),
    ],
)
def test_a_damaged_film_is_one_sentence(runs, tmp_path, damage, says):
    folder = tmp_path / "final"
    shutil.copytree(runs["filmed"] / "final", folder)
    damage(folder)
    with pytest.raises(FilmError, match=says) as refused:
        load_film(folder)
    assert "\n" not in str(refused.value)


def edit_arrays(folder: Path, change) -> None:
    """film.npz with s0.encoder changed (as float16, as the recorder stores it)."""
    with np.load(folder / "film.npz") as stored:
        arrays = dict(stored)
    arrays["s0.encoder"] = change(arrays["s0.encoder"].astype(np.float32)).astype(np.float16)
    np.savez(folder / "film.npz", **arrays)


def huge_header(folder: Path) -> None:
    """s0.encoder's .npy header declares 9 x 100,000 x 100,000 x ... halves (terabytes) over 100 bytes of data."""
    with np.load(folder / "film.npz") as stored:
        arrays = dict(stored)
    with zipfile.ZipFile(folder / "film.npz", "w") as archive:
        for key, value in arrays.items():
            if key == "s0.encoder":
                shape = (value.shape[0], *value.shape[1:3], 100_000, 100_000)
                header = f"{{'descr': '<f2', 'fortran_order': False, 'shape': {shape}, }}"
                header = header.ljust(117) + "\n"
                magic = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")  # version 1.0, the header's length
                archive.writestr(f"{key}.npy", magic + header.encode())
            else:
                buffer = io.BytesIO()
                np.save(buffer, value)
                archive.writestr(f"{key}.npy", buffer.getvalue())


def replace(file: Path, make) -> None:
    file.unlink()
    make(file)


def outside_link(folder: Path) -> None:
    outside = folder.parent / "elsewhere.json"
    (folder / "film.json").rename(outside)
    (folder / "film.json").symlink_to(outside)


def edit_json(folder: Path, change) -> None:
    data = json.loads((folder / "film.json").read_text())
    change(data)
    (folder / "film.json").write_text(json.dumps(data))


def test_recording_leaves_the_model_in_training_mode_and_the_random_state_alone(runs):
    """What the byte-identical weights rely on, checked directly: a frame draws no random number."""
    from model.training.film_recorder import FilmInput, FilmRecorder

    ckpt = load_checkpoint(runs["filmed"] / "final")
    model = ckpt.model.train()
    recorder = FilmRecorder(model, ckpt.tokenizer, FilmInput(SOURCES, REFERENCES), total_steps=10, frames=3)
    before = torch.get_rng_state()
    recorder.record(0, 0.0)
    assert torch.equal(torch.get_rng_state(), before) and model.training

"""The live lab: toy data whose answers and alignments are checked by hand, a short lab run that leaves a film on disk
after every frame and a checkpoint every command loads, and a SIGTERM that stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import model.training.live_lab as live_lab
from model.analysis.film import FilmError, load_film, save_film
from model.core.checkpoint import load_checkpoint
from model.decoding.translation import translate
from model.lab import main as lab_main
from model.training.film_recorder import FilmRecorder, frame_steps, read_film_input
from model.training.lab_status import FILM_FOLDER, LAB_FILE
from model.training.loop import FILM_DIR
from model.training.toy_tasks import (
    Splits,
    alignment_hit_rate,
    best_head_hit_rate,
    generate,
    gold_links,
    solve,
    talp_line,
    write_data,
)
from model.translate import main as translate_main

ROOT = Path(__file__).resolve().parent.parent


def test_the_tasks_answers_and_alignments_by_hand():
    assert solve("copy", [3, 1, 4, 1, 5]) == [3, 1, 4, 1, 5]
    assert solve("reverse", [3, 1, 4, 1, 5]) == [5, 1, 4, 1, 3]
    assert solve("sort", [3, 1, 4, 1, 5]) == [1, 1, 3, 4, 5]
    assert talp_line(gold_links("reverse", [3, 1, 4])) == "1-3 2-2 3-1"  # source word i <-> target word n+1-i
    assert talp_line(gold_links("copy", [7, 7])) == "1-1 2-2"
    # sort 3 1 1 -> 1 1 3: output 1 comes from source word 2 (sure, stable) or 3 (the same digit: possible)
    assert talp_line(gold_links("sort", [3, 1, 1])) == "1-3 2-1 2p2 3p1 3-2"
    with pytest.raises(ValueError, match="unknown task"):
        solve("shuffle", [1, 2])


def test_the_files_hold_the_task_and_its_gold_links(tmp_path):
    splits = Splits("reverse", train=[[3, 1, 4, 1, 5]], valid=[[2, 7]], test=[[9, 8, 7]], film=[[9, 8, 7]])
    paths = write_data(splits, tmp_path)
    assert paths["train.src"].read_text() == "3 1 4 1 5\n"
    assert paths["train.tgt"].read_text() == "5 1 4 1 3\n"
    assert paths["test.tgt"].read_text() == "7 8 9\n"
    assert paths["film.gold"].read_text() == "1-3 2-2 3-1\n"


def test_the_splits_are_disjoint_seeded_and_in_range():
    for task in ("reverse", "sort"):
        splits = generate(task, seed=3, train=3000, valid=100, test=100, film=4)
        sets = {name: {tuple(s) for s in getattr(splits, name)} for name in ("train", "valid", "test")}
        # no sequence twice in a split; the film's 4 are held out with the test sequences
        assert [len(sets[n]) for n in ("train", "valid", "test")] == [3000, 100, 104]
        assert [len(splits.train), len(splits.valid), len(splits.test)] == [3000, 100, 104]
        assert not sets["test"] & sets["train"] and not sets["test"] & sets["valid"]
        assert not sets["valid"] & sets["train"]
        assert {len(s) for s in splits.train} == set(range(3, 11))
        assert all(0 <= d <= 9 for s in splits.train for d in s)
        assert [len(f) for f in splits.film] == [3, 5, 8, 10] and all(tuple(f) in sets["test"] for f in splits.film)
        assert generate(task, seed=3, train=3000, valid=100, test=100).train == splits.train
        assert generate(task, seed=4, train=3000, valid=100, test=100).train != splits.train
    # copy and reverse film different digits (one clear source word per output word); sort's may repeat
    assert all(len(set(f)) == len(f) for f in generate("reverse", seed=3, train=100).film)


def test_a_heads_hit_rate_counts_the_rows_whose_strongest_key_is_gold():
    # reverse of 3 words: rows 0, 1, 2 produce target words 0, 1, 2, from source words 2, 1, 0; row 3 produces </s>
    gold = gold_links("reverse", [4, 5, 6])
    cross = np.full((1, 2, 4, 4), 0.1)
    for row, key in ((0, 2), (1, 1), (2, 0), (3, 3)):
        cross[0, 0, row, key] = 0.7  # head 0: the anti-diagonal
    for row, key in ((0, 0), (1, 1), (2, 2), (3, 3)):
        cross[0, 1, row, key] = 0.7  # head 1: the diagonal, right only in the middle
    np.testing.assert_allclose(alignment_hit_rate(cross, gold), [[1.0, 1 / 3]])
    longer = np.full((1, 2, 5, 5), 0.1)  # a 4-word sentence: head 0 on the diagonal (wrong), head 1 right
    longer[0, 0, range(4), range(4)] = 0.8
    longer[0, 1, range(4), [3, 2, 1, 0]] = 0.8
    golds = [gold, gold_links("reverse", [1, 2, 3, 4])]
    # pooled over the 7 target words: head 0 (3 + 0) / 7, head 1 (1 + 4) / 7 (a mean of the sentences' shares: 2/3)
    assert best_head_hit_rate([cross, longer], golds) == (pytest.approx(5 / 7), 0, 1)
    longer[0, 0, range(4), [3, 2, 1, 0]] = 0.9
    assert best_head_hit_rate([cross, longer], golds) == (pytest.approx(1.0), 0, 0)


@pytest.fixture(scope="module")
def short_lab(tmp_path_factory):
    """A 24-update copy lab, in this process, checking at every update that the film on disk is the one in memory."""
    out = tmp_path_factory.mktemp("lab") / "copy"
    seen = {"states": [], "frames_on_disk": []}
    call = live_lab.Watcher.__call__

    def watch(self, run):
        call(self, run)
        seen["states"].append(json.loads((out / LAB_FILE).read_text())["state"])
        on_disk = load_film(out / "film")
        seen["frames_on_disk"].append((len(on_disk.frames), len(run.film.film.frames)))

    patch = pytest.MonkeyPatch()
    patch.setattr(live_lab.Watcher, "__call__", watch)
    try:
        code = lab_main(["--task", "copy", "--out", str(out), "--steps", "24", "--max-minutes", "2"])
    finally:
        patch.undo()
    return out, code, seen


def test_a_short_lab_keeps_its_film_on_disk_after_every_frame(short_lab):
    out, code, seen = short_lab
    assert code == 0
    assert len(seen["states"]) == 24 and set(seen["states"]) == {"training"}
    assert all(disk == memory for disk, memory in seen["frames_on_disk"])
    status = json.loads((out / LAB_FILE).read_text())
    assert status["state"] == "done" and status["task"] == "copy"
    assert status["step"] == status["total_steps"] == 24
    assert Path(status["checkpoint"]) == (out / "final").resolve()
    assert status["film"] == FILM_FOLDER == FILM_DIR and load_film(out / status["film"]).steps() == frame_steps(
        24, live_lab.LAB_FILM_FRAMES
    )
    assert 0 <= status["held_out_exact"] <= 1 and status["reached"]["first_frame"]["step"] == 0
    film = load_film(out / "final")
    assert film.steps() == frame_steps(24, live_lab.LAB_FILM_FRAMES)
    assert [s.source for s in film.sentences] == (out / "data" / "film.src").read_text().splitlines()
    assert all(s.gold and all(kind == "S" for _, _, kind in s.gold) for s in film.sentences)  # copy: one link each
    last = film.frames[-1]
    assert last.bleu is not None
    assert all(0 <= row["aer"] <= 1 for row in last.heads if row["kind"] == "cross")


def test_the_labs_checkpoint_loads_and_translates(short_lab, capsys):
    out, _, _ = short_lab
    ckpt = load_checkpoint(out / "final")
    assert ckpt.model.cfg.d_model == live_lab.LAB_MODEL["d_model"] and ckpt.tokenizer.vocab_size == 25
    capsys.readouterr()
    assert translate_main(["--checkpoint", str(out / "final"), "3 1 4"]) == 0
    output = capsys.readouterr().out.strip()
    assert set(output) <= set("0123456789 ")  # digits, right or not after 24 updates
    assert output == translate(ckpt.model, ckpt.tokenizer, "3 1 4").text


def test_a_lab_refuses_a_folder_it_did_not_make(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert lab_main(["--task", "copy", "--out", str(tmp_path), "--steps", "2"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: --out {tmp_path} holds files that are not a lab's; give a new or empty folder"
    )
    assert (tmp_path / "notes.txt").read_text() == "mine" and len(list(tmp_path.iterdir())) == 1


def test_an_earlier_lab_is_replaced_only_with_force(tmp_path, capsys):
    out = tmp_path / "lab"
    out.mkdir()
    (out / LAB_FILE).write_text("{}")
    assert lab_main(["--task", "copy", "--out", str(out), "--steps", "2"]) == 2
    assert "give --force to replace it" in capsys.readouterr().err
    assert lab_main(["--task", "copy", "--out", str(out), "--force", "--max-minutes", "0"]) == 2
    assert "--max-minutes must be above 0" in capsys.readouterr().err
    assert (out / LAB_FILE).read_text() == "{}"  # refused before anything was removed


def test_a_film_read_while_it_is_saved_gives_the_frames_its_json_lists(short_lab, tmp_path):
    """film.npz is replaced before film.json: a reader between the two finds more frames in the arrays than listed."""
    film = load_film(short_lab[0] / "final")
    whole = {key: weights.copy() for key, weights in film.attention.items()}
    film.frames.pop()  # film.json one frame behind film.npz
    save_film(film, tmp_path)
    read = load_film(tmp_path)
    assert read.steps() == film.steps()
    for key, weights in read.attention.items():
        np.testing.assert_array_equal(weights, whole[key][:-1].astype(np.float16))
    film.attention = {key: weights[:-2] for key, weights in whole.items()}  # the arrays behind the list: refused
    save_film(film, tmp_path)
    with pytest.raises(FilmError, match="is not a float array of shape"):
        load_film(tmp_path)


def test_sigterm_stops_a_lab_and_keeps_its_film(tmp_path):
    out = tmp_path / "lab"
    process = subprocess.Popen(
        [sys.executable, "-m", "model.lab", "--task", "reverse", "--out", str(out), "--steps", "2000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 90
    status = {}
    while time.monotonic() < deadline and status.get("step", 0) < 5:
        time.sleep(0.2)
        if (out / LAB_FILE).is_file():  # replaced whole, never read half written
            status = json.loads((out / LAB_FILE).read_text())
        assert process.poll() is None, process.communicate()
    assert status["state"] == "training" and status["pid"] == process.pid
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    status = json.loads((out / LAB_FILE).read_text())
    assert status["state"] == "stopped" and status["checkpoint"] is None
    film = load_film(out / "film")
    assert film.steps()[0] == 0 and 5 <= film.steps()[-1] < 2000
    assert not (out / "final").exists()


def test_a_resumed_run_records_again_the_frames_past_its_saved_state(short_lab):
    """A film saved after every frame runs ahead of the run's saved state; resuming drops those frames, so that the
    epoch's end recorded again lands in step order."""
    out = short_lab[0]
    ckpt = load_checkpoint(out / "final")
    data = out / "data"
    given = read_film_input(str(data / "film.src"), str(data / "film.tgt"), str(data / "film.gold"))
    recorder = FilmRecorder(ckpt.model, ckpt.tokenizer, given, total_steps=4, frames=5)
    for step in (0, 1, 2, 3):
        recorder.record(step, step / 4)
    recorder.drop_after(1)
    assert recorder.film.steps() == [0, 1]
    assert all(weights.shape[0] == 2 for weights in recorder.film.attention.values())
    assert recorder.due(2) and not recorder.due(1)
    recorder.record(2, 0.5, bleu=1.0)
    assert recorder.film.steps() == [0, 1, 2] and recorder.film.frames[-1].bleu == 1.0
    assert all(weights.shape[0] == 3 for weights in recorder.film.attention.values())


def test_a_film_saved_after_frames_were_dropped_never_shows_a_reader_other_frames(short_lab, tmp_path, monkeypatch):
    """Every state on disk between two writes of a resumed film reads as one film: film.json's frames, each with the
    attention of that film, never fewer arrays than frames nor a dropped frame's arrays."""
    import model.analysis.film as film_files

    out = short_lab[0]
    ckpt = load_checkpoint(out / "final")
    data = out / "data"
    given = read_film_input(str(data / "film.src"), str(data / "film.tgt"), str(data / "film.gold"))
    recorder = FilmRecorder(ckpt.model, ckpt.tokenizer, given, total_steps=4, frames=5)
    folder = tmp_path / "film"
    for step in (0, 1, 2, 3):
        recorder.record(step, step / 4)
    recorder.save(folder)
    films = {tuple(recorder.film.steps()): {key: w.copy() for key, w in recorder.film.attention.items()}}
    recorder.drop_after(1)
    recorder.record(2, 0.5)
    for weights in recorder.film.attention.values():  # the new frame 2 differs from the dropped one
        weights[-1] = np.flip(weights[-1], axis=-1)
    films[0, 1, 2] = recorder.film.attention
    films[0, 1] = {key: w[:2] for key, w in recorder.film.attention.items()}
    seen = []
    write = film_files.write_atomically

    def write_and_read(path, *args, **kwargs):
        write(path, *args, **kwargs)
        if (folder / "film.json").is_file():
            read = load_film(folder)
            seen.append(tuple(read.steps()))
            for key, weights in read.attention.items():
                np.testing.assert_array_equal(weights, films[seen[-1]][key].astype(np.float16))

    monkeypatch.setattr(film_files, "write_atomically", write_and_read)
    recorder.save(folder)
    assert seen == [(0, 1), (0, 1), (0, 1), (0, 1, 2)]
    umask = os.umask(0o022)
    os.umask(umask)
    for name in ("film.json", "film.npz"):  # as open() makes a file: a shipped film is not its owner's alone
        assert (folder / name).stat().st_mode & 0o777 == 0o666 & ~umask

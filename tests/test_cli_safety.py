"""The command line destroys nothing and says one sentence: every case of the hostile probe's table for the commands,
run in process through `main(argv)`. Each refusal is one line on stderr and exit status 2, comes before any work
(the translation functions are replaced by ones that fail the test), and leaves every input byte for byte as it was."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from model import analyze, corpus, diagnostics, evaluate, translate
from model.cli_support.numbers import beam_size, length_penalty
from model.core.defaults import DEFAULT_CHECKPOINT, SHIPPED_CHECKPOINTS
from tests.conftest import ROOT

SOURCES = ["A dog runs.", "Two men play football.", "A woman reads a book."]
REFERENCES = ["Ein Hund rennt.", "Zwei Männer spielen Fußball.", "Eine Frau liest ein Buch."]


def write_gz(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)
    return path


@pytest.fixture()
def files(tmp_path):
    """A parallel test set, plain and gzipped, and a truncated copy of the gzipped source."""
    src = write_gz(tmp_path / "t.en.gz", SOURCES * 20)
    ref = write_gz(tmp_path / "t.de.gz", REFERENCES * 20)
    truncated = tmp_path / "cut.en.gz"
    truncated.write_bytes(src.read_bytes()[:-30])
    plain = tmp_path / "t.en.txt"
    plain.write_text("\n".join(SOURCES) + "\n", encoding="utf-8")
    return argparse.Namespace(src=src, ref=ref, truncated=truncated, plain=plain, folder=tmp_path)


@pytest.fixture()
def no_work(monkeypatch):
    """Any translation or analysis started fails the test: a refusal must come before the work."""

    def refuse(*args, **kwargs):
        raise AssertionError("the work started before the output or input was checked")

    for module, name in (
        (translate, "translate"),
        (evaluate, "translate_many"),
        (analyze, "sentence_stats"),
        (analyze, "sweep_record"),
        (corpus, "run_corpus"),
        (diagnostics, "encoder_spread"),
    ):
        monkeypatch.setattr(module, name, refuse)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(command, argv: list[str], capsys, *words: str) -> str:
    """Run `command.main(argv)`: exit status 2 and one line on stderr holding every word; returns the line."""
    try:
        code = command.main(argv)
    except SystemExit as stop:  # argparse's usage error
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder where no file can be made: permissions for a user, a read-only /sys for root (who ignores them)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    try:
        os.close(os.open("/sys/headlight-probe", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except OSError:
        return Path("/sys")
    os.unlink("/sys/headlight-probe")
    pytest.skip("no unwritable folder on this machine")


NUMBER_CASES = [
    (translate, ["--beam", "10000", "x"], "--beam: must be 1..16, not 10000"),
    (translate, ["--beam", "0", "x"], "--beam: must be 1..16, not 0"),
    (translate, ["--beam", "３", "x"], "'３' is not a whole number (ASCII digits"),
    (translate, ["--length-penalty=-1e9", "x"], "--length-penalty: must be a number from 0 to 5"),
    (translate, ["--length-penalty=1e308", "x"], "--length-penalty: must be a number from 0 to 5"),
    (
        translate,
        ["--length-penalty", "nan", "x"],
        "must be a number from 0 to 5 (ASCII digits, an optional sign, decimal point and exponent), not nan",
    ),
    (
        translate,
        ["--length-penalty", "inf", "x"],
        "must be a number from 0 to 5 (ASCII digits, an optional sign, decimal point and exponent), not inf",
    ),
    (translate, ["--max-len", "0", "x"], "--max-len: must be 1..256"),
    (translate, ["--max-len", "100000", "x"], "--max-len: must be 1..256"),
    (evaluate, ["--src", "S", "--ref", "R", "--beam", "0"], "--beam: must be 1..16, not 0"),
    (evaluate, ["--src", "S", "--ref", "R", "--beam", "10000"], "--beam: must be 1..16, not 10000"),
    (analyze, ["--input", "S", "--stats", "o.csv", "--max-sentences", "-397"], "must be at least 0, not -397"),
    (corpus, ["--input", "S", "--out", "o", "--max-sentences", "-1"], "must be at least 0, not -1"),
    (corpus, ["--input", "S", "--out", "o", "--chunk", "0"], "--chunk: must be at least 1, not 0"),
    (diagnostics, ["--input", "S", "--max-sentences", "0"], "must be at least 1, not 0"),
]


@pytest.mark.parametrize("command, argv, message", NUMBER_CASES, ids=lambda c: getattr(c, "__name__", None))
def test_numbers_out_of_the_apps_bounds_are_argparses_one_line(command, argv, message, capsys, no_work):
    refused(command, argv, capsys, message)


def test_the_beam_cap_is_the_apps_and_help_says_why(capsys, no_work):
    from model.links.parameters import read_value

    assert read_value("beam", "17") == (16, "beam=17 is more than 16; using 16.")
    refused(translate, ["--beam", "17", "x"], capsys, "--beam: must be 1..16, not 17")
    assert read_value("beam", "16") == (16, "") and beam_size("16") == 16
    with pytest.raises(SystemExit):
        translate.main(["--help"])
    assert "a picture needs no wider search" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    "text, number", [("1_6", None), ("３", None), ("3.0", 3), ("1e1", 10), (" 4 ", 4), ("2.5", None), ("nan", None)]
)
def test_a_whole_number_on_the_command_line_reads_as_in_a_link(text, number):
    """One reader for both: int() would take "1_6" as 16 and "３" as 3, and refuse "3.0" that a link reads as 3."""
    from model.links.parameters import read_value

    value, problem = read_value("beam", text)
    assert (None if problem else value) == number
    try:
        assert beam_size(text) == number
    except argparse.ArgumentTypeError as exc:
        assert number is None and "is not a whole number (ASCII digits" in str(exc)


@pytest.mark.parametrize("text, number", [("0_5", None), ("３", None), ("0.5", 0.5), ("1e0", 1.0), (".5", 0.5)])
def test_a_length_penalty_reads_by_the_same_rule(text, number):
    from model.core.number_text import decimal_number

    assert decimal_number(text) == number  # float() would take "0_5" as 5.0
    try:
        assert length_penalty(text) == number
    except argparse.ArgumentTypeError as exc:
        assert number is None and "(ASCII digits" in str(exc)


def test_output_equal_to_an_input_is_refused_and_the_input_kept(checkpoint_dir, files, capsys, no_work):
    before = snapshot(files.folder)
    ckpt = ["--checkpoint", str(checkpoint_dir)]
    refused(evaluate, [*ckpt, "--src", str(files.src), "--ref", str(files.ref), "--output", str(files.src)], capsys,
            "--output", "is also --src")  # fmt: skip
    link = files.folder / "link.gz"
    link.symlink_to(files.ref)
    refused(evaluate, [*ckpt, "--src", str(files.src), "--ref", str(files.ref), "--output", str(link)], capsys,
            "is also --ref")  # fmt: skip
    hard = files.folder / "hard.txt"
    os.link(files.plain, hard)
    refused(analyze, [*ckpt, "--input", str(files.plain), "--stats", str(hard)], capsys, "is also --input")
    refused(analyze, [*ckpt, "--input", str(files.plain), "--stats", str(files.plain)], capsys, "is also --input")
    refused(analyze, [*ckpt, "--input", str(files.plain), "--stats", "o.csv", "--sweep", "o.csv", "--ref",
                      str(files.plain)], capsys, "--sweep", "is also --stats")  # fmt: skip
    refused(analyze, [*ckpt, "--input", str(files.plain), "--stats", str(checkpoint_dir / "config.json")], capsys,
            "is also --checkpoint's config.json")  # fmt: skip
    weights = str(checkpoint_dir / "model.safetensors")
    refused(translate, [*ckpt, "x", "--export", weights, "--force"], capsys, "is also --checkpoint's model.safetensors")
    link.unlink()
    hard.unlink()
    assert snapshot(files.folder) == before


@pytest.mark.parametrize("where", ["missing folder", "folder", "device", "unwritable folder", "file as folder"])
def test_an_unusable_output_is_found_before_any_translation(where, checkpoint_dir, files, tmp_path, capsys, no_work):
    output = {
        "missing folder": tmp_path / "no" / "such" / "out.txt",
        "folder": tmp_path,
        "device": Path("/dev/full"),
        "file as folder": files.plain / "out.txt",
    }.get(where) or unwritable_folder(tmp_path) / "out.txt"
    before = snapshot(files.folder)
    ckpt = ["--checkpoint", str(checkpoint_dir)]
    words = {"missing folder": "does not exist", "folder": "is a folder", "device": "is a device"}.get(where, "cannot")
    refused(evaluate, [*ckpt, "--src", str(files.src), "--ref", str(files.ref), "--output", str(output)], capsys, words)
    refused(translate, [*ckpt, "A dog.", "--export", str(output)], capsys, words)
    refused(analyze, [*ckpt, "--input", str(files.plain), "--stats", str(output)], capsys, words)
    assert snapshot(files.folder) == before


def test_a_truncated_gz_and_an_empty_set_are_one_sentence(checkpoint_dir, files, tmp_path, capsys, no_work):
    ckpt = ["--checkpoint", str(checkpoint_dir)]
    empty, empty_ref = write_gz(tmp_path / "e.en.gz", []), write_gz(tmp_path / "e.de.gz", [])
    before = snapshot(files.folder)
    cut = str(files.truncated)
    refused(evaluate, [*ckpt, "--src", cut, "--ref", str(files.ref)], capsys, cut, "truncated")
    refused(analyze, [*ckpt, "--input", cut, "--stats", str(tmp_path / "s.csv")], capsys, cut, "truncated")
    refused(corpus, [*ckpt, "--input", cut, "--out", str(tmp_path / "run")], capsys, cut, "truncated")
    refused(diagnostics, [*ckpt, "--input", cut], capsys, cut, "truncated")
    refused(evaluate, [*ckpt, "--src", str(empty), "--ref", str(empty_ref)], capsys, "no sentences")
    assert snapshot(files.folder) == before


@pytest.mark.parametrize(
    "record",
    [
        "[]",
        "3",
        '"done"',
        "{not json",
        '{"done_chunks": "all"}',
        '{"done_chunks": ' + "[" * 50_000 + "]" * 50_000 + "}",
    ],
)
def test_a_corpus_record_that_is_no_object_is_one_sentence(record, checkpoint_dir, files, tmp_path, capsys, no_work):
    out = tmp_path / "run"
    out.mkdir()
    (out / "progress.json").write_text(record)
    before = snapshot(files.folder)
    refused(corpus, ["--checkpoint", str(checkpoint_dir), "--input", str(files.plain), "--out", str(out)], capsys,
            "progress.json")  # fmt: skip
    assert snapshot(files.folder) == before


def test_a_foreign_corpus_chunk_needs_force(checkpoint_dir, files, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    foreign = out / "chunk-00000.npz"
    foreign.write_bytes(b"someone else's chunk")
    argv = ["--checkpoint", str(checkpoint_dir), "--input", str(files.plain), "--out", str(out), "--device", "cpu"]
    refused(corpus, argv, capsys, "chunk-00000.npz", "--force")
    assert foreign.read_bytes() == b"someone else's chunk"
    assert corpus.main([*argv, "--force"]) == 0
    with np.load(foreign, allow_pickle=False) as chunk:  # now this run's
        assert list(chunk["source"]) == SOURCES
    assert corpus.main(argv) == 0  # its own chunks are no obstacle to a resume


def test_export_is_written_exactly_where_named_and_not_over_a_file_without_force(checkpoint_dir, tmp_path, capsys):
    path = tmp_path / "trace.bin"
    argv = ["--checkpoint", str(checkpoint_dir), "--max-len", "4", "A dog runs.", "--export", str(path)]
    assert translate.main(argv) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trace.bin"]  # no trace.bin.npz, no temporary file
    with np.load(path, allow_pickle=False) as npz:
        assert "cross" in npz.files
    path.write_bytes(b"precious")
    capsys.readouterr()
    refused(translate, argv, capsys, "exists", "--force")
    assert path.read_bytes() == b"precious"
    assert translate.main([*argv, "--force"]) == 0
    with np.load(path, allow_pickle=False) as npz:
        assert "cross" in npz.files


def test_an_interrupted_write_leaves_the_old_output_whole(checkpoint_dir, files, tmp_path, monkeypatch, capsys):
    import pandas as pd

    from model.decoding.trace import Trace

    stats = tmp_path / "stats.csv"
    stats.write_bytes(b"the old statistics\n")

    def half_then_interrupt(self, f, **kwargs):
        f.write("kind,layer,head\nencoder,0,")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        analyze.main(["--checkpoint", str(checkpoint_dir), "--input", str(files.plain), "--stats", str(stats)])
    assert stats.read_bytes() == b"the old statistics\n"

    export = tmp_path / "trace.npz"
    export.write_bytes(b"the old trace")

    def half_then_disk_full(self, f):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Trace, "save_npz", half_then_disk_full)
    capsys.readouterr()
    argv = ["--checkpoint", str(checkpoint_dir), "--max-len", "3", "A dog.", "--export", str(export), "--force"]
    refused(translate, argv, capsys, "cannot write", "No space left on device")
    assert export.read_bytes() == b"the old trace"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial file left


def test_one_default_model_for_the_app_and_every_command(capsys):
    from model.links.parameters import PARAM

    assert PARAM["ckpt"].default == DEFAULT_CHECKPOINT == "general-en-de"
    assert translate.parse_args(["x"]).checkpoint == SHIPPED_CHECKPOINTS / DEFAULT_CHECKPOINT
    for command in (translate, evaluate, analyze, corpus, diagnostics):
        with pytest.raises(SystemExit):
            command.main(["--help"])
        shown = " ".join(capsys.readouterr().out.split())
        assert "(default: general-en-de" in shown and str(SHIPPED_CHECKPOINTS.parent) not in shown, command.__name__


def test_a_checkpoint_is_named_or_given_as_a_folder(checkpoint_dir, tmp_path, monkeypatch, capsys):
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    (shelf / "tiny").symlink_to(checkpoint_dir, target_is_directory=True)
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(shelf))
    assert translate.main(["--checkpoint", "tiny", "--max-len", "3", "A dog."]) == 0
    by_name = capsys.readouterr().out
    assert translate.main(["--checkpoint", str(checkpoint_dir), "--max-len", "3", "A dog."]) == 0
    assert capsys.readouterr().out == by_name
    refused(translate, ["--checkpoint", "no-such-model", "A dog."], capsys, "no-such-model", "is not a folder")


def test_the_help_of_every_command_shows_no_path_of_this_machine(capsys):
    from model import align_eval, card, prepare_general

    for command in (translate, evaluate, analyze, corpus, diagnostics, align_eval, card, prepare_general):
        with pytest.raises(SystemExit):
            command.main(["--help"])
        out = capsys.readouterr().out
        assert str(SHIPPED_CHECKPOINTS.parent) not in out, command.__name__


def test_a_checkpoint_loaded_with_a_note_says_it_on_stderr(checkpoint_dir, tmp_path, capsys):
    """A checkpoint written before tokenizer hashes were recorded loads; every command says so in one `note:` line."""
    import json
    import shutil

    older = tmp_path / "older"
    shutil.copytree(checkpoint_dir, older)
    config = json.loads((older / "config.json").read_text())
    del config["tokenizer_sha256"]
    (older / "config.json").write_text(json.dumps(config))
    assert translate.main(["--checkpoint", str(older), "A dog runs."]) == 0
    out, err = capsys.readouterr()
    notes = [line for line in err.splitlines() if line.startswith("note: ")]
    assert out.strip() and len(notes) == 1 and "tokenizer" in notes[0]


def test_writing_a_deck_never_replaces_the_checkpoints_files_and_checks_out_before_the_work(
    tmp_path, capsys, monkeypatch
):
    from model import deck

    folder = tmp_path / "multi30k-en-fr"
    shutil.copytree(ROOT / "checkpoints" / "multi30k-en-fr", folder)
    before = snapshot(folder)

    built = []  # the sentences a deck was built for: none while --out is refused

    def build(checkpoint, sentence):
        built.append(sentence)
        return {"title": "t", "checkpoint": folder.name, "slides": [{"title": "s", "params": {"text": sentence}}]}

    monkeypatch.setattr(deck, "build_aiayn_deck", build)
    ckpt = ["--checkpoint", str(folder)]
    for name in ("head_stats.csv", "head_importance.json", "config.json", "model.safetensors", "tokenizer.model"):
        refused(deck, [*ckpt, "--out", str(folder / name)], capsys, f"is also --checkpoint's {name}")
    for out, words in (
        (tmp_path, "is a folder"),
        (tmp_path / "no" / "d.json", "does not exist"),
        ("/dev/full", "device"),
    ):
        refused(deck, [*ckpt, "--out", str(out)], capsys, words)
    assert snapshot(folder) == before and built == []
    out = tmp_path / "deck.json"
    assert deck.main([*ckpt, "--out", str(out), "--sentence", "x" * 2500]) == 0
    assert json.loads(out.read_text())["slides"][0]["params"]["text"] == "x" * 2000  # the app's cap
    assert "cut to the app's 2000 characters" in capsys.readouterr().err


def test_a_device_as_a_sentence_file_is_refused_before_it_is_read(checkpoint_dir, tmp_path, capsys, no_work):
    ckpt = ["--checkpoint", str(checkpoint_dir)]
    words = ("/dev/zero is a device, not a file",)
    refused(analyze, [*ckpt, "--input", "/dev/zero", "--stats", str(tmp_path / "s.csv")], capsys, *words)
    refused(evaluate, [*ckpt, "--src", "/dev/zero", "--ref", "/dev/zero"], capsys, *words)
    refused(diagnostics, [*ckpt, "--input", "/dev/zero"], capsys, *words)

"""`python -m model.translate`: text, files line by line, NPZ export, ablation, clear errors (through `main(argv)`)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from model.translate import main
from tests.conftest import ROOT, translate_command


def test_translates_text(checkpoint_dir, capsys):
    assert main(["--checkpoint", str(checkpoint_dir), "--max-len", "8", "A dog runs."]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1


def test_tidy_translates_the_tidied_sentence_and_says_which(checkpoint_dir, model, tokenizer, capsys):
    from model.decoding.translation import translate

    assert main(["--checkpoint", str(checkpoint_dir), "--tidy", "where is the station"]) == 0
    captured = capsys.readouterr()
    assert captured.out == translate(model, tokenizer, "Where is the station?", with_trace=False).text + "\n"
    assert "tidied: Where is the station?" in captured.err


def test_input_file_gives_one_line_per_line(checkpoint_dir, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_bytes(b"A dog runs.\n\n   \nbad \xff\xfe bytes\nTwo men sit on a bench.\n")
    code = main(["--checkpoint", str(checkpoint_dir), "--max-len", "6", "--input", str(source)])
    captured = capsys.readouterr()
    lines = captured.out.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == 5
    assert lines[1] == "" and lines[2] == "" and lines[3] == ""
    assert lines[0] and lines[4]
    assert "line 4: not valid UTF-8" in captured.err
    assert code == 1


def test_export_writes_the_documented_npz(checkpoint_dir, tmp_path, capsys):
    path = tmp_path / "trace.npz"
    assert (
        main(
            [
                "--checkpoint",
                str(checkpoint_dir),
                "--max-len",
                "7",
                "--beam",
                "2",
                "--export",
                str(path),
                "Two dogs play.",
            ]
        )
        == 0
    )
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(
            ["encoder", "decoder", "cross", "src_tokens", "tgt_tokens", "positional_encoding"]
        )
        S, T = len(npz["src_tokens"]), len(npz["tgt_tokens"])
        assert npz["encoder"].shape == (2, 4, S, S)
        assert npz["decoder"].shape == (2, 4, T, T) and npz["cross"].shape == (2, 4, T, S)
        assert npz["tgt_tokens"][0] == "<s>" and npz["src_tokens"][-1] == "</s>"
        assert npz["positional_encoding"].shape[0] >= max(S, T) and npz["positional_encoding"].shape[1] == 32
        np.testing.assert_allclose(npz["cross"].sum(-1), 1.0, atol=1e-5)


def test_ablation_flag(checkpoint_dir, capsys):
    assert (
        main(["--checkpoint", str(checkpoint_dir), "--max-len", "5", "--ablate", "cross:*:*,encoder:1:3", "A dog."])
        == 0
    )
    assert main(["--checkpoint", str(checkpoint_dir), "--ablate", "cross:9:0", "A dog."]) == 2
    assert "0..1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--checkpoint", "/nonexistent", "A dog."], "is not a folder"),
        (["--input", "/nonexistent.txt"], "cannot read"),
        (["   "], "empty"),
    ],
)
def test_errors_are_one_clear_line(checkpoint_dir, capsys, args, message):
    if args[0] != "--checkpoint":
        args = ["--checkpoint", str(checkpoint_dir), *args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_usage_errors(checkpoint_dir, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["--checkpoint", str(checkpoint_dir)])
    assert usage.value.code == 2 and "give either TEXT or --input" in capsys.readouterr().err


def test_a_reader_that_leaves_early_gets_no_traceback(checkpoint_dir, tmp_path):
    """The one real launch of `python -m model.translate` here: a closed pipe ends it quietly, as `| head -1` does."""
    source = tmp_path / "many.txt"
    source.write_text("A dog runs.\n" * 2000)
    command = translate_command(checkpoint_dir, 3, "--input", str(source))
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in err


def test_input_is_a_file_read_like_every_commands_and_a_device_or_pipe_is_refused(checkpoint_dir, tmp_path, capsys):
    import gzip
    import os

    ckpt = ["--checkpoint", str(checkpoint_dir), "--max-len", "6"]
    plain, packed = tmp_path / "in.txt", tmp_path / "in.txt.gz"
    plain.write_text("A dog runs.\nTwo men sit.\n")
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert main([*ckpt, "--input", str(plain)]) == 0
    expected = capsys.readouterr().out
    assert main([*ckpt, "--input", str(packed)]) == 0
    assert capsys.readouterr().out == expected  # decompressed, as evaluate, analyze and corpus read it
    assert main([*ckpt, "--input", "/dev/zero"]) == 2  # read whole, it would fill the memory
    err = capsys.readouterr().err
    assert err == "error: /dev/zero is a device, not a file; give a file of sentences (or - for standard input).\n"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # nobody writes to it: read as empty, never waited on
    assert main([*ckpt, "--input", str(fifo)]) == 0 and capsys.readouterr().out == ""


def test_sentences_stream_in_through_a_pipe_or_standard_input(checkpoint_dir, tmp_path):
    """`zcat corpus.gz | python -m model.translate --input -` and `--input <(...)` read as a file would."""
    import subprocess
    import sys

    ckpt = ["--checkpoint", str(checkpoint_dir), "--max-len", "6"]
    (tmp_path / "in.txt").write_text("A dog runs.\nTwo men sit.\n")
    command = [sys.executable, "-m", "model.translate", *ckpt, "--input"]
    from_file = subprocess.run([*command, str(tmp_path / "in.txt")], capture_output=True, text=True, cwd=ROOT)
    piped = subprocess.run(
        [*command, "-"], input="A dog runs.\nTwo men sit.\n", capture_output=True, text=True, cwd=ROOT
    )
    substituted = subprocess.run(
        ["bash", "-c", f"{' '.join(command)} <(cat {tmp_path / 'in.txt'})"], capture_output=True, text=True, cwd=ROOT
    )
    assert from_file.returncode == piped.returncode == substituted.returncode == 0, piped.stderr + substituted.stderr
    assert len(from_file.stdout.splitlines()) == 2 and piped.stdout == from_file.stdout == substituted.stdout


def test_a_line_longer_than_the_app_takes_is_cut_there_and_said(checkpoint_dir, tmp_path, capsys, monkeypatch):
    import model.translate as command

    seen = []
    real = command.translate

    def recording(model, tokenizer, text, *args, **kwargs):
        seen.append(len(text))
        return real(model, tokenizer, text, *args, **kwargs)

    monkeypatch.setattr(command, "translate", recording)
    source = tmp_path / "long.txt"
    source.write_text("A dog runs. " * 10_000 + "\nA cat.\n")  # 120,000 characters on line 1
    assert main(["--checkpoint", str(checkpoint_dir), "--max-len", "4", "--input", str(source)]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 2 and max(seen) <= 2000
    assert captured.err.startswith("line 1: 120000 characters, cut to the first 2000\n")  # then the model's own cut

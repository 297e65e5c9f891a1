"""Training: the loss falls, an interrupted run resumes exactly, and its checkpoint translates via the CLI."""

from __future__ import annotations

import csv
import json
import math
import re
import shlex
import subprocess
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import pytest
from safetensors.torch import load_file

from model.card import main as card_main
from model.train import main
from model.training.config import TrainConfig, build_parser, parse_config
from model.training.loop import inverse_sqrt_schedule
from model.training.model_card import command_flags
from model.translate import main as translate_main
from tests.conftest import DATA, ROOT


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> dict[str, Path]:
    from model.core.text_files import read_lines

    folder = tmp_path_factory.mktemp("data")
    files = {}
    for split, n in (("train", 200), ("val", 20)):
        for lang in ("en", "de"):
            path = folder / f"{split}.{lang}"
            path.write_text("\n".join(read_lines(DATA / f"{split}.{lang}.gz")[:n]) + "\n")
            files[f"{split}.{lang}"] = path
    return files


@pytest.fixture(scope="module")
def two_epochs(small_data, tmp_path_factory) -> Path:
    """One plain run of 2 epochs, read (never changed) by the tests that compare against it."""
    run_dir = tmp_path_factory.mktemp("two-epochs") / "run"
    assert main(train_args(small_data, run_dir, "--epochs", "2")) == 0
    return run_dir


def train_args(data: dict[str, Path], run_dir: Path, *extra: str) -> list[str]:
    return [
        "--train-src",
        str(data["train.en"]),
        "--train-tgt",
        str(data["train.de"]),
        "--valid-src",
        str(data["val.en"]),
        "--valid-tgt",
        str(data["val.de"]),
        "--src-lang",
        "en",
        "--tgt-lang",
        "de",
        "--run-dir",
        str(run_dir),
        "--vocab-size",
        "250",
        "--d-model",
        "32",
        "--n-heads",
        "4",
        "--d-ff",
        "64",
        "--n-layers",
        "2",
        "--max-len",
        "64",
        "--max-tokens",
        "600",
        "--warmup",
        "30",
        "--lr-factor",
        "0.3",
        "--threads",
        "1",
        "--seed",
        "3",
        *extra,
    ]


@pytest.mark.parametrize("name", ["multi30k-en-de", "multi30k-en-fr", "general-en-de", "general-en-fr"])
def test_each_shipped_run_is_rebuilt_from_its_card(name):
    """The command each shipped README records (written before TrainConfig existed) still parses, to the values the
    card recorded, and the card's values still write that command."""
    card = json.loads((ROOT / "checkpoints" / name / "card.json").read_text())
    recorded = card["training"]["args"]
    readme = (ROOT / "checkpoints" / name / "README.md").read_text()
    command = readme.split("- Command: `python -m model.train ", 1)[1].split("`", 1)[0]
    assert command_flags(recorded) == command
    config = parse_config(shlex.split(command)).as_dict()
    assert {k: v for k, v in recorded.items() if k != "device"} == {k: config[k] for k in recorded if k != "device"}


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--max-tokens", "0"], "--max-tokens must be at least 1, not 0"),
        (["--dropout", "1"], "--dropout must be below 1, not 1.0"),
        (["--attention-dropout", "-0.1"], "--attention-dropout must be at least 0, not -0.1"),
        (["--warmup", "0"], "--warmup must be at least 1, not 0"),
        (["--lr-factor", "nan"], "--lr-factor must be a finite number, not nan"),
        (["--device", "gpu"], "--device must be one of cpu, cuda, auto, not 'gpu'"),
        (["--epochs", "two"], "argument --epochs: invalid int value: 'two'"),
    ],
)
def test_a_setting_out_of_bounds_is_one_line_before_anything_runs(tmp_path, capsys, flags, says):
    required = ["--train-src", "a", "--train-tgt", "b", "--valid-src", "c", "--valid-tgt", "d", "--run-dir"]
    with pytest.raises(SystemExit) as stop:
        main([*required, str(tmp_path / "run"), *flags])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert stop.value.code == 2 and error == f"python -m model.train: error: {says}"
    assert not (tmp_path / "run").exists()


def test_the_parser_is_the_config():
    """One flag per TrainConfig field, with the field's default; the device script's flags name real fields."""
    actions = {a.dest: a for a in build_parser()._actions if a.dest != "help"}
    assert list(actions) == [f.name for f in fields(TrainConfig)]
    assert all(actions[f.name].default == (None if f.default is MISSING else f.default) for f in fields(TrainConfig))
    script = (ROOT / "docs" / "cards" / "device-train.sh").read_text()
    training = [line for line in script.split("train)", 1)[1].split("wait", 1)[0].splitlines() if "nvidia" not in line]
    used = set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]+)", "\n".join(training)))
    assert used and used <= {f.name.replace("_", "-") for f in fields(TrainConfig)}


def test_schedule_follows_the_paper():
    lr = inverse_sqrt_schedule(d_model=512, warmup=4000, factor=1.0)
    assert lr(4000) == pytest.approx(512**-0.5 * 4000**-0.5)
    assert lr(100) == pytest.approx(512**-0.5 * 100 * 4000**-1.5)
    assert lr(16000) == pytest.approx(lr(4000) / 2)


def test_loss_falls_and_the_checkpoint_translates(small_data, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(train_args(small_data, run_dir, "--epochs", "7", "--average-last", "2")) == 0
    rows = list(csv.DictReader((run_dir / "log.csv").open()))
    losses = [float(r["train_loss"]) for r in rows]
    assert len(rows) == 7 and losses[-1] < losses[0] - 1.0  # 5.49 -> 4.04 nats
    assert all(math.isfinite(float(r["val_loss"])) for r in rows)
    assert translate_main(["--checkpoint", str(run_dir / "final"), "A man is sleeping."]) == 0
    assert capsys.readouterr().out.strip()


def test_interrupted_run_resumes_to_the_same_state(small_data, two_epochs, tmp_path):
    straight, resumed = two_epochs, tmp_path / "resumed"
    assert main(train_args(small_data, resumed, "--epochs", "2", "--max-steps", "5")) == 0  # stops inside epoch 1
    assert main(train_args(small_data, resumed, "--epochs", "2", "--resume")) == 0
    a = load_file(str(straight / "state" / "model.safetensors"))
    b = load_file(str(resumed / "state" / "model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    opt_a = load_file(str(straight / "state" / "optimizer.safetensors"))
    opt_b = load_file(str(resumed / "state" / "optimizer.safetensors"))
    assert all((opt_a[k] == opt_b[k]).all() for k in opt_a)


def test_a_stop_inside_an_epoch_is_scored_and_can_be_the_final_model(small_data, two_epochs, tmp_path):
    per_epoch = int(next(csv.DictReader((two_epochs / "log.csv").open()))["step"])
    stopped = tmp_path / "stopped-inside"
    assert main(train_args(small_data, stopped, "--epochs", "2", "--max-steps", "5", "--average-last", "3")) == 0
    rows = list(csv.DictReader((stopped / "log.csv").open()))
    assert [(float(r["epoch"]), int(r["step"])) for r in rows] == [(round(5 / per_epoch, 2), 5)]
    assert (stopped / "epochs" / "epoch001.safetensors").is_file() and (
        stopped / "final" / "model.safetensors"
    ).is_file()
    assert (
        main(train_args(small_data, stopped, "--epochs", "2", "--average-last", "3", "--resume")) == 0
    )  # the full epoch replaces the partial snapshot
    assert [r["epoch"] for r in csv.DictReader((stopped / "log.csv").open())] == [rows[0]["epoch"], "1", "2"]
    assert sorted(p.name for p in (stopped / "epochs").iterdir()) == ["epoch001.safetensors", "epoch002.safetensors"]


def test_a_run_stops_when_its_clock_runs_out_and_still_hands_over_a_model(small_data, tmp_path):
    """--max-minutes: a time budget (e.g. a lent GPU's few minutes), counted on the run's clock across --resume."""
    run_dir = tmp_path / "timed"
    assert (
        main(train_args(small_data, run_dir, "--epochs", "5", "--max-minutes", "1e-6")) == 0
    )  # up after the first update
    rows = list(csv.DictReader((run_dir / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [1] and float(rows[0]["epoch"]) < 1
    assert (run_dir / "final" / "model.safetensors").is_file()
    assert main(train_args(small_data, run_dir, "--epochs", "5", "--max-minutes", "1e-6", "--resume")) == 0
    assert (
        json.loads((run_dir / "state" / "state.json").read_text())["progress"]["step"] == 1
    )  # no time left: no update
    assert (
        main(train_args(small_data, run_dir, "--epochs", "1", "--max-minutes", "60", "--resume")) == 0
    )  # more time: on to epoch 1's end
    assert [r["epoch"] for r in csv.DictReader((run_dir / "log.csv").open())][-1] == "1"


def test_a_run_can_use_a_given_tokenizer(small_data, tmp_path):
    given = ROOT / "checkpoints" / "multi30k-en-de" / "tokenizer.model"
    run_dir = tmp_path / "given"
    assert main(train_args(small_data, run_dir, "--epochs", "1", "--max-steps", "1", "--tokenizer", str(given))) == 0
    assert (run_dir / "tokenizer.model").read_bytes() == given.read_bytes()
    from sentencepiece import SentencePieceProcessor

    vocab = SentencePieceProcessor(model_file=str(given)).get_piece_size()
    assert (
        json.loads((run_dir / "final" / "config.json").read_text())["model"]["vocab_size"] == vocab != 250
    )  # not --vocab-size
    (tmp_path / "junk.model").write_bytes(b"not a model")
    with pytest.raises(SystemExit, match="is not a SentencePiece model"):
        main(train_args(small_data, tmp_path / "junk", "--epochs", "1", "--tokenizer", str(tmp_path / "junk.model")))


def test_a_vocabulary_larger_than_the_text_allows_names_the_largest_that_works(small_data, tmp_path):
    from model.core.text_files import read_lines
    from model.core.tokenizer import Tokenizer

    argv = train_args(small_data, tmp_path / "run", "--epochs", "1")
    argv[argv.index("--vocab-size") + 1] = "8000"  # the default, for a corpus of 200 sentence pairs
    with pytest.raises(SystemExit) as stop:
        main(argv)
    message = str(stop.value)
    largest = re.fullmatch(
        r"error: --vocab-size 8000 is more pieces than the training text holds; the largest size that works for it "
        r"is (\d+)\.",
        message,
    )
    assert largest, message
    lines = read_lines(small_data["train.en"]) + read_lines(small_data["train.de"])
    assert Tokenizer.train(lines, int(largest.group(1))).vocab_size == int(largest.group(1))


def test_a_new_run_can_start_from_a_shipped_checkpoint(small_data, tmp_path):
    first = tmp_path / "first"
    assert main(train_args(small_data, first, "--epochs", "1")) == 0
    shipped = tmp_path / "shipped"
    assert (
        card_main(
            [
                "--source",
                str(first / "final"),
                "--dest",
                str(shipped),
                "--name",
                "Tiny",
                "--test",
                "val",
                str(small_data["val.en"]),
                str(small_data["val.de"]),
            ]
        )
        == 0
    )  # float16, as shipped
    second = tmp_path / "second"
    assert main(train_args(small_data, second, "--epochs", "1", "--max-steps", "1", "--init-from", str(shipped))) == 0
    assert (second / "tokenizer.model").read_bytes() == (shipped / "tokenizer.model").read_bytes()
    before, after = (
        load_file(str(shipped / "model.safetensors")),
        load_file(str(second / "state" / "model.safetensors")),
    )
    # one Adam step moves each weight by about the learning rate (3e-4 at step 1); a fresh start would differ by ~0.1
    assert max(float((after[k] - before[k].float()).abs().max()) for k in before) < 2e-3
    with pytest.raises(SystemExit, match="another architecture: d_model 32 \\(flags: 64\\)"):
        main(
            train_args(small_data, tmp_path / "third", "--epochs", "1", "--init-from", str(shipped), "--d-model", "64")
        )


def test_a_lost_run_continues_from_its_shipped_checkpoint(small_data, two_epochs, tmp_path):
    """--continue-from: the card's counters, curve and clock go on, the schedule at the card's update count (its first
    updates ramped, the optimiser being fresh), and a stop inside the continued run resumes exactly."""
    old = two_epochs
    shipped = tmp_path / "shipped"
    assert (
        card_main(
            [
                "--source",
                str(old / "final"),
                "--dest",
                str(shipped),
                "--name",
                "Tiny",
                "--log",
                str(old / "log.csv"),
                "--test",
                "val",
                str(small_data["val.en"]),
                str(small_data["val.de"]),
            ]
        )
        == 0
    )
    # the shipped weights are the best epoch's (all score BLEU 0 here: the first), and the run goes on from there
    start = int(json.loads((shipped / "card.json").read_text())["training"]["best_epoch"])
    old_rows = list(csv.DictReader((old / "log.csv").open()))[:start]
    old_steps, old_clock = int(old_rows[-1]["step"]), int(old_rows[-1]["elapsed_s"])
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    assert main(train_args(small_data, straight, "--epochs", "3", "--continue-from", str(shipped))) == 0
    rows = list(csv.DictReader((straight / "log.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and rows[:start] == old_rows
    steps = int(rows[2]["step"])
    assert steps == int(old_rows[0]["step"]) * 3  # every epoch has the same updates
    assert int(rows[start]["elapsed_s"]) >= old_clock
    # lr = 0.3 · 32^-0.5 · min(step^-0.5, step · 30^-1.5) (paper §5.3), times the ramp (step - start + 1) / 100
    paper = 0.3 * 32**-0.5 * min(steps**-0.5, steps * 30**-1.5)
    assert float(rows[2]["lr"]) == pytest.approx(paper * min(1.0, (steps - old_steps + 1) / 100), rel=1e-3)
    assert (
        main(
            train_args(
                small_data, stopped, "--epochs", "3", "--continue-from", str(shipped), "--max-steps", str(old_steps + 3)
            )
        )
        == 0
    )
    assert main(train_args(small_data, stopped, "--epochs", "3", "--resume")) == 0
    progress = json.loads((stopped / "state" / "state.json").read_text())[
        "progress"
    ]  # what the run's cards are made from
    assert (progress["continued_from"], progress["optimizer_started_at"], progress["step"]) == (
        str(shipped),
        old_steps,
        steps,
    )
    a = load_file(str(straight / "state" / "model.safetensors"))
    b = load_file(str(stopped / "state" / "model.safetensors"))
    assert all((a[k] == b[k]).all() for k in a)
    with pytest.raises(SystemExit, match="give only one of them"):
        main(
            train_args(
                small_data,
                tmp_path / "both",
                "--epochs",
                "3",
                "--continue-from",
                str(shipped),
                "--init-from",
                str(shipped),
            )
        )


def test_refuses_to_overwrite_or_resume_nothing(small_data, tmp_path):
    with pytest.raises(SystemExit, match="holds no saved state"):
        main(train_args(small_data, tmp_path / "empty", "--resume"))


def train_two_processes(data: dict[str, Path], run_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "model.train",
            *train_args(data, run_dir, *extra),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_two_processes_under_torchrun(small_data, tmp_path):
    """The same script trains with DistributedDataParallel (gloo on the CPU here, NCCL on GPUs), through epoch ends,
    and --max-minutes stops both ranks at the same update: rank 0's clock, broadcast every 16 updates."""
    run_dir = tmp_path / "ddp"
    result = train_two_processes(small_data, run_dir, "--epochs", "40", "--max-minutes", "1e-6")
    assert "2 process(es)" in result.stdout
    rows = list(csv.DictReader((run_dir / "log.csv").open()))
    assert [r["epoch"] for r in rows[:2]] == ["1", "2"] and int(rows[-1]["step"]) == 16
    assert (run_dir / "final" / "model.safetensors").is_file()

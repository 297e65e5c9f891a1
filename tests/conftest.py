"""Shared fixtures: a small SentencePiece model and tiny random Transformers (fast on 2 CPU cores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from model.core.checkpoint import save_checkpoint
from model.core.config import TransformerConfig
from model.core.paths import DATA_DIR
from model.core.text_files import read_lines
from model.core.tokenizer import Tokenizer
from model.core.transformer import Transformer

ROOT = Path(__file__).resolve().parent.parent
DATA = DATA_DIR / "multi30k"
torch.set_num_threads(1)  # tiny models: a second thread only adds synchronisation

# The markers declared in pyproject.toml, given here by module (or by single test where a module mixes kinds) so that
# no test file needs editing; the fast tier is `python -m pytest -q -m "not slow and not browser"`. A test that uses
# the app_env fixture is an `app` test as well. tests/test_suite_setup.py checks every name here still exists.
MODULE_MARKS = {
    "test_app": {"app"},
    "test_app_responsive": {"app", "slow"},
    "test_browser": {"browser", "slow"},
    "test_commands": {"commands", "slow"},
    "test_device_train": {"commands", "slow"},
    "test_decoder_only": {"reference"},
    "test_decoder_only_app": {"reference", "app"},
    "test_decoder_only_trace": {"reference"},
    "test_doc_links": {"app"},
    "test_film": {"slow"},
    "test_golden_traces": {"slow"},
    "test_hf_families": {"reference"},
    "test_hostile_imports": {"reference"},
    "test_import_hub": {"reference"},
    "test_in_memory_import": {"reference"},
    "test_languages_ui": {"reference"},
    "test_lab": {"slow"},
    "test_long_session": {"slow"},
    "test_many_visitors": {"slow"},
    "test_marian": {"reference"},
    "test_notebook": {"reference", "slow"},
    "test_serving": {"commands", "slow"},
    "test_training_view": {"app", "slow"},
}
TEST_MARKS = {
    "test_lab::test_sigterm_stops_a_lab_and_keeps_its_film": {"commands"},
    "test_bench::test_the_llm_rows_are_written_at_a_tiny_size": {"reference"},
    "test_import_hub::test_import_by_id_offline_equals_importing_the_folder": {"commands"},
    "test_app::test_every_view_on_every_shipped_checkpoint_with_each_gallery_sentence": {"slow"},  # 30-100 s each
    "test_card::test_the_ship_script_commands_parse": {"commands"},
    "test_corpus::test_two_processes_under_torchrun_make_the_files_of_one_and_resume_a_run_of_one": {
        "commands",
        "slow",
    },
    "test_determinism::test_identical_across_processes": {"commands"},
    "test_figure::test_cartesian_figures_use_the_component_and_others_fall_back_to_streamlits_chart": {"app"},
    "test_figure::test_without_static_serving_every_figure_falls_back_to_streamlits_chart": {"app"},
    "test_hf_families::test_align_eval_picks_the_golds_pair_in_the_familys_codes": {"slow"},  # 508 RWTH sentences
    "test_hostile_checkpoints::test_any_other_failure_while_loading_is_one_sentence_and_the_picker_stays": {"app"},
    "test_hostile_checkpoints::test_cli_gives_one_line_of_error_for_each": {"commands"},
    "test_hostile_checkpoints::test_ui_shows_one_error_per_bad_checkpoint_and_keeps_serving": {"app"},
    "test_hostile_imports::test_the_command_gives_one_line": {"commands"},
    "test_hostile_input::test_cli_gives_one_line_per_hostile_line": {"commands"},
    "test_many_visitors::test_two_browser_pages_see_their_own_sentence": {"browser"},
    "test_shipped::test_the_demo_sentences_are_new_to_every_corpus_we_have": {"slow"},  # reads 0.7 M lines
    "test_train::test_refuses_to_overwrite_or_resume_nothing": {"commands"},
    "test_translate_cli::test_a_reader_that_leaves_early_gets_no_traceback": {"commands"},
}


def marks_for(item: pytest.Item) -> set[str]:
    module = item.path.stem
    marks = MODULE_MARKS.get(module, set()) | TEST_MARKS.get(f"{module}::{item.originalname}", set())
    return marks | ({"app"} if "app_env" in getattr(item, "fixturenames", ()) else set())


def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in sorted(marks_for(item)):
            item.add_marker(name)


# CI installs every optional dependency and the repository carries its data, so under CI a skip means a test did not
# run that should have: it fails, and so does a run that collected no test at all (pytest's exit code 5).
CI_MODULE_SKIPS = pytest.StashKey[list[str]]()


def under_ci() -> bool:
    return bool(os.environ.get("CI"))


def skip_reason(report) -> str:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if under_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where no test may skip: {skip_reason(report)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    report = (yield).get_result()
    if under_ci() and report.skipped:
        collector.config.stash.setdefault(CI_MODULE_SKIPS, []).append(f"{report.nodeid}: {skip_reason(report)}")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for line in config.stash.get(CI_MODULE_SKIPS, []):
        terminalreporter.write_line(f"FAILED (a whole module skipped under CI) {line}", red=True)


def pytest_sessionfinish(session, exitstatus):
    module_skipped = bool(session.config.stash.get(CI_MODULE_SKIPS, []))
    if under_ci() and (exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED or module_skipped):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def corpus() -> tuple[list[str], list[str]]:
    return read_lines(DATA / "train.en.gz")[:1000], read_lines(DATA / "train.de.gz")[:1000]


@pytest.fixture(scope="session")
def tokenizer(corpus) -> Tokenizer:
    return Tokenizer.train(corpus[0] + corpus[1], vocab_size=300)


def tiny_model(vocab_size: int, seed: int = 0, **overrides) -> Transformer:
    torch.manual_seed(seed)
    sizes = dict(d_model=32, n_heads=4, d_ff=64, n_encoder_layers=2, n_decoder_layers=2, max_len=64) | overrides
    cfg = TransformerConfig(vocab_size=vocab_size, **sizes)
    return Transformer(cfg).eval()


@pytest.fixture(scope="session")
def model(tokenizer) -> Transformer:
    return tiny_model(tokenizer.vocab_size)


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory, model, tokenizer) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "tiny-en-de"
    save_checkpoint(path, model, tokenizer, "en", "de", card={"note": "random weights for tests"})
    return path


@contextmanager
def app_checkpoints(monkeypatch, folder: Path) -> Iterator[None]:
    """The app reading its checkpoints from `folder`, with Streamlit's caches cleared before and after (a cached
    model from another folder must not leak in or out)."""
    import streamlit as st

    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(folder))
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        yield
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()


@pytest.fixture()
def app_env(monkeypatch, checkpoint_dir):
    """The app on the tiny test checkpoint, with Streamlit's caches cleared around each test."""
    with app_checkpoints(monkeypatch, checkpoint_dir.parent):
        yield


def translate_command(checkpoint_dir: Path, max_len: int, *args: str) -> list[str]:
    """`python -m model.translate` on a checkpoint, as another process launches it."""
    ckpt = ["--checkpoint", str(checkpoint_dir), "--max-len", str(max_len)]
    return [sys.executable, "-m", "model.translate", *ckpt, *args]


def run_translate(checkpoint_dir: Path, max_len: int, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """Run `python -m model.translate` in its own process from the repository root; its output as text."""
    command = translate_command(checkpoint_dir, max_len, *args)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def run_concurrently(session: Callable[[str], None], inputs: list[str], timeout: float = 300) -> list[Exception]:
    """Start one thread per input, released together by a barrier; return the exceptions they raised."""
    barrier, errors = threading.Barrier(len(inputs)), []

    def run(item: str) -> None:
        try:
            barrier.wait()
            session(item)
        except Exception as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return errors


def figures(at) -> list[dict]:
    """Every Plotly figure in an AppTest page, as the JSON the browser gets (the main area first, then the sidebar):
    the app's own figure component (ui/figure.py) and `st.plotly_chart` alike."""
    out = []
    for block in (at.main, at.sidebar):
        for node in block:
            if node.type == "plotly_chart":
                out.append(json.loads(node.proto.spec))
            elif node.type == "bidi_component" and node.proto.component_name == "headlight_figure":
                data = json.loads(node.proto.json)
                if "figure" in data:  # not the page's plotly.js preload
                    out.append(json.loads(data["figure"]))
    return out

"""A failure inside one view is a short message in that view; the rest of the page keeps working."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, app_checkpoints, figures
from tests.test_app import heading


def test_broken_view_shows_a_message_and_the_page_survives(monkeypatch, app_env):
    from ui.views import VIEWS

    def broken(ctx):
        raise RuntimeError("the model view broke")

    monkeypatch.setitem(VIEWS, "model", broken)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    at.query_params["view"] = "model"
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This view failed: RuntimeError: the model view broke"]
    assert heading(at).startswith("#### DE:")  # the translation above the view still shows
    at.radio(key="view").set_value("translate").run()  # other views still work
    assert not at.error and figures(at)


# A malformed side file of a checkpoint: one sentence in the view that reads it, naming the file; the rest works.


@pytest.fixture()
def damaged(tmp_path, checkpoint_dir, monkeypatch):
    """A copy of the tiny checkpoint, alone in the app's checkpoint folder, free to damage."""
    folder = tmp_path / "models" / "tiny-en-de"
    shutil.copytree(checkpoint_dir, folder)
    with app_checkpoints(monkeypatch, folder.parent):
        yield folder


def open_view(view: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    at.query_params["view"] = view
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert heading(at).startswith("#### DE:") and at.selectbox(key="ckpt").value == "tiny-en-de"
    return at


def messages(elements) -> list[str]:
    return [e.value for e in elements]


@pytest.mark.parametrize("content", ["7", "[" * 100_000 + "]" * 100_000])
def test_an_unusable_gallery_is_a_note_and_the_page_works(damaged, content):
    (damaged / "gallery.json").write_text(content)
    at = open_view("translate")
    why = "must hold a list of examples, not int" if content == "7" else "is nested too deeply to be read"
    assert any(f"gallery.json in {damaged}" in plain_text(w) and why in plain_text(w) for w in messages(at.warning))
    assert figures(at) and not at.error


def test_a_card_with_a_text_score_and_a_listed_evaluation_leaves_the_page_working(damaged):
    (damaged / "card.json").write_text(json.dumps({"evaluation": {"test_2016_flickr": {"beam4": {"bleu": "high"}}}}))
    assert figures(open_view("translate"))
    (damaged / "card.json").write_text(json.dumps({"evaluation": ["test_2016_flickr"], "data": [1]}))
    assert figures(open_view("positional"))  # reads the card's data.max_train_pieces


@pytest.mark.parametrize(
    "content, why",
    [
        ('{"heads": 3}', 'has no "baseline" with numbers for bleu and chrf'),
        ("[1, 2]", "must hold a JSON object, not list"),
        ("{oops", "is not valid JSON"),
        (
            json.dumps({"sentences": 5, "baseline": {"bleu": 1, "chrf": 2}, "heads": [{"kind": "encoder"}]}),
            "head 0 is not a kind, a layer, a head and numbers for bleu_drop, chrf_drop, logprob_drop",
        ),
    ],
)
def test_a_malformed_importance_sweep_is_one_sentence_in_its_tab(damaged, content, why):
    (damaged / "head_importance.json").write_text(content)
    at = open_view("analysis")
    errors = [plain_text(e) for e in messages(at.error)]
    assert len(errors) == 1 and errors[0].startswith(f"head_importance.json in {damaged}") and why in errors[0]
    assert figures(at) and at.button(key="sweep_go")  # the statistics tab draws; the sweep can still be run


ALIGNMENT = "layer,head,aer_argmax\n0,mean,0.5\n0,0,0.4\n0,1,0.6\n1,0,0.3\n1,1,0.7\n"


@pytest.mark.parametrize(
    "content, why",
    [
        ("", "is not a readable CSV table"),
        ("layer,head,aer_argmax\n0,x,0.5\n", "gives head = 'x', not a number"),
        ("layer,head,aer_argmax\n0,0,high\n", "has an aer_* value that is not a number"),
        ("layer,head\n0,0\n", "lacks the columns layer, head and at least one aer_* column"),
        ("layer,head,aer_argmax\n0,0,0.5\n0,0,0.4\n", "has more than one row for a layer and head"),
        ('a,"b\n', "is not a readable CSV table"),
    ],
)
def test_a_malformed_alignment_table_is_one_sentence_and_the_other_tables_show(damaged, content, why):
    (damaged / "alignment_bad.csv").write_text(content)
    (damaged / "alignment_good.csv").write_text(ALIGNMENT)
    at = open_view("corpus")
    errors = [plain_text(e) for e in messages(at.error)]
    assert len(errors) == 1 and errors[0].startswith(f"alignment_bad.csv in {damaged}") and why in errors[0]
    assert at.selectbox(key="aer_good") and len(figures(at)) == 1  # the good table's grid


def corpus_run(folder):
    from model.analysis.corpus_run import run_corpus
    from model.core.checkpoint import load_checkpoint

    sentences = ["A dog runs.", "Two men play football.", "A woman reads.", "A red car."]
    return run_corpus(load_checkpoint(folder), sentences, None, folder / "corpus", chunk_size=2)[0]


def test_a_damaged_corpus_chunk_is_reported_and_the_rest_of_the_run_shows(damaged):
    corpus_run(damaged)
    chunk = damaged / "corpus" / "chunk-00001.npz"
    chunk.write_bytes(chunk.read_bytes()[:-10])
    at = open_view("corpus")
    warnings = [plain_text(w) for w in messages(at.warning)]
    assert warnings == [
        f"{chunk} is left out: it has {chunk.stat().st_size} bytes, not the {chunk.stat().st_size + 10} recorded."
    ]
    assert not at.error and len(figures(at)) >= 3 and at.selectbox(key="heads_stat")


@pytest.mark.parametrize(
    "content, why",
    [
        ("[1]", "must hold a JSON object (a run's record), not list"),
        ("{oops", "is not valid JSON"),
        ('{"done_chunks": "all"}', "gives done_chunks = 'all', which is not what a run records"),
        ('{"done_chunks": [0]}', "is not a finished run's record: it has no heads"),
    ],
)
def test_a_malformed_corpus_record_is_one_sentence_and_the_alignment_tables_show(damaged, content, why):
    (damaged / "corpus").mkdir()
    (damaged / "corpus" / "progress.json").write_text(content)
    (damaged / "alignment_good.csv").write_text(ALIGNMENT)
    at = open_view("corpus")
    errors = [plain_text(e) for e in messages(at.error)]
    assert errors == [errors[0]] and errors[0].startswith(str(damaged / "corpus" / "progress.json")), errors
    assert why in errors[0] and len(figures(at)) == 1


def plain_text(markdown: str) -> str:
    """A message as the reader sees it: the escaping backslashes and invisible spaces of ui.text.plain taken out."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def flatten_attention(folder, everything: bool = False) -> None:
    """Zero every query and key projection (each head attends equally to every position it may see), or every
    weight of the model (no signal at all: each contribution and residual norm is zero)."""
    from safetensors.torch import load_file, save_file

    weights = folder / "model.safetensors"
    tensors = load_file(str(weights))
    for name, tensor in tensors.items():
        if everything or any(f".{part}." in name for part in ("w_q", "w_k")):
            tensors[name] = torch.zeros_like(tensor)
    save_file(tensors, str(weights))


@pytest.mark.parametrize("everything", [False, True], ids=["all-equal attention", "all-zero weights"])
@pytest.mark.parametrize("view", ["whatif", "lesson"])
def test_degenerate_attention_leaves_what_if_and_the_lesson_working(damaged, view, everything):
    flatten_attention(damaged, everything)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    at.query_params["view"] = view
    at.run()
    assert not at.exception and not at.error, messages(at.exception) + messages(at.error)
    assert figures(at)


def test_what_loading_noticed_is_said_under_the_model_summary(damaged):
    """A checkpoint written before tokenizer hashes loads; the sidebar says so, escaped, and the view still draws."""
    config = json.loads((damaged / "config.json").read_text())
    del config["tokenizer_sha256"]
    (damaged / "config.json").write_text(json.dumps(config))
    at = open_view("translate")
    captions = [c.value for c in at.sidebar.caption]
    assert any(c.startswith("ⓘ config.json records no tokenizer hash \\(written") for c in captions), captions
    assert figures(at)

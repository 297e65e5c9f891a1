"""Corpus runs: stored statistics equal a recomputation, queries and keys recorded while translating equal a
teacher-forced pass, an interrupted run resumes to the same result, two processes under torchrun make the files one
process makes, the diagonal pattern by hand, and the joint query/key projection puts a query near the keys it
attends to."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from model.analysis.corpus_run import (
    CorpusError,
    CorpusRun,
    CorpusSummary,
    corpus_summary,
    diagonal_pattern,
    joint_projection,
    qk_vectors,
    run_corpus,
)
from model.analysis.head_statistics import STATS, trace_stats
from model.core.head_selection import all_heads
from model.decoding.trace_from_hooks import forward_trace
from model.decoding.translation import translate
from tests.conftest import ROOT, tiny_model

SENTENCES = [
    "A dog runs.",
    "",
    "Two men play football on the beach.",
    "A woman reads.",
    "A child eats an apple.",
    "People walk in the park.",
    "A red car.",
]
ARRAYS = ("stats", "q", "k", "q_pos", "k_pos", "output", "source", "src_tokens", "tgt_tokens", "sentence", "pattern")


class Ckpt:
    def __init__(self, model, tokenizer, name="tiny", src_lang="en", tgt_lang="de"):
        self.model, self.tokenizer, self.name, self.src_lang, self.tgt_lang = model, tokenizer, name, src_lang, tgt_lang


class Stop(Exception):
    pass


def interrupt_after(sentences: int):
    def progress(n, _total):
        if n == sentences:
            raise Stop

    return progress


def assert_same_results(a: CorpusSummary, b: CorpusSummary) -> None:
    for key in ARRAYS:
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)


def test_stored_statistics_equal_a_recomputation_and_a_resumed_run_equals_one_run(model, tokenizer, tmp_path):
    ckpt = Ckpt(model, tokenizer)
    whole, _ = run_corpus(ckpt, SENTENCES, None, tmp_path / "whole", chunk_size=3)
    assert whole["done"] == 7 and whole["chunks"] == 3 and whole["peak_rss_mb"] > 0
    with pytest.raises(Stop):  # interrupted inside the second chunk: only the first is kept
        run_corpus(ckpt, SENTENCES, None, tmp_path / "resumed", chunk_size=3, progress=interrupt_after(5))
    assert sorted(p.name for p in (tmp_path / "resumed").glob("chunk-*")) == ["chunk-00000.npz"]
    resumed, _ = run_corpus(ckpt, SENTENCES, None, tmp_path / "resumed", chunk_size=3)
    a, b = corpus_summary(tmp_path / "whole"), corpus_summary(tmp_path / "resumed")
    assert list(a.sentence) == [0, 2, 3, 4, 5, 6]  # the empty line is left out
    assert_same_results(a, b)
    assert resumed["done"] == 7 and resumed["done_chunks"] == [0, 1, 2]
    # the statistics of sentence 2 equal trace_stats of its translation, head by head, in all_heads order
    expected = trace_stats(translate(model, tokenizer, SENTENCES[2]).trace)[STATS].to_numpy()
    np.testing.assert_allclose(a.stats[1], expected, atol=1e-6)
    assert str(a.source[1]) == SENTENCES[2] and a.q.shape[1:] == (len(expected), 3, model.cfg.d_k)
    assert str(a.output[1]) == translate(model, tokenizer, SENTENCES[2], with_trace=False).text


def test_queries_and_keys_recorded_while_translating_equal_a_teacher_forced_pass(model, tokenizer, tmp_path):
    run_corpus(Ckpt(model, tokenizer), SENTENCES[:3], None, tmp_path, chunk_size=3)
    got = corpus_summary(tmp_path)
    result = translate(model, tokenizer, SENTENCES[2], with_trace=False)
    vectors = qk_vectors(model, result.src_ids, result.out_ids)  # a separate full pass, no key/value cache
    for n, (kind, layer, head) in enumerate(all_heads(model.cfg)):
        q, k = vectors[(kind, layer)]
        for stored, positions, full in ((got.q, got.q_pos, q), (got.k, got.k_pos, k)):
            rows = positions[1, n][positions[1, n] >= 0]
            assert len(rows) == min(3, full.shape[1])
            np.testing.assert_allclose(stored[1, n, : len(rows)], full[head, rows], rtol=2e-3, atol=2e-3)


def test_teacher_forced_statistics_equal_those_of_the_forced_trace(model, tokenizer, tmp_path):
    refs = ["Ein Hund läuft.", "", "Zwei Männer spielen Fußball."]
    meta, _ = run_corpus(Ckpt(model, tokenizer), SENTENCES[:3], refs, tmp_path, chunk_size=2)
    got = corpus_summary(tmp_path)
    assert meta["teacher_forced"] and list(got.output) == [refs[0], refs[2]]
    src_ids = tokenizer.encode(SENTENCES[2]) + [model.cfg.eos_id]
    out_ids = tokenizer.encode_target(refs[2]) + [model.cfg.eos_id]
    trace, _ = forward_trace(model, tokenizer, src_ids, out_ids)
    np.testing.assert_allclose(got.stats[1], trace_stats(trace)[STATS].to_numpy(), atol=1e-6)


def test_resuming_with_other_input_is_refused_in_one_sentence(model, tokenizer, tmp_path):
    run_corpus(Ckpt(model, tokenizer), SENTENCES[:3], None, tmp_path, chunk_size=3)
    with pytest.raises(CorpusError, match="holds a run with sentences 3, not 7"):
        run_corpus(Ckpt(model, tokenizer), SENTENCES, None, tmp_path, chunk_size=3)
    with pytest.raises(CorpusError, match=r"--chunk\) 3, not 2"):
        run_corpus(Ckpt(model, tokenizer), SENTENCES[:3], None, tmp_path, chunk_size=2)


def unfinished_run(model, tokenizer, out, refs=None):
    """A run of SENTENCES[:4] in chunks of 2 that stopped after its first chunk."""
    with pytest.raises(Stop):
        run_corpus(Ckpt(model, tokenizer), SENTENCES[:4], refs, out, chunk_size=2, progress=interrupt_after(3))
    assert json.loads((out / "progress.json").read_text())["done_chunks"] == [0]


def test_a_resume_with_other_sentences_references_checkpoint_or_languages_is_refused(model, tokenizer, tmp_path):
    refs = ["Ein Hund.", "", "Zwei Männer.", "Eine Frau."]
    unfinished_run(model, tokenizer, tmp_path, refs)
    stored = json.loads((tmp_path / "progress.json").read_text())
    assert (stored["checkpoint"], stored["src_lang"], stored["tgt_lang"]) == ("tiny", "en", "de")
    other_sentences = SENTENCES[:3] + ["A cat sleeps."]  # as many sentences as the stored run
    refused = {
        "other sentences (--input)": (Ckpt(model, tokenizer), other_sentences, refs),
        "other references (--ref)": (Ckpt(model, tokenizer), SENTENCES[:4], refs[:3] + ["Eine Katze."]),
        "checkpoint tiny, not other": (Ckpt(model, tokenizer, name="other"), SENTENCES[:4], refs),
        "language pair (--src-lang, --tgt-lang) en -> de, not en -> fr": (
            Ckpt(model, tokenizer, tgt_lang="fr"),
            SENTENCES[:4],
            refs,
        ),
    }
    for message, (ckpt, sources, references) in refused.items():
        with pytest.raises(CorpusError, match=re.escape(f"holds a run with {message}: resume with the same input")):
            run_corpus(ckpt, sources, references, tmp_path, chunk_size=2)
    assert json.loads((tmp_path / "progress.json").read_text()) == stored  # nothing was mixed in
    assert run_corpus(Ckpt(model, tokenizer), SENTENCES[:4], refs, tmp_path, chunk_size=2)[0]["done_chunks"] == [0, 1]


def test_an_older_progress_record_counts_as_float32_and_without_fingerprints_is_not_resumed(model, tokenizer, tmp_path):
    unfinished_run(model, tokenizer, tmp_path)
    meta = json.loads((tmp_path / "progress.json").read_text())
    del meta["weights"]  # written before --weights existed: those runs were float32
    (tmp_path / "progress.json").write_text(json.dumps(meta))
    int8_model = tiny_model(tokenizer.vocab_size).use_low_precision_weights(torch.int8)
    with pytest.raises(CorpusError, match=r"weights \(--weights\) float32, not int8"):
        run_corpus(Ckpt(int8_model, tokenizer), SENTENCES[:4], None, tmp_path, chunk_size=2)
    for key in ("sources_sha256", "src_lang"):  # written before the sentences and the pair were recorded
        older = {k: v for k, v in meta.items() if k != key}
        (tmp_path / "progress.json").write_text(json.dumps(older))
        with pytest.raises(CorpusError, match="unfinished run of an older Headlight that did not record its"):
            run_corpus(Ckpt(model, tokenizer), SENTENCES[:4], None, tmp_path, chunk_size=2)


def corpus_processes(checkpoint_dir, sentences, out, processes: int) -> subprocess.CompletedProcess:
    args = ["--checkpoint", str(checkpoint_dir), "--input", str(sentences), "--out", str(out), "--chunk", "2"]
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes)]
    result = subprocess.run(
        [sys.executable, *(launcher if processes > 1 else []), "-m", "model.corpus", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        # torchrun gives each process one thread; so does the single process, or its sums round differently
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_two_processes_under_torchrun_make_the_files_of_one_and_resume_a_run_of_one(checkpoint_dir, tmp_path):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    corpus_processes(checkpoint_dir, sentences, tmp_path / "one", 1)
    two = corpus_processes(checkpoint_dir, sentences, tmp_path / "two", 2)
    assert "2 process(es)" in two.stdout
    one_files = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert one_files == sorted(p.name for p in (tmp_path / "two").iterdir())
    assert one_files == [f"chunk-0000{i}.npz" for i in range(4)] + ["progress.json"]
    assert_same_results(corpus_summary(tmp_path / "one"), corpus_summary(tmp_path / "two"))
    # a run of one process that stopped after two of its four chunks, resumed by two processes
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("chunk-00000.npz", "chunk-00002.npz"):
        (partial / name).write_bytes((tmp_path / "one" / name).read_bytes())
    meta = json.loads((tmp_path / "one" / "progress.json").read_text())
    meta.update(done_chunks=[0, 2], done=4, chunks=2)
    (partial / "progress.json").write_text(json.dumps(meta))
    corpus_processes(checkpoint_dir, sentences, partial, 2)
    assert json.loads((partial / "progress.json").read_text())["done_chunks"] == [0, 1, 2, 3]
    assert_same_results(corpus_summary(tmp_path / "one"), corpus_summary(partial))


def test_diagonal_pattern_by_hand():
    weights = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.0, 1.0, 0.0]])
    sums, counts = diagonal_pattern(weights, cross=False)
    mid = len(sums) // 2
    assert sums[mid] == pytest.approx(0.5 + 0.3 + 0.0) and counts[mid] == 3  # the diagonal
    assert sums[mid + 1] == pytest.approx(0.5 + 0.5) and counts[mid + 1] == 2  # one to the right
    assert sums[mid - 1] == pytest.approx(0.2 + 1.0) and counts[mid - 1] == 2  # one to the left


@pytest.mark.skipif(not (ROOT / "checkpoints" / "multi30k-en-fr").is_dir(), reason="needs the shipped model")
def test_in_the_projection_a_querys_nearest_key_ranks_high_in_its_real_weights():
    from model.core.checkpoint import load_checkpoint

    ckpt = load_checkpoint(ROOT / "checkpoints" / "multi30k-en-fr")
    hits = total = chance = 0
    for text in [
        "A man drives a red car.",
        "Two young men are playing football on a green field.",
        "A woman with a black dog walks in the park.",
    ]:
        result = translate(ckpt.model, ckpt.tokenizer, text)
        vectors = qk_vectors(ckpt.model, result.src_ids, result.out_ids)
        for kind, layer, head in [("cross", 2, 3), ("encoder", 2, 1), ("cross", 1, 0)]:
            q, k = (v[head] for v in vectors[(kind, layer)])
            weights = result.trace.attention(kind)[layer, head]
            q2, k2 = joint_projection(q, k)
            for i in range(len(q2)):
                nearest = np.linalg.norm(k2 - q2[i], axis=1).argmin()
                hits += (weights[i] > weights[i, nearest]).sum() < 3  # among the 3 keys it attends to most
                total += 1
                chance += min(3, len(k2)) / len(k2)
    assert hits / total >= 0.7 and hits / total > 2 * chance / total, (hits, total, chance)


@pytest.mark.parametrize("weights", ["float32", "int8"])
def test_head_dashboard_renders_from_a_corpus_run_and_names_its_weights(app_env, checkpoint_dir, tokenizer, weights):
    from tests.test_app import charts, no_failures, open_app

    model = tiny_model(tokenizer.vocab_size)
    if weights == "int8":
        model.use_low_precision_weights(torch.int8)
    run_corpus(Ckpt(model, tokenizer), SENTENCES, None, checkpoint_dir / "corpus", chunk_size=4)
    try:
        at = open_app(text="A dog runs.", view="corpus", kind="cross", layer=1, head=2)
        assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
        named = [c.value for c in at.caption if "Weights stored in int8" in c.value]
        assert len(named) == (weights == "int8"), [c.value for c in at.caption]
        titles = [c["layout"]["title"]["text"] for c in charts(at)]
        assert any(t.startswith("This head") for t in titles) and any(t.startswith("Queries and keys") for t in titles)
        assert any(t.startswith("Typical pattern") for t in titles) and any(t.startswith("All heads") for t in titles)
        assert at.query_params["layer"] in ("1", ["1"]) and at.query_params["head"] in ("2", ["2"])
    finally:
        import shutil

        shutil.rmtree(checkpoint_dir / "corpus")


def test_int8_weights_are_opt_in_recorded_and_a_float32_resume_is_refused(checkpoint_dir, tmp_path, capsys):
    from model.corpus import main

    sentences = tmp_path / "sentences.txt"
    sentences.write_text("\n".join(SENTENCES[:3]) + "\n", encoding="utf-8")
    args = ["--checkpoint", str(checkpoint_dir), "--input", str(sentences), "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "f32")]) == 0
    assert main([*args, "--out", str(tmp_path / "int8"), "--weights", "int8"]) == 0
    f32, int8 = corpus_summary(tmp_path / "f32"), corpus_summary(tmp_path / "int8")
    assert (f32.run.weights, int8.run.weights) == ("float32", "int8")
    assert not np.array_equal(f32.stats, int8.stats)  # computed with other weights...
    np.testing.assert_allclose(int8.stats, f32.stats, atol=0.2)  # ...close to float32's (nats, positions)
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "int8")]) == 2
    assert "weights (--weights) int8, not float32" in capsys.readouterr().err


def test_each_chunk_s_size_and_sha256_are_recorded_and_a_damaged_or_missing_one_is_recomputed(
    model, tokenizer, tmp_path
):
    import hashlib

    ckpt = Ckpt(model, tokenizer)
    whole, _ = run_corpus(ckpt, SENTENCES, None, tmp_path / "whole", chunk_size=3)
    run = tmp_path / "run"
    run_corpus(ckpt, SENTENCES, None, run, chunk_size=3)
    recorded = json.loads((run / "progress.json").read_text())["chunk_files"]
    files = sorted(run.glob("chunk-*.npz"))
    assert recorded == {
        f.name: {"bytes": len(f.read_bytes()), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()} for f in files
    }
    truncated, deleted = run / "chunk-00001.npz", run / "chunk-00002.npz"
    size = truncated.stat().st_size
    truncated.write_bytes(truncated.read_bytes()[: size // 2])
    deleted.unlink()
    resumed, repaired = run_corpus(ckpt, SENTENCES, None, run, chunk_size=3)
    assert repaired == [
        f"{truncated} is computed again: it has {size // 2} bytes, not the {size} recorded.",
        f"{deleted} is computed again: it is missing.",
    ]
    assert resumed["done_chunks"] == [0, 1, 2] and resumed["chunk_files"] == whole["chunk_files"]
    assert "repaired" not in json.loads((run / "progress.json").read_text())  # a run's news, not the record's
    assert_same_results(corpus_summary(tmp_path / "whole"), corpus_summary(run))
    flipped = bytearray(truncated.read_bytes())  # same size, other bytes
    flipped[100] ^= 1
    truncated.write_bytes(bytes(flipped))
    assert run_corpus(ckpt, SENTENCES, None, run, chunk_size=3)[1] == [
        f"{truncated} is computed again: its SHA-256 differs from the one recorded (the file was changed)."
    ]
    assert run_corpus(ckpt, SENTENCES, None, run, chunk_size=3)[1] == []


def test_reading_a_run_leaves_a_damaged_chunk_out_with_a_sentence(model, tokenizer, tmp_path):
    run_corpus(Ckpt(model, tokenizer), SENTENCES, None, tmp_path, chunk_size=3)
    whole = corpus_summary(tmp_path)
    assert whole.problems == []
    (tmp_path / "chunk-00001.npz").unlink()
    damaged = corpus_summary(tmp_path)
    assert damaged.problems == [f"{tmp_path / 'chunk-00001.npz'} is left out: it is missing."]
    assert list(damaged.sentence) == [0, 2, 6]  # chunks 0 and 2 (sentence 1 is the empty line)
    np.testing.assert_array_equal(damaged.stats, whole.stats[[0, 1, 5]])


@pytest.mark.parametrize(
    "content, why",
    [
        ("[1, 2]", "must hold a JSON object (a run's record), not list"),
        ("7", "must hold a JSON object (a run's record), not int"),
        ("{oops", "is not valid JSON"),
        ("[" * 100_000, "is nested too deeply to be read"),
        ('{"done_chunks": [0, "1"]}', "gives done_chunks = "),
        ('{"done_chunks": [0], "chunk_files": {"../x": {"bytes": 1, "sha256": "0"}}}', "gives chunk_files = "),
        ('{"seconds": 1}', "is not a corpus run's record: it lists no done_chunks"),
    ],
)
def test_a_malformed_progress_record_is_one_sentence_on_resume_and_on_reading(model, tokenizer, tmp_path, content, why):
    (tmp_path / "progress.json").write_text(content)
    for attempt in (
        lambda: run_corpus(Ckpt(model, tokenizer), SENTENCES[:2], None, tmp_path, chunk_size=2),
        lambda: corpus_summary(tmp_path),
    ):
        with pytest.raises(CorpusError) as refused:
            attempt()
        message = str(refused.value)
        assert message.startswith(str(tmp_path / "progress.json")) and why in message and len(message.splitlines()) == 1


def hand_made_summary() -> CorpusSummary:
    """Two sentences, two heads (encoder 0:0, cross 0:1), one sample each, d_k 2; the cross head's samples are the
    query at target position 1 and the key at source position 0."""
    stats = np.full((2, 2, len(STATS)), np.nan)
    entropy = STATS.index("entropy")
    stats[:, 0, entropy], stats[:, 1, entropy] = [1.0, 3.0], [np.nan, 2.0]
    q = np.array([[[[1.0, 0.0]], [[0.0, 1.0]]], [[[2.0, 0.0]], [[0.0, 2.0]]]])
    positions = np.array([[[0], [1]], [[1], [1]]])
    key_positions = np.array([[[0], [0]], [[1], [0]]])
    text = np.array(["A dog.", "A cat."])
    run = CorpusRun([("encoder", 0, 0), ("cross", 0, 1)], 2, 1.5, 10.0, False, "float32", None, None)
    return CorpusSummary(
        stats=stats,
        q=q,
        k=-q,
        q_pos=positions,
        k_pos=key_positions,
        output=np.array(["Ein Hund.", "Eine Katze."]),
        source=text,
        src_tokens=np.array(["▁A ▁dog . </s>", "▁A ▁cat . </s>"]),
        tgt_tokens=np.array(["</s> ▁Ein ▁Hund .", "</s> ▁Eine ▁Katze ."]),
        sentence=np.array([0, 1]),
        pattern=np.zeros((2, 17)),
        run=run,
        problems=[],
    )


def test_the_summarys_table_extremes_and_projection_labels_by_hand():
    summary = hand_made_summary()
    table = summary.head_table()
    assert list(table["name"]) == ["encoder 0:0", "cross 0:1"] and list(table["kind"]) == ["encoder", "cross"]
    assert table["entropy"].tolist() == [2.0, 2.0]  # (1 + 3) / 2, and the NaN left out of 2.0
    assert summary.extremes(1, "entropy").tolist() == [1, 0]  # 2.0 first, the NaN last
    assert summary.extremes(0, "entropy", count=1).tolist() == [1]
    cross = summary.projection(summary.head_index("cross", 0, 1), "cross")
    # cross: queries are target pieces (▁Ein, ▁Eine at 1), keys source pieces (▁A at 0 in both)
    assert cross.query_labels == ["▁Ein · A dog.", "▁Eine · A cat."]
    assert cross.key_labels == ["▁A · A dog.", "▁A · A cat."]
    assert cross.queries.shape == cross.keys.shape == (2, 2) and cross.query_positions.tolist() == [1, 1]
    encoder = summary.projection(0, "encoder")
    assert encoder.query_labels == ["▁A · A dog.", "▁cat · A cat."] and encoder.key_labels[1] == "▁cat · A cat."
    with pytest.raises(CorpusError, match="no decoder layer 0 head 0: another model made it"):
        summary.head_index("decoder", 0, 0)


def test_a_rewrite_of_the_record_cut_off_midway_leaves_the_old_record(model, tokenizer, tmp_path):
    import resource
    import signal

    ckpt = Ckpt(model, tokenizer)
    run_corpus(ckpt, SENTENCES, None, tmp_path, chunk_size=3)
    before = (tmp_path / "progress.json").read_bytes()
    # nothing is left to do, so the run only rewrites its record: let the disk refuse it after 64 bytes
    limits, handler = resource.getrlimit(resource.RLIMIT_FSIZE), signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, limits[1]))
    try:
        with pytest.raises(OSError):
            run_corpus(ckpt, SENTENCES, None, tmp_path, chunk_size=3)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)
    assert (tmp_path / "progress.json").read_bytes() == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # the partial file is gone

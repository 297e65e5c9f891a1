"""Long sessions: 300 different sentences through one process keep the caches and memory bounded."""

from __future__ import annotations

import resource

import streamlit as st

from model.core.text_files import read_lines
from tests.conftest import DATA
from ui import cache as state


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_300_sentences_keep_memory_bounded(monkeypatch, checkpoint_dir):
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(checkpoint_dir.parent))
    st.cache_data.clear()
    sentences = read_lines(DATA / "val.en.gz")[:300]
    path = str(checkpoint_dir)
    full = state.TRANSLATION_CACHE_ENTRIES
    for s in sentences[:full]:  # fill the cache once
        state.cached_translation(path, s, 1, 8)
    before = rss_mb()
    for s in sentences[full:]:
        state.cached_translation(path, s, 1, 8)
    after = rss_mb()
    print(f"resident memory: {before:.0f} MB after {full} sentences, {after:.0f} MB after 300")
    assert after - before < 50
    st.cache_data.clear()


def test_the_cache_is_bounded(monkeypatch, checkpoint_dir):
    """The bound is what keeps memory flat: old sentences are evicted, recent ones still hit."""
    st.cache_data.clear()
    calls = []
    real = state.translate
    monkeypatch.setattr(state, "translate", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    sentences = read_lines(DATA / "val.en.gz")[300:400]
    for s in sentences:
        state.cached_translation(str(checkpoint_dir), s, 1, 5)
    assert len(calls) == 100
    state.cached_translation(str(checkpoint_dir), sentences[-1], 1, 5)
    assert len(calls) == 100  # recent: served from the cache
    state.cached_translation(str(checkpoint_dir), sentences[0], 1, 5)
    assert len(calls) == 101  # the oldest was evicted
    st.cache_data.clear()

"""Many visitors: concurrent sessions on one cached model each see only their own sentence."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest

from harness.browser import CHROMIUM, CHROMIUM_ARGS, HEATMAP, MAIN_PLOT, streamlit_server
from model.decoding.translation import translate
from tests.conftest import run_concurrently

SENTENCES = [
    "A man rides a bike down the street.",
    "Two children play in the sand.",
    "A woman is reading a book in a park.",
    "A black dog jumps over a log.",
    "People are waiting for the bus.",
    "A chef cooks in a busy kitchen.",
    "An old man sits on a bench.",
    "Three girls dance on a stage.",
]


def test_eight_sessions_at_once(model, tokenizer):
    expected = {s: translate(model, tokenizer, s, max_len=20) for s in SENTENCES}
    latencies, seen = [], {}

    def session(sentence):
        for _ in range(5):
            start = time.perf_counter()
            result = translate(model, tokenizer, sentence, max_len=20)
            latencies.append(time.perf_counter() - start)
            seen.setdefault(sentence, []).append(result)

    assert run_concurrently(session, SENTENCES) == [] and len(latencies) == 40
    for sentence, results in seen.items():
        for r in results:
            assert r.trace.src_pieces == expected[sentence].trace.src_pieces and r.out_ids == expected[sentence].out_ids
            np.testing.assert_array_equal(r.trace.cross, expected[sentence].trace.cross)
    q = statistics.quantiles(latencies, n=20)
    p50, p95 = statistics.median(latencies) * 1000, q[18] * 1000
    print(f"8 concurrent sessions x 5 translations: p50 {p50:.0f} ms, p95 {p95:.0f} ms")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_two_browser_pages_see_their_own_sentence(checkpoint_dir, tokenizer):
    playwright = pytest.importorskip("playwright.sync_api")
    texts = ["A dog runs on the grass.", "Two women drink coffee."]
    with streamlit_server(checkpoint_dir.parent) as (url, proc), playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = [browser.new_page(), browser.new_page()]
        for page, text in zip(pages, texts):
            page.goto(f"{url}/?text={quote(text)}&kind=encoder")  # both load at once
        for page, text in zip(pages, texts):
            page.wait_for_selector(HEATMAP, timeout=60_000)
            ticks = page.locator(f"{MAIN_PLOT} .xtick text").all_text_contents()
            assert ticks == tokenizer.pieces(tokenizer.encode(text)) + ["</s>"]
            box = ".st-key-text input"  # the sentence bar's one-line box
            page.wait_for_selector(box, timeout=30_000)  # the heatmap can come before the widgets' bundles
            assert page.input_value(box) == text
        browser.close()
        assert proc.poll() is None

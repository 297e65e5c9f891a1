"""Hostile input: every kind of text gets a translation or a clear message, never a traceback or a hang."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from model.decoding.translation import InputError, translate
from tests.conftest import ROOT, figures, run_translate
from tests.test_app import heading

HOSTILE = {
    "empty": "",
    "whitespace": " \t  ",
    "10,000 characters": ("A dog runs along the beach. " * 400)[:10_000],
    "one 500-character word": "a" * 500,
    "emoji": "A dog 🐕 runs 🏃‍♂️ on the beach 🏖️.",
    "Korean": "개가 해변에서 달린다.",
    "Chinese": "一只狗在海滩上跑。",
    "Arabic": "كلب يركض على الشاطئ.",
    "combining marks": "A cafe\u0301 with nai\u0308ve pe\u0301ople.",
    "right-to-left override": "A dog \u202eruns on\u202c the beach.",
    "zero-width characters": "A\u200bdog\u200c runs\u200d.\ufeff",
    "control characters": "A dog\x00 runs\x07 on\x1b[31m the beach.\x7f",
    "HTML image payload": "<img src=x onerror=alert(1)>",
    "script tag": "<script>alert('x')</script> A dog runs.",
}
MESSAGE_ONLY = {"empty", "whitespace"}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_model_translates_or_explains(model, tokenizer, name):
    text = HOSTILE[name]
    if name in MESSAGE_ONLY:
        with pytest.raises(InputError, match="empty"):
            translate(model, tokenizer, text)
        return
    result = translate(model, tokenizer, text, max_len=12)
    trace = result.trace
    assert len(trace.src_pieces) <= model.cfg.max_len
    for kind in ("encoder", "decoder", "cross"):
        np.testing.assert_allclose(trace.attention(kind).sum(-1), 1.0, atol=1e-5)
    if name in ("10,000 characters", "one 500-character word"):
        assert result.truncated > 0 and len(result.src_ids) == model.cfg.max_len


def test_cli_gives_one_line_per_hostile_line(checkpoint_dir, tmp_path):
    lines = [HOSTILE[n].replace("\n", " ") for n in HOSTILE]
    source = tmp_path / "hostile.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_translate(checkpoint_dir, 8, "--input", str(source), timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == len(lines)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("input cut to the model's limit") == 2


@pytest.mark.parametrize("name", list(HOSTILE))
def test_app_translates_or_explains(app_env, name):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = HOSTILE[name]
    at.query_params["max_len"] = "8"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error]
    if name in MESSAGE_ONLY:
        assert any("empty" in i.value for i in at.info)
    else:
        assert heading(at).startswith("#### DE:") or "empty translation" in heading(at)
        assert figures(at)
    truncated = [w.value for w in at.warning if "longer than the model's limit" in w.value]
    assert bool(truncated) == (name in ("10,000 characters", "one 500-character word"))
    if truncated:
        assert "the first 63 pieces were kept" in truncated[0]


# Careless or hostile links: each opens the view with the value brought into range and one sentence.
HOSTILE_LINKS = [
    ({"beam": "999"}, {"beam": 16}, "beam=999 is more than 16"),
    ({"beam": "-3"}, {"beam": 1}, "beam=-3 is less than 1"),
    ({"beam": "0", "max_len": "-5"}, {"beam": 1, "max_len": 0}, "max_len=-5 is less than 0"),
    ({"max_len": "100000"}, {"max_len": 256}, "max_len=100000 is more than 256"),
    ({"view": "model", "head": "999"}, {"head": "mean"}, "head=999 is more than 63"),
    ({"view": "model", "head": "9"}, {"head": "mean"}, "this model has 4 heads"),
    ({"view": "model", "head": "NaN"}, {"head": "mean"}, "head='NaN' is not a whole number"),
    ({"view": "steps", "step": "-3"}, {"step": 0}, "step=-3 is less than 0"),
    ({"view": "steps", "step": "500"}, {"step": 0}, "steps"),
    ({"view": "model", "kind": "cross", "layer": "1", "head": "-2"}, {"head": "mean"}, "head=-2 is negative"),
    ({"view": "inside", "layer": "7"}, {"layer": 1}, "this model has 2 layers"),
    ({"view": "nowhere"}, {"view": "translate"}, "view='nowhere' is not one of"),
    ({"kind": "<script>"}, {"kind": "cross"}, "is not one of encoder, decoder, cross"),
    ({"tidy": "maybe"}, {"tidy": True}, "tidy='maybe' is not 0 or 1"),
    ({"ckpt": "no-such-model"}, {"ckpt": "tiny-en-de"}, "no checkpoint named “no-such-model”"),
]


@pytest.mark.parametrize("params, expected, sentence", HOSTILE_LINKS, ids=lambda v: str(v)[:40])
def test_hostile_links_open_in_range_with_one_sentence(app_env, params, expected, sentence):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not [e.value for e in at.error], [e.value for e in at.exception + at.error]
    assert figures(at)
    for key, value in expected.items():
        assert at.session_state[key] == value, key
    warnings = " ".join(w.value for w in at.warning).replace("\\_", "_")  # markdown's escape of max_len's "_"
    assert sentence in warnings, warnings


def test_a_beam_from_the_link_is_what_the_search_uses(app_env, monkeypatch):
    from ui import cache

    beams = []
    real = cache.translate
    monkeypatch.setattr(cache, "translate", lambda *a, **k: beams.append(k.get("beam")) or real(*a, **k))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["text"] = "A dog runs."
    at.query_params["beam"] = "100000"
    at.run()
    assert beams == [16] and at.query_params["beam"] in ("16", ["16"])  # and the link now says what was used

"""Hostile input: every kind of text gets a translation or a clear message, never a traceback or a hang."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from model.decoding.translation import InputError, translate
from tests.conftest import ROOT, figures
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
    assert len(trace.src_tokens) <= model.cfg.max_len
    for kind in ("encoder", "decoder", "cross"):
        np.testing.assert_allclose(trace.attention(kind).sum(-1), 1.0, atol=1e-5)
    if name in ("10,000 characters", "one 500-character word"):
        assert result.truncated > 0 and len(result.src_ids) == model.cfg.max_len


def test_cli_gives_one_line_per_hostile_line(checkpoint_dir, tmp_path):
    lines = [HOSTILE[n].replace("\n", " ") for n in HOSTILE]
    source = tmp_path / "hostile.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "model.translate",
            "--checkpoint",
            str(checkpoint_dir),
            "--max-len",
            "8",
            "--input",
            str(source),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
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

"""Text shown in the page: escaping, and the one-line model summary."""

from __future__ import annotations

import html
import math
import re

from model.core.checkpoint import Checkpoint
from model.links.parameters import DEFAULT_CHECKPOINT, DEFAULT_TEXT

__all__ = ["DEFAULT_CHECKPOINT", "DEFAULT_TEXT", "PLAIN_CSS", "card_summary", "plain", "plain_caption"]
# Characters that open markdown (or Streamlit's math and HTML) wherever they stand: a backslash escapes each.
MARKDOWN_ANYWHERE = re.compile(r"([\\`*_{}\[\]()<>!|~$&#])")
# At the start of a line, these start a list, a quote or a heading ("1." and "1)" a numbered list).
MARKDOWN_AT_START = re.compile(r"^(\s*)([-+=>]|\d+(?=[.)]))")
ZERO_WIDTH_SPACE = "\u200b"
# Streamlit's markdown (remark-gfm) turns `www.x`, `http://x`, `https://x` and `a@b.c` in text into links, after
# backslash escapes are resolved: an invisible space at these places leaves them text.
AUTOLINK_TRIGGERS = re.compile(r"(?i)(?<=www)(?=\.)|(?<=:)(?=//)|(?=@)")


def plain(text: object) -> str:
    """`text` from outside (a link, a deck, a checkpoint folder, a typed sentence) as markdown that shows that text:
    no image, link, emphasis, HTML, math, list or heading, and no bare address or e-mail made into a link; on one
    line (a line break in markdown is a space anyway). Every message that quotes such a value in markdown
    (st.markdown, st.caption, st.warning, st.error, st.info, widget labels) passes the value, or the whole
    sentence, through here."""
    line = " ".join(str(text).splitlines())
    line = MARKDOWN_ANYWHERE.sub(r"\\\1", AUTOLINK_TRIGGERS.sub(ZERO_WIDTH_SPACE, line))
    start = MARKDOWN_AT_START.match(line)
    if start and start.group(2)[0].isdigit():  # "1." stays text: escape the dot
        return line[: start.end()] + "\\" + line[start.end() :]
    return MARKDOWN_AT_START.sub(r"\1\\\2", line, count=1) if start else line


def plain_caption(container, text: str) -> None:
    """`text` as a caption that is only text, rendered as escaped HTML rather than markdown (no invisible spaces:
    what is copied from it is what was written)."""
    container.html(f'<div class="headlight-plain">{html.escape(str(text))}</div>')


PLAIN_CSS = """<style>
.headlight-plain {font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); line-height: 1.4; overflow-wrap: anywhere}
</style>"""


def card_summary(ckpt: Checkpoint) -> str:
    """One line about the model, as plain text (the caller escapes it: the languages and scores come from the
    folder's config.json and card.json); a card's score that is not a number is left out."""
    cfg = ckpt.model.cfg
    depth = (
        f"{cfg.n_encoder_layers} layers"
        if cfg.n_encoder_layers == cfg.n_decoder_layers
        else f"{cfg.n_encoder_layers} encoder + {cfg.n_decoder_layers} decoder layers"
    )
    text = (
        f"{ckpt.src_lang} → {ckpt.tgt_lang} · {ckpt.model.num_parameters() / 1e6:.1f}M parameters · "
        f"{depth} × {cfg.n_heads} heads"
    )
    evaluation = ckpt.card.get("evaluation") if isinstance(ckpt.card, dict) else None
    for test_set in ("tatoeba_test", "test_2016_flickr"):
        scores = evaluation.get(test_set) if isinstance(evaluation, dict) else None
        beam4 = scores.get("beam4") if isinstance(scores, dict) else None
        bleu = beam4.get("bleu") if isinstance(beam4, dict) else None
        if isinstance(bleu, (int, float)) and not isinstance(bleu, bool) and math.isfinite(bleu):
            return text + f" · BLEU {bleu:.1f} on {test_set} (beam 4)"
    return text

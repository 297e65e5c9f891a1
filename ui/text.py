"""Text shown in the page: escaping, and the one-line model summary."""

from __future__ import annotations

import html
import re

from model.analysis.view_parameters import DEFAULT_CHECKPOINT, DEFAULT_TEXT
from model.core.checkpoint import Checkpoint

__all__ = ["DEFAULT_CHECKPOINT", "DEFAULT_TEXT", "PLAIN_CSS", "card_summary", "md_escape", "plain_caption"]
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def md_escape(text: str) -> str:
    """Text shown literally inside markdown (no links, images, emphasis or HTML)."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", text)


def plain_caption(container, text: str) -> None:
    """`text` as a caption that is only text: no markdown, so no image, no link, not even a bare address made into a
    link (markdown escaping cannot stop those)."""
    container.html(f'<div class="headlight-plain">{html.escape(text)}</div>')


PLAIN_CSS = """<style>
.headlight-plain {font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); line-height: 1.4; overflow-wrap: anywhere}
</style>"""


def card_summary(ckpt: Checkpoint) -> str:
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
    evaluation = ckpt.card.get("evaluation", {})
    for test_set in ("tatoeba_test", "test_2016_flickr"):
        scores = evaluation.get(test_set, {}).get("beam4")
        if scores:
            return text + f" · BLEU {scores['bleu']:.1f} on {test_set} (beam 4)"
    return text

"""The attention kinds, written once: their names, their English titles, the axes they read, and the one check.

An encoder-decoder has three attentions: the encoder's self-attention, the decoder's masked self-attention and the
decoder's attention on the encoder (cross). "encoder" and "decoder" also name the two stacks. A decoder-only model
has one self-attention; its trace cuts the same three slots from it and adds the whole matrix (WHOLE), titled for
what they are in that architecture (DECODER_ONLY_LABELS). Translations of the titles live in ui/i18n.py, which takes
the English from here.
"""

from __future__ import annotations

from collections.abc import Collection

KINDS = ("encoder", "decoder", "cross")

KIND_LABELS = {
    "encoder": "Encoder self-attention",
    "decoder": "Decoder masked self-attention",
    "cross": "Encoder-decoder (cross) attention",
}

# (query axis, key axis) of each kind: "src" = encoder input pieces, "tgt" = decoder input pieces,
# "all" = every piece a decoder-only model read (prompt and output)
AXES = {"encoder": ("src", "src"), "decoder": ("tgt", "tgt"), "cross": ("tgt", "src")}

WHOLE = "whole"
DECODER_ONLY_KINDS = (*KINDS, WHOLE)
DECODER_ONLY_LABELS = {
    "encoder": "Source self-attention",
    "decoder": "Output self-attention",
    "cross": "Output → source attention",
    WHOLE: "Whole self-attention",
}
DECODER_ONLY_AXES = {**AXES, WHOLE: ("all", "all")}


def check_kind(kind: str, kinds: Collection[str] = KINDS) -> None:
    """Refuse a kind outside `kinds` (by default the encoder-decoder's three) with one sentence naming them."""
    if kind not in kinds:
        raise ValueError(f"unknown attention kind {kind!r}; expected one of {', '.join(kinds)}")

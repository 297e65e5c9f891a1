"""Every hook point's name, written once: `hook_name(kind, layer, what)` is the one way to spell one."""

from __future__ import annotations

# Hook names: every hook point a view reads, by attention kind; "what" is one of HEAD_PIPELINE.
HOOK_PATTERNS = {
    "encoder": "encoder.layers.{layer}.self_attn.hook_{what}",
    "decoder": "decoder.layers.{layer}.self_attn.hook_{what}",
    "cross": "decoder.layers.{layer}.cross_attn.hook_{what}",
}


HEAD_PIPELINE = ("q", "k", "v", "scores", "masked_scores", "weights", "head_out")


KINDS = ("encoder", "decoder", "cross")


def hook_name(kind: str, layer: int | str, what: str = "weights") -> str:
    if kind not in HOOK_PATTERNS:
        raise ValueError(f"unknown attention kind {kind!r}; expected one of {', '.join(KINDS)}")
    return HOOK_PATTERNS[kind].format(layer=layer, what=what)


ALL_WEIGHTS = [hook_name(kind, "*") for kind in KINDS]

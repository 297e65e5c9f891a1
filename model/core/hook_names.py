"""Every hook point's name, written once: `hook_name(kind, layer, what)` is the one way to spell one.

As TransformerLens's `get_act_name`, one function names every point a model records, so no other module types a
hook name: an implementation of the interface (model/core/interface.py) answers to these names, whatever its
parts are called. The points, by what `what` is:

- one attention, per `kind` (encoder, decoder, cross) and layer: HEAD_PIPELINE (per head: q, k, v, scores,
  masked_scores, weights, head_out, each [batch, head, ...]) and "out" (the sub-layer's output after W_O,
  [batch, q_pos, d_model]);
- one stack's residual stream, per `kind` (encoder or decoder) and layer: STREAM_POINTS, [batch, pos, d_model]:
  the encoder's resid_mid (after self-attention) and resid_post (the layer's output), the decoder's resid_self,
  resid_cross and resid_post; and "ffn_out", the feed-forward sub-layer's output before it is added;
- one stack's embedding, per `kind` (encoder or decoder), layer None: EMBEDDING_POINTS: tokens (token
  embedding x scale, [batch, pos, d_model]), pos (the positional rows added, [pos, d_model]: no batch) and sum
  (what enters the first layer).
"""

from __future__ import annotations

from model.core.kinds import KINDS, check_kind

STACKS = ("encoder", "decoder")


HEAD_PIPELINE = ("q", "k", "v", "scores", "masked_scores", "weights", "head_out")


ATTENTION_POINTS = (*HEAD_PIPELINE, "out")


STREAM_POINTS = {
    "encoder": ("resid_mid", "resid_post", "ffn_out"),
    "decoder": ("resid_self", "resid_cross", "resid_post", "ffn_out"),
}


EMBEDDING_POINTS = ("tokens", "pos", "sum")


ATTENTION_MODULE = {"encoder": "encoder.layers.{layer}.self_attn", "decoder": "decoder.layers.{layer}.self_attn"}
ATTENTION_MODULE["cross"] = "decoder.layers.{layer}.cross_attn"


def hook_name(kind: str, layer: int | str | None, what: str = "weights") -> str:
    """The name of one hook point (see the module's docstring); `layer` may be "*" to make a glob for `capture`."""
    check_kind(kind)
    if what in ATTENTION_POINTS:
        return f"{ATTENTION_MODULE[kind].format(layer=_layer(layer, what))}.hook_{what}"
    if what in STREAM_POINTS.get(kind, ()):
        prefix = f"{kind}.layers.{_layer(layer, what)}"
        return f"{prefix}.ffn.hook_out" if what == "ffn_out" else f"{prefix}.hook_{what}"
    if what in EMBEDDING_POINTS and kind in STACKS:
        if layer is not None:
            raise ValueError(f"the embedding's {what!r} belongs to no layer (give layer None)")
        return f"{kind}.embed.hook_{what}"
    known = ", ".join((*ATTENTION_POINTS, *STREAM_POINTS.get(kind, ()), *(EMBEDDING_POINTS if kind in STACKS else ())))
    raise ValueError(f"{kind} has no hook point {what!r}; expected one of {known}")


def _layer(layer: int | str | None, what: str) -> int | str:
    if layer is None:
        raise ValueError(f"{what!r} is recorded per layer: give a layer")
    return layer


def every_hook_name(cfg) -> list[str]:
    """Every hook point of a model whose config is `cfg` (its `layers(stack)`), by stack and layer."""
    names = []
    for stack in STACKS:
        names += [hook_name(stack, None, what) for what in EMBEDDING_POINTS]
        kinds = ("encoder",) if stack == "encoder" else ("decoder", "cross")
        for layer in range(cfg.layers(stack)):
            names += [hook_name(kind, layer, what) for kind in kinds for what in ATTENTION_POINTS]
            names += [hook_name(stack, layer, what) for what in STREAM_POINTS[stack]]
    return names


ALL_WEIGHTS = [hook_name(kind, "*") for kind in KINDS]

"""The paper's forward pass, step by step, with one sentence's real numbers (the Lesson view).

`lesson_numbers` runs one teacher-forced pass over the sentence and its translation, records every
intermediate the lesson shows through the hook points, and derives the "why" numbers from them:
why √d_k, why sinusoids, why residual connections, why attention and not an RNN, and what the
decoder would predict if it stopped after each layer. Everything is NumPy on the way out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from model.core.head_selection import check_head
from model.core.hook_names import EMBEDDING_POINTS, HEAD_PIPELINE, STREAM_POINTS, hook_name
from model.core.hooks import capture
from model.core.interface import TranslationModel
from model.decoding.trace_from_hooks import decoder_input


@dataclass(frozen=True)
class LessonChoice:
    kind: str  # the attention the Q/K/V sections follow: encoder or decoder or cross
    layer: int
    head: int
    position: int  # the query position (a source piece for the encoder, a decoder position otherwise)


@dataclass(frozen=True)
class HeadSteps:
    """One head's attention, step by step (Q query positions, K key positions)."""

    q: np.ndarray  # [Q, d_k]
    k: np.ndarray  # [K, d_k]
    v: np.ndarray  # [K, d_k]
    scores: np.ndarray  # [Q, K]: q·k / sqrt(d_k)
    masked_scores: np.ndarray  # [Q, K]: the scores plus the mask (−inf where a query may not look)
    weights: np.ndarray  # [Q, K]: softmax of the masked scores
    head_out: np.ndarray  # [Q, d_k]: weights @ v


@dataclass(frozen=True)
class WhyScale:
    """Why sqrt(d_k): the spread of raw dot products, and one query row's softmax with and without the scaling."""

    d_k: int
    dot_variance: float  # variance of every raw q·k of the head
    q_variance: float
    k_variance: float
    entropy_scaled_bits: float
    entropy_unscaled_bits: float
    max_weight_scaled: float
    max_weight_unscaled: float
    uniform_bits: float  # the entropy of attending equally to every allowed key


@dataclass(frozen=True)
class ResidualSize:
    """One encoder sub-layer: |its output| against |the stream it is added to|, averaged over positions."""

    stack: str
    layer: int
    sublayer: str  # self-attention or feed-forward
    residual_norm: float
    sublayer_norm: float


@dataclass(frozen=True)
class LensLayer:
    """The logit lens at one decoder layer: the top pieces if the decoder stopped there, per output position."""

    layer: int
    top_ids: np.ndarray  # [T, top_k]
    top_probs: np.ndarray  # [T, top_k]
    stream: np.ndarray  # [T, d_model]: the layer's output


@dataclass(frozen=True)
class WhyAttention:
    """Path lengths between the first and the last source piece: one attention step against an RNN's chain."""

    pieces: int
    attention_path: int
    rnn_path: int
    attention_sequential_steps: int
    rnn_sequential_steps: int


@dataclass(frozen=True)
class PositionAlternatives:
    """Why sinusoids, in numbers: integer positions, fractions of the length, and the sinusoids themselves."""

    integer_last: int  # the last position as an integer
    integer_last_vs_embedding: float  # ... against the mean |embedding|
    fraction_same_value: tuple[float, int]  # a fraction of this sentence, and the position it is in a longer one
    sinusoid_norm: float
    sinusoid_min_distance: float  # the closest two positions' sinusoids (of the first 60)
    positions_defined: int


@dataclass(frozen=True)
class LessonNumbers:
    """Every number the lesson shows for one sentence and one `LessonChoice` (T decoder positions, S source pieces;
    the chosen stack's arrays are over its own positions)."""

    choice: LessonChoice
    src_ids: list[int]
    tgt_in_ids: list[int]  # the decoder's input: the start id, then the output but its last piece
    out_ids: list[int]
    token_embedding: np.ndarray  # [pos, d_model]: E[id] x the embedding scale
    positional: np.ndarray  # [pos, d_model]: the rows added
    layer_input: np.ndarray  # [pos, d_model]: what enters the first layer
    embedding_scale: float
    head_steps: HeadSteps  # the chosen head
    heads_concat: np.ndarray  # [Q, d_model]: every head's output side by side
    w_o: np.ndarray  # [d_model, d_model], as y = x W^T
    w_o_bias: np.ndarray  # [d_model]
    stream_in: np.ndarray  # [Q, d_model]: the residual stream the attention reads
    add_norm_out: np.ndarray  # [Q, d_model]: the stream after its Add & Norm
    why_scale: WhyScale
    residual: list[ResidualSize]  # per encoder sub-layer
    per_layer: list[LensLayer]  # the logit lens, per decoder layer ([] when computed apart: `lens_numbers`)
    final_top_ids: np.ndarray  # [T, top_k]: the model's own prediction
    final_top_probs: np.ndarray  # [T, top_k]
    why_attention: WhyAttention

    def sublayer_output(self, position: int) -> np.ndarray:
        """[d_model]: the attention sub-layer's output at one query position, Concat(heads) W_O + b."""
        return self.heads_concat[position] @ self.w_o.T + self.w_o_bias


def entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


def _stream_names(model: TranslationModel) -> list[str]:
    """Both stacks' embeddings, every layer's residual stream and the encoder's sub-layer outputs."""
    cfg, names = model.cfg, []
    for stack in ("encoder", "decoder"):
        names += [hook_name(stack, None, what) for what in EMBEDDING_POINTS]
        names += [hook_name(stack, l, what) for l in range(cfg.layers(stack)) for what in STREAM_POINTS[stack]]
    names += [hook_name("encoder", l, "out") for l in range(cfg.n_encoder_layers)]
    return names


def _layer_input_name(kind: str, layer: int) -> str:
    """The residual stream an attention reads (post-norm: also what its output is added to)."""
    if kind == "cross":
        return hook_name("decoder", layer, "resid_self")
    return hook_name(kind, None, "sum") if layer == 0 else hook_name(kind, layer - 1, "resid_post")


def _add_norm_name(kind: str, layer: int) -> str:
    """The residual stream right after an attention's Add & Norm."""
    after = {"encoder": "resid_mid", "decoder": "resid_self", "cross": "resid_cross"}[kind]
    return hook_name("encoder" if kind == "encoder" else "decoder", layer, after)


def why_scale(head: HeadSteps, position: int, d_k: int) -> WhyScale:
    """Why sqrt(d_k): this head's raw query-key dot products, and the softmax of one row with and without the
    scaling."""
    raw = head.q @ head.k.T  # [Q, K]
    allowed = np.isfinite(head.masked_scores[position])
    scaled_row, raw_row = raw[position][allowed] / math.sqrt(d_k), raw[position][allowed]
    return WhyScale(
        d_k=d_k,
        dot_variance=float(raw.var()),
        q_variance=float(head.q.var()),
        k_variance=float(head.k.var()),
        entropy_scaled_bits=entropy_bits(softmax(scaled_row)),
        entropy_unscaled_bits=entropy_bits(softmax(raw_row)),
        max_weight_scaled=float(softmax(scaled_row).max()),
        max_weight_unscaled=float(softmax(raw_row).max()),
        uniform_bits=math.log2(int(allowed.sum())),
    )


def residual_sizes(cfg, rec: dict[str, torch.Tensor]) -> list[ResidualSize]:
    """Residual connections: per encoder sub-layer, |its output| against |the stream it is added to| (post-norm:
    before the norm), averaged over positions."""
    rows = []
    for l in range(cfg.n_encoder_layers):
        stream_in, mid = rec[_layer_input_name("encoder", l)], rec[hook_name("encoder", l, "resid_mid")]
        for sublayer, residual, output in (
            ("self-attention", stream_in, rec[hook_name("encoder", l, "out")]),
            ("feed-forward", mid, rec[hook_name("encoder", l, "ffn_out")]),
        ):
            rows.append(
                ResidualSize(
                    "encoder", l, sublayer, float(residual.norm(dim=-1).mean()), float(output.norm(dim=-1).mean())
                )
            )
    return rows


def logit_lens(model: TranslationModel, rec: dict[str, torch.Tensor], top_k: int) -> list[LensLayer]:
    """What the decoder would predict if it stopped after each layer: final norm and output layer on that stream."""
    device, per_layer = next(model.parameters()).device, []
    for l in range(model.cfg.n_decoder_layers):
        stream = rec[hook_name("decoder", l, "resid_post")].to(device)
        logp = torch.log_softmax(model.unembed(stream).float(), dim=-1).cpu()
        values, ids = logp.exp().topk(top_k, dim=-1)
        per_layer.append(LensLayer(l, ids.numpy(), values.numpy(), stream.cpu().numpy()))
    return per_layer


@torch.inference_mode()
def lens_numbers(model: TranslationModel, src_ids: list[int], out_ids: list[int], top_k: int = 5) -> list[LensLayer]:
    """The logit lens alone (`logit_lens`: one row per decoder layer). It depends on the sentence, not on the chosen
    head, and at NLLB's 256,206-piece vocabulary it is most of the lesson's time (~6 s of ~7 for 48 output pieces on one
    core): the app computes it once per translation and the rest (`lesson_numbers(..., with_lens=False)`) per head."""
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], device=device)
    tgt_in = torch.tensor([decoder_input(model, out_ids)], device=device)
    names = [hook_name("decoder", l, "resid_post") for l in range(model.cfg.n_decoder_layers)]
    with capture(model, names) as run:
        model(src, tgt_in)
    return logit_lens(model, {name: run.tensor(name, row=0).float().cpu() for name in names}, top_k)


@torch.inference_mode()
def lesson_numbers(
    model: TranslationModel,
    src_ids: list[int],
    out_ids: list[int],
    choice: LessonChoice,
    top_k: int = 5,
    with_lens: bool = True,
) -> LessonNumbers:
    """Every number the lesson shows, for the chosen attention kind, layer, head and query position (`with_lens`
    False: all but the logit lens, whose `per_layer` is then [], for `lens_numbers` to fill)."""
    cfg = model.cfg
    check_head(cfg, choice.kind, choice.layer, choice.head)
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], device=device)
    tgt_in = torch.tensor([decoder_input(model, out_ids)], device=device)
    head_parts = {what: hook_name(choice.kind, choice.layer, what) for what in HEAD_PIPELINE}
    with capture(model, sorted({*head_parts.values(), *_stream_names(model)})) as run:
        logits = model(src, tgt_in)
    # every record is [batch, ...] except the positional rows added, which are [pos, d_model]
    positions = {hook_name(stack, None, "pos") for stack in ("encoder", "decoder")}
    rec = {name: run.tensor(name, row=None if name in positions else 0).float().cpu() for name in run.records}
    head = HeadSteps(**{what: rec[name][choice.head].numpy() for what, name in head_parts.items()})
    final = torch.log_softmax(logits[0].float(), dim=-1).cpu()
    values, ids = final.exp().topk(top_k, dim=-1)
    weights = model.attention_weights(choice.kind, choice.layer)
    stack = "encoder" if choice.kind == "encoder" else "decoder"
    return LessonNumbers(
        choice=choice,
        src_ids=list(src_ids),
        tgt_in_ids=tgt_in[0].tolist(),
        out_ids=list(out_ids),
        token_embedding=rec[hook_name(stack, None, "tokens")].numpy(),
        positional=rec[hook_name(stack, None, "pos")].numpy(),
        layer_input=rec[hook_name(stack, None, "sum")].numpy(),
        embedding_scale=math.sqrt(cfg.d_model) if cfg.scale_embedding else 1.0,
        head_steps=head,
        heads_concat=np.concatenate(list(rec[head_parts["head_out"]].numpy()), axis=-1),
        w_o=weights.W_O.reshape(cfg.n_heads * cfg.d_k, cfg.d_model).T.detach().cpu().numpy(),
        w_o_bias=weights.b_O.detach().cpu().numpy(),
        stream_in=rec[_layer_input_name(choice.kind, choice.layer)].numpy(),
        add_norm_out=rec[_add_norm_name(choice.kind, choice.layer)].numpy(),
        why_scale=why_scale(head, choice.position, cfg.d_k),
        residual=residual_sizes(cfg, rec),
        per_layer=logit_lens(model, rec, top_k) if with_lens else [],
        final_top_ids=ids.numpy(),
        final_top_probs=values.numpy(),
        why_attention=WhyAttention(
            pieces=len(src_ids),
            attention_path=1,
            rnn_path=len(src_ids) - 1,
            attention_sequential_steps=cfg.n_encoder_layers,
            rnn_sequential_steps=len(src_ids),
        ),
    )


def position_alternatives(
    pe: np.ndarray, embedding_norm: float, length: int, long_length: int = 100
) -> PositionAlternatives:
    """Why sinusoids, in numbers: integer positions, fractions of the length, and the sinusoids themselves."""
    p = min(5, length - 1)
    return PositionAlternatives(
        integer_last=length - 1,
        integer_last_vs_embedding=(length - 1) / max(embedding_norm, 1e-9),
        fraction_same_value=(
            p / (length - 1) if length > 1 else 0.0,
            round(p / (length - 1) * (long_length - 1)) if length > 1 else 0,
        ),
        sinusoid_norm=float(np.linalg.norm(pe[0])),
        sinusoid_min_distance=float(
            min(np.linalg.norm(pe[i] - pe[j]) for i in range(min(len(pe), 60)) for j in range(i))
        ),
        positions_defined=len(pe),
    )

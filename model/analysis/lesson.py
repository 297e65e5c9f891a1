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
from model.core.hook_names import hook_name
from model.core.hooks import capture
from model.core.interface import TranslationModel
from model.decoding.trace_from_hooks import decoder_input


@dataclass
class LessonChoice:
    kind: str  # the attention the Q/K/V sections follow: encoder or decoder or cross
    layer: int
    head: int
    position: int  # the query position (a source piece for the encoder, a decoder position otherwise)


def entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


def _stream_names(model: TranslationModel) -> list[str]:
    cfg = model.cfg
    names = [
        "encoder.embed.hook_tokens",
        "encoder.embed.hook_pos",
        "encoder.embed.hook_sum",
        "decoder.embed.hook_tokens",
        "decoder.embed.hook_pos",
        "decoder.embed.hook_sum",
    ]
    for l in range(cfg.n_encoder_layers):
        names += [f"encoder.layers.{l}.hook_resid_mid", f"encoder.layers.{l}.hook_resid_post"]
    for l in range(cfg.n_decoder_layers):
        names += [
            f"decoder.layers.{l}.hook_resid_self",
            f"decoder.layers.{l}.hook_resid_cross",
            f"decoder.layers.{l}.hook_resid_post",
        ]
    return names


@torch.inference_mode()
def lesson_numbers(
    model: TranslationModel, src_ids: list[int], out_ids: list[int], choice: LessonChoice, top_k: int = 5
) -> dict:
    """Every number the lesson shows, for the chosen attention kind, layer, head and query position."""
    cfg = model.cfg
    check_head(cfg, choice.kind, choice.layer, choice.head)
    device = next(model.parameters()).device
    src = torch.tensor([src_ids], device=device)
    tgt_in = torch.tensor([decoder_input(model, out_ids)], device=device)
    head_parts = {
        w: hook_name(choice.kind, choice.layer, w)
        for w in ("q", "k", "v", "scores", "masked_scores", "weights", "head_out")
    }
    attn_out_name = {
        "encoder": f"encoder.layers.{choice.layer}.hook_resid_mid",
        "decoder": f"decoder.layers.{choice.layer}.hook_resid_self",
        "cross": f"decoder.layers.{choice.layer}.hook_resid_cross",
    }[choice.kind]
    with capture(model, list(head_parts.values()) + _stream_names(model)) as run:
        logits = model(src, tgt_in)
    # every record is [batch, ...] except the positional encoding added, which is [pos, d_model]
    rec = {name: (t if name.endswith("hook_pos") else t[0]).float().cpu() for name, (t, *_) in run.records.items()}
    p = choice.position
    head = {w: rec[name][choice.head].numpy() for w, name in head_parts.items()}
    d_k = cfg.d_k

    # why sqrt(d_k): raw dot products of this head's queries and keys, and the softmax with and without the scaling
    raw = head["q"] @ head["k"].T  # [Q, K]
    allowed = np.isfinite(head["masked_scores"][p])
    scaled_row, raw_row = raw[p][allowed] / math.sqrt(d_k), raw[p][allowed]
    why_scale = {
        "d_k": d_k,
        "dot_variance": float(raw.var()),
        "q_variance": float(head["q"].var()),
        "k_variance": float(head["k"].var()),
        "entropy_scaled_bits": entropy_bits(softmax(scaled_row)),
        "entropy_unscaled_bits": entropy_bits(softmax(raw_row)),
        "max_weight_scaled": float(softmax(scaled_row).max()),
        "max_weight_unscaled": float(softmax(raw_row).max()),
        "uniform_bits": math.log2(int(allowed.sum())),
    }

    # residual connections: |sub-layer output| against |the stream it is added to|, per layer (post-norm: before the
    # norm)
    residual = []
    enc_in = rec["encoder.embed.hook_sum"]
    for l in range(cfg.n_encoder_layers):
        layer = model.encoder.layers[l]
        mid = rec[f"encoder.layers.{l}.hook_resid_mid"]
        x = layer.sublayer_attn.norm(enc_in.to(device)) if cfg.norm_first else enc_in.to(device)
        attn = layer.self_attn(x[None], x[None], model.src_mask(src))[0].cpu()
        y = layer.sublayer_ffn.norm(mid.to(device)) if cfg.norm_first else mid.to(device)
        ffn = layer.ffn(y[None])[0].cpu()
        residual.append(
            {
                "stack": "encoder",
                "layer": l,
                "sublayer": "self-attention",
                "residual_norm": float(enc_in.norm(dim=-1).mean()),
                "sublayer_norm": float(attn.norm(dim=-1).mean()),
            }
        )
        residual.append(
            {
                "stack": "encoder",
                "layer": l,
                "sublayer": "feed-forward",
                "residual_norm": float(mid.norm(dim=-1).mean()),
                "sublayer_norm": float(ffn.norm(dim=-1).mean()),
            }
        )
        enc_in = rec[f"encoder.layers.{l}.hook_resid_post"]

    # logit lens: what the decoder would predict after each layer (final norm + output projection on that stream)
    per_layer = []
    for l in range(cfg.n_decoder_layers):
        stream = rec[f"decoder.layers.{l}.hook_resid_post"].to(device)
        logp = torch.log_softmax(model.generator(model.decoder.final_norm(stream)).float(), dim=-1).cpu()
        values, ids = logp.exp().topk(top_k, dim=-1)
        per_layer.append(
            {"layer": l, "top_ids": ids.numpy(), "top_probs": values.numpy(), "stream": stream.cpu().numpy()}
        )
    final = torch.log_softmax(logits[0].float(), dim=-1).cpu()
    values, ids = final.exp().topk(top_k, dim=-1)

    # Add & Norm of the chosen attention: LayerNorm(x + Sublayer(x)) on the chosen position
    # (only the chosen kind's names are looked up: the two stacks may have different depths)
    if choice.kind == "cross":
        stream_in = rec[f"decoder.layers.{choice.layer}.hook_resid_self"]
    else:
        stack_name = choice.kind
        stream_in = (
            rec[f"{stack_name}.embed.hook_sum"]
            if choice.layer == 0
            else rec[f"{stack_name}.layers.{choice.layer - 1}.hook_resid_post"]
        )
    stack = model.encoder if choice.kind == "encoder" else model.decoder
    module = stack.layers[choice.layer].cross_attn if choice.kind == "cross" else stack.layers[choice.layer].self_attn
    w_o = module.w_o.weight.detach().float().cpu().numpy()
    heads_concat = np.concatenate(
        [rec[head_parts["head_out"]].numpy()[h] for h in range(cfg.n_heads)], axis=-1
    )  # [Q, d_model]
    return {
        "choice": choice,
        "src_ids": list(src_ids),
        "tgt_in_ids": tgt_in[0].tolist(),
        "out_ids": list(out_ids),
        "token_embedding": (
            rec["encoder.embed.hook_tokens"] if choice.kind == "encoder" else rec["decoder.embed.hook_tokens"]
        ).numpy(),
        "positional": (
            rec["encoder.embed.hook_pos"] if choice.kind == "encoder" else rec["decoder.embed.hook_pos"]
        ).numpy(),
        "layer_input": (
            rec["encoder.embed.hook_sum"] if choice.kind == "encoder" else rec["decoder.embed.hook_sum"]
        ).numpy(),
        "embedding_scale": float(stack.embed.scale),
        "head": head,
        "heads_concat": heads_concat,
        "w_o": w_o,
        "w_o_bias": module.w_o.bias.detach().float().cpu().numpy(),
        "stream_in": stream_in.numpy(),
        "add_norm_out": rec[attn_out_name].numpy(),
        "why_scale": why_scale,
        "residual": residual,
        "per_layer": per_layer,
        "final_top_ids": ids.numpy(),
        "final_top_probs": values.numpy(),
        "why_attention": {
            "pieces": len(src_ids),
            "attention_path": 1,
            "rnn_path": len(src_ids) - 1,
            "attention_sequential_steps": cfg.n_encoder_layers,
            "rnn_sequential_steps": len(src_ids),
        },
    }


def position_alternatives(pe: np.ndarray, embedding_norm: float, length: int, long_length: int = 100) -> dict:
    """Why sinusoids, in numbers: integer positions, fractions of the length, and the sinusoids themselves."""
    p = min(5, length - 1)
    return {
        "integer_last": length - 1,
        "integer_last_vs_embedding": (length - 1) / max(embedding_norm, 1e-9),
        "fraction_same_value": (
            p / (length - 1) if length > 1 else 0.0,
            round(p / (length - 1) * (long_length - 1)) if length > 1 else 0,
        ),
        "sinusoid_norm": float(np.linalg.norm(pe[0])),
        "sinusoid_min_distance": float(
            min(np.linalg.norm(pe[i] - pe[j]) for i in range(min(len(pe), 60)) for j in range(i))
        ),
        "positions_defined": len(pe),
    }

"""Headlight benchmarks: `python bench/run.py [--quick] [--json PATH]`.

Every figure is measured in this run: ratios time the two sides interleaved (A, B, A, B, ...) on the
same thread count and report the ratio of their medians. Needs `pip install -r requirements-bench.txt`
for the Hugging Face comparison, and Debian's chromium for the app timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.core.checkpoint import find_checkpoints, load_checkpoint  # noqa: E402
from model.core.text_files import read_lines  # noqa: E402
from model.core.transformer import Transformer  # noqa: E402
from model.decoding.batch import collate  # noqa: E402
from model.decoding.translation import translate  # noqa: E402
from model.training.data import encode_pairs, make_batches  # noqa: E402
from viz.attention import model_view  # noqa: E402

Row = dict


def interleaved(*fns: Callable[[], object], repeats: int, warmup: int = 1) -> list[float]:
    """Median seconds of each function, timed in rotating order so drift and noise hit all alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for i in range(repeats):
        order = list(range(len(fns)))
        order = order[i % len(fns) :] + order[: i % len(fns)]
        for j in order:
            start = time.perf_counter()
            fns[j]()
            times[j].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def ratio_row(measure: str, top: float, bottom: float, compares: str) -> Row:
    """A ratio of two median times (seconds), with both times in ms at the end of `compares`."""
    return {
        "measure": measure,
        "value": top / bottom,
        "unit": "ratio",
        "compares": f"{compares} ({top * 1000:.0f} vs {bottom * 1000:.0f} ms)",
    }


def sentences_of_length(tok, pieces: int, count: int) -> list[str]:
    """Validation sentences that encode to exactly `pieces` pieces (plus </s>)."""
    path = ROOT / "checkpoints" / "samples" / "val200.en.txt"
    pool = path.read_text(encoding="utf-8").splitlines()
    exact = [s for s in pool if len(tok.encode(s)) == pieces - 1]
    if len(exact) < count:
        exact += [s for s in pool if abs(len(tok.encode(s)) - (pieces - 1)) <= 2 and s not in exact]
    return exact[:count]


# -- model measures ----------------------------------------------------------------------------


def capture_overhead(ckpt, repeats: int) -> Row:
    sentences = sentences_of_length(ckpt.tokenizer, 20, 5)
    model, tok = ckpt.model, ckpt.tokenizer
    with_capture = lambda: [translate(model, tok, s) for s in sentences]  # noqa: E731
    without = lambda: [translate(model, tok, s, with_trace=False) for s in sentences]  # noqa: E731
    t_with, t_without = interleaved(with_capture, without, repeats=repeats)
    return {
        "measure": "capture_overhead",
        "value": t_with / t_without,
        "unit": "ratio",
        "compares": f"greedy translation with full capture ÷ without ({len(sentences)} sentences of 20 pieces; "
        f"{t_with / len(sentences) * 1000:.1f} vs {t_without / len(sentences) * 1000:.1f} ms each)",
    }


@torch.inference_mode()
def decode_fixed(model: Transformer, src: torch.Tensor, steps: int, incremental: bool) -> None:
    """Greedy decoding for exactly `steps` pieces, with a key/value cache or recomputing the prefix."""
    memory, src_mask = model.encode(src)
    tokens = [model.cfg.decoder_start_id]
    cache = model.new_cache()
    for step in range(steps):
        if incremental:
            logp = model.decode_step(torch.tensor([tokens[-1]]), memory if step == 0 else None, src_mask, cache, step)
        else:
            prefix = torch.tensor([tokens])
            logits = model.generator(model.decoder(prefix, memory, src_mask, model.tgt_mask(prefix))[:, -1])
            logp = torch.log_softmax(logits, dim=-1)
        tokens.append(int(logp.argmax()))


@torch.inference_mode()
def matrix_products_only(model: Transformer, steps: int) -> None:
    """The matrix products a cached decode step cannot avoid (every weight read once), `steps` times.

    Per layer: self-attention Q, K, V and output; cross-attention Q and output (its K, V are cached);
    the two feed-forward layers; then the output layer over the vocabulary. Same modules, same layout.
    """
    x, h = torch.zeros(1, 1, model.cfg.d_model), torch.zeros(1, 1, model.cfg.d_ff)
    products = []  # (linear, its input)
    for layer in model.decoder.layers:
        products += [
            (linear, x)
            for linear in (
                layer.self_attn.w_q,
                layer.self_attn.w_k,
                layer.self_attn.w_v,
                layer.self_attn.w_o,
                layer.cross_attn.w_q,
                layer.cross_attn.w_o,
                layer.ffn.w_1,
            )
        ]
        products.append((layer.ffn.w_2, h))
    for _ in range(steps):
        for linear, inputs in products:
            linear(inputs)
        torch.log_softmax(model.generator(x[:, 0]), dim=-1)


def incremental_vs_recompute(ckpt, repeats: int) -> list[Row]:
    model = ckpt.model
    src = torch.tensor([ckpt.tokenizer.encode(sentences_of_length(ckpt.tokenizer, 20, 1)[0]) + [model.cfg.eos_id]])
    t_inc, t_full, t_floor = interleaved(
        lambda: decode_fixed(model, src, 40, True),
        lambda: decode_fixed(model, src, 40, False),
        lambda: matrix_products_only(model, 40),
        repeats=repeats,
    )
    return [
        ratio_row(
            "incremental_vs_recompute",
            t_inc,
            t_full,
            "40 output pieces with key/value caching ÷ recomputing the prefix each step",
        ),
        ratio_row(
            "matrix_products_vs_recompute",
            t_floor,
            t_full,
            "only the matrix products of 40 cached steps ÷ "
            "recomputing: the lowest incremental_vs_recompute this machine allows in fp32",
        ),
    ]


def hf_marian(cfg):
    from transformers import MarianConfig, MarianMTModel

    hf_cfg = MarianConfig(
        vocab_size=cfg.vocab_size,
        d_model=cfg.d_model,
        encoder_layers=cfg.n_encoder_layers,
        decoder_layers=cfg.n_decoder_layers,
        encoder_attention_heads=cfg.n_heads,
        decoder_attention_heads=cfg.n_heads,
        encoder_ffn_dim=cfg.d_ff,
        decoder_ffn_dim=cfg.d_ff,
        max_position_embeddings=cfg.max_len,
        pad_token_id=cfg.pad_id,
        eos_token_id=cfg.eos_id,
        bos_token_id=cfg.bos_id,
        decoder_start_token_id=cfg.decoder_start_id,
        dropout=cfg.dropout,
        attention_dropout=cfg.dropout,
        activation_dropout=cfg.dropout,  # ours drops out in the same places
        activation_function="relu",
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        attn_implementation="eager",
    )
    torch.manual_seed(0)
    return MarianMTModel(hf_cfg)


def hf_generate_fixed(hf, ids: torch.Tensor, steps: int, attentions: str = "cross_attentions") -> Callable[[], object]:
    """HF greedy generate for exactly `steps` pieces, returning every attention (eager); `attentions` names the
    output's per-step attentions (a decoder-only model has no cross-attention)."""

    @torch.inference_mode()
    def generate():
        out = hf.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            num_beams=1,
            min_new_tokens=steps,
            max_new_tokens=steps,
            output_attentions=True,
            return_dict_in_generate=True,
        )
        assert len(getattr(out, attentions)) == steps
        return out

    return generate


def vs_hf_generate(ckpt, repeats: int) -> list[Row]:
    model, tok = ckpt.model, ckpt.tokenizer
    hf = hf_marian(model.cfg).eval()
    sentence = sentences_of_length(tok, 20, 1)[0]
    ours = translate(model, tok, sentence)
    steps = len(ours.out_ids)
    ids = torch.tensor([ours.src_ids])

    t_ours, t_hf, t_floor = interleaved(
        lambda: translate(model, tok, sentence),
        hf_generate_fixed(hf, ids, steps),
        lambda: matrix_products_only(model, steps),
        repeats=repeats,
    )
    return [
        ratio_row(
            "vs_hf_generate",
            t_ours,
            t_hf,
            "ours with full capture ÷ HF MarianMTModel.generate(output_attentions=True), "
            f"eager, greedy, {ids.shape[1]} source pieces, {steps} steps",
        ),
        floor_row("vs_bandwidth_floor", t_ours / steps, model, f"the translation of vs_hf_generate ({steps} steps)"),
        ratio_row(
            "matrix_products_vs_hf",
            t_floor,
            t_hf,
            f"only the matrix products of {steps} cached steps ÷ HF generate: "
            "the lowest vs_hf_generate possible without fewer weight reads",
        ),
    ]


def marian_at_opus_size(repeats: int) -> list[Row]:
    """Ours (imported, with full capture) against HF generate at Helsinki-NLP/opus-mt-en-de's size, random weights."""
    from transformers import MarianConfig, MarianMTModel

    from model.core.hook_names import ALL_WEIGHTS
    from model.core.hooks import capture
    from model.decoding.search import greedy_search
    from model.decoding.trace_from_hooks import arrays_from_steps
    from model.importing.marian import from_marian_weights, our_config

    vocab, steps = 58101, 24
    config = MarianConfig(
        vocab_size=vocab,
        decoder_vocab_size=vocab,
        d_model=512,
        encoder_layers=6,
        decoder_layers=6,
        encoder_attention_heads=8,
        decoder_attention_heads=8,
        encoder_ffn_dim=2048,
        decoder_ffn_dim=2048,
        max_position_embeddings=512,
        pad_token_id=vocab - 1,
        eos_token_id=0,
        decoder_start_token_id=vocab - 1,
        activation_function="swish",
        scale_embedding=True,
        attn_implementation="eager",
    )
    torch.manual_seed(0)
    hf = MarianMTModel(config).eval()
    ours = from_marian_weights(our_config(config.to_dict()), hf.state_dict()).use_column_major_weights()
    src = torch.randint(2, vocab - 1, (1, 20))
    src[0, -1] = 0

    def ours_translate():
        with capture(ours, ALL_WEIGHTS) as run:
            hyp = greedy_search(ours, src, steps, top_k=5)[0]
        arrays = arrays_from_steps(ours, run, hyp)
        assert len(hyp.ids) == steps and arrays["cross"].shape[2] == steps
        return arrays

    t_ours, t_hf = interleaved(ours_translate, hf_generate_fixed(hf, src, steps), repeats=repeats)
    return [
        {
            "measure": "marian_capture_ms",
            "value": t_ours * 1000,
            "unit": "ms",
            "compares": "greedy translation with full capture at opus-mt-en-de's size (d_model 512, 6+6 layers, 8 "
            "heads, "
            f"d_ff 2048, vocabulary {vocab}; random weights), 20 source pieces, {steps} steps",
        },
        ratio_row(
            "marian_vs_hf_generate",
            t_ours,
            t_hf,
            "the same ÷ HF MarianMTModel.generate(output_attentions=True), eager, same weights and steps",
        ),
        floor_row("marian_vs_bandwidth_floor", t_ours / steps, ours, "the translation of marian_capture_ms"),
    ]


_BANDWIDTH: list[float] = []


def read_bandwidth_gbs() -> float:
    """This machine's read bandwidth (GB/s): the median time to sum 1 GB of float32 (beyond any cache); once a run."""
    if not _BANDWIDTH:
        block = torch.ones(256 * 2**20)
        times = []
        for _ in range(7):
            start = time.perf_counter()
            block.sum()
            times.append(time.perf_counter() - start)
        _BANDWIDTH.append(block.numel() * 4 / statistics.median(times[1:]) / 1e9)
    return _BANDWIDTH[0]


def bandwidth_row() -> Row:
    return {
        "measure": "bandwidth_gbs",
        "value": read_bandwidth_gbs(),
        "unit": "GB/s",
        "compares": "this machine's read bandwidth: 1 GB of float32 summed by torch (median of 6)",
    }


def bytes_read_per_step(model: Transformer) -> int:
    """Bytes of weights a cached decode step must read: every decoder parameter but the cross-attention's key and
    value projections (their products are cached), and the output layer (one embedding row is negligible)."""
    skip = {
        id(p)
        for layer in model.decoder.layers
        for p in (*layer.cross_attn.w_k.parameters(), *layer.cross_attn.w_v.parameters())
    }
    skip.add(id(model.decoder.embed.token_embedding.weight))
    params = {id(p): p for p in (*model.decoder.parameters(), *model.generator.parameters()) if id(p) not in skip}
    params[id(model.generator.weight)] = model.generator.weight  # tied to the embedding: read whole as the output layer
    return sum(p.numel() * p.element_size() for p in params.values())


def floor_row(
    measure: str, seconds_per_step: float, model: Transformer, what: str, bytes_per_step: int | None = None
) -> Row:
    """`bytes_per_step` for a model other than our encoder-decoder (default: `bytes_read_per_step(model)`)."""
    weights = bytes_read_per_step(model) if bytes_per_step is None else bytes_per_step
    floor = weights / (read_bandwidth_gbs() * 1e9)
    return {
        "measure": measure,
        "value": seconds_per_step / floor,
        "unit": "ratio",
        "compares": f"{what}: time per decode step ÷ the bandwidth floor (bytes of weights read per step ÷ "
        f"bandwidth_gbs; {seconds_per_step * 1000:.1f} vs {floor * 1000:.1f} ms)",
    }


NLLB_VOCAB, NLLB_STEPS = 256206, 20  # facebook/nllb-200-distilled-600M's vocabulary; steps per translation


def nllb_models() -> tuple[torch.nn.Module, Transformer]:
    """HF M2M100ForConditionalGeneration at nllb-200-distilled-600M's size with random weights (fp32, eager), and
    ours imported from it (model.importing.hf), so both compute the same thing."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration

    from model.importing.hf import from_weights, m2m100_config

    hf_cfg = M2M100Config(
        vocab_size=NLLB_VOCAB,
        d_model=1024,
        encoder_layers=12,
        decoder_layers=12,
        encoder_attention_heads=16,
        decoder_attention_heads=16,
        encoder_ffn_dim=4096,
        decoder_ffn_dim=4096,
        max_position_embeddings=1024,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        activation_function="relu",
        scale_embedding=True,
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        attn_implementation="eager",
    )
    torch.manual_seed(0)
    hf = M2M100ForConditionalGeneration(hf_cfg).eval()
    cfg = m2m100_config(hf_cfg.to_dict(), ["eng_Latn", "kor_Hang"], "prefix")
    # A random decoder fed the start symbol 2 predicts 2 (</s>) at once: HF's generate is kept from it by
    # min_new_tokens, ours by moving </s> to the last id (which changes no weight and no product).
    cfg.eos_id = NLLB_VOCAB - 1
    return hf, from_weights(cfg, hf.state_dict())


def peak_rss_bytes(fn: Callable[[], object]) -> int:
    """The process's peak resident memory while `fn` runs (Linux: the peak is reset first)."""
    Path("/proc/self/clear_refs").write_text("5")
    fn()
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024


def nllb_at_size(repeats: int) -> list[Row]:
    """Ours with full capture against HF generate at nllb-200-distilled-600M's size; the bandwidth floor; what bf16
    or int8 weights would buy, and their largest attention difference from float32."""
    import copy

    from model.core.hook_names import ALL_WEIGHTS
    from model.core.hooks import capture
    from model.decoding.search import greedy_search
    from model.decoding.trace_from_hooks import arrays_from_steps

    hf, ours = nllb_models()
    low = {dtype: copy.deepcopy(ours).use_low_precision_weights(dtype) for dtype in (torch.bfloat16, torch.int8)}
    ours.use_column_major_weights()  # what model.core.checkpoint.load_checkpoint ships
    weight_bytes = sum(p.numel() * p.element_size() for p in {id(p): p for p in ours.parameters()}.values())
    src = torch.randint(4, NLLB_VOCAB - 1, (1, 20))
    src[0, -1] = 2  # M2M-100's </s>

    def translate_with(model: Transformer, forced=()):
        def run():
            with capture(model, ALL_WEIGHTS) as records:
                hyp = greedy_search(model, src, NLLB_STEPS, top_k=5, forced=list(forced))[0]
            arrays = arrays_from_steps(model, records, hyp)
            assert len(hyp.ids) == NLLB_STEPS and arrays["cross"].shape[2] == NLLB_STEPS
            return hyp.ids, arrays

        return run

    fp32 = translate_with(ours)
    resident = peak_rss_bytes(lambda: None)
    # ours' weights and what its first translation adds at the peak (the stacked Q/K/V copies, caches, records)
    peak = peak_rss_bytes(fp32) - resident + weight_bytes
    reference_ids, reference = fp32()
    differences = {}
    for dtype, model in low.items():  # the same output pieces, so that every attention matrix has the same shape
        _, arrays = translate_with(model, reference_ids)()
        differences[dtype] = max(float(np.abs(arrays[k] - reference[k]).max()) for k in reference)
    t_ours, t_hf, t_bf16, t_int8, t_products = interleaved(
        fp32,
        hf_generate_fixed(hf, src, NLLB_STEPS),
        translate_with(low[torch.bfloat16]),
        translate_with(low[torch.int8]),
        lambda: matrix_products_only(ours, NLLB_STEPS),
        repeats=repeats,
    )
    size = (
        "nllb-200-distilled-600M's size (d_model 1024, 12+12 layers, 16 heads, d_ff 4096, "
        f"vocabulary {NLLB_VOCAB}; random weights)"
    )
    return [
        {
            "measure": "nllb_capture_ms",
            "value": t_ours * 1000,
            "unit": "ms",
            "compares": f"greedy translation with full capture at {size}, 20 source pieces, {NLLB_STEPS} steps",
        },
        ratio_row(
            "nllb_vs_hf_generate",
            t_ours,
            t_hf,
            "the same ÷ HF M2M100ForConditionalGeneration.generate(output_attentions=True), eager, same size and steps",
        ),
        {
            "measure": "nllb_peak_memory_vs_weights",
            "value": peak / weight_bytes,
            "unit": "ratio",
            "compares": "ours' float32 weights plus the resident memory its first translation with full capture adds "
            f"at the peak (stacked Q/K/V, caches, records) ÷ the weights ({peak / 1e9:.2f} vs "
            f"{weight_bytes / 1e9:.2f} GB)",
        },
        floor_row("nllb_vs_bandwidth_floor", t_ours / NLLB_STEPS, ours, "the translation of nllb_capture_ms"),
        ratio_row(
            "nllb_products_vs_capture",
            t_products,
            t_ours,
            "only the fp32 matrix products of the same steps ÷ the whole translation with capture",
        ),
        ratio_row(
            "nllb_bf16_vs_fp32",
            t_bf16,
            t_ours,
            "the same translation with bfloat16 weights (use_low_precision_weights(torch.bfloat16); off by default) "
            "÷ float32",
        ),
        {
            "measure": "nllb_bf16_attention_max_diff",
            "value": differences[torch.bfloat16],
            "unit": "weight",
            "compares": "largest difference of any attention weight (every layer, head and kind, same output pieces) "
            "between bfloat16 weights and float32",
        },
        ratio_row(
            "nllb_int8_vs_fp32",
            t_int8,
            t_ours,
            "the same translation with int8 weights (use_low_precision_weights(torch.int8), one scale per row, "
            "torch._weight_int8pack_mm; off by default) ÷ float32",
        ),
        ratio_row(
            "nllb_int8_vs_hf_generate",
            t_int8,
            t_hf,
            "the int8 translation ÷ HF generate in float32",
        ),
        {
            "measure": "nllb_int8_attention_max_diff",
            "value": differences[torch.int8],
            "unit": "weight",
            "compares": "largest attention difference between int8 weights and float32, same output pieces",
        },
    ]


# -- a decoder-only language model at Qwen2.5-0.5B's size --------------------------------------------------------

LLM_SIZES = {  # Qwen/Qwen2.5-0.5B-Instruct's shape; "tiny" only shows the rows are written (tests/test_bench.py)
    "qwen2.5-0.5b": dict(layers=24, d_model=896, heads=14, kv_heads=2, d_ff=4864, vocab=151936),
    "tiny": dict(layers=2, d_model=64, heads=4, kv_heads=2, d_ff=96, vocab=4096),
}
LLM_STEPS, LLM_PIECES = 20, 20  # output pieces per translation; the English sentence's pieces
QWEN_TEMPLATE = (  # ChatML with Qwen2.5's default system message, as its own template writes it
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a "
    "helpful assistant.<|im_end|>\n{% endif %}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def english_lines(count: int) -> list[str]:
    import gzip

    with gzip.open(ROOT / "data" / "multi30k" / "test_2016_flickr.en.gz", "rt", encoding="utf-8") as f:
        return [line.strip() for line, _ in zip(f, range(count))]


def qwen_folder(folder: Path, size: str) -> Path:
    """A random Qwen2ForCausalLM of `size` (float32, eager), saved as the Hub ships one: its weights, a byte-level
    BPE tokenizer trained here on 400 English sentences (with Qwen's special pieces; the model's vocabulary stays
    padded to its own size, as Qwen's is) and the chat template."""
    import gc

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    s = LLM_SIZES[size]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2000,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    template_text = ["You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
                     "system user assistant Translate the following English text into German:"]  # fmt: skip
    bpe.train_from_iterator(english_lines(400) + template_text * 50, trainer)  # so the template's pieces are words
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = QWEN_TEMPLATE
    tokenizer.save_pretrained(folder)
    config = Qwen2Config(
        vocab_size=s["vocab"],
        hidden_size=s["d_model"],
        intermediate_size=s["d_ff"],
        num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"],
        num_key_value_heads=s["kv_heads"],
        max_position_embeddings=32768,
        rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6},
        tie_word_embeddings=True,
        bos_token_id=bpe.token_to_id("<|endoftext|>"),
        eos_token_id=[bpe.token_to_id("<|im_end|>"), bpe.token_to_id("<|endoftext|>")],
        pad_token_id=bpe.token_to_id("<|endoftext|>"),
        attn_implementation="eager",
    )
    torch.manual_seed(0)
    hf = Qwen2ForCausalLM(config).eval()
    with torch.no_grad():  # rows no piece maps to give the logit 0, so a random model's argmax stays in the vocabulary
        hf.model.embed_tokens.weight[bpe.get_vocab_size() :] = 0
    hf.save_pretrained(folder)
    del hf
    gc.collect()
    return folder


def hf_sharing_weights(ours, hf_folder: Path):
    """Qwen2ForCausalLM built without weights of its own, then given ours' tensors (the same storage: one copy of
    the weights in memory); its rotary frequencies computed afresh."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from model.importing.llm import name_map

    config = Qwen2Config.from_pretrained(hf_folder, attn_implementation="eager")
    with torch.device("meta"):
        hf = Qwen2ForCausalLM(config)
    state = ours.state_dict()
    hf.load_state_dict({f"model.{theirs}": state[mine] for mine, theirs in name_map(ours.cfg, False).items()},
                       strict=False, assign=True)  # fmt: skip
    hf.tie_weights()
    hf.model.rotary_emb = type(hf.model.rotary_emb)(config=config)
    meta = [name for name, t in (*hf.named_parameters(), *hf.named_buffers()) if t.is_meta]
    assert not meta, f"HF tensors without values: {meta[:3]}"
    hf.generation_config.eos_token_id = None  # no end of turn: exactly the steps asked for, as ours below
    hf.generation_config.pad_token_id = config.pad_token_id
    return hf.eval()


def imported_qwen(size: str):
    """A random Qwen2 of `size` imported into our checkpoint format and loaded, and HF's model on the same tensors."""
    from model.core.decoder_only_checkpoint import save_decoder_only
    from model.importing.llm import import_llm, llm_card

    with tempfile.TemporaryDirectory() as folder:
        hf_folder = qwen_folder(Path(folder) / "hf", size)
        imported = import_llm(hf_folder, "English", "German")
        card, markdown = llm_card(hf_folder, "qwen-bench", imported)
        save_decoder_only(Path(folder) / "ours", imported.cfg, imported.state, imported.tokenizer, "English",
                          "German", card, markdown)  # fmt: skip
        del imported
        ckpt = load_checkpoint(Path(folder) / "ours")
        return ckpt, hf_sharing_weights(ckpt.model, hf_folder)


def llm_calls(ckpt, hf, sentence: str) -> tuple[Callable, Callable, torch.Tensor]:
    """(ours' greedy translation with capture, HF's generate with attentions, the prompt ids), each LLM_STEPS
    pieces long."""
    from model.decoding.decoder_only_search import build_prompt, translate_with_llm

    ours, tok = ckpt.model, ckpt.tokenizer
    ids = torch.tensor([build_prompt(tok, sentence, "English", "German").ids])

    def ours_translate():
        result = translate_with_llm(ours, tok, sentence, "English", "German", max_new_tokens=LLM_STEPS)
        assert len(result.output_ids) == LLM_STEPS
        return result

    return ours_translate, hf_generate_fixed(hf, ids, LLM_STEPS, attentions="attentions"), ids


def llm_attention_difference(result, reference, prompt_pieces: int) -> float:
    """The largest difference of any attention weight between ours and HF's: every row HF computed (the prompt's at
    step 0, then one row per step)."""
    difference = 0.0
    for step, layers in enumerate(reference.attentions):
        for layer, theirs in enumerate(layers):
            seen = prompt_pieces if step == 0 else prompt_pieces + step
            rows = result.attention[layer, :, :seen, : theirs.shape[-1]]
            difference = max(difference, float((rows[:, -theirs.shape[2] :] - theirs[0]).abs().max()))
    return difference


def llm_at_size(repeats: int, size: str) -> list[Row]:
    """Ours (imported, with the whole self-attention captured) against HF generate(output_attentions=True) at
    Qwen2.5-0.5B's size, random weights: the time ratio, the bandwidth floor, the peak memory, the attention's
    largest difference."""
    ckpt, hf = imported_qwen(size)
    ours, tok = ckpt.model, ckpt.tokenizer
    ours.cfg.eos_ids = []  # no end of turn: exactly LLM_STEPS pieces, as HF's generate without eos below
    pool = english_lines(1000)[400:]
    sentence = next((s for s in pool if len(tok.encode(s)) == LLM_PIECES), pool[0])
    ours_translate, hf_generate, ids = llm_calls(ckpt, hf, sentence)
    weight_bytes = sum(p.numel() * p.element_size() for p in {id(p): p for p in ours.parameters()}.values())
    resident = peak_rss_bytes(lambda: None)
    peak = peak_rss_bytes(ours_translate) - resident + weight_bytes
    resident = peak_rss_bytes(lambda: None)
    hf_peak = peak_rss_bytes(hf_generate) - resident + weight_bytes
    result, reference = ours_translate(), hf_generate()
    assert result.output_ids == reference.sequences[0, ids.shape[1] :].tolist(), "ours and HF chose other pieces"
    n, p = len(result.ids), ids.shape[1]
    difference = llm_attention_difference(result, reference, p)
    t_ours, t_hf = interleaved(ours_translate, hf_generate, repeats=repeats)
    memory = (peak, hf_peak, weight_bytes)
    return llm_rows(ours, len(tok.encode(sentence)), size, (n, p), (t_ours, t_hf), memory, difference)


def llm_rows(ours, sentence_pieces: int, size: str, pieces: tuple[int, int], times: tuple[float, float],
             memory: tuple[float, float, int], difference: float) -> list[Row]:  # fmt: skip
    """llm_at_size's rows: `pieces` (all, prompt), `times` (ours, HF's) in seconds, `memory` (ours' peak, HF's peak,
    the weights) in bytes."""
    (n, p), (t_ours, t_hf), (peak, hf_peak, weight_bytes) = pieces, times, memory
    shape = (
        f"Qwen2.5-0.5B's shape ({ours.cfg.n_layers} layers, d_model {ours.cfg.d_model}, {ours.cfg.n_heads} query / "
        f"{ours.cfg.n_kv_heads} key-value heads, vocabulary {ours.cfg.vocab_size}; random weights, float32)"
        if size == "qwen2.5-0.5b"
        else f"the tiny test size ({ours.cfg.n_layers} layers, d_model {ours.cfg.d_model})"
    )
    llm_bytes = weight_bytes  # every weight once per step; the tied embedding once, as the output layer
    return [
        {
            "measure": "llm_capture_ms",
            "value": t_ours * 1000,
            "unit": "ms",
            "compares": f"greedy translation with the whole self-attention captured at {shape}: a "
            f"{sentence_pieces}-piece English sentence in Qwen's chat template ({p} prompt pieces), "
            f"{LLM_STEPS} output pieces, [{ours.cfg.n_layers}, {ours.cfg.n_heads}, {n}, {n}] attention",
        },
        ratio_row(
            "llm_vs_hf_generate",
            t_ours,
            t_hf,
            "the same ÷ HF Qwen2ForCausalLM.generate(do_sample=False, output_attentions=True), eager, the same "
            f"weights in memory, prompt ids and {LLM_STEPS} pieces (no end of turn on either side)",
        ),
        floor_row(
            "llm_vs_bandwidth_floor",
            t_ours / LLM_STEPS,
            ours,
            "the translation of llm_capture_ms",
            bytes_per_step=llm_bytes,
        ),
        {
            "measure": "llm_peak_memory_vs_weights",
            "value": peak / weight_bytes,
            "unit": "ratio",
            "compares": "ours' float32 weights plus the resident memory its first translation with capture adds at "
            f"the peak ÷ the weights ({peak / 1e9:.2f} vs {weight_bytes / 1e9:.2f} GB; HF generate's: "
            f"{hf_peak / 1e9:.2f} GB)",
        },
        {
            "measure": "llm_attention_max_diff_vs_hf",
            "value": difference,
            "unit": "weight",
            "compares": "largest difference of any attention weight ours captured from the one HF generate returned "
            "(every layer, head and step)",
        },
    ]


def train_tokens_vs_hf(ckpt, repeats: int) -> Row:
    cfg = ckpt.model.cfg
    data = ROOT / "checkpoints" / "samples"
    pairs = encode_pairs(
        ckpt.tokenizer,
        read_lines(data / "val200.en.txt"),
        read_lines(data / f"val200.{ckpt.tgt_lang}.txt"),
        cfg.max_len,
    )
    batch = max((b for b in make_batches(pairs, 2048, seed=None)), key=len)
    src, tgt_in, tgt_out = collate([pairs[i] for i in batch], cfg.pad_id, cfg.decoder_start_id)
    tokens = int((src != cfg.pad_id).sum() + (tgt_out != cfg.pad_id).sum())
    ours = Transformer(cfg).train()
    hf = hf_marian(cfg).train()
    opt_ours = torch.optim.Adam(ours.parameters(), lr=1e-4)
    opt_hf = torch.optim.Adam(hf.parameters(), lr=1e-4)

    def step(model_fn, params_opt):
        logits = model_fn()
        loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=cfg.pad_id, label_smoothing=0.1)
        params_opt.zero_grad(set_to_none=True)
        loss.backward()
        params_opt.step()

    def ours_step():
        step(lambda: ours(src, tgt_in), opt_ours)

    def hf_logits():
        return hf(
            input_ids=src,
            attention_mask=(src != cfg.pad_id).long(),
            decoder_input_ids=tgt_in,
            decoder_attention_mask=(tgt_in != cfg.pad_id).long(),
        ).logits

    def hf_step():
        step(hf_logits, opt_hf)

    t_ours, t_hf = interleaved(ours_step, hf_step, repeats=repeats, warmup=1)
    return {
        "measure": "train_tokens_vs_hf",
        "value": t_hf / t_ours,
        "unit": "ratio",
        "compares": f"training tokens/s, ours ÷ HF Marian, same sizes and batch of {tokens} tokens, fp32 "
        f"({tokens / t_ours:.0f} vs {tokens / t_hf:.0f} tokens/s)",
    }


def model_view_build(repeats: int) -> Row:
    rng = np.random.default_rng(0)
    att = rng.dirichlet(np.ones(60), size=(6, 8, 60)).astype(np.float32)
    tokens = [f"▁w{i % 7}" for i in range(60)]
    times = []
    for _ in range(repeats + 2):
        start = time.perf_counter()
        model_view(att, tokens, tokens).to_json()
        times.append(time.perf_counter() - start)
    return {
        "measure": "model_view_build_ms",
        "value": statistics.median(times[2:]) * 1000,
        "unit": "ms",
        "compares": "building and serialising the model-view figure, 6 layers × 8 heads at 60 pieces",
    }


def capture_scaling(ckpt, repeats: int) -> list[Row]:
    model, tok = ckpt.model, ckpt.tokenizer
    base = read_lines(ROOT / "checkpoints" / "samples" / "val200.en.txt")
    rows = []
    for n in (10, 32, 64, 128, 256):
        ids = []
        for s in base:  # whole sentences until n - 1 pieces
            ids += tok.encode(s)
            if len(ids) >= n - 1:
                break
        text = tok.decode(ids[: n - 1])
        result = translate(model, tok, text, max_len=n)
        times = []
        for _ in range(max(1, repeats // 2)):
            start = time.perf_counter()
            translate(model, tok, text, max_len=n)
            times.append(time.perf_counter() - start)
        size = sum(a.nbytes for a in result.trace.npz_arrays().values())
        S, T = len(result.src_ids), len(result.out_ids)
        rows.append(
            {
                "measure": f"capture_scaling_S{n}",
                "value": statistics.median(times) * 1000,
                "unit": "ms",
                "compares": f"greedy translation with capture, {S} source × {T} target pieces",
            }
        )
        rows.append(
            {
                "measure": f"trace_size_S{n}",
                "value": size / 1e6,
                "unit": "MB",
                "compares": f"float32 trace (encoder + decoder + cross + PE) at {S} × {T}",
            }
        )
    return rows


# -- app timings in the browser ----------------------------------------------------------------


def client_switches(browser, count: int) -> list[float]:
    """Seconds from a click on the figure's own slider to the new title, in a page holding every layer and head."""

    from model.decoding.trace import KIND_LABELS
    from viz.export import figure_html
    from viz.switch import Panel, switchable_heatmap

    ckpt = load_checkpoint(next(iter(find_checkpoints(ROOT / "checkpoints"))))
    trace = translate(ckpt.model, ckpt.tokenizer, "A man in a blue shirt is playing the guitar on the street.").trace
    fig = switchable_heatmap(
        [Panel("cross", KIND_LABELS["cross"], trace.cross, *trace.axis_tokens("cross"))], ("cross", 0, None)
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "switch.html"
        path.write_text(figure_html(fig), encoding="utf-8")
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(path.as_uri())
        page.wait_for_selector(".heatmaplayer", timeout=60_000)
        rail = page.locator(".slider-rail-rect").bounding_box()
        n_steps = len(fig.layout.sliders[0].steps)
        # Timed inside the page (the browser's own clock): from the mouse press to the last change of the redrawn title,
        # so the automation's round trips are not counted.
        page.evaluate("""() => { window.__down = 0; window.__drawn = 0;
            document.addEventListener('mousedown', () => { window.__down = performance.now(); }, true);
            new MutationObserver(() => { window.__drawn = performance.now(); })
                .observe(document.querySelector('.infolayer'),
                         {subtree: true, childList: true, characterData: true}); }""")
        times = []
        for i in range(count + 1):
            step = (i * 7 + 3) % n_steps
            before = page.locator(".gtitle").first.text_content()
            x = rail["x"] + rail["width"] * (step + 0.5) / n_steps
            start = time.perf_counter()
            page.mouse.click(x, rail["y"] + rail["height"] / 2)
            while page.locator(".gtitle").first.text_content() == before and time.perf_counter() - start < 10:
                time.sleep(0.001)
            page.wait_for_timeout(50)  # let the redraw finish before reading the clock
            if i:  # the first click warms Plotly's code paths
                times.append(page.evaluate("() => (window.__drawn - window.__down) / 1000"))
        page.close()
    return times


BARE_APP = """import plotly.graph_objects as go
import streamlit as st
st.text_area("Sentence", st.query_params.get("text", ""))
st.plotly_chart(go.Figure(go.Heatmap(z=[[0.1, 0.9], [0.6, 0.4]])), key="bare")
"""


def app_timings(repeats: int) -> list[Row]:
    from urllib.parse import quote

    from playwright.sync_api import sync_playwright

    from harness.browser import CHROMIUM, CHROMIUM_ARGS, HEATMAP, MAIN_PLOT, streamlit_server

    loads, controls, bare_loads, redraws = [], [], [], []
    with tempfile.TemporaryDirectory() as folder, streamlit_server() as (url, _), sync_playwright() as p:
        bare = Path(folder) / "bare.py"
        bare.write_text(BARE_APP)
        with streamlit_server(app=bare) as (bare_url, _):
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

            def first_heatmap(address: str) -> float:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start = time.perf_counter()
                page.goto(address)
                page.wait_for_selector(HEATMAP, timeout=120_000)
                elapsed = time.perf_counter() - start
                page.close()
                return elapsed

            for i in range(repeats + 1):  # the first load warms each server (imports, model load); then interleaved
                text = quote(f"A dog runs on the beach number {i}.")
                bare_time = first_heatmap(f"{bare_url}/?text={text}")
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                start = time.perf_counter()
                page.goto(f"{url}/?text={text}")
                page.wait_for_selector(HEATMAP, timeout=120_000)
                drawn = time.perf_counter() - start
                slider = page.locator("[data-testid='stMainBlockContainer']").get_by_role("slider").first  # the layer
                slider.wait_for(timeout=120_000)  # the heatmap can come before the widgets' own bundles
                if i:
                    loads.append(drawn)
                    controls.append(time.perf_counter() - start)
                    bare_loads.append(bare_time)
                title = page.locator(f"{MAIN_PLOT} .gtitle").first
                for key in ("Home", "End") * 2:
                    before = title.text_content()
                    slider.focus()
                    start = time.perf_counter()
                    page.keyboard.press(key)
                    while title.text_content() == before and time.perf_counter() - start < 20:
                        time.sleep(0.005)
                    if i:
                        redraws.append(time.perf_counter() - start)
                page.close()
        switches = client_switches(browser, 30)
        browser.close()
    return [
        {
            "measure": "client_switch_ms",
            "value": statistics.median(switches) * 1000,
            "unit": "ms",
            "compares": "one layer/head change in the browser-switchable heatmap (Plotly's own slider): mouse "
            "press to the redrawn "
            f"title, timed by the page's clock in headless Chromium (median of {len(switches)})",
        },
        {
            "measure": "page_to_first_heatmap_s",
            "value": statistics.median(loads),
            "unit": "s",
            "compares": "navigation to the first heatmap drawn, warm server, new sentence each time (median of "
            f"{len(loads)})",
        },
        {
            "measure": "page_to_controls_s",
            "value": statistics.median(controls),
            "unit": "s",
            "compares": f"the same navigation until the layer slider is on the page too (median of {len(controls)})",
        },
        {
            "measure": "bare_page_to_first_heatmap_s",
            "value": statistics.median(bare_loads),
            "unit": "s",
            "compares": "the same for a bare Streamlit page with a text box and one tiny heatmap, interleaved with "
            "the line above",
        },
        {
            "measure": "slider_to_redraw_ms",
            "value": statistics.median(redraws) * 1000,
            "unit": "ms",
            "compares": f"layer slider key press to the new heatmap title (median of {len(redraws)})",
        },
    ]


GOALS = {
    "capture_overhead": ("≤", 1.15),
    "incremental_vs_recompute": ("≤", 0.33),
    "vs_hf_generate": ("≤", 0.5),
    "nllb_vs_hf_generate": ("≤", 0.6),
    "llm_vs_hf_generate": ("≤", 0.8),
    "llm_vs_bandwidth_floor": ("≤", 1.5),
    "train_tokens_vs_hf": ("≥", 1.0),
    "page_to_first_heatmap_s": ("≤", 2.5),
    "slider_to_redraw_ms": ("≤", 300),
    "client_switch_ms": ("≤", 50),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats: under 5 minutes on 2 cores")
    p.add_argument("--json", help="also write the rows as JSON to this path")
    p.add_argument("--checkpoint", help="checkpoint folder (default: the first shipped one)")
    p.add_argument(
        "--skip",
        default="",
        help="comma-separated groups to skip: capture, incremental, hf, marian, nllb (never with --quick: it needs "
        "~10 GB and minutes), llm (~5 GB and minutes at full size), bandwidth, model_view, scaling, app",
    )
    p.add_argument(
        "--llm-size",
        choices=sorted(LLM_SIZES),
        default="qwen2.5-0.5b",
        help="the llm group's model: Qwen2.5-0.5B's shape, or a tiny one that only shows the rows are written",
    )
    p.add_argument("--repeats", type=int, default=0, help="timed repeats per measure (default: 21, or 11 with --quick)")
    p.add_argument("--threads", type=int, default=0, help="torch threads for both sides (default: torch's own choice)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    skip = set(filter(None, args.skip.split(",")))
    repeats = args.repeats or (11 if args.quick else 21)
    path = args.checkpoint or next(iter(find_checkpoints(ROOT / "checkpoints")), None)
    if path is None:
        print("error: no checkpoint to benchmark; pass --checkpoint", file=sys.stderr)
        return 2
    ckpt = load_checkpoint(path)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, checkpoint {Path(path).name}",
        flush=True,
    )
    rows: list[Row] = []
    steps = [
        ("capture", lambda: [capture_overhead(ckpt, repeats)]),
        ("incremental", lambda: incremental_vs_recompute(ckpt, repeats)),
        ("hf", lambda: vs_hf_generate(ckpt, repeats) + [train_tokens_vs_hf(ckpt, max(3, repeats // 2))]),
        ("marian", lambda: marian_at_opus_size(repeats)),
        ("nllb", lambda: [] if args.quick else nllb_at_size(max(3, repeats // 3))),
        ("llm", lambda: llm_at_size(max(1 if args.llm_size == "tiny" else 3, repeats // 3), args.llm_size)),
        ("model_view", lambda: [model_view_build(repeats)]),
        ("scaling", lambda: capture_scaling(ckpt, repeats)),
        ("bandwidth", lambda: [bandwidth_row()]),
        ("app", lambda: app_timings(7 if args.quick else 15)),
    ]
    for name, run in steps:
        if name in skip:
            continue
        for row in run():
            rows.append(row)
            print(f"  {row['measure']}: {row['value']:.3f} {row['unit']}", file=sys.stderr, flush=True)
    print()
    print("| measure | value | unit | goal | what it compares |\n|---|---|---|---|---|")
    for row in rows:
        goal = GOALS.get(row["measure"])
        goal_text = f"{goal[0]} {goal[1]}" if goal else ""
        print(f"| {row['measure']} | {row['value']:.3f} | {row['unit']} | {goal_text} | {row['compares']} |")
    if args.json:  # each row names its run: the docs' table shows each measure from its latest run
        command = " ".join(sys.argv[1:] if argv is None else argv)
        run = (
            f"{time.strftime('%Y-%m-%d')} · {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{torch.get_num_threads()} threads · `python bench/run.py {command}`"
        )
        Path(args.json).write_text(
            json.dumps([{k: r[k] for k in ("measure", "value", "unit")} | {"run": run} for r in rows], indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

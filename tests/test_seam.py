"""The model seam: the wider config, legacy configs, both positional layouts, per-kind trace shapes,
and every view on a model whose encoder and decoder stacks differ in depth."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from model.analysis.attribution import contribution_vectors, contributions
from model.analysis.corpus_run import run_corpus
from model.analysis.encoder_collapse import encoder_spread
from model.analysis.lesson import LessonChoice, lesson_numbers
from model.core.checkpoint import load_checkpoint, read_config, save_checkpoint
from model.core.config import TransformerConfig
from model.core.head_selection import all_heads, parse_head_spec
from model.core.hook_names import KINDS
from model.core.hooks import HookPoint, hook_names
from model.core.interface import TranslationModel
from model.core.transformer import sinusoidal_positional_encoding
from model.decoding.trace_from_hooks import forward_trace, inspect_head
from model.decoding.translation import translate
from tests.conftest import ROOT, app_checkpoints, tiny_model
from tests.test_app import SENTENCE, VIEWS, charts, no_failures, open_app
from ui.controls import Selection, clamp_layer
from ui.theme import Theme
from viz.positional import rotation_for_offset, why_sinusoids


def test_defaults_are_the_papers():
    cfg = TransformerConfig(vocab_size=100)
    assert (cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.n_encoder_layers, cfg.n_decoder_layers) == (512, 8, 2048, 6, 6)
    assert (cfg.activation, cfg.scale_embedding, cfg.pe_layout, cfg.share_embeddings, cfg.tie_embeddings) == (
        "relu",
        True,
        "interleaved",
        True,
        True,
    )
    assert cfg.decoder_start_id == cfg.bos_id


@pytest.mark.parametrize("name", ["multi30k-en-de", "multi30k-en-fr"])
def test_shipped_legacy_configs_load_unchanged(name):
    raw = json.loads((ROOT / "checkpoints" / name / "config.json").read_text())["model"]
    assert "n_layers" in raw  # written before the stacks had their own depth
    cfg, _, _ = read_config(ROOT / "checkpoints" / name)
    assert (cfg.n_encoder_layers, cfg.n_decoder_layers) == (raw["n_layers"], raw["n_layers"])
    assert cfg.share_embeddings and cfg.tie_embeddings and cfg.decoder_start_id == raw["bos_id"] == 2
    assert cfg.activation == "relu" and cfg.pe_layout == "interleaved" and cfg.scale_embedding


def test_legacy_untied_config_means_separate_embeddings():
    cfg = TransformerConfig.from_dict({"vocab_size": 10, "n_layers": 2, "tie_embeddings": False})
    assert not cfg.share_embeddings and not cfg.tie_embeddings
    with pytest.raises(ValueError, match="cannot be combined"):
        TransformerConfig.from_dict({"vocab_size": 10, "n_layers": 2, "n_encoder_layers": 3})
    with pytest.raises(ValueError, match="activation"):
        TransformerConfig(vocab_size=10, activation="tanh")


@pytest.mark.parametrize("layout", ["interleaved", "halves"])
def test_positional_encoding_follows_the_formula_in_either_layout(layout):
    d = 16
    pe = sinusoidal_positional_encoding(40, d, layout).double().numpy()
    for pos in (0, 7, 39):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            sin_dim, cos_dim = (2 * i, 2 * i + 1) if layout == "interleaved" else (i, i + d // 2)
            assert pe[pos, sin_dim] == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, cos_dim] == pytest.approx(math.cos(angle), abs=1e-6)
    # PE(p + k) = R_k PE(p), with R_k built for the same layout (and not for the other one)
    shifted = pe[:-3] @ rotation_for_offset(3, d, layout).T
    assert np.abs(shifted - pe[3:]).max() < 1e-5
    other = "halves" if layout == "interleaved" else "interleaved"
    assert np.abs(pe[:-3] @ rotation_for_offset(3, d, other).T - pe[3:]).max() > 0.1
    table = why_sinusoids(pe.astype(np.float32), None, layout=layout)
    assert float(table.iloc[-1]["value"]) < 1e-5


def test_activation_embedding_scale_and_output_bias_are_used(tokenizer):
    for overrides in (
        {"activation": "swish"},
        {"activation": "gelu"},
        {"scale_embedding": False},
        {"output_bias": False},
    ):
        model = tiny_model(tokenizer.vocab_size, **overrides)
        src, tgt = torch.tensor([[5, 6, 3]]), torch.tensor([[2, 7]])
        x = model.encoder.embed.token_embedding(src)
        scale = math.sqrt(model.cfg.d_model) if model.cfg.scale_embedding else 1.0
        expected = x * scale + model.positional_encoding[:3]
        from model.core.hooks import capture

        with capture(model, ["encoder.embed.hook_sum"]) as run:
            model(src, tgt)
        assert torch.allclose(run.records["encoder.embed.hook_sum"][0], expected, atol=1e-6)
        assert (model.generator.bias is None) == (overrides.get("output_bias") is False)


@pytest.fixture(scope="module")
def deep_shallow(tokenizer):
    """A 3-layer encoder with a 1-layer decoder: the decoder views must count their own layers."""
    return tiny_model(tokenizer.vocab_size, n_encoder_layers=3, n_decoder_layers=1)


def test_trace_shapes_come_from_each_kind(deep_shallow, tokenizer):
    trace = translate(deep_shallow, tokenizer, SENTENCE, max_len=8).trace
    assert [trace.layers(k) for k in KINDS] == [3, 1, 1]
    assert all(trace.heads(k) == 4 for k in KINDS)
    assert (
        clamp_layer(trace, "cross", 2) == 0
        and clamp_layer(trace, "encoder", 2) == 2
        and clamp_layer(trace, "encoder", -1) == 2
    )
    assert len(all_heads(deep_shallow.cfg)) == (3 + 1 + 1) * 4
    assert parse_head_spec("*:2:0", deep_shallow.cfg) == [("encoder", 2, 0)] or pytest.fail("decoder has no layer 2")


def test_head_spec_refuses_a_layer_the_kind_does_not_have(deep_shallow):
    with pytest.raises(ValueError, match="layer must be"):
        parse_head_spec("cross:2:0", deep_shallow.cfg)


def app_on(model, tokenizer, folder, monkeypatch):
    """The app with `model` as its only checkpoint (with a corpus run, for the heads view), Streamlit's caches cleared
    around the test."""
    path = folder / "model-en-de"
    save_checkpoint(path, model, tokenizer, "en", "de")
    run_corpus(load_checkpoint(path), [SENTENCE, "A dog runs."], None, path / "corpus")
    with app_checkpoints(monkeypatch, folder):
        yield


@pytest.fixture()
def deep_shallow_app(monkeypatch, tmp_path, deep_shallow, tokenizer):
    yield from app_on(deep_shallow, tokenizer, tmp_path, monkeypatch)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_works_when_the_stacks_differ(deep_shallow_app, view):
    at = open_app(text=SENTENCE, view=view, kind="cross", layer=2)  # layer 2 exists only in the encoder
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    assert charts(at)


def test_theme_is_explicit_about_presentation_mode():
    assert Theme.for_mode(True).font_size > Theme.for_mode(False).font_size
    assert Theme.for_mode(True).colorscale != Theme.for_mode(False).colorscale
    assert Selection("cross", 0, None).head is None


@pytest.fixture()
def pre_norm_app(monkeypatch, tmp_path, tokenizer):
    model = tiny_model(tokenizer.vocab_size, n_encoder_layers=3, n_decoder_layers=1, norm_first=True)
    yield from app_on(model, tokenizer, tmp_path, monkeypatch)


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_works_on_a_pre_norm_model(pre_norm_app, view):
    """The general model trains with --pre-norm (LayerNorm before each sub-layer, a final one after each stack)."""
    at = open_app(text=SENTENCE, view=view)
    assert no_failures(at), [e.value for e in at.exception] + [e.value for e in at.error]
    assert charts(at)


class RenamedTranslator(nn.Module):
    """A second implementation of `TranslationModel`: the real model's parts kept under other names
    (`source_side`, `target_side`, `vocabulary_out`), its hook points answering to `hook_name` through a renaming
    table, and every method of the protocol delegated. It has no `encoder`, `decoder`, `generator`, `src_mask`...:
    code that reached past the interface would fail on it, and code that goes through it gives the same numbers."""

    RENAMED = {"encoder": "source_side", "decoder": "target_side", "generator": "vocabulary_out"}

    def __init__(self, real) -> None:
        super().__init__()
        object.__setattr__(self, "_real", real)  # delegated to, not registered: its module paths stay hidden
        self.cfg = real.cfg
        for old, new in self.RENAMED.items():
            self.add_module(new, getattr(real, old))
        back = {new: old for old, new in self.RENAMED.items()}
        self._points = {}
        for path, module in self.named_modules():  # our own paths, e.g. source_side.layers.0.self_attn.hook_q
            if isinstance(module, HookPoint):
                top, rest = path.split(".", 1)
                self._points[f"{back[top]}.{rest}"] = module

    def named_hook_points(self):
        return dict(self._points)

    def forward(self, src, tgt_in):
        return self._real(src, tgt_in)

    def encode(self, src):
        return self._real.encode(src)

    def new_cache(self):
        return self._real.new_cache()

    def decode_step(self, last_token, memory, src_mask, cache, step):
        return self._real.decode_step(last_token, memory, src_mask, cache, step)

    def reorder_cache(self, cache, order):
        self._real.reorder_cache(cache, order)

    @property
    def positional_encoding(self):
        return self._real.positional_encoding

    def embedding_norms(self, ids):
        return self._real.embedding_norms(ids)

    def num_parameters(self):
        return self._real.num_parameters()

    def attention_weights(self, kind, layer):
        return self._real.attention_weights(kind, layer)

    def layer_norm(self, stack, layer, sublayer):
        return self._real.layer_norm(stack, layer, sublayer)

    def output_weights(self):
        return self._real.output_weights()

    def unembed(self, stream):
        return self._real.unembed(stream)


def same_numbers(a, b, where="") -> None:
    """Equal, bit for bit, through dicts, lists, dataclasses and arrays."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            same_numbers(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same_numbers(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b, equal_nan=True), where
    elif hasattr(a, "__dataclass_fields__"):
        same_numbers(vars(a), vars(b), where)
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def both(tokenizer):
    real = tiny_model(tokenizer.vocab_size, n_encoder_layers=3, n_decoder_layers=2)
    return real, RenamedTranslator(real)


def test_the_second_implementation_hides_every_part_of_the_first(both):
    real, renamed = both
    for part in ("encoder", "decoder", "generator", "src_mask", "tgt_mask", "use_column_major_weights"):
        assert hasattr(real, part) and not hasattr(renamed, part), part
    module_paths = {n for n, m in renamed.named_modules() if isinstance(m, HookPoint)}
    assert module_paths.isdisjoint(hook_names(real)) and set(hook_names(renamed)) == set(hook_names(real))
    assert isinstance(renamed, TranslationModel) and isinstance(real, TranslationModel)


@pytest.mark.parametrize("beam", [1, 3])
def test_translation_and_tracing_are_the_same_through_either_implementation(both, tokenizer, beam):
    real, renamed = both
    cross_attention = []
    for ablate in ((), [("cross", 1, 2), ("encoder", 0, 0)]):  # switching heads off goes through the hook names too
        a = translate(real, tokenizer, SENTENCE, beam=beam, max_len=10, ablate=ablate)
        b = translate(renamed, tokenizer, SENTENCE, beam=beam, max_len=10, ablate=ablate)
        assert a.out_ids == b.out_ids and a.text == b.text and len(a.out_ids) > 3
        same_numbers(vars(a.trace), vars(b.trace))
        cross_attention.append(a.trace.attention("cross"))
    assert not np.array_equal(*cross_attention)  # the ablation changed something, in both alike
    same_numbers(
        forward_trace(real, tokenizer, a.src_ids, a.out_ids), forward_trace(renamed, tokenizer, a.src_ids, a.out_ids)
    )
    same_numbers(
        inspect_head(real, a.src_ids, a.out_ids, "cross", 1, 3),
        inspect_head(renamed, a.src_ids, a.out_ids, "cross", 1, 3),
    )


def test_the_lesson_attribution_and_diagnostics_are_the_same_through_either_implementation(both, tokenizer):
    real, renamed = both
    result = translate(real, tokenizer, SENTENCE, max_len=10)
    src, out = result.src_ids, result.out_ids
    for choice in (LessonChoice("encoder", 2, 1, 3), LessonChoice("decoder", 1, 0, 1), LessonChoice("cross", 0, 3, 2)):
        same_numbers(lesson_numbers(real, src, out, choice), lesson_numbers(renamed, src, out, choice))
    same_numbers(contributions(real, src, out), contributions(renamed, src, out))
    alpha, value = torch.rand(4, 3, len(src)), torch.rand(4, len(src), 8)
    same_numbers(
        contribution_vectors(real, "cross", 1, alpha, value, 2),
        contribution_vectors(renamed, "cross", 1, alpha, value, 2),
    )
    same_numbers(encoder_spread(real, [src, src[:3]]), encoder_spread(renamed, [src, src[:3]]))

"""Decoder-only language models (Qwen2, Qwen3, Llama 3, Gemma 3) imported and run by our own code, checked against
`transformers` on tiny random models of each family: the prompt's ids, the logits, every layer's attention, greedy
and beam search; and the import's and the checkpoint's refusals."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch

from model.core.checkpoint import CheckpointError, load_checkpoint
from model.core.decoder_only import DecoderOnlyTransformer, decoder_only_hook_name, every_decoder_only_hook_name
from model.core.decoder_only_checkpoint import decoder_only_shapes
from model.core.decoder_only_config import DecoderOnlyConfig
from model.core.decoder_only_tokenizer import ChatTemplateError, ChatTokenizer, compile_template
from model.core.hook_names import hook_name
from model.core.hooks import capture
from model.decoding.decoder_only_search import beam_llm, build_prompt, translate_with_llm
from model.import_hf import main as import_main
from model.importing.hf import HFImportError
from model.importing.llm import import_llm

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<bos>", "<start_of_turn>", "<end_of_turn>"]
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
GEMMA_TEMPLATE = (  # Gemma's own shape: <bos> from the template, the message trimmed
    "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
    "{{ m['content'] | trim }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
SENTENCE = "The cat sat on the mat by the small house."
MAX_NEW = 10
LAYERS = 3


@pytest.fixture(scope="module")
def bpe():
    """A byte-level BPE tokenizer trained here, with the families' special pieces."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["The cat sat on the mat.", "Translate the following English text into German:", "A small house."] * 20
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    return tok


def family_model(name: str, vocab: int, eos: int, bos: int):
    """A random tiny model of one family (3 layers, 4 query heads sharing 2 key/value heads of 16, eager)."""
    common = dict(
        vocab_size=vocab + 4,  # rows the tokenizer never produces, as real checkpoints pad theirs
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=256,
        eos_token_id=eos,
        pad_token_id=0,
        bos_token_id=bos,
        attn_implementation="eager",
    )
    if name == "qwen2":
        cfg, cls = transformers.Qwen2Config(**common, tie_word_embeddings=True), transformers.Qwen2ForCausalLM
    elif name == "qwen3":
        cfg, cls = transformers.Qwen3Config(**common), transformers.Qwen3ForCausalLM
    elif name == "llama":
        rope = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, rope_theta=5e5)
        rope["original_max_position_embeddings"] = 16  # so some of head_dim 16's frequencies fall in each band
        cfg = transformers.LlamaConfig(**common, rope_parameters=rope, attention_bias=True)
        cls = transformers.LlamaForCausalLM
    else:
        rope = {
            "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e6},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1e4},
        }
        cfg = transformers.Gemma3TextConfig(
            **common,
            sliding_window=4,  # far shorter than the prompt, so the window matters
            layer_types=["sliding_attention", "sliding_attention", "full_attention"],
            rope_parameters=rope,
            query_pre_attn_scalar=24,
        )
        cls = transformers.Gemma3ForCausalLM
    torch.manual_seed(0)
    model = cls(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():  # every weight, bias and norm random and far from its initial value
            p.normal_(0, 0.3)
    return model


@pytest.mark.parametrize("family", ["qwen2", "qwen3", "llama", "gemma3"])
def test_a_family_runs_as_transformers_runs_it(family, bpe, tmp_path):
    end = "<end_of_turn>" if family == "gemma3" else "<|im_end|>"
    hf_tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token=end, pad_token="<|endoftext|>", bos_token="<bos>"
    )
    hf_tok.chat_template = GEMMA_TEMPLATE if family == "gemma3" else CHATML
    model = family_model(family, bpe.get_vocab_size(), bpe.token_to_id(end), bpe.token_to_id("<bos>"))
    message = f"Translate the following English text into German:\n\n{SENTENCE}"
    prompt = hf_tok.apply_chat_template([{"role": "user", "content": message}], add_generation_prompt=True)
    prompt = prompt if isinstance(prompt, list) else prompt["input_ids"]
    ids = torch.tensor([prompt])
    # A second end-of-turn id the model does produce, so that the searches end on one rather than at the limit
    free = model.generate(ids, do_sample=False, max_new_tokens=4, eos_token_id=[], pad_token_id=0)[0, len(prompt) :]
    eos_ids = [bpe.token_to_id(end), int(free[-1])]
    model.config.eos_token_id = model.generation_config.eos_token_id = eos_ids
    source, dest = tmp_path / "hf", tmp_path / "ours"
    model.save_pretrained(source)
    hf_tok.save_pretrained(source)
    assert import_main([str(source), "--dest", str(dest), "--tgt-lang", "German"]) == 0
    ckpt = load_checkpoint(dest)
    ours, tokenizer = ckpt.model, ckpt.tokenizer
    assert isinstance(ours, DecoderOnlyTransformer) and ours.cfg.eos_ids == eos_ids

    built = build_prompt(tokenizer, SENTENCE, ckpt.src_lang, ckpt.tgt_lang)
    assert built.ids == prompt  # as apply_chat_template(..., add_generation_prompt=True)
    a, b = built.src_span
    assert tokenizer.decode(built.ids[a:b]).strip() == SENTENCE
    assert SENTENCE not in tokenizer.decode(built.ids[a + 1 : b]) + tokenizer.decode(built.ids[a : b - 1])

    with torch.no_grad():
        logit_diff = (ours(ids) - model(ids).logits).abs().max().item()
    assert logit_diff <= 1e-5

    greedy = translate_with_llm(ours, tokenizer, SENTENCE, "English", "German", max_new_tokens=MAX_NEW)
    expected = model.generate(ids, do_sample=False, max_new_tokens=MAX_NEW, eos_token_id=eos_ids, pad_token_id=0)
    assert greedy.output_ids == expected[0, len(prompt) :].tolist()
    assert greedy.out_start == len(prompt) and greedy.src_span == built.src_span
    assert len(greedy.tokens) == len(greedy.ids) == greedy.attention.shape[-1]

    with torch.no_grad():  # every layer's attention over the whole sequence, as transformers computes it at once
        reference = model(torch.tensor([greedy.ids]), output_attentions=True).attentions
    attention_diff = max((greedy.attention[i] - reference[i][0]).abs().max().item() for i in range(LAYERS))
    assert attention_diff <= 1e-5
    assert torch.allclose(greedy.attention.sum(-1), torch.ones(LAYERS, 4, len(greedy.ids)), atol=1e-5)
    if family == "gemma3":  # sliding layers see 4 pieces, the full one all of them
        last = greedy.attention[:, :, -1]
        assert bool((last[0, :, :-4] == 0).all()) and bool((last[2, :, :-4] > 0).all())

    beam = translate_with_llm(ours, tokenizer, SENTENCE, "English", "German", beam_size=4, max_new_tokens=MAX_NEW)
    expected_beam = model.generate(
        ids, do_sample=False, num_beams=4, max_new_tokens=MAX_NEW, eos_token_id=eos_ids, pad_token_id=0
    )
    found = expected_beam[0, len(prompt) :].tolist()
    assert beam.output_ids == found[: len(beam.output_ids)] and set(found[len(beam.output_ids) :]) <= {0}
    beam_diff = max((beam.attention[i] - reference_for(model, beam.ids)[i][0]).abs().max().item() for i in range(3))
    assert beam_diff <= 1e-5
    print(f"{family}: logits {logit_diff:.1e}, attention {attention_diff:.1e} (beam {beam_diff:.1e})")


def reference_for(model, ids: list[int]):
    with torch.no_grad():
        return model(torch.tensor([ids]), output_attentions=True).attentions


@pytest.fixture(scope="module")
def qwen_folder(bpe, tmp_path_factory):
    hf_tok = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", bos_token="<bos>")
    hf_tok.chat_template = CHATML
    model = family_model("qwen2", bpe.get_vocab_size(), bpe.token_to_id("<|im_end|>"), bpe.token_to_id("<bos>"))
    folder = tmp_path_factory.mktemp("qwen2")
    model.save_pretrained(folder)
    hf_tok.save_pretrained(folder)
    return folder


def test_each_decode_step_records_its_rows_as_the_contract_says(qwen_folder, tmp_path):
    assert import_main([str(qwen_folder), "--dest", str(tmp_path / "q")]) == 0
    ckpt = load_checkpoint(tmp_path / "q")
    prompt = build_prompt(ckpt.tokenizer, SENTENCE, "English", "German").ids
    with capture(ckpt.model, [decoder_only_hook_name("*", "weights"), decoder_only_hook_name(1, "k")]) as run:
        hyp = beam_llm(ckpt.model, prompt, 4, max_new_tokens=5)
    calls = run.calls(decoder_only_hook_name(0, "weights"))
    assert tuple(calls[0].shape) == (1, 4, len(prompt), len(prompt))
    assert [tuple(c.shape) for c in calls[1:]] == [(4, 4, 1, len(prompt) + t) for t in range(1, len(calls))]
    assert tuple(run.calls(decoder_only_hook_name(1, "k"))[-1].shape[1:3]) == (2, len(prompt) + len(calls) - 1)
    assert len(hyp.path) == len(hyp.ids) and hyp.path[0] == 0


def test_hook_names_are_the_decoders_where_they_mean_the_same(qwen_folder):
    imported = import_llm(qwen_folder)
    model = DecoderOnlyTransformer(imported.cfg)
    assert decoder_only_hook_name(2, "weights") == hook_name("decoder", 2, "weights")
    assert decoder_only_hook_name(0, "resid_post") == hook_name("decoder", 0, "resid_post")
    assert set(every_decoder_only_hook_name(imported.cfg)) == set(model.named_hook_points())
    with pytest.raises(ValueError, match="no hook point"):
        decoder_only_hook_name(0, "cross")
    weights = model.attention_weights(1)  # per head: query head h reads key/value head h // 2
    assert weights.kv_head == (0, 0, 1, 1) and tuple(weights.W_K.shape) == (2, 64, 16)
    assert torch.equal(weights.per_query_head().W_K[3], weights.W_K[1])


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"qkv_bias": True, "tie_embeddings": True},
        {"qk_norm": True, "sandwich_norms": True, "norm_offset": 1.0, "o_bias": True, "mlp_bias": True},
    ],
)
def test_the_shapes_a_config_implies_are_the_models(options):
    cfg = DecoderOnlyConfig(vocab_size=50, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=8, d_ff=48,
                            eos_ids=[1], **options)  # fmt: skip
    state = DecoderOnlyTransformer(cfg).state_dict()
    if cfg.tie_embeddings:
        state.pop("generator.weight")
    assert decoder_only_shapes(cfg) == {name: tuple(t.shape) for name, t in state.items()}


class Payload:
    def __reduce__(self):
        return (shutil.copy, ("/etc/hostname", "/tmp/headlight-pickle-ran"))


def test_a_pickle_bin_is_refused_and_never_run(qwen_folder, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(qwen_folder, folder)
    (folder / "model.safetensors").unlink()
    with open(folder / "pytorch_model.bin", "wb") as f:
        pickle.dump({"model.embed_tokens.weight": Payload()}, f)
    marker = __import__("pathlib").Path("/tmp/headlight-pickle-ran")
    marker.unlink(missing_ok=True)
    with pytest.raises(HFImportError, match="refused"):
        import_llm(folder)
    assert not marker.exists()


def test_a_checkpoint_that_is_not_what_it_claims_is_one_sentence(qwen_folder, tmp_path):
    dest = tmp_path / "q"
    assert import_main([str(qwen_folder), "--dest", str(dest)]) == 0
    config = json.loads((dest / "config.json").read_text())

    def broken(edit) -> str:
        folder = tmp_path / f"broken{len(list(tmp_path.iterdir()))}"
        shutil.copytree(dest, folder)
        edit(folder)
        with pytest.raises(CheckpointError) as caught:
            load_checkpoint(folder)
        return str(caught.value)

    huge = {**config, "model": {**config["model"], "n_layers": 10**6}}
    assert "n_layers" in broken(lambda f: (f / "config.json").write_text(json.dumps(huge)))
    assert "SHA-256" in broken(lambda f: (f / "tokenizer.json").write_text((dest / "tokenizer.json").read_text() + " "))
    other = {**config, "model": {**config["model"], "d_ff": 97}}
    assert "does not match" in broken(lambda f: (f / "config.json").write_text(json.dumps(other)))

    def nan(folder):
        from safetensors.torch import load_file, save_file

        tensors = load_file(str(folder / "model.safetensors"))
        tensors["decoder.final_norm.weight"][0] = float("nan")
        save_file(tensors, str(folder / "model.safetensors"))

    assert "NaN" in broken(nan)


def test_the_chat_template_runs_in_a_sandbox(bpe):
    escape = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(ChatTemplateError, match="could not be rendered"):
        ChatTokenizer(bpe.to_str(), escape).render([{"role": "user", "content": "hi"}])
    with pytest.raises(ChatTemplateError, match="not valid Jinja"):
        compile_template("{% for %}")
    assert ChatTokenizer(bpe.to_str(), CHATML).render([{"role": "user", "content": "hi"}]).endswith("assistant\n")

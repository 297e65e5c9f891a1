"""A model that is not what it claims is refused at load, in one sentence: files linked from outside the folder,
weights that are not floating point or hold NaN or infinity, a tokenizer other than the one whose SHA-256 the
checkpoint recorded. What still loads but deserves a word (no recorded hash, a malformed card) is a note."""

from __future__ import annotations

import hashlib
import json
import shutil
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

from model.core import checkpoint
from model.core.checkpoint import (
    CARD_JSON,
    CONFIG_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    CheckpointError,
    check_finite,
    load_checkpoint,
    read_card,
    read_gallery,
    save_checkpoint,
)
from model.core.tokenizer import Tokenizer, TokenizerPair
from tests.conftest import ROOT, tiny_model

SHIPPED = sorted(p for p in (ROOT / "checkpoints").iterdir() if (p / CONFIG_FILE).is_file())


@pytest.fixture()
def folder(tmp_path, checkpoint_dir):
    """A copy of the tiny checkpoint, free to damage."""
    path = tmp_path / "copy"
    shutil.copytree(checkpoint_dir, path)
    return path


@pytest.fixture()
def no_model_may_be_built(monkeypatch):
    built = []
    monkeypatch.setattr(checkpoint, "Transformer", lambda cfg: built.append(cfg) or pytest.fail("a model was built"))
    return built


def refusal(folder) -> str:
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(folder)
    message = str(refused.value)
    assert len(message.splitlines()) == 1 and message.endswith("."), message
    return message


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- files linked from outside the folder


@pytest.mark.parametrize("name", [WEIGHTS_FILE, TOKENIZER_FILE, CONFIG_FILE, CARD_JSON])
def test_a_file_linked_from_outside_the_folder_is_refused(tmp_path, folder, name):
    outside = tmp_path / "elsewhere" / name
    outside.parent.mkdir()
    shutil.move(folder / name, outside)
    (folder / name).symlink_to(outside)
    assert f"{folder / name} is a link to {outside}, outside the checkpoint folder" in refusal(folder)


def test_a_link_inside_the_folder_and_a_linked_folder_load(tmp_path, folder):
    shutil.move(folder / WEIGHTS_FILE, folder / "weights-v1.safetensors")
    (folder / WEIGHTS_FILE).symlink_to("weights-v1.safetensors")  # relative, inside the folder
    (tmp_path / "linked").symlink_to(folder)  # the whole checkpoint reached through a link
    assert load_checkpoint(folder).model and load_checkpoint(tmp_path / "linked").model


# --- weights that are not floating point, or not finite


def rewrite_weights(folder, change) -> None:
    tensors = load_file(str(folder / WEIGHTS_FILE))
    change(tensors)
    save_file(tensors, str(folder / WEIGHTS_FILE))


@pytest.mark.parametrize("dtype, stored", [(torch.bool, "BOOL"), (torch.int32, "I32"), (torch.int8, "I8")])
def test_weights_of_a_non_float_type_are_refused_from_the_header(folder, no_model_may_be_built, dtype, stored):
    name = "encoder.layers.0.ffn.w_1.weight"
    rewrite_weights(folder, lambda t: t.update({name: (t[name] > 0).to(dtype)}))
    message = refusal(folder)
    assert f"cannot be this model's weights: {name} is stored as {stored}, not as floating point" in message
    assert not no_model_may_be_built


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_weights_of_every_float_type_load_as_float32(folder, dtype):
    rewrite_weights(folder, lambda t: t.update({k: v.to(dtype) for k, v in t.items()}))
    assert all(p.dtype == torch.float32 for p in load_checkpoint(folder).model.parameters())


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_weights_holding_nan_or_infinity_are_refused_naming_the_tensor(folder, bad):
    name = "decoder.layers.1.cross_attn.w_v.weight"

    def poison(tensors):
        tensors[name] = tensors[name].clone()
        tensors[name][3, 5] = bad

    rewrite_weights(folder, poison)
    assert f"holds NaN or infinity in {name}: the weights are damaged" in refusal(folder)


def test_the_finite_check_is_exact_for_large_finite_values_and_fast():
    """Its quick path is a float32 sum, which overflows for large finite weights: they must not be refused."""
    large = {"w": torch.full((4, 1000), 3e38)}  # each finite; their sum is not
    check_finite(large, ROOT)
    large["w"][2, 7] = float("nan")
    with pytest.raises(CheckpointError, match="in w:"):
        check_finite(large, ROOT)
    tensors = load_file(str(ROOT / "checkpoints" / "general-en-de" / WEIGHTS_FILE))  # 18.8 MB of float16
    start = time.perf_counter()
    check_finite(tensors, ROOT)
    assert time.perf_counter() - start < 0.5  # ~4 ms measured; generous for a loaded 2-core machine


# --- the tokenizer's identity


def test_saving_records_each_tokenizer_file_s_sha256(folder):
    recorded = json.loads((folder / CONFIG_FILE).read_text())["tokenizer_sha256"]
    assert recorded == {TOKENIZER_FILE: sha256(folder / TOKENIZER_FILE)}
    assert load_checkpoint(folder).notes == []


def test_a_pair_tokenizer_records_its_three_files(tmp_path, tokenizer):
    vocab = {tokenizer.sp.id_to_piece(i): i for i in range(tokenizer.vocab_size)}
    pair = TokenizerPair(tokenizer.model_proto, tokenizer.model_proto, vocab)
    path = save_checkpoint(tmp_path / "pair", tiny_model(tokenizer.vocab_size), pair, "en", "de")
    recorded = json.loads((path / CONFIG_FILE).read_text())["tokenizer_sha256"]
    assert recorded == {name: sha256(path / name) for name in TokenizerPair.files}
    assert load_checkpoint(path).notes == []
    (path / TOKENIZER_FILE).write_bytes(tokenizer.model_proto)  # a joint tokenizer beside it: the loader prefers it
    assert "is not the one this model was saved with (source.spm, target.spm, vocab.json)" in refusal(path)


def test_another_model_s_tokenizer_of_the_same_size_is_refused(folder, corpus, tokenizer):
    """Trained on other text with the same vocabulary size: every other check passes, and it translated nonsense."""
    other = Tokenizer.train(corpus[1], vocab_size=tokenizer.vocab_size)
    assert other.model_proto != tokenizer.model_proto and other.vocab_size == tokenizer.vocab_size
    (folder / TOKENIZER_FILE).write_bytes(other.model_proto)
    message = refusal(folder)
    assert message == (
        f"{folder / TOKENIZER_FILE} is not the tokenizer this model was saved with: its SHA-256 differs from the one "
        "in config.json."
    )


def test_a_checkpoint_written_before_the_hash_loads_with_a_note(folder):
    config = json.loads((folder / CONFIG_FILE).read_text())
    del config["tokenizer_sha256"]
    (folder / CONFIG_FILE).write_text(json.dumps(config))
    ckpt = load_checkpoint(folder)
    assert ckpt.notes == [
        "config.json records no tokenizer hash (written before Headlight recorded one), so the tokenizer in copy "
        "could not be checked against the model."
    ]


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        {},
        {TOKENIZER_FILE: "0" * 63},
        {TOKENIZER_FILE: "G" * 64},
        {"../config.json": "0" * 64},
        {TOKENIZER_FILE: 7},
    ],
)
def test_a_malformed_tokenizer_hash_is_one_sentence(folder, value):
    config = json.loads((folder / CONFIG_FILE).read_text())
    (folder / CONFIG_FILE).write_text(json.dumps(config | {"tokenizer_sha256": value}))
    assert "gives tokenizer_sha256 = " in refusal(folder)


@pytest.mark.parametrize("folder_name", [p.name for p in SHIPPED])
def test_every_shipped_checkpoint_records_its_tokenizer(folder_name):
    path = ROOT / "checkpoints" / folder_name
    recorded = json.loads((path / CONFIG_FILE).read_text())["tokenizer_sha256"]
    assert recorded == {TOKENIZER_FILE: sha256(path / TOKENIZER_FILE)}


# --- the model card and the gallery: a malformed part is left out with a sentence, the model loads


@pytest.mark.parametrize(
    "card, note",
    [
        ({"evaluation": {"test": {"beam4": {"bleu": "high"}}}}, "evaluation must map each test set"),
        ({"evaluation": ["test_2016_flickr"]}, "evaluation must map each test set"),
        ({"evaluation": {"test": {"beam4": {"chrf": 50}}}}, "each with a number for bleu"),
        ({"data": [1, 2]}, "data must be a JSON object"),
        ({"data": {"max_train_pieces": "many"}}, "data.max_train_pieces must be a number"),
        ({"training": {"steps": [1]}}, "training.steps must be a number"),
    ],
)
def test_a_malformed_card_section_is_left_out_with_a_note(folder, card, note):
    from ui.text import card_summary

    (folder / CARD_JSON).write_text(json.dumps(card | {"name": "kept"}))
    ckpt = load_checkpoint(folder)
    assert ckpt.card == {"name": "kept"}
    assert ckpt.notes[-1].startswith(f"card.json in {folder}: ") and note in ckpt.notes[-1]
    assert ckpt.notes[-1].endswith("; that part of the card is left out.")
    assert card_summary(ckpt).startswith("en → de")


@pytest.mark.parametrize(
    "content, why",
    [("[1, 2]", "must hold a JSON object, not list"), ("{oops", "is not valid JSON"), ("[" * 100_000, "nested too")],
)
def test_an_unreadable_card_is_left_out_with_a_note(folder, content, why):
    (folder / CARD_JSON).write_text(content)
    card, notes = read_card(folder)
    assert card == {} and len(notes) == 1 and why in notes[0] and notes[0].endswith("; the model card is left out.")
    assert load_checkpoint(folder).card == {}


def test_the_shipped_cards_have_no_notes():
    for path in SHIPPED:
        card, notes = read_card(path)
        assert notes == [] and card["evaluation"], path.name


@pytest.mark.parametrize(
    "content, why",
    [
        ("7", "must hold a list of examples, not int"),
        ("[" * 100_000 + "]" * 100_000, "is nested too deeply to be read"),
        ('{"text": "A dog."}', "must hold a list of examples, not dict"),
        ("[oops", "is not valid JSON"),
    ],
)
def test_an_unusable_gallery_is_one_sentence_and_no_examples(folder, content, why):
    (folder / "gallery.json").write_text(content)
    items, problem = read_gallery(folder)
    assert items == [] and problem.startswith(f"gallery.json in {folder} ") and why in problem


def test_gallery_items_of_the_wrong_shape_are_left_out_with_a_sentence(folder):
    good = {"text": "A dog runs.", "look": "the dog", "kind": "cross", "expect": "Hund"}
    listed = good | {"expect": ["Hund", "läuft"]}
    items = [good, 3, {"text": ["x"], "look": "y"}, listed, {"text": "x"}, {"text": "x", "look": "y", "expect": [5]}]
    (folder / "gallery.json").write_text(json.dumps(items))
    assert read_gallery(folder) == (
        [good, listed],
        f'gallery.json in {folder}: 4 of its 6 examples are not objects with the strings "text" and "look" and were '
        "left out.",
    )
    assert read_gallery(ROOT / "checkpoints" / "general-en-de")[1] is None

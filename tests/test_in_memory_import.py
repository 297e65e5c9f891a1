"""from_hf_objects: an in-memory Hugging Face Marian model and tokenizer converted without files, checked against
transformers itself (logits, tokenization); anything else is refused in one sentence."""

from __future__ import annotations

import pytest
import torch

from model.importing.hf import HFImportError
from model.importing.in_memory import from_hf_objects
from tests.test_marian import make_hf_folder, opus_tokenizer_files  # noqa: F401 - the fixture

SENTENCES = ["A dog runs on the beach.", "Two men play football.", "A woman in a red coat reads a book!"]


@pytest.fixture(scope="module")
def marian_objects(opus_tokenizer_files, tmp_path_factory):  # noqa: F811 - the imported fixture
    from transformers import MarianTokenizer

    hf, folder = make_hf_folder(opus_tokenizer_files, tmp_path_factory.mktemp("hf") / "m", seed=3)
    tokenizer = MarianTokenizer(*(str(folder / f) for f in ("source.spm", "target.spm", "vocab.json")))
    return hf, tokenizer


def test_an_in_memory_marian_model_converts_exactly(marian_objects):
    hf, hf_tokenizer = marian_objects
    imported = from_hf_objects(hf, hf_tokenizer)
    ours, tok = imported.model, imported.tokenizer
    for text in SENTENCES:
        ids = hf_tokenizer(text).input_ids
        assert tok.encode(text) + [ours.cfg.eos_id] == ids
        src = torch.tensor([ids])
        tgt = torch.tensor([[hf.config.decoder_start_token_id] + hf_tokenizer(text_target=text).input_ids[:-1]])
        with torch.inference_mode():
            theirs = hf(input_ids=src, decoder_input_ids=tgt).logits
            mine = ours(src, tgt)
        assert (mine - theirs).abs().max() < 1e-5


def test_other_objects_are_refused_in_one_sentence(marian_objects):
    hf, hf_tokenizer = marian_objects
    with pytest.raises(HFImportError, match="expected a Hugging Face model"):
        from_hf_objects(object(), hf_tokenizer)
    with pytest.raises(HFImportError, match="expected a MarianTokenizer"):
        from_hf_objects(hf, object())

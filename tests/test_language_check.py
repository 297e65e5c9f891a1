"""One check of a language code (model.core.hf_tokenizers.check_language), one sentence, wherever a code enters:
the commands' flags, a translation's pair, the tokenizer, a checkpoint's config.json. The expected sentences are
written out here by hand."""

from __future__ import annotations

import json

import pytest

from model.core.checkpoint import CONFIG_FILE, CheckpointError, load_checkpoint, with_languages
from model.core.hf_tokenizers import check_language
from model.decoding.translation import InputError, translate
from tests.test_hostile_checkpoints import make_multilingual

KNOWN = "(its languages: aaa_Latn, bbb_Latn)"


@pytest.fixture()
def multi(tmp_path, tokenizer):
    return load_checkpoint(make_multilingual(tmp_path / "multi", tokenizer))


def test_each_entry_gives_the_one_sentence(multi):
    with pytest.raises(ValueError) as flag:
        with_languages(multi, None, "xx_Nope")
    assert str(flag.value) == f"--tgt-lang 'xx_Nope' is not a language of multi {KNOWN}"
    with pytest.raises(InputError) as pair:
        translate(multi.model, multi.tokenizer, "A dog.", src_lang="xx_Nope")
    assert str(pair.value) == f"the source language 'xx_Nope' is not a language of this model {KNOWN}"
    with pytest.raises(ValueError) as tokenizer:
        multi.tokenizer.with_languages("xx_Nope")
    assert str(tokenizer.value) == f"'xx_Nope' is not a language of this model {KNOWN}"
    config = multi.path / CONFIG_FILE
    config.write_text(json.dumps(json.loads(config.read_text()) | {"tgt_lang": "xx_Nope"}))
    with pytest.raises(CheckpointError) as loaded:
        load_checkpoint(multi.path)
    assert str(loaded.value) == f"tgt_lang 'xx_Nope' is not a language of the model in {config} {KNOWN}."


def test_a_known_code_passes_and_a_bilingual_model_knows_none(multi, checkpoint_dir):
    assert with_languages(multi, "bbb_Latn", "aaa_Latn").tokenizer.src_lang == "bbb_Latn"
    assert check_language("aaa_Latn", multi.languages) == "aaa_Latn"
    with pytest.raises(ValueError) as bilingual:
        with_languages(load_checkpoint(checkpoint_dir), "en", None)
    assert str(bilingual.value) == "--src-lang 'en' is not a language of tiny-en-de (it is bilingual)"


def test_a_long_list_is_cut_and_a_missing_code_is_named():
    codes = [f"c{i}" for i in range(9)]
    with pytest.raises(ValueError) as long:
        check_language("zz", codes, "--src-lang", "big")
    assert (
        str(long.value)
        == "--src-lang 'zz' is not a language of big (its languages: c0, c1, c2, c3, c4, c5, c6, c7, ...)"
    )
    for missing in (None, ""):
        with pytest.raises(ValueError) as none:
            check_language(missing, codes[:2], "the target language")
        assert (
            str(none.value)
            == "the target language (none given) is not a language of this model (its languages: c0, c1)"
        )
    with pytest.raises(ValueError, match=r"^\['c0'\] is not a language"):
        check_language(["c0"], codes)  # not a string: never found by equality with a list's element

"""The tokenizer of a multilingual translator (M2M-100, NLLB-200, mBART-50): SentencePiece, one id map, language codes.

As the families' own tokenizers do it: SentencePiece cuts the text into pieces, the map gives their ids (unknown
pieces get <unk>), and a language-code piece (`kor_Hang`, `ko_KR`, `__ko__`) names the source language in the
encoder's input and is forced as the first output piece. The code's place in the source and the forcing are the
model's (`TransformerConfig.language_code_position`, `force_target_language`); this class only knows which pieces
are language codes, and which pair a checkpoint translates by default.

Saved as `TokenizerPair`'s files (the one SentencePiece model twice, as source.spm and target.spm, and vocab.json)
plus `languages.json`: {"codes": {code: piece}, "src_lang": code, "tgt_lang": code, "trailing_space_piece": bool}.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path

import sentencepiece as spm

from model.core.config import MAX_LANGUAGES
from model.core.tokenizer import WORD_START, Tokenizer, TokenizerPair
from model.core.tokenizer import load_tokenizer as load_bilingual_tokenizer

LANGUAGES_FILE = "languages.json"


def check_language(code: object, languages: Sequence[str], label: str = "", owner: str = "this model") -> str:
    """`code` if it is one of `languages`, else a ValueError in one sentence: the one check of a language code
    (the commands, the translation, the tokenizer, the config and the app all ask here). `label` names where the
    code came from (a flag such as --src-lang), `owner` the model."""
    if isinstance(code, str) and code in languages:
        return code
    given = f"{label} {code!r}".strip() if code else f"{label or 'the language'} (none given)"
    more = ", ..." if len(languages) > 8 else ""
    known = f"its languages: {', '.join(languages[:8])}{more}" if languages else "it is bilingual"
    raise ValueError(f"{given} is not a language of {owner} ({known})")


class MultilingualTokenizer(TokenizerPair):
    """A `TokenizerPair` whose vocabulary holds language-code pieces, with a default source and target language.

    Language codes are special pieces: `decode` leaves them out, as it does </s>. `with_languages` gives a copy
    with another default pair (the SentencePiece models are shared, nothing is reloaded).
    """

    files = (*TokenizerPair.files, LANGUAGES_FILE)

    def __init__(
        self,
        source_proto: bytes,
        target_proto: bytes,
        vocab: dict[str, int],
        codes: dict[str, str],
        src_lang: str,
        tgt_lang: str,
        trailing_space_piece: bool = False,
    ) -> None:
        super().__init__(source_proto, target_proto, vocab)
        # transformers' NLLB and mBART-50 tokenizers (the `tokenizers` library) end a text that ends in whitespace
        # with a lone '▁' piece, where SentencePiece drops the whitespace; True reproduces theirs.
        self.trailing_space_piece = bool(trailing_space_piece) and WORD_START in self.vocab
        if not codes or len(codes) > MAX_LANGUAGES:
            raise ValueError(f"a multilingual tokenizer needs 1 to {MAX_LANGUAGES} language codes, got {len(codes)}")
        absent = [piece for piece in codes.values() if piece not in self.vocab]
        if absent:
            raise ValueError(f"the vocabulary has no piece for the language codes {', '.join(absent[:5])}")
        self.codes = dict(codes)  # language code -> its piece
        self.language_ids = {code: self.vocab[piece] for code, piece in self.codes.items()}
        self.specials = self.specials | set(self.language_ids.values())
        self.src_lang, self.tgt_lang = self.checked(src_lang), self.checked(tgt_lang)

    def _ids(self, sp: spm.SentencePieceProcessor, text: str) -> list[int]:
        ids = super()._ids(sp, text)
        if self.trailing_space_piece and self._ends_in_space(sp, text):
            ids.append(self.vocab[WORD_START])
        return ids

    @staticmethod
    def _ends_in_space(sp: spm.SentencePieceProcessor, text: str) -> bool:
        """Whether the text ends in whitespace as the model's normaliser sees it (tabs, no-break and ideographic
        spaces count; characters it deletes, such as a soft hyphen, are looked past)."""
        for char in reversed(text):
            probe = sp.normalize(f"a{char}b")
            if probe != "\u2581ab":  # not deleted: whitespace or a visible character
                return probe == "\u2581a\u2581b"
        return False

    @property
    def languages(self) -> list[str]:
        return list(self.codes)

    def checked(self, code: str) -> str:
        """`code` if it is one of this tokenizer's languages; otherwise a ValueError that says which exist."""
        return check_language(code, self.languages)

    def language_id(self, code: str) -> int:
        """The model id of a language's code piece."""
        return self.language_ids[self.checked(code)]

    def with_languages(self, src_lang: str | None = None, tgt_lang: str | None = None) -> MultilingualTokenizer:
        other = copy.copy(self)
        other.src_lang = self.checked(src_lang) if src_lang else self.src_lang
        other.tgt_lang = self.checked(tgt_lang) if tgt_lang else self.tgt_lang
        return other

    @classmethod
    def load(cls, folder: Path) -> MultilingualTokenizer:
        pair = TokenizerPair.load(folder)
        data = json.loads((folder / LANGUAGES_FILE).read_text(encoding="utf-8"))
        codes = data.get("codes") if isinstance(data, dict) else None
        if not isinstance(codes, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in codes.items()):
            raise ValueError(f"{LANGUAGES_FILE} must map each language code to its piece under 'codes'")
        src, tgt = data.get("src_lang"), data.get("tgt_lang")
        if not isinstance(src, str) or not isinstance(tgt, str):
            raise ValueError(f"{LANGUAGES_FILE} must name the default src_lang and tgt_lang")
        trailing = data.get("trailing_space_piece", False)
        if not isinstance(trailing, bool):
            raise ValueError(f"{LANGUAGES_FILE} gives trailing_space_piece = {trailing!r}, not true or false")
        return cls(pair.source_proto, pair.target_proto, pair.vocab, codes, src, tgt, trailing)

    def save(self, folder: Path) -> None:
        super().save(folder)
        data = {
            "codes": self.codes,
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
            "trailing_space_piece": self.trailing_space_piece,
        }
        (folder / LANGUAGES_FILE).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_tokenizer(folder: Path) -> Tokenizer | TokenizerPair:
    """The tokenizer a checkpoint folder holds: a joint model, a source/target pair, or a multilingual one."""
    if (folder / LANGUAGES_FILE).is_file():
        return MultilingualTokenizer.load(folder)
    return load_bilingual_tokenizer(folder)

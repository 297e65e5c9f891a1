"""Which language a code names, whatever family wrote it: `en` (Marian, M2M-100), `eng_Latn` (NLLB-200), `en_XX`
(mBART-50) are all English.

A code's first part (before `_` or `-`) is an ISO 639-1 (two letters) or ISO 639-3 (three letters) language code; the
rest is a script (`Latn`) or region (`XX`, `DE`) the language test ignores.
"""

from __future__ import annotations

import re

# ISO 639-1 -> ISO 639-3 for the languages of Headlight's data (Multi30k, the alignment gold sets, the general models)
ISO_639_3 = {"en": "eng", "de": "deu", "fr": "fra", "cs": "ces"}


def means_language(code: str | None, language: str) -> bool:
    """Whether `code` names `language` (a two-letter ISO 639-1 code from ISO_639_3, or any code, which names itself):
    "de", "deu_Latn" and "de_DE" all name German; "ben_Beng" does not name English."""
    primary = re.split(r"[_-]", code or "", maxsplit=1)[0].lower()
    return code == language or primary in {language, ISO_639_3.get(language)}


def means_english(code: str | None) -> bool:
    """Whether `code` names English in any family's spelling: en, eng_Latn, en_XX (and en-GB, en_US, ...)."""
    return means_language(code, "en")


def code_for(language: str, codes: list[str]) -> str | None:
    """The first of `codes` (a multilingual model's) that names `language`; None when none does."""
    return next((code for code in codes if means_language(code, language)), None)


def language_of(code: str) -> str | None:
    """The two-letter code of the language `code` names, among ISO_639_3's (None for any other language)."""
    return next((language for language in ISO_639_3 if means_language(code, language)), None)

"""Tidy English input the way the training sentences are written: capital first letter, "I", end punctuation.

People type "where is the bus stop" or "i need an umbrella"; the training data (Tatoeba, Multi30k, news) almost always
starts with a capital and ends with punctuation, and a small model trained on it translates the untidy form much worse
(measured in the model cards: `python -m model.evaluate --input-style`). `tidy_english` makes only changes that keep the
sentence's meaning and says which it made, so the app can show the sentence it actually translated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from model.core.language_codes import means_english

WH_WORDS = {"what", "where", "when", "why", "who", "whom", "whose", "which", "how"}
AUXILIARIES = {
    "am",
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "can",
    "could",
    "will",
    "would",
    "shall",
    "should",
    "may",
    "might",
    "must",
    "have",
    "has",
    "had",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "don't",
    "doesn't",
    "didn't",
    "can't",
    "couldn't",
    "won't",
    "wouldn't",
    "shouldn't",
    "haven't",
    "hasn't",
    "hadn't",
    "mustn't",
}
PERSONS = {"i", "you", "he", "she", "we", "they"}
SUBJECTS = PERSONS | {
    "it",
    "there",
    "this",
    "that",
    "these",
    "those",
    "anyone",
    "anybody",
    "someone",
    "somebody",
    "everyone",
    "everybody",
    "the",
    "a",
    "an",
    "my",
    "your",
    "his",
    "her",
    "its",
    "our",
    "their",
    "any",
    "all",
    "some",
}
# "do it now", "have a nice day": a question only before a person ("do you", "have they")
IMPERATIVE_TOO = {"do", "have"}
HOW_QUESTIONS = {"much", "many", "far", "long", "old", "often", "big", "tall"}  # "how much does it cost"
OPENERS = "\"'“‘«([¿¡"
SENTENCE_END = re.compile(r"[.!?…:;]['\"”’)\]]*$")
AFTER_EXCLAMATION = re.compile(r"([!?]\s+)([a-z])")  # not after ".": "e.g. this" is one sentence
PRONOUN_END = r"(?=$|[\s,.!?;:]|['’](?:m|ll|ve|d)\b)"  # "i", "i'm", "i’ll" ...
LOWER_I = re.compile(r"\bi(?!\.e\.)" + PRONOUN_END)  # the pronoun, not "i.e."


@dataclass(frozen=True)
class Tidied:
    text: str
    changes: tuple[str, ...]  # "capital", "I", "question mark", "full stop", "spaces": what was changed, in that order


def looks_like_question(text: str) -> bool:
    """An English question by the first words of the text or of its last clause ("hi anna, how was your weekend", "good
    morning! did you sleep well"): a wh-word before an auxiliary ("where is", "what's", "how much"), or an auxiliary
    before a subject ("is there", "can you", "is the museum"). Imperatives ("do it now", "have a nice day") and
    clauses ("when i get home, ...") are not."""
    return any(clause_asks(clause) for clause in (text, re.split(r"[,.!?;:]", text)[-1]))


def clause_asks(clause: str) -> bool:
    words = [w.replace("’", "'") for w in re.findall(r"[a-z’']+", clause.casefold())[:2]]
    if not words:
        return False
    base, _, contraction = words[0].partition("'")
    if base in WH_WORDS and contraction in {"s", "re", "ll", "d", "ve"}:  # "what's", "where're"
        return True
    if len(words) < 2:
        return False
    first, second = words
    if first in WH_WORDS:
        return second in AUXILIARIES or (first == "how" and second in HOW_QUESTIONS)
    return first in AUXILIARIES and second in (PERSONS if first in IMPERATIVE_TOO else SUBJECTS)


def first_character(text: str) -> int:
    """Where the first word starts, after opening quotes and brackets ("“hello”" → 1); a digit there is left alone."""
    word = text.lstrip(OPENERS)
    return len(text) - len(word) if word else 0


def tidy_english(text: str) -> Tidied:
    """The sentence with collapsed spaces, a capital first letter, "I" for the pronoun "i", and "?" or "." at the end
    when
    it has no end punctuation; text that is already tidy comes back unchanged (and `changes` is empty)."""
    changes = []
    tidy = " ".join(text.split())
    if tidy != text.strip():
        changes.append("spaces")
    if not tidy:
        return Tidied(tidy, tuple(changes))
    first = first_character(tidy)
    capitals = tidy[:first] + tidy[first].upper() + tidy[first + 1 :]
    capitals = AFTER_EXCLAMATION.sub(lambda m: m.group(1) + m.group(2).upper(), capitals)  # "hi! how are you"
    if capitals != tidy:
        tidy = capitals
        changes.append("capital")
    with_i = LOWER_I.sub("I", tidy)
    if with_i != tidy:
        tidy = with_i
        changes.append("I")
    if not SENTENCE_END.search(tidy) and any(ch.isalnum() for ch in tidy):
        question = looks_like_question(tidy)
        tidy += "?" if question else "."
        changes.append("question mark" if question else "full stop")
    return Tidied(tidy, tuple(changes))


CASUAL_END = re.compile(r"\s*[.!?…]+$")
CAPITAL_I = re.compile(r"\bI" + PRONOUN_END)


def casual_english(text: str) -> str:
    """The sentence as people often type it (to measure what tidying buys): first letter in lower case, "i" for "I",
    no end punctuation. "I don't know." → "i don't know"."""
    text = CASUAL_END.sub("", text.strip())
    text = CAPITAL_I.sub("i", text)
    first = first_character(text)
    return text[:first] + text[first : first + 1].lower() + text[first + 1 :]


INPUT_STYLES = {  # what `python -m model.evaluate --input-style` feeds the model
    "as-written": lambda s: s,
    "tidied": lambda s: tidy_english(s).text,
    "casual": casual_english,
    "casual-tidied": lambda s: tidy_english(casual_english(s)).text,
}


def tidy_input(text: str, src_lang: str, enabled: bool = True) -> Tidied:
    """What the app translates: English input tidied when `enabled`, any other language as typed. English is every
    family's code for it (en, eng_Latn, en_XX)."""
    return tidy_english(text) if enabled and means_english(src_lang) else Tidied(text, ())

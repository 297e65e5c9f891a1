"""What a user should know about one translation beyond its text, as sentences (a command prints them on stderr)."""

from __future__ import annotations

from model.core.interface import TranslationTokenizer
from model.decoding.translation import Translation


def translation_notes(result: Translation, tokenizer: TranslationTokenizer, prefix: str) -> list[str]:
    """The forced pieces with the model's log-probability of each (for a given `prefix`: a multilingual model's
    forced language code alone is no news), and an input cut to the model's limit."""
    notes = []
    if result.forced and prefix:
        pieces = tokenizer.target_pieces(result.out_ids[: result.forced])
        listed = " ".join(f"{p} ({lp:.2f})" for p, lp in zip(pieces, result.logprobs))
        notes.append(f"forced pieces (the model's log-probability of each): {listed}")
    if result.truncated:
        kept = len(result.src_ids) - 1
        notes.append(f"note: input cut to the model's limit of {kept} pieces ({result.truncated} dropped)")
    return notes

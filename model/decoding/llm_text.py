"""One sentence through a decoder-only language model as the translate command gives it: the input tidied when
asked, the translation, its trace (model.decoding.decoder_only_trace) when asked, and notes for the user."""

from __future__ import annotations

from dataclasses import dataclass

from model.core.decoder_only import DecoderOnlyTransformer
from model.core.decoder_only_tokenizer import ChatTokenizer
from model.core.language_codes import means_english
from model.decoding.decoder_only_search import LLMTranslation, translate_with_llm
from model.decoding.decoder_only_trace import DecoderOnlyTrace, decoder_only_trace
from model.decoding.tidy import Tidied, tidy_input
from model.decoding.translation import InputError


@dataclass
class LLMTextTranslation:
    """What the translate command shows of a decoder-only translation: its text, its trace when asked for, the input
    as translated and the notes for the user."""

    translation: LLMTranslation
    trace: DecoderOnlyTrace | None
    tidied: Tidied
    notes: list[str]

    @property
    def text(self) -> str:
        return self.translation.text


def translate_llm_text(
    model: DecoderOnlyTransformer,
    tokenizer: ChatTokenizer,
    text: str,
    tidy: bool = False,
    with_trace: bool = False,
    **options,
) -> LLMTextTranslation:
    """`translate_with_llm(model, tokenizer, text, **options)` (src_lang and tgt_lang are languages' names), the
    input tidied first when `tidy` and the source is English (model.decoding.tidy), with the trace when `with_trace`.
    An input that cannot be translated (no text, a template that loses it) is an InputError."""
    source = options.get("src_lang", "")
    tidied = tidy_input(text, "en" if source.casefold() == "english" or means_english(source) else source, tidy)
    try:
        result = translate_with_llm(model, tokenizer, tidied.text, attention=with_trace, **options)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    notes = []
    if result.output_ids[-1] not in model.cfg.eos_ids:
        notes.append(f"note: the output was cut at {len(result.output_ids)} pieces, before the model's end of turn")
    trace = decoder_only_trace(result, tokenizer.special_ids) if with_trace else None
    return LLMTextTranslation(result, trace, tidied, notes)

"""The translate command's options for the kind of model it loaded: an encoder-decoder's (ablated heads, a forced
prefix, language codes) or a decoder-only language model's (the languages' names in its prompt, its instruction);
an option the model cannot take is one sentence."""

from __future__ import annotations

import argparse

from model.core.checkpoint import Checkpoint, with_languages
from model.core.decoder_only import DecoderOnlyTransformer
from model.core.decoder_only_tokenizer import DEFAULT_INSTRUCTION, check_instruction
from model.core.head_selection import parse_head_spec

MAX_LANGUAGE_CHARS = 64  # as a checkpoint's own src_lang/tgt_lang
GNMT_ALPHA = 0.6  # the encoder-decoders' length penalty: GNMT's exponent
LLM_LENGTH_PENALTY = 1.0  # transformers' default for generate(num_beams=k): score / length ** 1
ENCODER_DECODER_FLAGS = {"--ablate": "ablate", "--prefix": "prefix"}  # flag: its argparse dest


def add_instruction_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--instruction",
        default=None,
        help="decoder-only models: the prompt's instruction, holding {text} once (the sentence) and optionally "
        "{source} and {target} (the languages' names); a brace itself is written {{ or }} (default: the "
        f"checkpoint's, usually {DEFAULT_INSTRUCTION!r})",
    )


def language_name(flag: str, name: str) -> str:
    """A language's name as a prompt writes it ("English", "German"), checked: 1 to 64 printable characters (a line
    break would reshape the prompt)."""
    if not 0 < len(name) <= MAX_LANGUAGE_CHARS or not name.isprintable() or not name.strip():
        raise ValueError(
            f"{flag} {name!r} is not a language's name: give 1 to {MAX_LANGUAGE_CHARS} printable characters, "
            "e.g. German"
        )
    return name.strip()


def translate_options(args: argparse.Namespace, ckpt: Checkpoint) -> tuple[Checkpoint, dict]:
    """(the checkpoint set to the language pair, the keyword options of its model's translate function:
    `model.decoding.translation.translate`, or `model.decoding.llm_text.translate_llm_text` for a
    decoder-only model). A flag the model cannot take, or a bad language or instruction, is a ValueError."""
    if isinstance(ckpt.model, DecoderOnlyTransformer):
        for flag, dest in ENCODER_DECODER_FLAGS.items():
            if getattr(args, dest):
                raise ValueError(f"{flag} works with encoder-decoder models only; {ckpt.name} is a decoder-only model")
        options = dict(
            src_lang=language_name("--src-lang", args.src_lang or ckpt.src_lang),
            tgt_lang=language_name("--tgt-lang", args.tgt_lang or ckpt.tgt_lang),
            beam_size=args.beam,
            length_penalty=LLM_LENGTH_PENALTY if args.length_penalty is None else args.length_penalty,
            instruction=None if args.instruction is None else check_instruction(args.instruction),
        )
        return ckpt, options | ({"max_new_tokens": args.max_len} if args.max_len else {})
    if args.instruction is not None:
        raise ValueError(f"--instruction works with decoder-only models only; {ckpt.name} is an encoder-decoder model")
    heads = parse_head_spec(args.ablate, ckpt.model.cfg)
    ckpt = with_languages(ckpt, args.src_lang, args.tgt_lang)
    alpha = GNMT_ALPHA if args.length_penalty is None else args.length_penalty
    return ckpt, dict(
        beam=args.beam,
        max_len=args.max_len,
        alpha=alpha,
        ablate=heads,
        prefix=args.prefix,
        src_lang=args.src_lang or (ckpt.src_lang if ckpt.languages else None),
        tgt_lang=args.tgt_lang or (ckpt.tgt_lang if ckpt.languages else None),
    )

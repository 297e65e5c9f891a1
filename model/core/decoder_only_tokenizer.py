"""A language model's tokenizer and chat template, read from its own files without `transformers`.

The tokenizer is the model's `tokenizer.json`, run by the `tokenizers` library (the same Rust code `transformers`
runs). The chat template is the model's Jinja template, rendered as `transformers`' `apply_chat_template` renders
it: in a sandbox (`jinja2.sandbox.ImmutableSandboxedEnvironment`: the template is text from a model folder, so it
may not reach Python's internals or change its inputs), with trim_blocks and lstrip_blocks, the special tokens'
strings as variables, and the result tokenized without adding special tokens (the template writes them).
"""

from __future__ import annotations

import json
import string
from datetime import datetime
from pathlib import Path

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer as FastTokenizer

TOKENIZER_JSON, CHAT_TEMPLATE = "tokenizer.json", "chat_template.jinja"
SPECIAL_TOKENS = ("bos_token", "eos_token", "pad_token", "unk_token")  # what templates read, as strings
MAX_TEMPLATE_CHARS = 1 << 20  # real templates are a few kB (Llama 3.1's ~5 kB)
# The translation instruction, the one user message inside the model's chat template: {source} and {target} are the
# languages' names, {text} the sentence. Overridable per checkpoint (config.json "chat": {"instruction": ...}) and
# per call (`model.decoding.decoder_only_search.translate_with_llm(instruction=...)`).
DEFAULT_INSTRUCTION = "Translate the following {source} text into {target}:\n\n{text}"
MAX_INSTRUCTION_CHARS = 4096


class ChatTemplateError(ValueError):
    """A chat template that cannot be compiled or rendered; the message says why in one sentence."""


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) -> str:
    # as transformers: JSON without Jinja's HTML escaping
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def compile_template(source: str) -> jinja2.Template:
    """The template compiled in the sandbox `transformers` uses, with the helpers templates call."""
    if not isinstance(source, str) or not source.strip():
        raise ChatTemplateError("the chat template is empty")
    if len(source) > MAX_TEMPLATE_CHARS:
        raise ChatTemplateError(f"the chat template has {len(source)} characters, more than {MAX_TEMPLATE_CHARS}")
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(str(fmt))
    try:
        return env.from_string(source)
    except jinja2.TemplateError as exc:
        raise ChatTemplateError(f"the chat template is not valid Jinja ({exc})") from None


def check_instruction(instruction: object) -> str:
    """The instruction if it is a usable one: a string naming {text} once, and nothing but {source}, {target}, {text}
    in braces; else a ValueError in one sentence."""
    if not isinstance(instruction, str) or len(instruction) > MAX_INSTRUCTION_CHARS:
        raise ValueError(f"the instruction must be text of at most {MAX_INSTRUCTION_CHARS} characters")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(instruction) if name is not None]
    except ValueError as exc:
        raise ValueError(f"the instruction is not a format string ({exc}); write a brace as {{{{ or }}}}") from None
    if fields.count("text") != 1 or not set(fields) <= {"source", "target", "text"}:
        raise ValueError("the instruction must hold {text} once and no fields but {source}, {target} and {text}")
    return instruction


class ChatTokenizer:
    """`tokenizer.json` plus the chat template: prompts in, ids out, and back to text.

    `special` maps SPECIAL_TOKENS names to their strings (from the model's tokenizer_config.json), which the
    template reads (bos_token, eos_token, ...); `instruction` is the translation prompt (DEFAULT_INSTRUCTION).
    """

    files = (TOKENIZER_JSON, CHAT_TEMPLATE)

    def __init__(
        self,
        tokenizer_json: str,
        chat_template: str,
        special: dict[str, str] | None = None,
        instruction: str = DEFAULT_INSTRUCTION,
    ) -> None:
        try:
            self.tokenizer = FastTokenizer.from_str(tokenizer_json)
        except Exception as exc:  # tokenizers raises its own Exception type for malformed files
            raise ValueError(f"{TOKENIZER_JSON} is not a tokenizer the `tokenizers` library can read ({exc})") from None
        self.tokenizer_json, self.chat_template = tokenizer_json, chat_template
        self.template = compile_template(chat_template)
        self.special = {k: v for k, v in (special or {}).items() if k in SPECIAL_TOKENS and isinstance(v, str)}
        self.instruction = check_instruction(instruction)
        self.special_ids = {i for i, t in self.tokenizer.get_added_tokens_decoder().items() if t.special}

    @classmethod
    def load(
        cls, folder: str | Path, special: dict[str, str] | None = None, instruction: str = DEFAULT_INSTRUCTION
    ) -> ChatTokenizer:
        folder = Path(folder)
        return cls(
            (folder / TOKENIZER_JSON).read_text(encoding="utf-8"),
            (folder / CHAT_TEMPLATE).read_text(encoding="utf-8"),
            special,
            instruction,
        )

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        (folder / TOKENIZER_JSON).write_text(self.tokenizer_json, encoding="utf-8")
        (folder / CHAT_TEMPLATE).write_text(self.chat_template, encoding="utf-8")

    @property
    def vocab_size(self) -> int:
        """Pieces the tokenizer knows (the model's embedding may have more rows, never used)."""
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The template's text for a conversation, with the assistant's header after it (add_generation_prompt)."""
        try:
            return self.template.render(
                messages=messages,
                add_generation_prompt=add_generation_prompt,
                tools=None,
                documents=None,
                **self.special,
            )
        except jinja2.TemplateError as exc:  # raise_exception() included; SecurityError is one
            raise ChatTemplateError(f"the chat template could not be rendered ({exc})") from None

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids of text (special tokens written in it are recognised, none added) and each piece's character span."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        return list(encoding.ids), [tuple(span) for span in encoding.offsets]

    def encode(self, text: str) -> list[int]:
        return self.encode_with_offsets(text)[0]

    def decode(self, ids: list[int]) -> str:
        """Text of ids, special pieces (end of turn, ...) left out."""
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def pieces(self, ids: list[int]) -> list[str]:
        """Each id's text as it adds to the decoded sequence (a byte-level piece that ends inside a character gives
        "" and the next one the whole character); special pieces as written."""
        out, previous = [], ""
        for i in range(len(ids)):
            text = self.tokenizer.decode(list(ids[: i + 1]), skip_special_tokens=False)
            if text.endswith("\ufffd") and i + 1 < len(ids):
                out.append("")
                continue
            out.append(text[len(previous) :] if text.startswith(previous) else self.tokenizer.id_to_token(ids[i]) or "")
            previous = text
        return out

    def piece_to_id(self, piece: str) -> int | None:
        return self.tokenizer.token_to_id(piece)

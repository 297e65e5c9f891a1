"""Tokenizers: one joint SentencePiece model (ours, paper §5.1), or a source/target pair with one id map (OPUS-MT).

Both implement `model.core.interface.TranslationTokenizer`; decoding and the views use only that.
"""

from __future__ import annotations

import io
import json
from collections.abc import Collection, Iterable
from pathlib import Path

import sentencepiece as spm

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
WORD_START = "\u2581"  # SentencePiece marks a piece that starts a word with '▁'


class Tokenizer:
    """One SentencePiece model for both languages; piece ids are model ids."""

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3
    files = ("tokenizer.model",)

    def __init__(self, model_proto: bytes) -> None:
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        specials = (self.sp.pad_id(), self.sp.unk_id(), self.sp.bos_id(), self.sp.eos_id())
        if specials != (self.pad_id, self.unk_id, self.bos_id, self.eos_id):
            raise ValueError(f"SentencePiece model has special ids {specials}, expected (0, 1, 2, 3)")

    @classmethod
    def train(cls, sentences: Iterable[str], vocab_size: int, model_type: str = "unigram") -> Tokenizer:
        proto = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=proto,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=1.0,
            pad_id=cls.pad_id,
            unk_id=cls.unk_id,
            bos_id=cls.bos_id,
            eos_id=cls.eos_id,
            pad_piece=PAD,
            unk_piece=UNK,
            bos_piece=BOS,
            eos_piece=EOS,
            minloglevel=2,
        )
        return cls(proto.getvalue())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    @classmethod
    def load(cls, folder: Path) -> Tokenizer:
        return cls((folder / cls.files[0]).read_bytes())

    def save(self, folder: Path) -> None:
        (folder / self.files[0]).write_bytes(self.model_proto)

    def encode(self, text: str) -> list[int]:
        """Piece ids of a source sentence, without special symbols."""
        return self.sp.encode(text)

    encode_target = encode

    def decode(self, ids: Iterable[int]) -> str:
        """The target text of model ids; special symbols are left out."""
        keep = [i for i in ids if i not in (self.pad_id, self.bos_id, self.eos_id)]
        return self.sp.decode(keep)

    def pieces(self, ids: Iterable[int]) -> list[str]:
        return [self.sp.id_to_piece(int(i)) for i in ids]

    source_pieces = target_pieces = pieces

    def piece_to_id(self, piece: str) -> int:
        return self.sp.piece_to_id(piece)


class TokenizerPair:
    """Source and target SentencePiece models and one piece -> id map (OPUS-MT: source.spm, target.spm, vocab.json).

    As Marian does it: the source model cuts the text into pieces, the map gives their ids (unknown
    pieces get <unk>); ids map back to pieces, and the target model joins them into text.
    Special ids come from the map (the checkpoint), not from constants.
    """

    files = ("source.spm", "target.spm", "vocab.json")

    def __init__(self, source_proto: bytes, target_proto: bytes, vocab: dict[str, int]) -> None:
        self.source_proto, self.target_proto, self.vocab = source_proto, target_proto, dict(vocab)
        self.source_sp = spm.SentencePieceProcessor(model_proto=source_proto)
        self.target_sp = spm.SentencePieceProcessor(model_proto=target_proto)
        missing = [s for s in (PAD, UNK, EOS) if s not in self.vocab]
        if missing:
            raise ValueError(f"the vocabulary has no {', '.join(missing)}")
        self.pad_id, self.unk_id, self.eos_id = self.vocab[PAD], self.vocab[UNK], self.vocab[EOS]
        self.bos_id = self.vocab.get(BOS, self.pad_id)  # Marian has no <s>: its decoder starts from <pad>
        self.id_to_piece = {i: p for p, i in self.vocab.items()}
        if len(self.id_to_piece) != len(self.vocab) or sorted(self.id_to_piece) != list(range(len(self.vocab))):
            raise ValueError("the vocabulary's ids are not 0..N-1, each used once")
        self.specials = {i for i in (self.pad_id, self.eos_id, self.bos_id)}

    @classmethod
    def load(cls, folder: Path) -> TokenizerPair:
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        if not isinstance(vocab, dict) or not all(isinstance(v, int) for v in vocab.values()):
            raise ValueError("vocab.json must map each piece to an integer id")
        return cls((folder / "source.spm").read_bytes(), (folder / "target.spm").read_bytes(), vocab)

    def save(self, folder: Path) -> None:
        (folder / "source.spm").write_bytes(self.source_proto)
        (folder / "target.spm").write_bytes(self.target_proto)
        (folder / "vocab.json").write_text(
            json.dumps(self.vocab, ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
        )

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _ids(self, sp: spm.SentencePieceProcessor, text: str) -> list[int]:
        return [self.vocab.get(piece, self.unk_id) for piece in sp.encode(text, out_type=str)]

    def encode(self, text: str) -> list[int]:
        """Model ids of a source sentence, without special symbols."""
        return self._ids(self.source_sp, text)

    def encode_target(self, text: str) -> list[int]:
        """Model ids of a target sentence (for teacher forcing), without special symbols."""
        return self._ids(self.target_sp, text)

    def decode(self, ids: Iterable[int]) -> str:
        pieces = [self.id_to_piece[int(i)] for i in ids if int(i) not in self.specials]
        return self.target_sp.decode_pieces(pieces)

    def pieces(self, ids: Iterable[int]) -> list[str]:
        return [self.id_to_piece.get(int(i), UNK) for i in ids]

    source_pieces = target_pieces = pieces

    def piece_to_id(self, piece: str) -> int:
        return self.vocab.get(piece, self.unk_id)


def load_tokenizer(folder: Path) -> Tokenizer | TokenizerPair:
    """The tokenizer a checkpoint folder holds: a joint model, or a source/target pair."""
    if (folder / Tokenizer.files[0]).is_file():
        return Tokenizer.load(folder)
    missing = [f for f in TokenizerPair.files if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} has no tokenizer: neither {Tokenizer.files[0]} nor {', '.join(missing)}")
    return TokenizerPair.load(folder)


def word_starts(pieces: list[str], own_words: Collection[str] = ()) -> list[bool]:
    """True where a piece begins a new word: a '▁' piece, the first piece, and a special symbol or a piece of
    `own_words` (a multilingual model's language codes) and the piece after it: those are words of their own."""
    alone = {PAD, UNK, BOS, EOS, *own_words}
    return [
        i == 0 or piece in alone or pieces[i - 1] in alone or piece.startswith(WORD_START)
        for i, piece in enumerate(pieces)
    ]

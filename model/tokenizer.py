"""SentencePiece tokenizer shared by source and target (one joint vocabulary, paper §5.1)."""
from __future__ import annotations

import io
from typing import Iterable

import sentencepiece as spm

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
WORD_START = "\u2581"  # SentencePiece marks a piece that starts a word with '▁'


class Tokenizer:
    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, model_proto: bytes) -> None:
        self.model_proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        specials = (self.sp.pad_id(), self.sp.unk_id(), self.sp.bos_id(), self.sp.eos_id())
        if specials != (self.pad_id, self.unk_id, self.bos_id, self.eos_id):
            raise ValueError(f"SentencePiece model has special ids {specials}, expected (0, 1, 2, 3)")

    @classmethod
    def train(cls, sentences: Iterable[str], vocab_size: int, model_type: str = "unigram") -> "Tokenizer":
        proto = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=proto,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=1.0,
            pad_id=cls.pad_id, unk_id=cls.unk_id, bos_id=cls.bos_id, eos_id=cls.eos_id,
            pad_piece=PAD, unk_piece=UNK, bos_piece=BOS, eos_piece=EOS,
            minloglevel=2,
        )
        return cls(proto.getvalue())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        """Piece ids of `text`, without special symbols."""
        return self.sp.encode(text)

    def decode(self, ids: Iterable[int]) -> str:
        keep = [i for i in ids if i not in (self.pad_id, self.bos_id, self.eos_id)]
        return self.sp.decode(keep)

    def pieces(self, ids: Iterable[int]) -> list[str]:
        return [self.sp.id_to_piece(int(i)) for i in ids]


def word_starts(pieces: list[str]) -> list[bool]:
    """True where a piece begins a new word: a '▁' piece, a special symbol, or the first piece."""
    starts = []
    for i, piece in enumerate(pieces):
        special = piece in (PAD, UNK, BOS, EOS)
        previous_special = i > 0 and pieces[i - 1] in (PAD, UNK, BOS, EOS)
        starts.append(i == 0 or special or previous_special or piece.startswith(WORD_START))
    return starts

"""The positional encoding a model really uses, written out for the views beside the paper's.

`position_formula(cfg)` names the formula of `model.core.transformer.position_table` (or the learned table) in LaTeX
and in one sentence; `tests/test_hf_families.py` evaluates the described formula by hand and compares it with the
table the model adds, so the text cannot drift from the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.core.config import TransformerConfig

PAPER = (
    r"PE_{(p,\,2i)} = \sin\!\left(p / 10000^{2i/d}\right),\quad "
    r"PE_{(p,\,2i+1)} = \cos\!\left(p / 10000^{2i/d}\right)"
)


@dataclass(frozen=True)
class PositionFormula:
    kind: str  # "sinusoidal" or "learned"
    latex: str  # the model's own formula; p is the position number
    paper: str  # the paper's §3.5 formula, to show beside it
    first_position: int  # p of a sequence's first piece (the piece at index n has p = n + first_position)
    summary: str  # one sentence, plain text


def sines_then_cosines(angle: str) -> str:
    """Sines in the first d/2 dimensions, cosines in the rest (Marian, fairseq)."""
    return rf"PE_{{(p,\,i)}} = \sin\!\left({angle}\right),\quad PE_{{(p,\,i+d/2)}} = \cos\!\left({angle}\right)"


def position_formula(cfg: TransformerConfig) -> PositionFormula:
    offset = cfg.position_offset
    start = f"the piece at index n has position p = n + {offset}" if offset else "the piece at index n has position n"
    if cfg.position_kind == "learned":
        latex = rf"PE_{{(p)}} = P_{{p}},\quad p = n + {offset}"
        summary = f"A learned table P, one per stack (not a formula); {start}."
    elif cfg.pe_formula == "fairseq":
        frequency = r"p\,e^{-i \ln(10000)/(d/2-1)}"
        latex = sines_then_cosines(frequency)
        summary = (
            "fairseq's sinusoids: frequencies exp(-i ln(10000) / (d/2 - 1)), so the slowest is exactly 1/10000 "
            f"(the paper's: 10000^(-(d-2)/d)), all sines then all cosines; {start}."
        )
    elif cfg.pe_layout == "halves":
        frequency = r"p / 10000^{2i/d}"
        latex = sines_then_cosines(frequency)
        summary = f"The paper's frequencies laid out as all sines then all cosines (Marian); {start}."
    else:
        latex = PAPER
        summary = f"The paper's sinusoids (§3.5); {start}."
    if offset and cfg.position_kind != "learned":
        latex += rf",\quad p = n + {offset}"
    return PositionFormula(cfg.position_kind, latex, PAPER, offset, summary)

"""Word alignment from cross-attention, scored against human gold alignments (AER, Och & Ney 2003).

Gold sets (`data/alignment/`, see its README): RWTH German–English (talp format, German
position first, `i-j` sure and `ipj` possible, 1-based) and the Hansards English–French shared task
(`sentence english french S|P`, 1-based). Links are kept as (target word, source word), 0-based, in
the direction the model translates. A head's alignment comes from teacher-forcing the reference
translation (as the alignment literature does): the row that *produced* a target piece, pieces
merged into the gold's words (rows averaged, columns summed), then argmax or a threshold. A multilingual model reads
and writes what translation gives it (the source language's code where its family puts it, the target language's code
forced first); those code pieces are no words, so their column and row are left out of the word alignment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.core.head_selection import head_value
from model.core.interface import TranslationModel, TranslationTokenizer
from model.core.text_files import read_parallel
from model.core.tokenizer import word_starts
from model.decoding.trace_from_hooks import forward_trace
from model.decoding.translation import forced_language, source_ids

Link = tuple[int, int]  # (target word, source word), 0-based


@dataclass
class GoldSentence:
    source: list[str]  # words, as the gold's tokenisation gives them
    target: list[str]
    sure: set[Link]
    possible: set[Link]  # includes the sure links (S ⊆ P)


def aer(predicted: set[Link], sure: set[Link], possible: set[Link]) -> float:
    """AER = 1 − (|A ∩ S| + |A ∩ P|) / (|A| + |S|), with P ⊇ S (Och & Ney, 2003)."""
    possible = possible | sure
    if not predicted and not sure:
        return 0.0
    return 1.0 - (len(predicted & sure) + len(predicted & possible)) / (len(predicted) + len(sure))


def corpus_aer(predicted: list[set[Link]], gold: list[GoldSentence]) -> float:
    """AER over a corpus: the counts summed over sentences before the ratio (the standard corpus-level figure)."""
    a = s = a_s = a_p = 0
    for links, g in zip(predicted, gold):
        possible = g.possible | g.sure
        a, s = a + len(links), s + len(g.sure)
        a_s, a_p = a_s + len(links & g.sure), a_p + len(links & possible)
    return 1.0 - (a_s + a_p) / max(a + s, 1)


def read_talp(path: Path, target_first: bool = True) -> list[tuple[set[Link], set[Link]]]:
    """One (sure, possible) pair per line of `i-j` / `ipj` links; `target_first` says the first index is the
    target's."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        sure, possible = set(), set()
        for item in line.split():
            m = re.fullmatch(r"(\d+)([-p])(\d+)", item)
            if not m:
                raise ValueError(f"{path}: {item!r} is not i-j or ipj")
            i, j = int(m.group(1)) - 1, int(m.group(3)) - 1
            link = (i, j) if target_first else (j, i)
            (sure if m.group(2) == "-" else possible).add(link)
        out.append((sure, possible | sure))
    return out


def read_rwth(folder: Path) -> list[GoldSentence]:
    """RWTH German–English, oriented for an English→German model: target = German, source = English."""
    folder = Path(folder)
    de = [line.split() for line in (folder / "de").read_text(encoding="utf-8").splitlines()]
    en = [line.split() for line in (folder / "en").read_text(encoding="utf-8").splitlines()]
    links = read_talp(folder / "alignmentDeEn.talp", target_first=True)
    return [GoldSentence(e, d, s, p) for e, d, (s, p) in zip(en, de, links)]


def read_hansards(folder: Path) -> list[GoldSentence]:
    """Hansards English–French, oriented for an English→French model: target = French, source = English."""
    folder = Path(folder)

    def sentences(path: Path) -> dict[int, list[str]]:
        out = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r"<s snum=(\d+)>(.*)</s>", line.strip())
            if m:
                out[int(m.group(1))] = m.group(2).split()
        return out

    english, french = sentences(folder / "test" / "test.e"), sentences(folder / "test" / "test.f")
    links: dict[int, tuple[set, set]] = {n: (set(), set()) for n in english}
    for line in (folder / "answers" / "test.wa.nonullalign").read_text().splitlines():
        parts = line.split()
        n, e, f, kind = int(parts[0]), int(parts[1]) - 1, int(parts[2]) - 1, parts[3] if len(parts) > 3 else "S"
        sure, possible = links[n]
        (sure if kind == "S" else possible).add((f, e))
    return [GoldSentence(english[n], french[n], links[n][0], links[n][1] | links[n][0]) for n in sorted(english)]


def word_matrix(
    cross_rows: np.ndarray, out_pieces: list[str], src_pieces: list[str], shift: bool = False
) -> np.ndarray | None:
    """[..., target words, source words] from cross-attention rows by produced piece; None if the words do not line up.

    Target rows: the row that produced each piece (out_pieces), the final </s> dropped; source
    columns: the encoder's pieces, </s> dropped. A word's row is the mean of its pieces' rows, a
    word's column the sum of its pieces' columns.
    """
    t_starts, s_starts = word_starts(out_pieces[:-1]), word_starts(src_pieces[:-1])
    # shift: the row where the piece is the decoder's *input* (one step after producing it; Chen et al., 2020)
    rows = (
        cross_rows[..., 1 : len(out_pieces), : len(src_pieces) - 1]
        if shift
        else cross_rows[..., : len(out_pieces) - 1, : len(src_pieces) - 1]
    )
    t_groups, s_groups = np.flatnonzero(t_starts), np.flatnonzero(s_starts)
    if len(t_groups) == 0 or len(s_groups) == 0 or t_groups[0] != 0 or s_groups[0] != 0:
        return None
    summed = np.add.reduceat(rows, s_groups, axis=-1)
    counts = np.diff(np.append(t_groups, rows.shape[-2]))
    return np.add.reduceat(summed, t_groups, axis=-2) / counts[:, None]


def links_from(matrix: np.ndarray, threshold: float | None = None) -> set[Link]:
    """Argmax per target word, or every source word whose weight reaches `threshold`."""
    if threshold is None:
        return {(t, int(matrix[t].argmax())) for t in range(matrix.shape[0])}
    return {(int(t), int(s)) for t, s in zip(*np.nonzero(matrix >= threshold))}


def head_alignments(
    model: TranslationModel,
    tokenizer: TranslationTokenizer,
    gold: list[GoldSentence],
    progress=None,
    shift: bool = False,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
) -> tuple[list[np.ndarray], list[int]]:
    """Per sentence, word-level cross-attention [L, H, target words, source words] with the reference forced.

    Returns the matrices and the indices of the gold sentences they belong to (sentences whose pieces do
    not regroup into the gold's words are left out and counted by the caller). `src_lang`, `tgt_lang`: a
    multilingual model's pair (default: the tokenizer's).
    """
    cfg = model.cfg
    forced = forced_language(model, tokenizer, tgt_lang)  # [the target language's code], or [] for a bilingual model
    matrices, kept = [], []
    for n, g in enumerate(gold):
        src_ids = source_ids(model, tokenizer, tokenizer.encode(" ".join(g.source))[: cfg.max_len - 2], src_lang)
        pieces = tokenizer.encode_target(" ".join(g.target))[: cfg.max_len - 2 - len(forced)]
        trace, _ = forward_trace(model, tokenizer, src_ids, [*forced, *pieces, cfg.eos_id])
        cross, src_pieces = trace.cross, trace.src_pieces
        code_column = {"prefix": 0, "suffix": len(src_ids) - 1}.get(cfg.language_code_position)
        if code_column is not None:  # the source language's code is no word
            cross = np.delete(cross, code_column, axis=-1)
            src_pieces = src_pieces[:code_column] + src_pieces[code_column + 1 :]
        # the rows from the one that produced the first piece after the forced code
        m = word_matrix(cross[..., len(forced) :, :], trace.out_pieces[len(forced) :], src_pieces, shift)
        if m is not None and m.shape[-2:] == (len(g.target), len(g.source)):
            matrices.append(m)
            kept.append(n)
        if progress:
            progress(n + 1, len(gold))
    return matrices, kept


def aer_table(
    matrices: list[np.ndarray], gold: list[GoldSentence], thresholds: tuple[float, ...] = (0.1, 0.2, 0.3)
) -> list[dict]:
    """Corpus AER of every cross head (and the mean of each layer's heads), argmax and threshold variants."""
    L, H = matrices[0].shape[:2]
    rows = []
    for layer in range(L):
        for head in [None, *range(H)]:
            pick = (lambda m, layer=layer: m[layer].mean(0)) if head is None else (lambda m, c=(layer, head): m[c])
            row = {
                "layer": layer,
                "head": head_value(head),
                "aer_argmax": corpus_aer([links_from(pick(m)) for m in matrices], gold),
            }
            for tau in thresholds:
                row[f"aer_threshold_{tau}"] = corpus_aer([links_from(pick(m), tau) for m in matrices], gold)
            rows.append(row)
    return rows


WORD = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]", re.UNICODE)


def words(text: str) -> list[str]:
    """A plain word tokenisation (words, and punctuation apart) for the statistical aligner and the model alike."""
    return WORD.findall(text)


def eflomal_gold(
    src_lines: list[str],
    tgt_lines: list[str],
    extra_src: list[str] = (),
    extra_tgt: list[str] = (),
    seed_sentences: int | None = None,
) -> list[GoldSentence]:
    """Alignments of (src, tgt) pairs by eflomal (Östling & Tiedemann, 2016), a statistical aligner, as a reference
    where no human gold exists: links found in both directions are sure, links found in either are possible.
    `extra_*` pairs are aligned along with them (more data, better alignments) and dropped afterwards.
    """
    import tempfile

    from eflomal import Aligner  # optional: pip install eflomal

    src = [" ".join(words(s)) for s in list(src_lines) + list(extra_src)]
    tgt = [" ".join(words(t)) for t in list(tgt_lines) + list(extra_tgt)]
    with tempfile.TemporaryDirectory() as folder:
        fwd, rev = Path(folder) / "fwd", Path(folder) / "rev"
        Aligner().align(src, tgt, links_filename_fwd=str(fwd), links_filename_rev=str(rev), quiet=True)
        forward = fwd.read_text().splitlines()[: len(src_lines)]
        backward = rev.read_text().splitlines()[: len(src_lines)]
    gold = []
    for s, t, f, b in zip(src, tgt, forward, backward):

        def links(line: str) -> set[Link]:
            return {(int(j), int(i)) for i, j in (item.split("-") for item in line.split())}  # eflomal: source-target

        f_links, b_links = links(f), links(b)
        gold.append(GoldSentence(s.split(), t.split(), f_links & b_links, f_links | b_links))
    return gold


# The gold sets `python -m model.align_eval --gold` names: (folder under the gold directory, reader, language pair);
# eflomal-multi30k has none of the three: a statistical aligner's links on Multi30k validation.
GOLD_SETS = {
    "rwth": ("rwth-de-en", read_rwth, ("en", "de")),
    "hansards": ("hansards-en-fr", read_hansards, ("en", "fr")),
    "eflomal-multi30k": (None, None, None),
}


def gold_set(name: str, gold_dir: Path, multi30k: Path, target: str) -> list[GoldSentence]:
    """The gold alignments `name` stands for: read from `gold_dir`, or for eflomal-multi30k made by eflomal on
    Multi30k validation (English -> `target`), aligned together with the training split."""
    folder, reader, _ = GOLD_SETS[name]
    if reader is not None:
        return reader(gold_dir / folder)
    src, tgt = read_parallel(multi30k / "val.en.gz", multi30k / f"val.{target}.gz")
    train_src, train_tgt = read_parallel(multi30k / "train.en.gz", multi30k / f"train.{target}.gz")
    return eflomal_gold(src, tgt, train_src, train_tgt)


def score_lines(table, scored: list[GoldSentence]) -> list[str]:
    """The diagonal baseline's AER, the best and worst head, and the eight best rows of an `aer_table` DataFrame."""
    diagonal = [
        {(t, min(len(g.source) - 1, round(t * len(g.source) / len(g.target)))) for t in range(len(g.target))}
        for g in scored
    ]
    best = table.loc[table["aer_argmax"].idxmin()]
    return [
        f"baseline, the diagonal (target word t -> source word t·S/T): AER {corpus_aer(diagonal, scored):.3f}",
        f"best head by argmax AER: layer {best['layer']} head {best['head']}: {best['aer_argmax']:.3f}; "
        f"worst: {table['aer_argmax'].max():.3f}",
        table.sort_values("aer_argmax").head(8).to_string(index=False, float_format=lambda x: f"{x:.3f}"),
    ]

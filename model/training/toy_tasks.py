"""Toy tasks for the live lab: sequences of digits written with spaces (`3 1 4 1 5`), to copy, reverse or sort.

Their word alignments are known exactly (output word j comes from one source word), so every cross head of a model
trained on them can be scored against the truth: `gold_links` writes them for the film, `alignment_hit_rate` says how
often a head's strongest key is that source word.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TASKS = ("copy", "reverse", "sort")
MIN_LENGTH, MAX_LENGTH = 3, 10
DIGITS = 10


def source_positions(task: str, digits: list[int]) -> list[int]:
    """For each output word, the source word it is taken from (0-based); sort is stable, so equal digits keep their
    order."""
    n = len(digits)
    if task == "copy":
        return list(range(n))
    if task == "reverse":
        return list(range(n - 1, -1, -1))
    if task == "sort":
        return sorted(range(n), key=lambda i: digits[i])
    raise ValueError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")


def solve(task: str, digits: list[int]) -> list[int]:
    return [digits[i] for i in source_positions(task, digits)]


def as_text(digits: list[int]) -> str:
    return " ".join(str(d) for d in digits)


def gold_links(task: str, digits: list[int]) -> list[tuple[int, int, str]]:
    """(source word, target word, "S"|"P"), 0-based: the word each output comes from is sure; for sort, another source
    word with the same digit is possible too (either copy gives the same output)."""
    links = []
    for j, i in enumerate(source_positions(task, digits)):
        links.append((i, j, "S"))
        if task == "sort":
            links += [(k, j, "P") for k, d in enumerate(digits) if d == digits[i] and k != i]
    return links


def talp_line(links: list[tuple[int, int, str]]) -> str:
    """Links as `--film-gold` reads them: `i-j` sure, `ipj` possible, source word first, 1-based."""
    return " ".join(f"{s + 1}{'-' if kind == 'S' else 'p'}{t + 1}" for s, t, kind in sorted(links))


@dataclass
class Splits:
    task: str
    train: list[list[int]]
    valid: list[list[int]]
    test: list[list[int]]  # held out: none of these source sequences is in train or valid
    film: list[list[int]]  # the last few test sequences, filmed while training


def generate(
    task: str,
    seed: int = 1,
    train: int = 6000,
    valid: int = 200,
    test: int = 200,
    film: int = 4,
    min_length: int = MIN_LENGTH,
    max_length: int = MAX_LENGTH,
) -> Splits:
    """Distinct random digit sequences of random lengths (uniform over min..max; a short one drawn again is drawn
    anew), split so that no sequence is in two splits. The film's sequences (`film_sequence`), of lengths spread from
    min to max, are held out with the test sequences."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
    if not 1 <= min_length <= max_length:
        raise ValueError(f"the lengths must be 1 <= min <= max, not {min_length}..{max_length}")
    wanted = train + valid + test
    available = sum(DIGITS**n for n in range(min_length, max_length + 1))
    if wanted > available // 2:
        raise ValueError(f"{wanted} distinct sequences of {min_length}..{max_length} digits are too many to draw")
    rng = random.Random(seed)
    seen: set[tuple[int, ...]] = set()
    drawn: list[list[int]] = []
    while len(drawn) < wanted:
        sequence = tuple(rng.randrange(DIGITS) for _ in range(rng.randint(min_length, max_length)))
        if sequence not in seen:
            seen.add(sequence)
            drawn.append(list(sequence))
    held_out = drawn[train + valid :]
    films = []
    for length in film_lengths(film, min(min_length, DIGITS), min(max_length, DIGITS)):
        fresh = (film_sequence(task, length, rng) for _ in range(1000))
        sequence = next((f for f in fresh if f not in seen), None)
        if sequence is None:
            raise ValueError(f"no new sequence of {length} different digits is left for the film")
        seen.add(sequence)
        films.append(list(sequence))
    return Splits(task, drawn[:train], drawn[train : train + valid], held_out + films, films)


def film_sequence(task: str, length: int, rng: random.Random) -> tuple[int, ...]:
    """A film sequence: different digits for copy and reverse (one clear source word for each output word); for sort,
    digits drawn as for training, ties being possible links (different digits would make the film's task too easy:
    ten of them always sort to 0 1 2 ... 9)."""
    if task == "sort":
        return tuple(rng.randrange(DIGITS) for _ in range(length))
    return tuple(rng.sample(range(DIGITS), length))


def film_lengths(count: int, shortest: int, longest: int) -> list[int]:
    """`count` lengths spread evenly from the shortest to the longest."""
    if count <= 1:
        return [longest] * count
    return [round(shortest + k * (longest - shortest) / (count - 1)) for k in range(count)]


DATA_FILES = ("train", "valid", "test", "film")


def write_data(splits: Splits, folder: Path) -> dict[str, Path]:
    """The splits as text files in `folder`: NAME.src and NAME.tgt for train, valid, test and film, and film.gold
    (the film's word links); returns the paths by name (`train.src`, ..., `film.gold`)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in DATA_FILES:
        sequences = getattr(splits, name)
        for side, lines in (
            ("src", [as_text(s) for s in sequences]),
            ("tgt", [as_text(solve(splits.task, s)) for s in sequences]),
        ):
            paths[f"{name}.{side}"] = folder / f"{name}.{side}"
            paths[f"{name}.{side}"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths["film.gold"] = folder / "film.gold"
    paths["film.gold"].write_text(
        "\n".join(talp_line(gold_links(splits.task, s)) for s in splits.film) + "\n", encoding="utf-8"
    )
    return paths


def alignment_hit_rate(cross: np.ndarray, gold: list[tuple[int, int, str]]) -> np.ndarray:
    """Per (layer, head) of one sentence's cross attention [layers, heads, queries, keys]: the share of the target
    words whose producing row (query j produces target word j) puts its largest weight on a sure or possible gold
    source word. Words are single pieces here (one digit each), so word indices are row and column indices."""
    allowed: dict[int, set[int]] = {}
    for s, t, _ in gold:
        allowed.setdefault(t, set()).add(s)
    if not allowed:
        return np.full(cross.shape[:2], np.nan)
    rows = sorted(allowed)
    strongest = cross[:, :, rows, :].argmax(-1)  # [layers, heads, rows]
    hits = np.zeros(cross.shape[:2])
    for n, t in enumerate(rows):
        hits += np.isin(strongest[:, :, n], sorted(allowed[t]))
    return hits / len(rows)


def best_head_hit_rate(crosses: list[np.ndarray], golds: list[list[tuple[int, int, str]]]) -> tuple[float, int, int]:
    """(share, layer, head) of the cross head whose strongest key is a gold source word for the largest share of all
    the sentences' target words (rows pooled over the sentences)."""
    rows = [len({t for _, t, _ in gold}) for gold in golds]
    pooled = sum(alignment_hit_rate(c, g) * r for c, g, r in zip(crosses, golds, rows)) / max(sum(rows), 1)
    layer, head = np.unravel_index(int(np.argmax(pooled)), pooled.shape)
    return float(pooled[layer, head]), int(layer), int(head)

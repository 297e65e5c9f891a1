"""Preparing the general-domain training data from data/ (Tatoeba, Multi30k, WMT news), with validation and
test cut by a hash of the English."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

from model.core.text_files import read_parallel

VAL_PERCENT, TEST_PERCENT = 1, 2  # of Tatoeba's distinct English sentences


NEWS_REPORT_ONLY = {2014}  # the paper's test set: never trained on


def split_of(english: str) -> str:
    """'val', 'test' or 'train' from a hash of the English sentence, so its translations stay together."""
    bucket = int(hashlib.sha1(english.strip().encode("utf-8")).hexdigest(), 16) % 100
    if bucket < VAL_PERCENT:
        return "val"
    if bucket < VAL_PERCENT + TEST_PERCENT:
        return "test"
    return "train"


def clean_pairs(src: list[str], tgt: list[str]) -> list[tuple[str, str]]:
    """Strip, drop empty sides and exact duplicate pairs, keep the first occurrence's order."""
    seen, pairs = set(), []
    for s, t in zip(src, tgt):
        pair = (s.strip(), t.strip())
        if pair[0] and pair[1] and pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    return pairs


def write_pairs(out: Path, name: str, pairs: list[tuple[str, str]], src_lang: str, tgt_lang: str) -> None:
    for side, lang in ((0, src_lang), (1, tgt_lang)):
        with gzip.open(out / f"{name}.{lang}.gz", "wt", encoding="utf-8", compresslevel=6) as f:
            f.writelines(pair[side].replace("\n", " ") + "\n" for pair in pairs)


def prepare(data_dir: Path, tgt_lang: str, out: Path, use_news: bool, use_multi30k: bool) -> dict:
    """Write train, val, test and the Tatoeba Challenge test (gzipped, one sentence a line) and stats.json into `out`;
    return the stats."""
    tatoeba_name = {"de": "eng-deu", "fr": "eng-fra"}[tgt_lang]
    tatoeba = clean_pairs(
        *read_parallel(data_dir / f"tatoeba/{tatoeba_name}.en.gz", data_dir / f"tatoeba/{tatoeba_name}.{tgt_lang}.gz")
    )
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "val": [], "test": []}
    for pair in tatoeba:
        splits[split_of(pair[0])].append(pair)
    sources = {"tatoeba": len(splits["train"])}
    held_out_english = {p[0] for p in splits["val"] + splits["test"]}
    extra, extra_sources = extra_training_pairs(data_dir, tgt_lang, use_news, use_multi30k)
    sources |= extra_sources
    dropped = sum(p[0] in held_out_english for p in extra)
    splits["train"] += [p for p in extra if p[0] not in held_out_english]
    challenge, challenge_kept = challenge_test(data_dir, tatoeba_name, tgt_lang, {p[0] for p in splits["train"]})

    out.mkdir(parents=True, exist_ok=True)
    for name, pairs in (*splits.items(), ("tatoeba_challenge_test", challenge_kept)):
        write_pairs(out, name, pairs, "en", tgt_lang)
    stats = {
        "languages": ["en", tgt_lang],
        "rule": f"Tatoeba pairs split by sha1(English sentence) % 100: < {VAL_PERCENT} val, "
        f"< {VAL_PERCENT + TEST_PERCENT} test, else train",
        "tatoeba_pairs_after_dedup": len(tatoeba),
        "train_sources": sources,
        "extra_pairs_dropped_for_held_out_english": dropped,
        "pairs": {name: len(pairs) for name, pairs in splits.items()},
        "distinct_english": {name: len({p[0] for p in pairs}) for name, pairs in splits.items()},
        "tatoeba_challenge_test": {
            "pairs": len(challenge),
            "kept": len(challenge_kept),
            "removed_english_in_training": len(challenge) - len(challenge_kept),
        },
    }
    (out / "stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    return stats


def extra_training_pairs(
    data_dir: Path, tgt_lang: str, use_news: bool, use_multi30k: bool
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Multi30k train and WMT newstest (English-German, all years but the paper's test year): the pairs, and how many
    each source gave."""
    extra: list[tuple[str, str]] = []
    sources: dict[str, int] = {}
    if use_multi30k:
        multi30k = clean_pairs(
            *read_parallel(data_dir / "multi30k/train.en.gz", data_dir / f"multi30k/train.{tgt_lang}.gz")
        )
        sources["multi30k_train"] = len(multi30k)
        extra += multi30k
    if use_news and tgt_lang == "de":
        for year in range(2009, 2021):
            if year in NEWS_REPORT_ONLY:
                continue
            news = clean_pairs(
                *read_parallel(
                    data_dir / f"news/newstest{year}.en-de.en.gz", data_dir / f"news/newstest{year}.en-de.de.gz"
                )
            )
            sources[f"newstest{year}"] = len(news)
            extra += news
    return extra, sources


def challenge_test(
    data_dir: Path, tatoeba_name: str, tgt_lang: str, train_english: set[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The Tatoeba Challenge test set, and the part of it kept: it shares many sentences with this Tatoeba export, so
    only the pairs whose English sentence is in none of our training data stay."""
    challenge = clean_pairs(
        *read_parallel(
            data_dir / f"tatoeba/test-v2021-08-07.{tatoeba_name}.en.gz",
            data_dir / f"tatoeba/test-v2021-08-07.{tatoeba_name}.{tgt_lang}.gz",
        )
    )
    return challenge, [p for p in challenge if p[0] not in train_english]

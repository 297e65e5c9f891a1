"""`python -m model.prepare_general` on a small made-up data folder: the documented split rule, nothing held out
leaks into training, and the counts in stats.json."""

from __future__ import annotations

import gzip
import hashlib
import json

from model.prepare_general import main


def bucket(english: str) -> int:  # the documented rule: sha1(English sentence) % 100, < 1 val, < 3 test
    return int(hashlib.sha1(english.encode("utf-8")).hexdigest(), 16) % 100


def first_sentences(condition, count: int) -> list[str]:
    found = (f"Sentence number {i}." for i in range(100_000))
    return [s for s in found if condition(bucket(s))][:count]


def write_gz(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


def read_gz(path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


def test_held_out_english_never_reaches_training(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "out"
    val, test = first_sentences(lambda b: b < 1, 1), first_sentences(lambda b: 1 <= b < 3, 2)
    train = first_sentences(lambda b: b >= 3, 3)
    english = train + val + test + [train[0]]  # the last: an exact duplicate pair, dropped
    german = [f"de {s}" for s in train + val + test] + [f"de {train[0]}"]
    write_gz(data / "tatoeba" / "eng-deu.en.gz", english + ["  "])  # an empty side: dropped
    write_gz(data / "tatoeba" / "eng-deu.de.gz", german + ["x"])
    # Multi30k repeats a validation sentence (with another translation): it may not be trained on
    write_gz(data / "multi30k" / "train.en.gz", ["A dog runs.", val[0]])
    write_gz(data / "multi30k" / "train.de.gz", ["Ein Hund rennt.", "anders"])
    # the Challenge test: one pair whose English is in training (removed), one new
    write_gz(data / "tatoeba" / "test-v2021-08-07.eng-deu.en.gz", [train[1], "Brand new."])
    write_gz(data / "tatoeba" / "test-v2021-08-07.eng-deu.de.gz", ["y", "Ganz neu."])
    assert main(["--data-dir", str(data), "--tgt-lang", "de", "--out", str(out), "--no-news"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert json.loads(capsys.readouterr().out) == stats
    assert read_gz(out / "train.en.gz") == [*train, "A dog runs."]
    assert read_gz(out / "train.de.gz") == [f"de {s}" for s in train] + ["Ein Hund rennt."]
    assert read_gz(out / "val.en.gz") == val and read_gz(out / "test.en.gz") == test
    assert read_gz(out / "tatoeba_challenge_test.en.gz") == ["Brand new."]
    assert stats["tatoeba_pairs_after_dedup"] == 6 and stats["pairs"] == {"train": 4, "val": 1, "test": 2}
    assert stats["train_sources"] == {"tatoeba": 3, "multi30k_train": 2}
    assert stats["extra_pairs_dropped_for_held_out_english"] == 1
    assert stats["tatoeba_challenge_test"] == {"pairs": 2, "kept": 1, "removed_english_in_training": 1}


def test_a_missing_corpus_is_one_line(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "--tgt-lang", "fr", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "eng-fra" in err and len(err.strip().splitlines()) == 1

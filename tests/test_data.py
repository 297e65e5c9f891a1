"""data/ holds exactly what data/README.md lists: every file's SHA-256 and line count recomputed here, no file without a
row and no row without a file, so the table cannot drift from the folder."""

from __future__ import annotations

import gzip
import hashlib
import re

import pytest

from model.core.paths import DATA_DIR

README = DATA_DIR / "README.md"
USES = {"train", "validation", "report only", "alignment evaluation only", "documentation", "film"}
ROW = re.compile(r"^\| `([^`]+)` \| ([^|]+) \| ([\d,]+) \| ([^|]+) \| ([^|]+) \| `([0-9a-f]{64})` \|$")


def table() -> dict[str, dict]:
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        if match := ROW.match(line):
            path, what, lines, licence, use, sha = (g.strip() for g in match.groups())
            assert path not in rows, f"{path} is listed twice"
            rows[path] = {"lines": int(lines.replace(",", "")), "licence": licence, "use": use, "sha256": sha}
    return rows


ROWS = table()


def test_the_table_lists_every_file_under_data_and_nothing_else():
    on_disk = {p.relative_to(DATA_DIR).as_posix() for p in DATA_DIR.rglob("*") if p.is_file()} - {"README.md"}
    assert len(ROWS) >= 60  # the table was read at all
    assert sorted(on_disk - ROWS.keys()) == [], "files under data/ without a row in data/README.md"
    assert sorted(ROWS.keys() - on_disk) == [], "rows in data/README.md without a file"


@pytest.mark.parametrize("path", sorted(ROWS))
def test_each_file_has_the_listed_sha256_and_line_count(path):
    row, data = ROWS[path], (DATA_DIR / path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == row["sha256"]
    text = gzip.decompress(data) if path.endswith(".gz") else data
    assert text.count(b"\n") == row["lines"]
    assert row["use"] in USES and row["licence"]


def test_report_only_sets_are_the_ones_the_folder_readmes_name():
    report_only = {p for p, row in ROWS.items() if row["use"] == "report only"}
    assert "news/newstest2014.en-de.en.gz" in report_only and "news/newstest2013.en-de.en.gz" not in report_only
    assert {p for p in ROWS if p.startswith("flores/") and p.endswith(".gz")} <= report_only
    assert not any(p.startswith("multi30k/test_") for p in ROWS.keys() - report_only)
    gold = [p for p in ROWS if p.startswith("alignment/") and "README" not in p]
    assert len(gold) == 8 and {ROWS[p]["use"] for p in gold} == {"alignment evaluation only"}


def test_parallel_files_have_equal_line_counts():
    """Line i of one language file translates line i of the other: both sides of a pair have the same count."""
    pairs: dict[str, set[int]] = {}
    for path, row in ROWS.items():
        if path.endswith(".gz"):
            stem = path[: -len(".gz")].rsplit(".", 1)[0]  # multi30k/train, flores/devtest, news/newstest2014.en-de
            pairs.setdefault(stem, set()).add(row["lines"])
    assert len(pairs) >= 20 and {stem: counts for stem, counts in pairs.items() if len(counts) > 1} == {}

"""`python -m model.evaluate`: its scores are sacreBLEU's on the translations it writes; bad input is one line."""

from __future__ import annotations

import gzip

import pytest
import sacrebleu

from model.evaluate import main

SOURCES = ["A dog runs.", "Two men play football.", "A woman reads a book."]
REFERENCES = ["Ein Hund rennt.", "Zwei Männer spielen Fußball.", "Eine Frau liest ein Buch."]


def write_gz(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in lines)


def test_scores_are_sacrebleus_on_the_written_translations(checkpoint_dir, tmp_path, capsys):
    src, ref, hyp = tmp_path / "t.en.gz", tmp_path / "t.de.gz", tmp_path / "hyp.txt"
    write_gz(src, SOURCES)
    write_gz(ref, REFERENCES)
    args = ["--checkpoint", str(checkpoint_dir), "--src", str(src), "--ref", str(ref), "--output", str(hyp)]
    assert main([*args, "--beam", "2"]) == 0
    hypotheses = hyp.read_text(encoding="utf-8").split("\n")[:-1]
    assert len(hypotheses) == 3
    bleu = sacrebleu.corpus_bleu(hypotheses, [REFERENCES])
    chrf = sacrebleu.corpus_chrf(hypotheses, [REFERENCES])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"BLEU {bleu.score:.2f}  (nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert lines[1].startswith(f"chrF {chrf.score:.2f}  (nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:")


@pytest.mark.parametrize("problem", ["missing", "uneven"])
def test_bad_input_is_one_line(checkpoint_dir, tmp_path, capsys, problem):
    src, ref = tmp_path / "t.en.gz", tmp_path / "t.de.gz"
    write_gz(src, SOURCES)
    if problem == "uneven":
        write_gz(ref, REFERENCES[:2])
    assert main(["--checkpoint", str(checkpoint_dir), "--src", str(src), "--ref", str(ref)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and str(ref) in err


@pytest.mark.parametrize("flag", ["--src-lang", "--tgt-lang"])
def test_a_language_for_a_bilingual_checkpoint_is_one_line(checkpoint_dir, tmp_path, capsys, flag):
    src, ref = tmp_path / "t.en.gz", tmp_path / "t.de.gz"
    write_gz(src, SOURCES)
    write_gz(ref, REFERENCES)
    assert main(["--checkpoint", str(checkpoint_dir), "--src", str(src), "--ref", str(ref), flag, "de"]) == 2
    assert capsys.readouterr().err == f"error: {flag} 'de' is not a language of tiny-en-de (it is bilingual)\n"

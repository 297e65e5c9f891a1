"""Files written whole (model/core/files.py): the mode a new file gets, the mode a replaced file keeps, and the old
file left as it was when a write fails."""

from __future__ import annotations

import os
import stat

import pytest

from model.cli_support.outputs import replaced_when_done
from model.core.files import write_atomically
from model.training.lab_status import LAB_FILE, open_lab


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_gets_0666_less_the_umask_and_a_replaced_one_keeps_its_mode(tmp_path, umask_022):
    target = tmp_path / "table.csv"
    write_atomically(target, lambda f: f.write(b"a,b\n"))
    assert target.read_bytes() == b"a,b\n" and mode(target) == 0o644  # as open() would make it, not mkstemp's 0600
    target.chmod(0o640)
    write_atomically(target, lambda f: f.write("c,d\n"), mode="w")
    assert target.read_text() == "c,d\n" and mode(target) == 0o640


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")

    def half(f):
        f.write(b"new, half of it")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, half)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_the_commands_outputs_and_the_labs_status_are_readable_by_others(tmp_path, umask_022):
    with replaced_when_done(tmp_path / "out.tsv") as f:
        f.write("x\n")
    assert mode(tmp_path / "out.tsv") == 0o644
    status = open_lab("copy", tmp_path / "lab")
    status.release_sigterm()
    assert mode(tmp_path / "lab" / LAB_FILE) == 0o644


def test_a_trace_is_saved_under_the_name_given(model, tokenizer, tmp_path):
    """NumPy, given a name without ".npz", would write name.npz; the export writes the file it was asked for."""
    import io

    import numpy as np

    from model.decoding.translation import translate

    trace = translate(model, tokenizer, "A dog runs.").trace
    for name in ("trace", "trace.bin", "trace.npz"):
        trace.save_npz(str(tmp_path / name))
    trace.save_npz(tmp_path / "path")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["path", "trace", "trace.bin", "trace.npz"]
    buffer = io.BytesIO()
    trace.save_npz(buffer)
    for source in (tmp_path / "trace", io.BytesIO(buffer.getvalue())):
        with np.load(source, allow_pickle=False) as npz:
            np.testing.assert_array_equal(npz["cross"], trace.cross)

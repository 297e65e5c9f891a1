"""The Training view through AppTest on a checkpoint filmed by the real training loop: the film, the frame in the link,
a model without a film, a damaged film, presentation mode; and the live lab's bookkeeping (one at a time, stop, the
finished model in the picker, old labs deleted)."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from model.analysis.film import load_film
from model.train import main
from tests.conftest import ROOT, figures
from tests.test_film import film_files, film_flags  # noqa: F401 - fixtures are used by name
from tests.test_train import small_data, train_args  # noqa: F401
from ui import lab_panel

SENTENCE = "A dog runs."


@pytest.fixture(scope="module")
def filmed(small_data, film_files, tmp_path_factory) -> Path:  # noqa: F811
    """A checkpoints folder with a tiny model trained with its film (2 epochs), and one without a film."""
    run = tmp_path_factory.mktemp("filmed-run") / "run"
    assert main(train_args(small_data, run, "--epochs", "2", *film_flags(film_files))) == 0
    folder = tmp_path_factory.mktemp("checkpoints")
    shutil.copytree(run / "final", folder / "tiny-filmed")
    shutil.copytree(run / "final", folder / "tiny-plain")
    for name in ("film.json", "film.npz"):
        (folder / "tiny-plain" / name).unlink()
    return folder


@pytest.fixture()
def app(filmed, monkeypatch, tmp_path):
    import streamlit as st

    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(filmed))
    monkeypatch.setenv("HEADLIGHT_LABS", str(tmp_path / "labs"))
    st.cache_data.clear()
    st.cache_resource.clear()

    def open_view(**params) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        for key, value in {"view": "training", "text": SENTENCE, **params}.items():
            at.query_params[key] = str(value)
        return at.run()

    yield open_view
    st.cache_data.clear()
    st.cache_resource.clear()


def main_figures(at) -> list[dict]:
    return [f for f in figures(at) if f["layout"].get("title", {}).get("text")]


def param(at, name):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def test_the_film_opens_at_the_last_frame_with_every_frame_in_the_figure(app, filmed):
    film = load_film(filmed / "tiny-filmed")
    at = app(ckpt="tiny-filmed", kind="cross", layer=1, head=2)
    assert not at.exception and not at.error, [e.value for e in at.error]
    film_fig, curves, timeline = main_figures(at)[:3]
    assert len(film_fig["frames"]) == len(film.frames)
    last = film.frames[-1]
    title = film_fig["layout"]["title"]["text"]
    assert f"update {last.step} " in title and "layer 1, head 2" in title
    subtitle = film_fig["layout"]["title"]["subtitle"]["text"]
    assert subtitle == "→ " + (html.escape(last.translations[0]) or "(empty)")  # that moment's translation
    z = film_fig["frames"][-1]["data"][0]["z"]
    np.testing.assert_allclose(z, film.attention[0, "cross"][-1, 1, 2], atol=6e-4)  # rounded to 3 decimals
    assert f"update {last.step}" in curves["layout"]["title"]["text"]
    assert "aer" in timeline["layout"]["title"]["text"]  # the film has gold links: AER is the default statistic
    assert param(at, "frame") is None  # the last frame is the default: not in the link


def test_frame_from_the_link_opens_that_frame_and_marks_it(app, filmed):
    film = load_film(filmed / "tiny-filmed")
    at = app(ckpt="tiny-filmed", frame=2)
    film_fig, curves = main_figures(at)[:2]
    assert film_fig["layout"]["sliders"][0]["active"] == 2
    assert f"update {film.frames[2].step} " in film_fig["layout"]["title"]["text"]
    assert curves["layout"]["meta"]["current"] == 2
    assert param(at, "frame") == "2"
    at.select_slider(key="film_frame_pick").set_value(len(film.frames) - 1).run()  # the last: -1, out of the link
    assert at.session_state.frame == -1 and param(at, "frame") is None
    at = app(ckpt="tiny-filmed", frame=999)  # past the end: the last frame
    assert main_figures(at)[0]["layout"]["sliders"][0]["active"] == len(film.frames) - 1


def test_sentence_grid_and_statistic_pickers_change_the_pictures(app, filmed):
    film = load_film(filmed / "tiny-filmed")
    at = app(ckpt="tiny-filmed")
    at.selectbox(key="film_sentence").set_value(1).run()
    shown = main_figures(at)[0]
    assert shown["layout"]["xaxis"]["ticktext"] == [html.escape(p) for p in film.sentences[1].src_pieces]
    subtitle = shown["layout"]["title"]["subtitle"]["text"]
    assert subtitle == "→ " + (html.escape(film.frames[-1].translations[1]) or "(empty)")
    at.toggle(key="film_grid").set_value(True).run()
    grid = main_figures(at)[0]
    assert len(grid["data"]) == film.layers["cross"] * film.heads and len(grid["frames"][0]["data"]) == len(
        grid["data"]
    )
    at.selectbox(key="film_stat").set_value("to_eos").run()
    assert "to_eos" in main_figures(at)[2]["layout"]["title"]["text"]


def test_a_model_without_a_film_says_so_and_names_one_that_has_one(app):
    at = app(ckpt="tiny-plain")
    assert not at.exception and not at.error
    said = [i.value for i in at.info]
    assert any("tiny-plain" in s and "tiny-filmed" in s and "no training film" in s for s in said), said
    assert main_figures(at)[0]["layout"]["title"]["text"].endswith("the finished model (no film)")


def test_a_damaged_film_is_one_sentence_and_the_page_keeps_working(app, filmed, tmp_path):
    damaged = filmed / "tiny-damaged"
    shutil.copytree(filmed / "tiny-filmed", damaged)
    try:
        (damaged / "film.npz").write_bytes((damaged / "film.npz").read_bytes()[:100])
        at = app(ckpt="tiny-damaged")
        assert not at.exception
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and "film.npz cannot be read" in errors[0] and "\n" not in errors[0], errors
        assert at.sidebar.selectbox(key="ckpt").value == "tiny-damaged"  # the picker (and the rest) still there
        assert at.button(key="lab_start")  # the lab still offered
    finally:
        shutil.rmtree(damaged)


def test_presentation_mode_shows_the_film_in_one_row_of_controls(app):
    at = app(ckpt="tiny-filmed", present=1)
    assert not at.exception and not at.error
    film_fig = main_figures(at)[0]
    assert film_fig["frames"] and film_fig["layout"]["xaxis"]["tickfont"]["size"] >= 18


def test_lab_status_is_checked_where_it_is_read(tmp_path):
    assert lab_panel.read_status(tmp_path) is None  # not written yet
    (tmp_path / "lab.json").write_text(json.dumps({"state": "training", "step": 3, "total_steps": 10, "elapsed_s": 2}))
    status = lab_panel.read_status(tmp_path)
    assert (status.state, status.step, status.total_steps) == ("training", 3, 10)
    for bad in ("[1]", '{"state": "dancing"}', '{"state": "done", "step": -1, "total_steps": 1, "elapsed_s": 1}', "{"):
        (tmp_path / "lab.json").write_text(bad)
        assert isinstance(lab_panel.read_status(tmp_path), str)


def test_old_labs_are_deleted_and_nothing_else_nor_one_in_use(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    runs.mkdir()
    names = [f"lab-reverse-2026010{i}-120000" for i in range(1, 6)]
    for name in names:
        (runs / name).mkdir()
        (runs / f"{name}.log").write_text("")
        (tmp_path / name).mkdir()
    (tmp_path / "my-model").mkdir()
    (runs / "notes").mkdir()
    monkeypatch.setattr(lab_panel, "_SHOWN", {})
    lab_panel.note_shown(tmp_path / names[0])  # another visitor has the oldest lab's model open
    lab_panel.prune(tmp_path, 2)
    kept = [names[0], *names[-2:]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, "my-model", "runs"])
    assert sorted(p.name for p in runs.iterdir()) == sorted([*kept, *(f"{n}.log" for n in kept), "notes"])
    monkeypatch.setattr(lab_panel.time, "monotonic", lambda: time.time() + 2 * lab_panel.IN_USE_S)
    monkeypatch.setattr(lab_panel, "_SHOWN", {names[0]: time.time()})  # shown, but longer ago than IN_USE_S
    lab_panel.prune(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[-2:], "my-model", "runs"])


def test_a_finished_lab_is_moved_where_the_picker_lists_it(filmed, tmp_path, monkeypatch):
    from ui.cache import available_checkpoints

    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(filmed))
    monkeypatch.setenv("HEADLIGHT_LABS", str(tmp_path))
    name = "lab-copy-20260101-120000"
    run = tmp_path / "runs" / name
    shutil.copytree(filmed / "tiny-filmed", run / "final")
    (run / "lab.json").write_text(json.dumps({"state": "done", "step": 9, "total_steps": 9, "elapsed_s": 5}))
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    lab = lab_panel.Lab("copy", name, run, tmp_path / name, done, time.monotonic())
    lab_panel.finish(lab)
    assert (tmp_path / name / "config.json").is_file() and not (run / "final").exists()
    assert json.loads((run / "lab.json").read_text())["checkpoint"] == str((tmp_path / name).resolve())
    assert name in [p.name for p in available_checkpoints()]
    assert lab.film_folder() == tmp_path / name


def test_one_lab_at_a_time_and_stop_keeps_what_it_has(tmp_path, monkeypatch):
    """A real `python -m model.lab` run: a second start gets the running lab; Stop (SIGTERM) ends it as "stopped"."""
    monkeypatch.setattr(lab_panel, "_LAB", None)
    lab, started = lab_panel.start("copy", tmp_path)
    try:
        again, started_again = lab_panel.start("reverse", tmp_path)
        assert started and not started_again and again is lab
        deadline = time.monotonic() + 120
        while lab.running() and time.monotonic() < deadline:  # past its data: its SIGTERM handler is in place
            status = lab_panel.read_status(lab.run)
            if status is not None and status.message != "preparing the data":
                break
            time.sleep(0.2)
        lab_panel.stop()
        assert lab.process.wait(timeout=120) != 0
        status = lab_panel.read_status(lab.run)
        assert status.state == "stopped", (status, lab_panel.log_tail(lab))
    finally:
        if lab.running():
            lab.process.kill()
            lab.process.wait()


def test_the_film_source_names_a_folder_as_text(filmed, tmp_path, monkeypatch):
    """The Film radio's options quote the checkpoint folder's name and the lab's: markdown, escaped."""
    import streamlit as st

    from tests.test_outside_text import leaks, quoted

    name = "[x](http:127.0.0.1:9) ![i](http:127.0.0.1:9)"  # a folder name holds no slash
    folder = tmp_path / "checkpoints"
    shutil.copytree(filmed / "tiny-filmed", folder / name)
    monkeypatch.setenv("HEADLIGHT_CHECKPOINTS", str(folder))
    monkeypatch.setenv("HEADLIGHT_LABS", str(tmp_path / "labs"))
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    lab = "lab-copy-20260101-120000"
    monkeypatch.setattr(
        lab_panel,
        "_LAB",
        lab_panel.Lab("copy", lab, tmp_path / "labs" / "runs" / lab, tmp_path / "labs" / lab, done, 0.0),
    )
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params.update(view="training", text=SENTENCE, ckpt=name)
        at.run()
        radio = next(r for r in at.radio if r.key == "film_source")
        assert leaks(at) == [], leaks(at)
        assert name in quoted(at) and radio.options[0] != name  # shown as the name, written escaped
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()

"""examples/notebook.ipynb runs top to bottom in a real kernel (nbclient) and shows every view inline and offline:
plotly.js embedded once, no <script src> (no CDN), each figure drawn; the converted Marian model equals transformers."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

NOTEBOOK = ROOT / "examples" / "notebook.ipynb"


@pytest.fixture(scope="module")
def executed():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return notebook


def outputs(notebook, kind: str) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if kind == "html" and "text/html" in output.get("data", {}):
                found.append(output["data"]["text/html"])
            elif kind == "text" and output.get("output_type") == "stream":
                found.append(output["text"])
    return found


def test_the_notebook_is_stored_without_outputs():
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_every_view_draws_inline_with_plotly_js_embedded_once_and_nothing_fetched(executed):
    html = outputs(executed, "html")
    assert sum("plotly.js v" in h for h in html) == 1 and "plotly.js v" in html[0]  # the library, first
    assert all(not re.search(r"<script[^>]*\bsrc=", h) for h in html)  # no CDN, no MathJax
    figures = [h for h in html if "Plotly.newPlot" in h]
    titles = [
        "Encoder-decoder (cross) attention, layer",  # one head
        "mean of heads",  # the browser-switchable figure
        "Model view: cross-attention",
        "Step 2: producing",
        "Converted Marian: cross-attention, layer 1, head 0",
    ]
    assert len(figures) == len(titles)
    for figure, title in zip(figures, titles):
        assert title in figure, title


def test_the_notebook_translates_and_the_converted_model_equals_transformers(executed):
    text = "".join(outputs(executed, "text"))
    assert "Traceback" not in text and "Warning" not in text, text
    assert re.search(r"-> \S+", text)  # the shipped checkpoint's translation
    difference = float(re.search(r"largest logit difference from transformers: (\S+)", text).group(1))
    assert difference < 1e-5

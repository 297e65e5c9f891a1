"""A whole deck as one self-contained HTML page (the handout): every slide's title, note and figure, each figure
interactive, plotly.js embedded once, nothing fetched when it is opened, readable on a phone.

Pure functions: `draw` turns a slide's numbers (`model.analysis.handout`) into the figure its view opens on, and
`handout_html` assembles titles, notes and figures into the page. Deck text is untrusted: every title, note and line
is HTML-escaped text (never markdown, never markup), and the figures' JSON is escaped so that nothing in it can
close its <script> element.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs, get_plotlyjs_version

from viz.analysis import head_grid
from viz.attention import model_view
from viz.inside_head import pipeline_figure
from viz.labels import safe_text
from viz.lesson import matrix_figure
from viz.positional import pe_heatmap
from viz.steps import heads_rows, step_cross_attention
from viz.switch import Panel, switchable_heatmap

STATIC = Path(__file__).resolve().parent.parent / "static"
DECIMALS = 4  # a weight to 1e-4 is finer than any colour step; shorter numbers keep the file small
CONFIG = {"displaylogo": False, "responsive": False}  # the page resizes every figure itself, once per resize


@dataclass
class HandoutSlide:
    title: str
    note: str
    lines: list[str] = field(default_factory=list)  # plain text under the title (sentence, translation, model)
    figure: go.Figure | None = None
    link: str = ""  # the slide's URL query, shown as text (a file cannot know where the app runs)


def app_bundle() -> str | None:
    """The app's own partial plotly.js (heatmap, bar, scatter: 1.2 MB), if this checkout carries it; else None."""
    path = STATIC / f"plotly-headlight-{get_plotlyjs_version()}.min.js"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def registered_traces(plotly_js: str) -> set[str]:
    """The trace types a plotly.js bundle registers, read from the bundle itself."""
    return set(re.findall(r'moduleType:"trace",name:"(\w+)"', plotly_js))


def draw(figure: dict | None) -> go.Figure | None:
    """The figure a slide's numbers describe (`model.analysis.handout`: its "draw" says which); None stays None."""
    if figure is None:
        return None
    what = figure["draw"]
    if what == "switch":
        panels = [
            Panel(p["kind"], p["label"], np.asarray(p["attention"]), p["query_tokens"], p["key_tokens"])
            for p in figure["panels"]
        ]
        return switchable_heatmap(panels, tuple(figure["start"]))
    if what == "model_view":
        return model_view(figure["attention"], figure["query_tokens"], figure["key_tokens"], title=figure["title"])
    if what == "step":
        return step_cross_attention(figure["cross"], figure["step"], figure["src_tokens"], figure["produced"])
    if what == "head":
        fig = pipeline_figure(figure["detail"], figure["query"], figure["query_tokens"], figure["key_tokens"])
        return fig.update_layout(title=figure["title"])
    if what == "positional":
        return pe_heatmap(figure["pe"])
    if what == "grid":
        return head_grid(figure["table"], figure["kind"], figure["value"], title=figure["title"])
    if what == "contributions":
        values = np.asarray(figure["values"])
        produced = safe_text([figure["produced"]])[0]
        return heads_rows(
            values,
            figure["key_tokens"],
            f"Contributions ‖α·v·W_O‖ while producing {produced}",
            zmax=float(values.max()) or 1.0,
            measure="‖α v W_O‖",
        )
    if what == "matrix":
        return matrix_figure(figure["values"], figure["row_labels"], figure["title"], highlight=figure["highlight"])
    raise ValueError(f"no figure is drawn as {what!r}")


def lean(value):
    """Plotly JSON with floats rounded to DECIMALS and float arrays sent as float32: what a screen can show."""
    if isinstance(value, dict):
        return {k: lean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lean(v) for v in value]
    if isinstance(value, float):
        return round(value, DECIMALS)
    return value


def compact_arrays(fig: go.Figure) -> go.Figure:
    """Every float array in the figure's traces as rounded float32 (plotly.py writes float64 as 8 bytes a value)."""
    for trace in fig.data:
        for name in ("z", "x", "y", "customdata", "text"):
            array = getattr(trace, name, None)
            if isinstance(array, np.ndarray) and array.dtype.kind == "f":
                trace[name] = np.round(array, DECIMALS).astype(np.float32)
    return fig


def figure_json(fig: go.Figure) -> str:
    """The figure as JSON that is safe inside a <script> element: <, > and & escaped as JSON escapes."""
    data = lean(json.loads(compact_arrays(fig).to_json()))
    layout = data.get("layout", {})
    layout.pop("width", None)
    layout["autosize"] = True
    text = json.dumps({"data": data.get("data", []), "layout": layout}, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def choose_plotly_js(figures: list[go.Figure], plotly_js: str | None) -> str:
    """The given bundle if it draws every trace type these figures use, else plotly.py's full plotly.js."""
    needed = {trace.type for fig in figures for trace in fig.data}
    js = plotly_js if plotly_js is not None and needed <= registered_traces(plotly_js) else get_plotlyjs()
    if "</script" in js.lower():
        raise ValueError("the plotly.js text contains '</script' and cannot be embedded in a <script> element")
    return js


STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1f;
  background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 0.9rem 3rem; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: 0.4rem 0 0.2rem; overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; line-height: 1.3; margin: 0 0 0.4rem; overflow-wrap: anywhere; }
nav ol, nav ul { padding-left: 1.4rem; margin: 0.3rem 0 0; }
nav ul { list-style: none; padding-left: 0.2rem; }
nav a { color: #0b57d0; }
section { background: #fff; border: 1px solid #e3e3e8; border-radius: 8px; padding: 0.9rem; margin: 1.2rem 0; }
.note { white-space: pre-wrap; margin: 0.3rem 0 0.6rem; overflow-wrap: anywhere; }
.line { color: #55555f; font-size: 0.9rem; margin: 0; overflow-wrap: anywhere; }
.link { font-family: ui-monospace, monospace; font-size: 0.8rem; color: #55555f; overflow-wrap: anywhere; margin: 0; }
.figure { width: 100%; margin-top: 0.6rem; }
.no-figure { color: #55555f; font-style: italic; }
.about { color: #55555f; font-size: 0.9rem; }
@media (max-width: 600px) { body { font-size: 15px; } main { padding: 0.6rem 0.4rem 2rem; }
  section { padding: 0.6rem 0.5rem; } h1 { font-size: 1.35rem; } h2 { font-size: 1.1rem; } }
"""

# Draws every figure from the JSON blocks, then keeps them the width of the page: one resize per animation frame. On
# a phone-wide page the buttons beside a figure (the switch's layer buttons) are hidden and their margin given to
# the plot: the slider under it still walks every layer and head.
SCRIPT = """
(function () {
  var NARROW = 600;
  var figures = [];
  function fit(item) {
    var narrow = item.div.clientWidth < NARROW;
    if (narrow === item.narrow || !item.side.length) { item.narrow = narrow; return; }
    item.narrow = narrow;
    var update = {"margin.r": narrow ? 10 : item.right};
    item.side.forEach(function (i) { update["updatemenus[" + i + "].visible"] = !narrow; });
    Plotly.relayout(item.div, update);
  }
  document.querySelectorAll("script.figure-data").forEach(function (block) {
    var figure = JSON.parse(block.textContent);
    var div = document.getElementById(block.dataset.target);
    var menus = figure.layout.updatemenus || [];
    var side = menus.map(function (m, i) { return m.x > 1 ? i : -1; }).filter(function (i) { return i >= 0; });
    var item = {div: div, side: side, right: (figure.layout.margin || {}).r || 80, narrow: false};
    Plotly.newPlot(div, figure.data, figure.layout, CONFIG).then(function () { fit(item); });
    figures.push(item);
  });
  var pending = false;
  window.addEventListener("resize", function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () {
      pending = false;
      figures.forEach(function (item) { fit(item); Plotly.Plots.resize(item.div); });
    });
  });
})();
"""


def text(value: object) -> str:
    """Untrusted text as HTML text: escaped, never interpreted."""
    return html.escape(str(value), quote=True)


def slide_html(number: int, slide: HandoutSlide) -> str:
    parts = [f'<section id="slide-{number}">', f"<h2>{text(slide.title)}</h2>"]
    parts += [f'<p class="line">{text(line)}</p>' for line in slide.lines]
    if slide.note:
        parts.append(f'<p class="note">{text(slide.note)}</p>')
    if slide.figure is None:
        parts.append('<p class="no-figure">This view has no figure in the handout; open it in Headlight.</p>')
    else:
        parts.append(f'<div class="figure" id="figure-{number}"></div>')
        parts.append(
            f'<script type="application/json" class="figure-data" data-target="figure-{number}">'
            f"{figure_json(slide.figure)}</script>"
        )
    if slide.link:
        parts.append(f'<p class="link">Headlight: {text(slide.link)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def handout_html(title: str, slides: list[HandoutSlide], plotly_js: str | None = None, about: str = "") -> str:
    """The page: the deck's title, a table of contents, then each slide (title, lines, note, figure). `plotly_js`:
    a bundle's text to embed (the app's partial bundle), used where it draws every figure; otherwise plotly.py's."""
    js = choose_plotly_js([s.figure for s in slides if s.figure is not None], plotly_js)
    contents = "\n".join(f'<li><a href="#slide-{n}">{text(s.title)}</a></li>' for n, s in enumerate(slides, start=1))
    numbered = all(re.match(rf"{n}\b", s.title) for n, s in enumerate(slides, start=1))  # "1 · …": no "1." before it
    listing = "ul" if numbered and slides else "ol"
    body = "\n".join(slide_html(n, s) for n, s in enumerate(slides, start=1))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text(title)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{js}</script>
</head>
<body>
<main>
<h1>{text(title)}</h1>
<p class="about">{text(about)}</p>
<nav><h2>Contents</h2><{listing}>
{contents}
</{listing}></nav>
{body}
</main>
<script type="text/javascript">var CONFIG = {json.dumps(CONFIG)};{SCRIPT}</script>
</body>
</html>
"""


def deck_handout(title: str, slides, plotly_js: str | None = None, about: str = "") -> str:
    """The handout of slides as `model.analysis.handout.handout_slides` gives them (title, note, lines, figure's
    numbers, link): each figure drawn here, then the page assembled."""
    drawn = [HandoutSlide(s.title, s.note, list(s.lines), draw(s.figure), s.link) for s in slides]
    return handout_html(title, drawn, plotly_js, about)

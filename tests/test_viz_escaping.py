"""A typed sentence is shown literally in every figure: Plotly renders a subset of HTML (<a href>, <b>, <br>,
<span style>, <sup>) in titles, tick labels, hover text and annotations, so pieces and sentences must reach the figure
escaped, never as markup."""

from __future__ import annotations

import numpy as np
import pytest

from model.decoding.trace import KIND_LABELS, Trace
from model.decoding.trace_from_hooks import HeadInside
from viz.attention import attention_heatmap, difference_heatmap, head_title, merge_tokens, model_view
from viz.film import film_grid, film_heatmap
from viz.inside_head import PIPELINE, pipeline_figure
from viz.labels import plain
from viz.positional import norms_chart
from viz.steps import candidates_chart, heads_rows, step_cross_attention, step_self_attention
from viz.switch import Panel, switchable_heatmap

LINK, BOLD = '<a href="http://x/">y</a>', "<b>z</b>"
MARKUP = ("<a href", "</a>", "<b>z")  # what the pieces become if they reach a figure unescaped
ESCAPED = ("&lt;a href=", "&lt;b&gt;z&lt;/b&gt;")  # what they must be instead
NO_PIECES = {"model view"}  # its hover names positions; the tokens are on the cell opened below it


def hostile_trace() -> Trace:
    rng = np.random.default_rng(0)
    src = [LINK, "▁and", BOLD, "</s>"]
    tgt = ["<s>", BOLD, LINK, "▁x"]
    out = [BOLD, LINK, "▁x", "</s>"]
    S, T, L, H = len(src), len(tgt), 2, 2
    return Trace(
        src_pieces=src,
        tgt_pieces=tgt,
        out_pieces=out,
        encoder=rng.dirichlet(np.ones(S), size=(L, H, S)),
        decoder=rng.dirichlet(np.ones(T), size=(L, H, T)),
        cross=rng.dirichlet(np.ones(S), size=(L, H, T)),
        positional_encoding=rng.normal(size=(max(S, T), 8)),
        src_word_starts=[True, True, True, True],
        tgt_word_starts=[True, True, True, True],
        candidates=[[(piece, 0.5), ("▁y", 0.3)] for piece in out],
    )


def head_detail(trace: Trace) -> HeadInside:
    rng = np.random.default_rng(1)
    S, d = len(trace.src_pieces), 4
    detail = {name: rng.normal(size=(S, S) if name in ("scores", "masked_scores") else (S, d)) for name in PIPELINE}
    detail["weights"] = trace.encoder[0, 0]
    return HeadInside(**detail)


def figures(trace: Trace) -> dict:
    """Each view's figures as the views build them, titles included (the what-if view names the produced piece)."""
    out, step = trace.out_pieces, 1
    q, k = trace.axis_tokens("cross")
    words = merge_tokens(trace.src_pieces, trace.src_word_starts)
    panels = [Panel(kind, KIND_LABELS[kind], trace.attention(kind), *trace.axis_tokens(kind)) for kind in KIND_LABELS]
    frames = np.stack([trace.cross[0, 0]] * 3)
    return {
        "translate": attention_heatmap(trace.cross[0, 1], q, k, title=head_title("Cross", 0, 1), produced=out),
        "translate words": attention_heatmap(trace.encoder[0, 0], words, words),
        "translate switch": switchable_heatmap(panels, ("cross", 1, None)),
        "model view": model_view(trace.cross, q, k, title="Cross: all layers and heads"),
        "compare": difference_heatmap(trace.cross[0, 0], trace.cross[0, 1], q, k, title="A − B"),
        "steps cross": step_cross_attention(trace.cross, step, trace.src_pieces, out[step]),
        "steps self": step_self_attention(trace.decoder, step, trace.tgt_pieces),
        "steps candidates": candidates_chart(trace.candidates[step], out[step], title="Next-piece candidates"),
        "what-if weights": heads_rows(trace.cross[:, :, step, :], trace.src_pieces, f"Weights while producing {LINK}"),
        "film": film_heatmap(frames, q, k, [0, 1, 2], [0.0, 0.5, 1.0], [LINK, None, BOLD], f"{BOLD} head"),
        "film grid": film_grid(frames[:, None, None], [0, 1, 2], [0.0, 0.5, 1.0], [LINK, BOLD, None], "Cross"),
        "inside head": pipeline_figure(head_detail(trace), 0, trace.src_pieces, trace.src_pieces),
        "positional": norms_chart(trace.src_pieces, np.ones(len(trace.src_pieces)), trace.positional_encoding),
    }


def strings(value) -> list[str]:
    """Every string anywhere in a figure's dict: titles, tick labels, hover data, annotations, menus, frames."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, np.ndarray):
        return strings(value.tolist())
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


FIGURES = figures(hostile_trace())


@pytest.mark.parametrize("name", list(FIGURES))
def test_pieces_and_sentences_reach_the_figure_as_text_never_as_markup(name):
    texts = strings(FIGURES[name].to_dict())
    leaks = [text for text in texts if any(markup in text for markup in MARKUP)]
    assert leaks == [], f"{name}: unescaped markup in {leaks[:3]}"
    shown = any(escaped in text for text in texts for escaped in ESCAPED)
    assert shown != (name in NO_PIECES), f"{name}: the pieces {'never reach' if not shown else 'reach'} the figure"


def test_plain_escapes_only_what_plotly_would_read_as_markup():
    assert plain('<a href="http://x/">y & z</a>') == '&lt;a href="http://x/"&gt;y &amp; z&lt;/a&gt;'
    assert plain("▁Katze 'quoted'") == "▁Katze 'quoted'"

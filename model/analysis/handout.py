"""A deck as a handout's contents: each slide's sentence translated by its checkpoint, and the numbers of the figure
its view opens on. Arrays and token lists only: `viz/handout.py` draws them and assembles the page.

A figure is a dict {"draw": what, ...}; `draw` names how viz draws it:

| view | what the slide's figure holds |
|---|---|
| translate, compare | "switch": the slide's attention kind, every layer and head (switched in the figure) |
| model | "model_view": every layer and head of the kind at once |
| steps | "step": every head's cross-attention while producing the slide's step |
| head | "head": q, K, V, the weights and the output of the slide's head, for the first query |
| positional | "positional": the first 100 positions of the model's positional-encoding table |
| analysis | "grid": the per-head statistics of this sentence (entropy, the view's first) per layer and head |
| whatif | "contributions": what each head added from each source piece (‖α v W_O‖) at the slide's step |
| lesson | "matrix": the token embeddings E[id]·√d_model, the lesson's first picture |
| heads | none: it reads a corpus run, which a file does not carry |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from model.analysis.attribution import contributions
from model.analysis.head_statistics import STATS, average_stats, trace_stats
from model.analysis.lesson import LessonChoice, lesson_numbers
from model.core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, with_languages
from model.core.head_selection import head_from_value
from model.core.hook_names import KINDS
from model.decoding.tidy import tidy_input
from model.decoding.trace import KIND_LABELS, Trace
from model.decoding.trace_from_hooks import inspect_head
from model.decoding.translation import InputError, Translation, translate
from model.links.parameters import PARAM, read_value

POSITIONS_SHOWN = 100  # the positional view's default number of rows


class HandoutError(ValueError):
    """A deck that cannot become a handout here; the message says why in one sentence."""


@dataclass
class SlideContent:
    title: str
    note: str
    view: str
    lines: list[str] = field(default_factory=list)  # plain text: the sentence, its translation, what stood in
    figure: dict | None = None  # what viz draws; None: this view has nothing a file can carry
    link: str = ""  # the slide's parameters as the app's URL query, to open it live


def value(params: dict, name: str) -> object:
    """A slide's parameter, typed (the deck was checked when read; a missing one is the parameter's default)."""
    return read_value(name, params[name])[0] if name in params else PARAM[name].default


def selection(trace: Trace, params: dict, allow_mean: bool = True) -> tuple[str, int, int | None]:
    """The slide's (kind, layer, head) within this model, as the app settles them: layer -1 or too deep is the last,
    a head past the last (or the mean, where a view needs one head) is the mean (head 0)."""
    kind = value(params, "kind")
    layer = value(params, "layer")
    layer = layer if 0 <= layer < trace.layers(kind) else trace.layers(kind) - 1
    raw = value(params, "head")
    head = head_from_value(raw)
    head = None if head is None or head >= trace.heads(kind) else head
    return kind, layer, (0 if head is None and not allow_mean else head)


def attention_panel(trace: Trace, kind: str) -> dict:
    q_tokens, k_tokens = trace.axis_tokens(kind)
    return {
        "kind": kind,
        "label": KIND_LABELS[kind],
        "attention": trace.attention(kind),
        "query_tokens": q_tokens,
        "key_tokens": k_tokens,
    }


def switch_figure(params: dict, ckpt: Checkpoint, translation: Translation) -> dict:
    trace = translation.trace
    kind, layer, head = selection(trace, params)
    return {"draw": "switch", "panels": [attention_panel(trace, kind)], "start": (kind, layer, head)}


def model_view_figure(params: dict, ckpt: Checkpoint, translation: Translation) -> dict:
    kind = value(params, "kind")
    title = f"{KIND_LABELS[kind]}: all layers and heads"
    return {"draw": "model_view", "title": title} | attention_panel(translation.trace, kind)


def slide_step(params: dict, trace: Trace) -> int:
    """The slide's decoding step, or 0 past the translation's last."""
    step = value(params, "step")
    return step if step < len(trace.out_pieces) else 0


def step_figure(params: dict, ckpt: Checkpoint, translation: Translation) -> dict:
    trace = translation.trace
    step = slide_step(params, trace)
    return {
        "draw": "step",
        "cross": trace.cross,
        "step": step,
        "src_tokens": trace.src_pieces,
        "produced": trace.out_pieces[step],
    }


def head_figure(params: dict, ckpt: Checkpoint, translation: Translation) -> dict:
    trace = translation.trace
    kind, layer, head = selection(trace, params, allow_mean=False)
    q_tokens, k_tokens = trace.axis_tokens(kind)
    src_ids, out_ids = list(translation.src_ids), list(translation.out_ids)
    return {
        "draw": "head",
        "detail": inspect_head(ckpt.model, src_ids, out_ids, kind, layer, head),
        "query": 0,
        "query_tokens": q_tokens,
        "key_tokens": k_tokens,
        "title": f"{KIND_LABELS[kind]}, layer {layer}, head {head}",
    }


def positional_figure(params: dict, ckpt: Checkpoint, translation: Translation) -> dict:
    pe = ckpt.model.positional_encoding.detach().cpu().numpy()
    return {"draw": "positional", "pe": pe[: min(POSITIONS_SHOWN, pe.shape[0])]}


def grid_figure(params: dict, ckpt: Checkpoint, translation: Translation) -> dict:
    kind, stat = KINDS[0], STATS[0]  # what the view's pickers open on
    return {
        "draw": "grid",
        "table": average_stats([trace_stats(translation.trace)]),
        "kind": kind,
        "value": stat,
        "title": f"{KIND_LABELS[kind]}: {stat} (label = dominant behaviour)",
    }


def contributions_figure(params: dict, ckpt: Checkpoint, translation: Translation) -> dict:
    trace = translation.trace
    step = slide_step(params, trace)
    norms = contributions(ckpt.model, list(translation.src_ids), list(translation.out_ids)).cross.norms
    return {
        "draw": "contributions",
        "values": norms[:, :, step, :],
        "key_tokens": trace.src_pieces,
        "produced": trace.out_pieces[step],
    }


def lesson_figure(params: dict, ckpt: Checkpoint, translation: Translation) -> dict:
    trace = translation.trace
    layer = trace.layers(KINDS[0]) - 1
    position = min(1, len(trace.src_pieces) - 1)  # the lesson's pickers open on the encoder, last layer, head 0
    choice = LessonChoice(KINDS[0], layer, 0, position)
    numbers = lesson_numbers(ckpt.model, list(translation.src_ids), list(translation.out_ids), choice, with_lens=False)
    return {
        "draw": "matrix",
        "values": numbers.token_embedding,
        "row_labels": trace.src_pieces,
        "title": "E[id] · √d_model",
        "highlight": position,
    }


# Each view's figure (the table above); a view not here has nothing a file can carry.
FIGURES: dict[str, Callable[[dict, Checkpoint, Translation], dict]] = {
    "translate": switch_figure,
    "compare": switch_figure,
    "model": model_view_figure,
    "steps": step_figure,
    "inside": head_figure,
    "positional": positional_figure,
    "analysis": grid_figure,
    "whatif": contributions_figure,
    "lesson": lesson_figure,
}


def main_figure(view: str, params: dict, ckpt: Checkpoint, translation: Translation) -> dict | None:
    """The numbers of the figure `view` opens on with these parameters (see the table above)."""
    figure = FIGURES.get(view)
    return figure(params, ckpt, translation) if figure else None


def slide_link(params: dict) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in params.items())


def handout_slides(
    deck: dict,
    checkpoints: Mapping[str, Path],
    default: str,
    load: Callable[[Path], Checkpoint] = load_checkpoint,
) -> list[SlideContent]:
    """Every slide of a checked deck (`model.links.decks.validate_deck`) with its sentence translated by its
    checkpoint (one of `checkpoints`, by name; one that is not there is `default`, and the slide says so) and its
    figure's numbers. Each checkpoint is loaded once and each distinct request translated once."""
    if not checkpoints:
        raise HandoutError("there is no checkpoint here to translate the deck's sentences with")
    if default not in checkpoints:
        default = next(iter(checkpoints))
    loaded: dict[str, Checkpoint] = {}
    translations: dict[tuple, Translation] = {}
    slides = []
    for slide in deck["slides"]:
        params = slide["params"]
        lines = list(slide.get("problems", []))
        name = params.get("ckpt") or deck.get("checkpoint") or default
        if name not in checkpoints:
            lines.append(f"There is no checkpoint named {name} here; showing {default}.")
            name = default
        if name not in loaded:
            try:
                loaded[name] = load(checkpoints[name])
            except CheckpointError as exc:
                raise HandoutError(f"the checkpoint {name} cannot be loaded: {exc}") from None
        ckpt = loaded[name]
        pair = (value(params, "src") or None, value(params, "tgt") or None)
        if ckpt.languages and any(pair):
            try:
                ckpt = with_languages(ckpt, *pair, labels=("src", "tgt"))
            except ValueError as exc:
                lines.append(f"{exc} Using {ckpt.src_lang} → {ckpt.tgt_lang}.")
        source = tidy_input(value(params, "text"), ckpt.src_lang, value(params, "tidy")).text
        request = (name, ckpt.src_lang, ckpt.tgt_lang, source, value(params, "beam"), value(params, "max_len"))
        request += (value(params, "prefix"),)
        view = value(params, "view")
        content = SlideContent(slide["title"], slide["note"], view, link=slide_link(params))
        try:
            if request not in translations:
                translations[request] = translate(
                    ckpt.model, ckpt.tokenizer, source, beam=request[4], max_len=request[5] or None, prefix=request[6]
                )
        except InputError as exc:  # the app says the same under the sentence box
            content.lines = [f"Model: {name}", str(exc), *lines]
        else:
            translation = translations[request]
            content.lines = [f"{source} → {translation.text}", f"Model: {name}", *lines]
            content.figure = main_figure(view, params, ckpt, translation)
        slides.append(content)
    return slides

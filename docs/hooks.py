"""MkDocs hooks: the pages that must not drift are written at build time from what they describe.

- `<!-- generated: cli -->` becomes every `python -m model.X` command's own `--help`;
- `<!-- generated: benchmarks -->` becomes the table of `bench/results.json`, one row per measure from its latest run
  (goals from `bench/run.py`);
- `<!-- generated: lesson en|ko -->` becomes the lesson's sections in that language, from `ui/i18n.py`;
- `<!-- generated: views ko -->` becomes the views' Korean names, from `ui/i18n.py`;
- `<!-- generated: model-cards -->` becomes the list of the shipped model cards;
- `<!-- generated: url-parameters -->` becomes the app's table of URL parameters;
- each `checkpoints/NAME/README.md` (the model card) becomes the page `models/NAME.md`, added to the nav;
- a page written in another language (`NAME.ko.md`) says so in its `<html lang>` (the theme's is the site's, "en").
A marker this file does not know fails the build, so a typo cannot leave a marker in a page.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import json
import math
import os
import re
import string
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"<!-- generated: ([a-z-]+)(?: ([a-z]+))? -->")
HELP_COLUMNS = "100"


# --- model cards -------------------------------------------------------------------------------------------------


def model_card_folders() -> list[Path]:
    """Shipped checkpoint folders that carry a model card (README.md beside config.json)."""
    folders = (ROOT / "checkpoints").glob("*/")
    return sorted(p for p in folders if (p / "README.md").is_file() and (p / "config.json").is_file())


def on_config(config):
    for item in config["nav"] or []:
        if isinstance(item, dict) and "Models" in item:
            item["Models"] += [{p.name: f"models/{p.name}.md"} for p in model_card_folders()]
    return config


def on_files(files, config):
    for folder in model_card_folders():
        card = (folder / "README.md").read_text(encoding="utf-8")
        note = f"*The model card of `checkpoints/{folder.name}/`, shown as written in its `README.md`.*\n\n"
        files.append(File.generated(config, f"models/{folder.name}.md", content=note + card))
    return files


def model_cards_list() -> str:
    lines = []
    for folder in model_card_folders():
        card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
        lines.append(f"- [`{folder.name}`]({folder.name}.md): {card.get('name', folder.name)}")
    return "\n".join(lines)


# --- command line ------------------------------------------------------------------------------------------------


def command_names() -> list[str]:
    """`model/X.py` files with a top-level `main`: the `python -m model.X` commands."""
    names = []
    for path in sorted((ROOT / "model").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body):
            names.append(path.stem)
    return names


def command_help(name: str) -> str:
    """What `python -m model.NAME --help` prints, got in this process (torch is imported once, not per command)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    module = importlib.import_module(f"model.{name}")
    out = io.StringIO()
    saved_argv0, saved_columns = sys.argv[0], os.environ.get("COLUMNS")
    sys.argv[0], os.environ["COLUMNS"] = f"python -m model.{name}", HELP_COLUMNS
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            module.main(["--help"])
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise PluginError(f"python -m model.{name} --help exited with {stop.code}") from None
    else:
        raise PluginError(f"python -m model.{name} --help did not stop after printing its help")
    finally:
        sys.argv[0] = saved_argv0
        if saved_columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved_columns
    text = out.getvalue().rstrip()
    if "usage:" not in text:
        raise PluginError(f"python -m model.{name} --help printed no usage line")
    return text


def cli_reference() -> str:
    names = command_names()
    parts = ["| command | what it does |", "|---|---|"]
    helps = {name: command_help(name) for name in names}
    for name in names:
        parts.append(f"| [`python -m model.{name}`](#model{name}) | {first_description_line(helps[name])} |")
    for name in names:
        parts += ["", f"## model.{name}", "", "```text", helps[name], "```"]
    return "\n".join(parts)


def first_description_line(help_text: str) -> str:
    """The first line after the usage block: argparse's description."""
    blocks = help_text.split("\n\n")
    text = blocks[1].strip().splitlines()[0] if len(blocks) > 1 else ""
    return text.replace("|", "\\|")


# --- benchmarks --------------------------------------------------------------------------------------------------

# What each measure compares, for rows whose results.json entry does not say it itself (bench/run.py writes it
# to the console, not to the JSON).
BENCH_COMPARES = {
    "capture_overhead": "greedy translation with full capture ÷ without (5 sentences of 20 pieces)",
    "incremental_vs_recompute": "40 output pieces with key/value caching ÷ recomputing the prefix each step",
    "matrix_products_vs_recompute": "only the matrix products of 40 cached steps ÷ recomputing: the lowest "
    "incremental_vs_recompute this machine allows in fp32",
    "vs_hf_generate": "ours with full capture ÷ HF MarianMTModel.generate(output_attentions=True), eager, greedy, "
    "20 source pieces, 24 steps",
    "matrix_products_vs_hf": "only the matrix products of 24 cached steps ÷ HF generate: the lowest vs_hf_generate "
    "possible without fewer weight reads",
    "train_tokens_vs_hf": "training tokens/s, ours ÷ HF Marian, same sizes and batch, fp32",
    "model_view_build_ms": "building and serialising the model-view figure, 6 layers × 8 heads at 60 pieces",
    "page_to_first_heatmap_s": "navigation to the first heatmap drawn, warm server, new sentence each time",
    "page_to_controls_s": "the same navigation until the layer slider is on the page too",
    "slider_to_redraw_ms": "layer slider key press to the new heatmap title",
    "client_switch_ms": "one layer/head change in the browser-switchable heatmap (Plotly's own slider)",
    "marian_capture_ms": "greedy translation with full capture at opus-mt-en-de's size (random weights), 20 source "
    "pieces, 24 steps",
    "marian_vs_hf_generate": "the same ÷ HF MarianMTModel.generate(output_attentions=True), eager, same weights "
    "and steps",
}
SCALING = re.compile(r"(capture_scaling|trace_size)_S(\d+)$")


def bench_goals() -> dict[str, tuple[str, float]]:
    """`GOALS` from bench/run.py, read without importing it (it imports torch and the model)."""
    tree = ast.parse((ROOT / "bench" / "run.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "GOALS" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def bench_compares(row: dict) -> str:
    if row.get("compares"):
        return row["compares"]
    scaling = SCALING.match(row["measure"])
    if scaling:
        what = "greedy translation with capture" if scaling[1] == "capture_scaling" else "float32 trace size"
        return f"{what}, {scaling[2]} source pieces"
    return BENCH_COMPARES.get(row["measure"]) or bench_source_compares().get(row["measure"], "")


def bench_source_compares() -> dict[str, str]:
    """Each measure's `compares` text as bench/run.py writes it, values known only when it runs shown as "…":
    from `{"measure": NAME, "compares": TEXT}` rows, `ratio_row(NAME, top, bottom, TEXT)` and `floor_row(NAME, ...)`."""
    tree = ast.parse((ROOT / "bench" / "run.py").read_text(encoding="utf-8"))
    known = named_values(tree)
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            fields = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)}
            name, text = fields.get("measure"), fields.get("compares")
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and text is not None:
                found.setdefault(name.value, source_text(text, known))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("ratio_row", "floor_row") and node.args:
            name = node.args[0]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                continue
            if node.func.id == "ratio_row" and len(node.args) == 4:
                found.setdefault(name.value, source_text(node.args[3], known))
            elif node.func.id == "floor_row" and len(node.args) == 4:
                what = source_text(node.args[3], known)
                found.setdefault(name.value, f"{what}: time per decode step ÷ the bandwidth floor")
    return found


def named_values(tree: ast.Module) -> dict[str, ast.expr]:
    """Names bound to exactly one constant or string expression in the file (`NLLB_STEPS = 20`, `size = "..."`)."""
    bound: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        if isinstance(target, ast.Name):
            bound.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            for name, item in zip(target.elts, value.elts):
                if isinstance(name, ast.Name):
                    bound.setdefault(name.id, []).append(item)
    literal = (ast.Constant, ast.JoinedStr, ast.BinOp)
    texts = {name: [v for v in values if isinstance(v, literal)] for name, values in bound.items()}
    return {name: values[0] for name, values in texts.items() if len(values) == 1}


def source_text(node: ast.expr, known: dict[str, ast.expr], depth: int = 0) -> str:
    """A string expression's text: names bound once in the file filled in, what is only known at run time as "…"."""
    if depth > 20:  # a name bound to itself, indirectly
        return "…"
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)):
        return str(node.value)
    if isinstance(node, ast.Name) and node.id in known:
        return source_text(known[node.id], known, depth + 1)
    if isinstance(node, ast.FormattedValue):
        return source_text(node.value, known, depth + 1) if node.format_spec is None else "…"
    if isinstance(node, ast.JoinedStr):
        return "".join(source_text(part, known, depth + 1) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return source_text(node.left, known, depth + 1) + source_text(node.right, known, depth + 1)
    return "…"


def benchmarks_table() -> str:
    """One row per measure, its latest value: every row of bench/results.json names its run ("YYYY-MM-DD · machine ·
    command"); the runs are numbered by date under the table."""
    rows = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
    goals = bench_goals()
    latest = latest_rows(rows)
    runs = sorted({row["run"] for row in latest.values()})
    lines = ["| measure | value | unit | goal | what it compares | run |", "|---|---|---|---|---|---|"]
    for measure, row in latest.items():
        goal = goals.get(measure)
        goal_text = f"{goal[0]} {goal[1]}" if goal else ""
        run = runs.index(row["run"]) + 1
        cells = [measure, f"{row['value']:.3f}", row["unit"], goal_text, bench_compares(row), run]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    lines += ["", "Runs:", ""] + [f"{n}. {run}" for n, run in enumerate(runs, 1)]
    return "\n".join(lines)


RUN_DATE = re.compile(r"\d{4}-\d{2}-\d{2} ")


def latest_rows(rows: list[dict]) -> dict[str, dict]:
    """Measure -> its row from the latest run that has it (the same date: the later in the file), in the order the
    measures first appear."""
    latest: dict[str, dict] = {}
    for row in rows:
        measure, value, run = row.get("measure"), row.get("value"), row.get("run")
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise PluginError(f"bench/results.json: {measure} has no finite value")
        if not isinstance(run, str) or not RUN_DATE.match(run):
            raise PluginError(f'bench/results.json: {measure} names no run ("run": "YYYY-MM-DD · machine · command")')
        if measure not in latest or run[:10] >= latest[measure]["run"][:10]:
            latest[measure] = row
    return latest


# --- texts of the app, from ui/i18n.py ---------------------------------------------------------------------------


def i18n_value(node: ast.expr) -> dict[str, str]:
    """One dictionary of ui/i18n.py: literals, and the attention kinds' titles it takes from model/core/kinds.py."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from model.core.kinds import KIND_LABELS

    code = compile(ast.Expression(node), "ui/i18n.py", "eval")
    return eval(code, {"__builtins__": {}, "KIND_LABELS": KIND_LABELS})  # our own source file, names given


def app_texts() -> dict[str, dict[str, str]]:
    """The EN and KO dictionaries of ui/i18n.py, read without importing it (it imports streamlit)."""
    tree = ast.parse((ROOT / "ui" / "i18n.py").read_text(encoding="utf-8"))
    texts = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and getattr(node.targets[0], "id", "")
            in (
                "EN",
                "KO",
            )
        ):
            texts[node.targets[0].id.lower()] = i18n_value(node.value)
    if set(texts) != {"en", "ko"}:
        raise PluginError("ui/i18n.py: the EN and KO dictionaries were not found")
    return texts


def default_model_sizes() -> dict[str, object]:
    """The placeholders of the lesson's texts, filled with the default model's sizes."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from model.core.defaults import DEFAULT_CHECKPOINT  # the lesson's numbers are this model's sizes

    cfg = json.loads((ROOT / "checkpoints" / DEFAULT_CHECKPOINT / "config.json").read_text(encoding="utf-8"))["model"]
    d, h = cfg["d_model"], cfg["n_heads"]
    return {
        "scale": math.sqrt(d),
        "d_k": d // h,
        "sqrt": math.sqrt(d // h),
        "h": h,
        "d": d,
        "d_ff": cfg["d_ff"],
        "act": cfg["activation"],
        "n_enc": cfg["n_encoder_layers"],
        "n_dec": cfg["n_decoder_layers"],
        "v": cfg["vocab_size"],
    }


class SizesFormatter(string.Formatter):
    """Fills the placeholders it knows; one it does not (a value of the sentence, not of the model) shows its name."""

    def get_value(self, key, args, kwargs):
        return kwargs.get(key, Unfilled(key))

    def format_field(self, value, format_spec):
        return f"{value.name}" if isinstance(value, Unfilled) else super().format_field(value, format_spec)


class Unfilled:
    def __init__(self, name: str):
        self.name = name


SIZES_FORMATTER = SizesFormatter()


def lesson_sections(lang: str) -> str:
    texts = app_texts()[lang]
    english = app_texts()["en"]
    sizes = default_model_sizes()
    sections = [key[: -len(".title")] for key in english if key.startswith("sec.") and key.endswith(".title")]
    parts = []
    for section in sections:
        title = texts.get(f"{section}.title") or english[f"{section}.title"]
        text = texts.get(f"{section}.text") or english[f"{section}.text"]
        text = SIZES_FORMATTER.format(text, **sizes)
        parts += [f"### {title}", "", escape_markdown(text), ""]
    whys = [texts.get(key) or english[key] for key in english if key.startswith("why.") and key.endswith(".title")]
    parts += ["### " + ("“왜?”에 대한 답" if lang == "ko" else "The “why” questions"), ""]
    parts += [f"- {escape_markdown(why)}" for why in whys]
    return "\n".join(parts)


def escape_markdown(text: str) -> str:
    """`</s>` and `<s>` in the app's texts are pieces, not HTML tags."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def views_korean() -> str:
    texts = app_texts()
    keys = [key for key in texts["en"] if key.startswith("view.")]
    lines = ["| view (`?view=`) | English | 한국어 |", "|---|---|---|"]
    for key in keys:
        lines.append(f"| `{key.removeprefix('view.')}` | {texts['en'][key]} | {texts['ko'].get(key, '')} |")
    return "\n".join(lines)


# --- URL parameters ----------------------------------------------------------------------------------------------


def url_parameters_table() -> str:
    """The app's one parameter table (model/links/parameters.py); before it exists, the names app.py reads."""
    if (ROOT / "model" / "links" / "parameters.py").is_file():
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from model.links.parameters import PARAMS

        lines = ["| parameter | values | default | in the link | in a deck | meaning |", "|---|---|---|---|---|---|"]
        for p in PARAMS:
            default = int(p.default) if isinstance(p.default, bool) else p.default
            cells = [f"`{p.name}`", p.describe_range(), f"`{default}`" if default != "" else "(empty)"]
            cells += ["yes" if p.in_link else "no", "yes" if p.in_deck else "no", p.meaning]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        return "\n".join(lines)
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "init_from_url" and node.args:
            names = [ast.literal_eval(key) for key in node.args[0].keys]
            return "\n".join(["| parameter |", "|---|"] + [f"| `{name}` |" for name in names])
    raise PluginError("no table of URL parameters found (model/links/parameters.py or app.py)")


# --- the markers -------------------------------------------------------------------------------------------------


def on_page_markdown(markdown, page, config, files):
    def replace(match: re.Match) -> str:
        what, arg = match[1], match[2]
        if what == "cli":
            return cli_reference()
        if what == "benchmarks":
            return benchmarks_table()
        if what == "lesson" and arg in ("en", "ko"):
            return lesson_sections(arg)
        if what == "views" and arg == "ko":
            return views_korean()
        if what == "url-parameters":
            return url_parameters_table()
        if what == "model-cards":
            return model_cards_list()
        raise PluginError(f"{page.file.src_uri}: unknown marker {match[0]}")

    return MARKER.sub(replace, markdown)


# --- the language of a page --------------------------------------------------------------------------------------

PAGE_LANGUAGE = re.compile(r"\.([a-z]{2})\.md$")  # index.ko.md: Korean
HTML_LANG = re.compile(r'<html lang="[^"]*"')


def on_post_page(output, page, config):
    """Screen readers, fonts and hyphenation follow `<html lang>`: a Korean page must not claim to be English."""
    found = PAGE_LANGUAGE.search(page.file.src_uri)
    if not found:
        return output
    if not HTML_LANG.search(output):
        raise PluginError(f"{page.file.src_uri}: the theme wrote no <html lang> to set to {found[1]}")
    return HTML_LANG.sub(f'<html lang="{found[1]}"', output, count=1)

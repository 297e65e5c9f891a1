"""Validating readers of the per-head tables a checkpoint folder may hold next to its weights: the head-importance
sweep (head_importance.json) and the alignment error rates against gold alignments (alignment_GOLD.csv).

Each returns what the views draw, already checked (types, head numbers, one row per head), or raises a
`CheckpointError` whose one sentence names the file and says what is wrong, so the view can show it and go on.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd

from model.analysis.importance import SWEEP_FILE
from model.core.checkpoint import MAX_SIDE_FILE_BYTES, CheckpointError, check_inside, read_json_file
from model.core.hook_names import KINDS

SWEEP_MEASURES = ("bleu_drop", "chrf_drop", "logprob_drop")
MAX_HEADS = 64 * 256 * 3  # the size checks' deepest and widest model, all three kinds
# The gold set's name and the measures' names are shown as labels, titles and widget keys: names, never markup.
ALIGNMENT_FILE = re.compile(r"alignment_(?=.{1,64}\.csv$)[A-Za-z0-9]+(?:[_.-][A-Za-z0-9]+)*\.csv")
MEASURE_COLUMN = re.compile(r"aer_[A-Za-z0-9_.]{1,64}")


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_sweep(folder: str | Path) -> dict | None:
    """The folder's head_importance.json ({"sentences", "baseline": {"bleu", "chrf", ...}, "heads": [{"kind",
    "layer", "head", "bleu_drop", "chrf_drop", "logprob_drop"}]}), or None without one."""
    file = Path(folder) / SWEEP_FILE
    if not file.is_file() and not file.is_symlink():
        return None
    record = read_json_file(file)
    where = f"{file.name} in {file.parent}"
    baseline, heads = record.get("baseline"), record.get("heads")
    if not (isinstance(baseline, dict) and all(_number(baseline.get(key)) for key in ("bleu", "chrf"))):
        raise CheckpointError(f'{where} has no "baseline" with numbers for bleu and chrf.')
    if not _whole(record.get("sentences")):
        raise CheckpointError(f'{where} gives "sentences" = {str(record.get("sentences"))[:40]!r}, not a count.')
    if not (isinstance(heads, list) and 0 < len(heads) <= MAX_HEADS):
        raise CheckpointError(f'{where} has no list of heads under "heads".')
    seen = set()
    for n, row in enumerate(heads):
        if not (
            isinstance(row, dict)
            and row.get("kind") in KINDS
            and _whole(row.get("layer"))
            and _whole(row.get("head"))
            and all(_number(row.get(key)) for key in SWEEP_MEASURES)
        ):
            raise CheckpointError(
                f"{where}: head {n} is not a kind, a layer, a head and numbers for {', '.join(SWEEP_MEASURES)}."
            )
        key = (row["kind"], row["layer"], row["head"])
        if key in seen:
            raise CheckpointError(f"{where} lists {row['kind']} layer {row['layer']} head {row['head']} twice.")
        seen.add(key)
    return record


def read_alignment_table(file: Path) -> pd.DataFrame:
    """An alignment_GOLD.csv of `python -m model.align_eval`: columns layer, head (a number, or "mean" for the
    layer's average) and one or more aer_* columns of numbers; one row per (layer, head)."""
    file = Path(file)
    if not ALIGNMENT_FILE.fullmatch(file.name):
        raise CheckpointError(
            f"{file.name[:80]!r} in {file.parent} is not named alignment_GOLD.csv with GOLD of letters and digits, "
            "single '_', '.' or '-' between them (at most 64 characters), so it is left out."
        )
    where = f"{file.name} in {file.parent}"
    check_inside(file.parent, file)
    try:
        if file.stat().st_size > MAX_SIDE_FILE_BYTES:
            raise CheckpointError(f"{where} is larger than the {MAX_SIDE_FILE_BYTES} bytes a side file may have.")
        table = pd.read_csv(file, dtype=str, keep_default_na=False)
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(f"{where} cannot be read ({exc.strerror or exc}).") from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        first_line = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
        raise CheckpointError(f"{where} is not a readable CSV table ({first_line}).") from None
    measures = [c for c in table.columns if str(c).startswith("aer")]
    if not {"layer", "head"} <= set(table.columns) or not measures:
        raise CheckpointError(f"{where} lacks the columns layer, head and at least one aer_* column.")
    odd = next((c for c in measures if not MEASURE_COLUMN.fullmatch(str(c))), None)
    if odd is not None:
        raise CheckpointError(
            f"{where} has a column {str(odd)[:40]!r}: an aer_* column's name is aer_ then letters, digits, '_' and "
            "'.' (at most 64)."
        )
    if table.empty:
        raise CheckpointError(f"{where} has no rows.")
    for column in ("layer", "head"):
        ok = table[column].str.fullmatch(r"\d{1,4}") | ((table[column] == "mean") if column == "head" else False)
        if not ok.all():
            value = table[column][~ok].iloc[0]
            raise CheckpointError(f"{where} gives {column} = {value[:40]!r}, not a number from 0 to 9999.")
    try:
        values = table[measures].astype(float)
    except ValueError as exc:
        raise CheckpointError(f"{where} has an aer_* value that is not a number ({exc}).") from None
    if not values.map(lambda v: math.isnan(v) or 0 <= v <= 1).all().all():
        raise CheckpointError(f"{where} has an alignment error rate outside 0..1.")
    if (table["head"] == "mean").all():
        raise CheckpointError(f"{where} has no row for a single head, only layer means.")
    if table.duplicated(["layer", "head"]).any():
        raise CheckpointError(f"{where} has more than one row for a layer and head.")
    return table[["layer", "head"]].assign(layer=table["layer"].astype(int)).join(values)

"""A training film: how every head's attention changed while a model learnt (docs/formats.md, "Training film").

Two files beside a checkpoint: `film.json` (the sentences, and per frame the update, the losses, BLEU, the greedy
translations and every head's statistics) and `film.npz` (per sentence and kind, the attention of every frame as
[frames, layers, heads, queries, keys], float16). The recorder (`model.training.film_recorder`) writes them while
training; the Training view and the commands read them with `load_film`, which checks everything it reads and says in
one sentence what is wrong with a damaged film.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from model.analysis.head_statistics import STATS
from model.core.files import write_atomically
from model.core.kinds import KINDS

FORMAT, VERSION = "headlight-film", 1
JSON_FILE, ARRAYS_FILE = "film.json", "film.npz"
MAX_SENTENCES, MAX_FRAMES, MAX_PIECES = 16, 1000, 256
MAX_JSON_BYTES, MAX_ARRAYS_BYTES = 64 * 2**20, 512 * 2**20
WEIGHT_TOLERANCE = 5e-3  # weights are stored as float16: each off by at most 2**-11 of itself, so a row's sum too
HEAD_FIELDS = ("kind", "layer", "head", *STATS, "aer")


class FilmError(ValueError):
    """A film that cannot be used, said in one sentence."""


@dataclass
class FilmSentence:
    source: str
    reference: str
    src_pieces: list[str]
    tgt_pieces: list[str]  # the decoder's input: <s> (or the start piece), then the reference but its last piece
    gold: list[tuple[int, int, str]] | None = None  # (source word, target word, "S" or "P"), 0-based

    def axes(self, kind: str) -> tuple[list[str], list[str]]:
        """(query pieces, key pieces) of one kind's matrices."""
        if kind == "encoder":
            return self.src_pieces, self.src_pieces
        if kind == "decoder":
            return self.tgt_pieces, self.tgt_pieces
        return self.tgt_pieces, self.src_pieces


@dataclass
class Frame:
    step: int
    epoch: float
    train_loss: float | None = None
    val_loss: float | None = None
    bleu: float | None = None
    translations: list[str] = field(default_factory=list)
    heads: list[dict] = field(default_factory=list)  # one row per (kind, layer, head): HEAD_FIELDS


@dataclass
class Film:
    sentences: list[FilmSentence]
    layers: dict[str, int]  # per kind
    heads: int
    total_steps: int
    frames: list[Frame]
    attention: dict[tuple[int, str], np.ndarray]  # (sentence, kind) -> [frames, layers, heads, q, k]

    def steps(self) -> list[int]:
        return [f.step for f in self.frames]

    def statistic(self, name: str, kind: str) -> np.ndarray:
        """[frames, layers, heads] of one statistic (NaN where a frame has no value)."""
        out = np.full((len(self.frames), self.layers[kind], self.heads), np.nan)
        for i, frame in enumerate(self.frames):
            for row in frame.heads:
                if row["kind"] == kind and row.get(name) is not None:
                    out[i, row["layer"], row["head"]] = row[name]
        return out


def array_key(sentence: int, kind: str) -> str:
    return f"s{sentence}.{kind}"


def film_json(film: Film) -> dict:
    return {
        "format": FORMAT,
        "version": VERSION,
        "sentences": [
            {
                "source": s.source,
                "reference": s.reference,
                "src_pieces": s.src_pieces,
                "tgt_pieces": s.tgt_pieces,
                "gold": [list(link) for link in s.gold] if s.gold is not None else None,
            }
            for s in film.sentences
        ],
        "layers": film.layers,
        "heads": film.heads,
        "total_steps": film.total_steps,
        "frames": [
            {
                "step": f.step,
                "epoch": f.epoch,
                "train_loss": f.train_loss,
                "val_loss": f.val_loss,
                "bleu": f.bleu,
                "translations": f.translations,
                "heads": f.heads,
            }
            for f in film.frames
        ],
    }


def save_film(film: Film, folder: Path, kept: int | None = None) -> None:
    """Write `film` into `folder`, each file whole. A reader must never find fewer frames in film.npz than film.json
    lists, nor other ones: frames are appended by replacing film.npz before film.json. `kept`: the number of frames
    `film` shares with the film in `folder` when that one holds more (a resumed run dropped the frames past its saved
    state); then film.json is cut to those first, film.npz next, and the new frames are appended as usual."""
    folder.mkdir(parents=True, exist_ok=True)
    if kept is not None:
        if kept == 0:
            (folder / JSON_FILE).unlink(missing_ok=True)
        else:
            cut = {key: weights[:kept] for key, weights in film.attention.items()}
            _write_film(replace(film, frames=film.frames[:kept], attention=cut), folder, json_first=True)
    _write_film(film, folder, json_first=False)


def _write_film(film: Film, folder: Path, json_first: bool) -> None:
    arrays = {array_key(i, kind): film.attention[i, kind].astype(np.float16) for i, kind in film.attention}
    text = json.dumps(film_json(film), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    writes = [
        lambda: write_atomically(folder / ARRAYS_FILE, lambda f: np.savez_compressed(f, **arrays)),
        lambda: write_atomically(folder / JSON_FILE, lambda f: f.write(text.encode("utf-8"))),
    ]
    for write in reversed(writes) if json_first else writes:
        write()


def has_film(folder: Path) -> bool:
    return (Path(folder) / JSON_FILE).is_file()


# -- reading, with every value checked -------------------------------------------------------------------------------


def _number(value, what: str, optional: bool = True) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FilmError(f"the film's {what} is not a finite number")
    return float(value)


def _count(value, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FilmError(f"the film's {what} must be a whole number from {low} to {high}")
    return value


def _strings(value, what: str, limit: int) -> list[str]:
    if not isinstance(value, list) or len(value) > limit or not all(isinstance(v, str) for v in value):
        raise FilmError(f"the film's {what} must be a list of at most {limit} texts")
    return value


def _sentence(raw, n: int) -> FilmSentence:
    if not isinstance(raw, dict):
        raise FilmError(f"the film's sentence {n} is not an object")
    for key in ("source", "reference"):
        if not isinstance(raw.get(key), str):
            raise FilmError(f"the film's sentence {n} has no {key} text")
    gold = raw.get("gold")
    if gold is not None:
        if not isinstance(gold, list) or not all(
            isinstance(g, list) and len(g) == 3 and g[2] in ("S", "P") and all(type(i) is int and i >= 0 for i in g[:2])
            for g in gold
        ):
            raise FilmError(f"the film's sentence {n} has gold links that are not [source, target, S|P]")
        gold = [tuple(g) for g in gold]
    return FilmSentence(
        raw["source"],
        raw["reference"],
        _strings(raw.get("src_pieces"), f"sentence {n} source pieces", MAX_PIECES),
        _strings(raw.get("tgt_pieces"), f"sentence {n} target pieces", MAX_PIECES),
        gold,
    )


def _head_row(raw, layers: dict[str, int], heads: int, where: str) -> dict:
    if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
        raise FilmError(f"the film's {where} has a head row without a known kind")
    row = {"kind": raw["kind"]}
    row["layer"] = _count(raw.get("layer"), f"{where} layer", 0, layers[raw["kind"]] - 1)
    row["head"] = _count(raw.get("head"), f"{where} head", 0, heads - 1)
    for name in (*STATS, "aer"):
        if name in raw and raw[name] is not None:
            row[name] = _number(raw[name], f"{where} {name}")
        else:
            row[name] = None
    return row


def _frame(raw, n: int, layers: dict[str, int], heads: int, sentences: int) -> Frame:
    if not isinstance(raw, dict):
        raise FilmError(f"the film's frame {n} is not an object")
    where = f"frame {n}"
    translations = _strings(raw.get("translations", []), f"{where} translations", sentences)
    if "translations" in raw and len(translations) != sentences:  # one per sentence, as the recorder writes them
        raise FilmError(f"the film's {where} has {len(translations)} translations for {sentences} sentences")
    rows = raw.get("heads", [])
    if not isinstance(rows, list) or len(rows) > sum(layers.values()) * heads:
        raise FilmError(f"the film's {where} heads must be a list of one row per head")
    return Frame(
        step=_count(raw.get("step"), f"{where} step", 0, 10**9),
        epoch=_number(raw.get("epoch"), f"{where} epoch", optional=False),
        train_loss=_number(raw.get("train_loss"), f"{where} training loss"),
        val_loss=_number(raw.get("val_loss"), f"{where} validation loss"),
        bleu=_number(raw.get("bleu"), f"{where} BLEU"),
        translations=translations,
        heads=[_head_row(r, layers, heads, where) for r in rows],
    )


def check_film_file(path: Path) -> None:
    """A film's file is a regular file inside its folder: a pipe or a device would hang or never end, and a link out
    of the folder would read some other file."""
    if not path.is_file():
        raise FilmError(f"{path.name} cannot be read: it is missing or not a regular file (a folder, a device, a pipe)")
    if not path.resolve().is_relative_to(path.parent.resolve()):
        raise FilmError(f"{path.name} is a link out of {path.parent}: Headlight reads only the files inside a folder")


def read_film_json(path: Path) -> dict:
    check_film_file(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise FilmError(f"{path.name} is larger than {MAX_JSON_BYTES >> 20} MB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FilmError:
        raise
    except (OSError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise FilmError(f"{path.name} cannot be read: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FilmError(f"{path.name} is not a Headlight training film")
    if data.get("version") != VERSION:
        raise FilmError(f"{path.name} is version {data.get('version')!r}; this Headlight reads version {VERSION}")
    return data


def load_film(folder: Path) -> Film:
    """The film in `folder`, every value checked; FilmError says what is wrong in one sentence."""
    folder = Path(folder)
    data = read_film_json(folder / JSON_FILE)
    raw_sentences = data.get("sentences")
    if not isinstance(raw_sentences, list) or not 1 <= len(raw_sentences) <= MAX_SENTENCES:
        raise FilmError(f"the film must have 1 to {MAX_SENTENCES} sentences")
    sentences = [_sentence(s, n) for n, s in enumerate(raw_sentences)]
    raw_layers = data.get("layers")
    if not isinstance(raw_layers, dict) or set(raw_layers) != set(KINDS):
        raise FilmError("the film's layers must give a count for encoder, decoder and cross")
    layers = {kind: _count(raw_layers[kind], f"{kind} layer count", 1, 64) for kind in KINDS}
    heads = _count(data.get("heads"), "head count", 1, 64)
    total = _count(data.get("total_steps"), "total steps", 0, 10**9)
    raw_frames = data.get("frames")
    if not isinstance(raw_frames, list) or not 1 <= len(raw_frames) <= MAX_FRAMES:
        raise FilmError(f"the film must have 1 to {MAX_FRAMES} frames")
    frames = [_frame(f, n, layers, heads, len(sentences)) for n, f in enumerate(raw_frames)]
    if any(b.step <= a.step for a, b in zip(frames, frames[1:])):
        raise FilmError("the film's frames are not in increasing step order")
    return Film(sentences, layers, heads, total, frames, read_arrays(folder, sentences, layers, heads, len(frames)))


def check_declared_shapes(path: Path, sentences: list[FilmSentence], layers: dict, heads: int, n_frames: int) -> None:
    """Each array's shape and type as its .npy header declares them, read before any array is: a header may claim
    terabytes in a file of a few bytes."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        for i, sentence in enumerate(sentences):
            for kind in KINDS:
                key = array_key(i, kind)
                if f"{key}.npy" not in names:
                    raise FilmError(f"{ARRAYS_FILE} has no {key}")
                q, k = sentence.axes(kind)
                shape = (n_frames, layers[kind], heads, len(q), len(k))
                with archive.open(f"{key}.npy") as member:
                    version = np.lib.format.read_magic(member)
                    if version not in ((1, 0), (2, 0)):
                        raise FilmError(f"{ARRAYS_FILE}'s {key} is an .npy of version {version}, not 1.0 or 2.0")
                    headers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
                    declared, _, dtype = headers[version](member)
                if (
                    len(declared) != len(shape)
                    or tuple(declared[1:]) != shape[1:]
                    or not n_frames <= declared[0] <= MAX_FRAMES
                    or dtype.kind != "f"
                    or dtype.itemsize > 8
                ):
                    raise FilmError(f"{ARRAYS_FILE}'s {key} is not a float array of shape {shape}")


def read_arrays(folder: Path, sentences: list[FilmSentence], layers: dict, heads: int, n_frames: int) -> dict:
    path = folder / ARRAYS_FILE
    check_film_file(path)
    try:
        if path.stat().st_size > MAX_ARRAYS_BYTES:
            raise FilmError(f"{ARRAYS_FILE} is larger than {MAX_ARRAYS_BYTES >> 20} MB")
        check_declared_shapes(path, sentences, layers, heads, n_frames)
        with np.load(path, allow_pickle=False) as arrays:
            out = {}
            for i, sentence in enumerate(sentences):
                for kind in KINDS:
                    q, k = sentence.axes(kind)
                    key = array_key(i, kind)
                    if key not in arrays.files:
                        raise FilmError(f"{ARRAYS_FILE} has no {key}")
                    shape = (n_frames, layers[kind], heads, len(q), len(k))
                    stored = arrays[key]
                    # A film read while a run saves it may hold more frames in film.npz than film.json lists, never
                    # fewer, and its first n_frames are film.json's (the order of save_film's writes).
                    if stored.shape[1:] != shape[1:] or stored.shape[0] < n_frames or stored.dtype.kind != "f":
                        raise FilmError(f"{ARRAYS_FILE}'s {key} is not a float array of shape {shape}")
                    value = stored[:n_frames].astype(np.float32)
                    if not np.isfinite(value).all():
                        raise FilmError(f"{ARRAYS_FILE}'s {key} holds NaN or infinity")
                    if value.min(initial=0.0) < 0 or value.max(initial=0.0) > 1 + WEIGHT_TOLERANCE:
                        raise FilmError(f"{ARRAYS_FILE}'s {key} holds attention weights outside 0..1")
                    if value.size and np.abs(value.sum(-1) - 1).max() > WEIGHT_TOLERANCE:
                        raise FilmError(f"{ARRAYS_FILE}'s {key} has a row of attention weights that does not sum to 1")
                    out[i, kind] = value
            return out
    except FilmError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # missing, truncated or not an npz
        raise FilmError(f"{ARRAYS_FILE} cannot be read: {exc}") from None

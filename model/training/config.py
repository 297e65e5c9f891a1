"""What a training run is given: `TrainConfig`, each setting's default, help and bounds in one place, and the parser of
`python -m model.train` built from it (the flags are the field names with dashes)."""

from __future__ import annotations

import argparse
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, get_type_hints

# A run continued from a checkpoint starts Adam's moments at zero, and Adam's first updates then move every weight by
# about the whole learning rate: a short linear ramp keeps them from undoing a trained model.
REWARM_UPDATES = 100


def setting(
    default: Any = MISSING,
    help: str | None = None,
    group: str = "run",
    at_least: float | None = None,
    below: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A field of TrainConfig: no default means a required flag; `at_least` and `below` bound a number."""
    metadata = {"help": help, "group": group, "at_least": at_least, "below": below, "choices": choices}
    return field(default=default, metadata=metadata)


@dataclass(kw_only=True)
class TrainConfig:
    """The flags of `python -m model.train`, in the order `--help` lists them (and cards record them)."""

    # data
    train_src: str = setting(help="source sentences, one per line (.gz allowed)", group="data")
    train_tgt: str = setting(group="data")
    valid_src: str = setting(group="data")
    valid_tgt: str = setting(group="data")
    src_lang: str = setting("src", group="data")
    tgt_lang: str = setting("tgt", group="data")
    vocab_size: int = setting(8000, "joint SentencePiece vocabulary size", "data", at_least=1)
    tokenizer: str | None = setting(
        None,
        "use this joint SentencePiece model (e.g. a shipped checkpoint's tokenizer.model) "
        "instead of training one; --vocab-size is then its size",
        "data",
    )
    max_train_pairs: int = setting(0, "use only the first N pairs (0: all)", "data", at_least=0)
    # model
    d_model: int = setting(256, group="model", at_least=1)
    n_heads: int = setting(8, group="model", at_least=1)
    d_ff: int = setting(1024, group="model", at_least=1)
    n_layers: int = setting(3, "layers in each stack, unless set apart by the next two", "model", at_least=1)
    encoder_layers: int = setting(0, "encoder layers (0: --n-layers)", "model", at_least=0)
    decoder_layers: int = setting(0, "decoder layers (0: --n-layers)", "model", at_least=0)
    dropout: float = setting(
        0.1, "residual dropout: sub-layer outputs, embeddings + PE (paper 5.4)", "model", at_least=0, below=1
    )
    attention_dropout: float | None = setting(
        None, "on the attention weights (default: --dropout)", "model", at_least=0, below=1
    )
    activation_dropout: float | None = setting(
        None, "inside the FFN (default: --dropout)", "model", at_least=0, below=1
    )
    max_len: int = setting(256, group="model", at_least=2)
    pre_norm: bool = setting(False, "LayerNorm before each sub-layer (default: after, as in the paper)", "model")
    no_tie_embeddings: bool = setting(False, group="model")
    # optimisation
    max_tokens: int = setting(4096, "tokens per side in a batch", "optimisation", at_least=1)
    epochs: int = setting(20, group="optimisation", at_least=0)
    max_steps: int = setting(0, "stop after this many updates (0: no limit)", "optimisation", at_least=0)
    max_minutes: float = setting(
        0,
        "stop when the run's clock (resumed legs included) reaches this many minutes of training (0: no limit)",
        "optimisation",
        at_least=0,
    )
    lr_factor: float = setting(
        1.0, "lr = factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)", "optimisation", at_least=0
    )
    warmup: int = setting(4000, group="optimisation", at_least=1)
    label_smoothing: float = setting(0.1, group="optimisation", at_least=0, below=1)
    clip_norm: float = setting(0.0, group="optimisation", at_least=0)
    seed: int = setting(1, group="optimisation", at_least=0)
    # run
    run_dir: str = setting(help="folder for state, logs and checkpoints")
    resume: bool = setting(False, "continue the run in --run-dir where it stopped")
    init_from: str | None = setting(
        None,
        "start a new run from a trained checkpoint's weights and tokenizer (e.g. a shipped one, "
        "when its run's state is gone); the optimiser and the schedule start afresh",
    )
    continue_from: str | None = setting(
        None,
        "continue the run that trained a checkpoint, when that run's state is gone: its weights, "
        "tokenizer, and its card's counters (epochs, updates, wall time, the best validation "
        "BLEU) and curve; the learning-rate schedule goes on from the card's update count "
        f"and the optimiser's fresh moments ramp it up over {REWARM_UPDATES} updates",
    )
    save_every_minutes: float = setting(10.0, at_least=0)
    average_last: int = setting(0, "also try the average of the last k epoch snapshots", at_least=0)
    val_beam: int = setting(1, "beam used for validation BLEU (1..16, as everywhere)", at_least=1, below=17)
    val_max_sentences: int = setting(0, "validate BLEU on the first N (0: all)", at_least=0)
    device: str = setting("auto", "cpu, cuda, or auto", choices=("cpu", "cuda", "auto"))
    threads: int = setting(0, "CPU threads (0: PyTorch's default)", at_least=0)
    bf16: bool = setting(False, "bfloat16 autocast for the forward pass")
    # film
    film: str | None = setting(
        None,
        "record a training film on these sentences (one per line, 1 to 16): every head's attention, teacher-forced "
        "on --film-refs, at about --film-frames log-spaced updates and each epoch's end (docs/training-film.md)",
        "film",
    )
    film_refs: str | None = setting(None, "the film sentences' reference translations, one per line", "film")
    film_gold: str | None = setting(
        None,
        "gold word links of the film sentences, one line each (i-j sure, ipj possible, source word first, 1-based), "
        "for each cross head's alignment error rate",
        "film",
    )
    film_frames: int = setting(
        60, "about this many frames (log-spaced over the run's updates)", "film", at_least=2, below=501
    )
    film_every_frame: bool = setting(
        False,
        "save the film after every frame, not only with the run's state, for a viewer watching the run live "
        "(a run resumed with --resume then records again the frames past its saved state)",
        "film",
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            problem = out_of_bounds(f, getattr(self, f.name))
            if problem:
                raise ValueError(problem)

    def as_dict(self) -> dict[str, Any]:
        """The settings as the run's state and card record them (the flags' names with underscores)."""
        return asdict(self)


GROUPS = ("data", "model", "optimisation", "run", "film")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def out_of_bounds(f, value) -> str | None:
    """One sentence on what is wrong with a setting's value, or None."""
    low, high, choices = f.metadata["at_least"], f.metadata["below"], f.metadata["choices"]
    if choices:
        return None if value in choices else f"{flag(f.name)} must be one of {', '.join(choices)}, not {value!r}"
    if value is None or isinstance(value, bool | str):
        return None
    if not math.isfinite(value):
        return f"{flag(f.name)} must be a finite number, not {value}"
    if low is not None and value < low:
        return f"{flag(f.name)} must be at least {low}, not {value}"
    if high is not None and value >= high:
        return f"{flag(f.name)} must be below {high}, not {value}"
    return None


def default_of(name: str) -> Any:
    """A setting's default (None for a required one or a name that is not a setting, e.g. from an older card)."""
    for f in fields(TrainConfig):
        if f.name == name:
            return None if f.default is MISSING else f.default
    return None


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m model.train`, one flag per TrainConfig field."""
    p = argparse.ArgumentParser(prog="python -m model.train", description="Train a Transformer translator.")
    groups = {name: p.add_argument_group(name) for name in GROUPS}
    types = get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        group, help_text = groups[f.metadata["group"]], f.metadata["help"]
        if types[f.name] is bool:
            group.add_argument(flag(f.name), action="store_true", help=help_text)
            continue
        kind = next(t for t in (int, float, str) if t is types[f.name] or t | None == types[f.name])
        if f.default is MISSING:
            group.add_argument(flag(f.name), required=True, type=kind, help=help_text)
        else:
            group.add_argument(flag(f.name), type=kind, default=f.default, help=help_text)
    return p


def parse_config(argv: list[str] | None = None) -> TrainConfig:
    """The TrainConfig the command line gives; a value out of bounds ends with one line of usage error (exit 2)."""
    parser = build_parser()
    namespace = parser.parse_args(argv)
    try:
        return TrainConfig(**vars(namespace))
    except ValueError as exc:
        parser.error(str(exc))

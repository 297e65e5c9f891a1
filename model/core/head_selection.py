"""Naming heads: a head's value in links (MEAN), `kind:layer:head` specs, the range check, and the masks that switch
heads off."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from model.core.config import TransformerConfig
from model.core.hook_names import hook_name
from model.core.interface import TranslationModel
from model.core.kinds import KINDS, check_kind

MEAN = "mean"  # a head's value in links, pickers and tables that stands for the mean of the layer's heads


def head_value(head: int | None) -> int | str:
    """A head as links, pickers and tables write it: its number, or MEAN for None (the mean of the heads)."""
    return MEAN if head is None else head


def head_from_value(value: int | str) -> int | None:
    """The head a link's, picker's or table's value names: None for MEAN, else its number."""
    return None if str(value) == MEAN else int(value)


def all_heads(cfg: TransformerConfig) -> list[tuple[str, int, int]]:
    """Every (kind, layer, head) of the model, each kind with its own stack's depth."""
    return [(k, l, h) for k in KINDS for l in range(cfg.layers(k)) for h in range(cfg.n_heads)]


def check_head(cfg: TransformerConfig, kind: str, layer: int, head: int) -> None:
    check_kind(kind)
    if not (0 <= layer < cfg.layers(kind) and 0 <= head < cfg.n_heads):
        raise ValueError(
            f"{kind}:{layer}:{head} is outside the model's {cfg.layers(kind)} {kind} layers x {cfg.n_heads} heads"
        )


def head_masks(model: TranslationModel, heads: Iterable[tuple[str, int, int]]) -> dict[str, Tensor]:
    """Masks (0 = switched off) on each head's output, before the output projection, for `capture`."""
    cfg, masks = model.cfg, {}
    for kind, layer, head in heads:
        check_head(cfg, kind, layer, head)
        name = hook_name(kind, layer, "head_out")
        masks.setdefault(name, torch.ones(cfg.n_heads))[head] = 0.0
    return masks


def parse_head_spec(spec: str, cfg: TransformerConfig) -> list[tuple[str, int, int]]:
    """Heads named by comma-separated `kind:layer:head` items, `*` matching every kind, layer or head."""
    heads: list[tuple[str, int, int]] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        parts = item.split(":")
        if len(parts) != 3:
            raise ValueError(f"{item!r} is not kind:layer:head (e.g. cross:*:*, encoder:2:5)")
        kinds = list(KINDS) if parts[0] == "*" else [parts[0]]
        if kinds[0] not in KINDS:
            raise ValueError(f"{item!r}: kind must be one of {', '.join(KINDS)} or *")
        matched, problem = False, ""
        for kind in kinds:
            ranges = []
            for value, limit, what in ((parts[1], cfg.layers(kind), "layer"), (parts[2], cfg.n_heads, "head")):
                if value == "*":
                    ranges.append(range(limit))
                elif value.isdigit() and int(value) < limit:
                    ranges.append([int(value)])
                else:
                    problem = f"{item!r}: {what} must be * or 0..{limit - 1}"
                    break
            else:
                matched = True
                heads += [(kind, l, h) for l in ranges[0] for h in ranges[1] if (kind, l, h) not in heads]
        if not matched:  # with kind *, a layer only the deeper stack has still names its heads
            raise ValueError(problem)
    return heads

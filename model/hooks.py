"""Named hook points and per-call capture.

A `HookPoint` is an identity module placed at every intermediate worth seeing. `capture()` makes a
`Run` the active one for the current thread (a context variable), and only hook points reached by
that thread record into it. No hook is registered on the shared model, so concurrent Streamlit
sessions using one cached model cannot see or disturb each other's activations, and nothing is left
behind when the block exits, normally or by an exception.
"""
from __future__ import annotations

import fnmatch
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterable, Iterator

import torch
from torch import Tensor, nn

_ACTIVE_RUN: ContextVar["Run | None"] = ContextVar("headlight_active_run", default=None)


class HookPoint(nn.Module):
    """Identity at a named place in the model; records or edits its input during a `capture()`."""

    name: str = ""

    def forward(self, x: Tensor) -> Tensor:
        run = _ACTIVE_RUN.get()
        return x if run is None else run.visit(self.name, x)


class Run:
    """What one call records (`records[name]`: one tensor per forward pass) and which heads it switches off."""

    def __init__(self, record: set[str], head_masks: dict[str, Tensor]) -> None:
        self.record = record
        self.head_masks = head_masks  # hook_head_out name -> [head] of 0/1
        self.records: dict[str, list[Tensor]] = {}

    def visit(self, name: str, x: Tensor) -> Tensor:
        mask = self.head_masks.get(name)
        if mask is not None:
            x = x * mask.to(x.dtype)[None, :, None, None]  # [batch, head, q_pos, d_k]
        if name in self.record:
            self.records.setdefault(name, []).append(x.detach())
        return x


def hook_names(model: nn.Module) -> list[str]:
    return [name for name, module in model.named_modules() if isinstance(module, HookPoint)]


def active_run() -> Run | None:
    return _ACTIVE_RUN.get()


@contextmanager
def capture(
    model: nn.Module, patterns: Iterable[str] = (), head_masks: dict[str, Tensor] | None = None
) -> Iterator[Run]:
    """Record the hook points whose names match any glob in `patterns` for calls made inside the block."""
    patterns = list(patterns)
    names = hook_names(model)
    record = {n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)}
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(n, p) for n in names)]
    if unknown:
        raise ValueError(f"no hook point matches {unknown}")
    run = Run(record, {k: torch.as_tensor(v) for k, v in (head_masks or {}).items()})
    token = _ACTIVE_RUN.set(run)
    try:
        yield run
    finally:
        _ACTIVE_RUN.reset(token)

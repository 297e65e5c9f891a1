"""Named hook points and per-call capture.

A `HookPoint` is an identity module placed at every intermediate worth seeing. `capture()` makes a
`Run` the active one for the current thread (a context variable), and only hook points reached by
that thread record into it. No hook is registered on the shared model, so concurrent Streamlit
sessions using one cached model cannot see or disturb each other's activations, and nothing is left
behind when the block exits, normally or by an exception.
"""

from __future__ import annotations

import fnmatch
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import Tensor, nn
from torch.nn.modules.module import _global_forward_hooks, _global_forward_pre_hooks

_ACTIVE_RUN: ContextVar[Run | None] = ContextVar("headlight_active_run", default=None)


class HookPoint(nn.Module):
    """Identity at a named place in the model; records or edits its input during a `capture()`."""

    def forward(self, x: Tensor) -> Tensor:
        run = _ACTIVE_RUN.get()
        return x if run is None else run.visit(self, x)

    def __call__(self, x: Tensor) -> Tensor:
        # A decode step passes ~60 hook points: skip nn.Module's dispatch unless someone hooked in.
        if self._forward_hooks or self._forward_pre_hooks or _global_forward_hooks or _global_forward_pre_hooks:
            return super().__call__(x)
        return self.forward(x)


class Run:
    """What one call records and which heads it switches off. Read a record with `tensor(name)` (one forward
    pass) or `calls(name)` (one tensor per forward pass, e.g. per search step); `records[name]` is that list.

    Hook points are known by identity and named by the model given to `capture()`, so a run only ever sees
    that model's activations.
    """

    def __init__(self, record: dict[HookPoint, str], head_masks: dict[HookPoint, Tensor]) -> None:
        self.record = record
        self.head_masks = head_masks  # on a hook_head_out: [head] of 0/1
        self.records: dict[str, list[Tensor]] = {}

    def calls(self, name: str) -> list[Tensor]:
        """What hook point `name` recorded, one tensor per forward pass, in order."""
        if name not in self.records:
            raise KeyError(f"hook point {name!r} recorded nothing in this run")
        return self.records[name]

    def tensor(self, name: str, row: int | None = 0, call: int = 0) -> Tensor:
        """What hook point `name` recorded on forward pass `call` (the first by default), batch row `row` (None:
        the whole batch, or a record without one, such as the positional rows)."""
        recorded = self.calls(name)[call]
        return recorded if row is None else recorded[row]

    def visit(self, point: HookPoint, x: Tensor) -> Tensor:
        mask = self.head_masks.get(point)
        if mask is not None:
            x = x * mask.to(x.dtype)[None, :, None, None]  # [batch, head, q_pos, d_k]
        name = self.record.get(point)
        if name is not None:
            self.records.setdefault(name, []).append(x.detach())
        return x


_POINTS: weakref.WeakKeyDictionary[nn.Module, dict[str, HookPoint]] = weakref.WeakKeyDictionary()


def hook_points(model: nn.Module) -> dict[str, HookPoint]:
    """Name -> hook point: a translation model's own table (`named_hook_points`, names from `hook_name`), or for
    any other module the hook points below it by module path; computed once per model (its parts do not change)."""
    points = _POINTS.get(model)
    if points is None:
        named = getattr(model, "named_hook_points", None)
        if named is not None:
            points = dict(named())
        else:
            points = {name: m for name, m in model.named_modules() if isinstance(m, HookPoint)}
        _POINTS[model] = points
    return points


def hook_names(model: nn.Module) -> list[str]:
    return list(hook_points(model))


def active_run() -> Run | None:
    return _ACTIVE_RUN.get()


@contextmanager
def capture(
    model: nn.Module, patterns: Iterable[str] = (), head_masks: dict[str, Tensor] | None = None
) -> Iterator[Run]:
    """Record the hook points whose names match any glob in `patterns` for calls made inside the block."""
    patterns = list(patterns)
    points = hook_points(model)
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(n, p) for n in points)]
    unknown += [n for n in (head_masks or {}) if n not in points]
    if unknown:
        raise ValueError(f"no hook point matches {unknown}")
    record = {m: n for n, m in points.items() if any(fnmatch.fnmatchcase(n, p) for p in patterns)}
    run = Run(record, {points[n]: torch.as_tensor(mask) for n, mask in (head_masks or {}).items()})
    token = _ACTIVE_RUN.set(run)
    try:
        yield run
    finally:
        _ACTIVE_RUN.reset(token)

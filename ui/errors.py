"""Failures inside a view shown as one sentence in the page, never a traceback."""

from __future__ import annotations

import functools

import streamlit as st

from ui.text import plain


def guarded(view):
    """Show an exception inside one view as a short message there; the rest of the page keeps working.

    Applied under `st.fragment`, so it also covers the fragment's own reruns.
    """

    @functools.wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure stays inside this view
            st.error(f"This view failed: {type(exc).__name__}: {plain(exc)}")
            return None

    return run

"""The URL <-> widget state: a shared link reopens the same view."""

from __future__ import annotations

import streamlit as st

URL_KEYS = ("text", "ckpt", "view", "kind", "layer", "head", "step", "prefix")


def init_from_url(defaults: dict) -> None:
    """Seed widget state from the URL once per session."""
    if st.session_state.get("_url_loaded"):
        return
    params = st.query_params
    for key, default in defaults.items():
        raw = params.get(key)
        if raw is None:
            st.session_state.setdefault(key, default)
            continue
        try:
            st.session_state[key] = type(default)(raw) if not isinstance(default, bool) else raw in ("1", "true")
        except ValueError:
            st.session_state[key] = default
    st.session_state["_url_loaded"] = True


def write_url(**values) -> None:
    """Put each value in the URL; None takes its key out (a setting at its default needs no place in a shared link)."""
    for key, value in values.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
            continue
        value = str(int(value)) if isinstance(value, bool) else str(value)
        if st.query_params.get(key) != value:
            st.query_params[key] = value

"""Figures and tables from attention arrays: pure functions, no torch, no streamlit."""

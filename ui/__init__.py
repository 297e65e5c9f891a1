"""Streamlit pages: layout and widgets only; figures come from viz/, numbers from model/."""

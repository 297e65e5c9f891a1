"""Headlight's model code. The modules here are the commands (`python -m model.X`); the library sits below them in
folders by job: `core` (the network), `decoding`, `analysis`, `training`, `importing`, `cli`.

Imports flow one way, core <- decoding <- analysis <- training, and no library module imports a command
(`tests/test_layout.py` checks it)."""

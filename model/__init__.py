"""Headlight's model code. The modules here are the commands (`python -m model.X`); the library sits below them in
folders by job: `core` (the network), `decoding`, `links` (what a link or a deck may say), `analysis`,
`training`, `importing`, `cli_support` (what the commands share).

Imports flow one way, core <- decoding <- links <- analysis <- training, and no library module imports a command
(`tests/test_import_layers.py` checks it)."""

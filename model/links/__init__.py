"""What a link or a deck may say: the app's parameter table (parameters) and talk decks (decks), shared by the app's
request layer in ui/ and the `model.deck` command, which may not import ui.

Imports `model.core` and `model.decoding`."""

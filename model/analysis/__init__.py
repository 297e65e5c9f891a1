"""What the views and the analysis commands compute from a model: head statistics, attribution, alignment, ablation,
corpora of heads, the lesson's numbers, diagnostics, talk decks.

Imports `model.core` and `model.decoding`."""

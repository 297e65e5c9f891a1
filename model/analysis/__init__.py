"""What the views and the analysis commands compute from a model: head statistics, attribution, alignment, ablation,
corpora of heads, the lesson's numbers, encoder collapse, a deck's handout.

Imports `model.core`, `model.decoding` and `model.links`."""

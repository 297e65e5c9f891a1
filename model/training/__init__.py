"""Training and shipping a model: data, the training loop, evaluation, preparing corpora, model cards.

Imports `model.core`, `model.decoding` and `model.analysis`."""

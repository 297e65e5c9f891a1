"""Importers of other toolkits' checkpoints into our format (the only place that knows Hugging Face names; it never
imports `transformers` itself).

Imports `model.core`."""

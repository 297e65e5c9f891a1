"""Importers of other toolkits' checkpoints into our format (the only place that knows Hugging Face names; it never
imports `transformers` itself; a hub model id is fetched through `huggingface_hub`, in hub.py).

Imports `model.core`."""

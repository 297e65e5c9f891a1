"""From a sentence to a translation and its attention trace: search, the trace, batching, tidying typed input.

Imports only `model.core`."""

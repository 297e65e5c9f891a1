"""The network and its files: config, the Transformer, hook points and their names, the model seam, tokenizers, the
checkpoint format.

Nothing here imports from the other folders of `model/`."""

"""Health checks of a trained model: do the encoder's positions stay distinct? `python -m model.diagnostics --help`.

  python -m model.diagnostics --checkpoint multi30k-en-de --input sentences.txt

A deep post-norm encoder can collapse: each layer mixes the positions a little more until every position of its output
holds the same vector. Cross-attention is then uniform (all keys alike) and the decoder sees one vector per sentence, so
the attention pictures mean nothing although the translations are fluent. The relative spread below is 0 for identical
rows and about 1 for unrelated ones; healthy models keep it well above 0.1 at every layer.
"""

from __future__ import annotations

from model.analysis.encoder_collapse import collapse_warning, encoder_spread
from model.cli_support.common import add_checkpoint_flag, command_parser, fail, load_model, run
from model.cli_support.inputs import InputFileError, read_sentences
from model.cli_support.numbers import positive_count
from model.core.checkpoint import CheckpointError


def main(argv: list[str] | None = None) -> int:
    p = command_parser("diagnostics", __doc__)
    add_checkpoint_flag(p)
    p.add_argument("--input", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--max-sentences", type=positive_count, default=64, help="use the first N non-empty lines")
    args = p.parse_args(argv)
    try:
        lines = [line for line in read_sentences(args.input) if line.strip()][: args.max_sentences]
        if not lines:
            return fail(f"{args.input} holds no sentences.")
        ckpt = load_model(args.checkpoint)
    except (CheckpointError, InputFileError) as exc:
        return fail(exc)
    eos = ckpt.model.cfg.eos_id
    spreads = encoder_spread(
        ckpt.model, [ckpt.tokenizer.encode(line)[: ckpt.model.cfg.max_len - 1] + [eos] for line in lines]
    )
    for i, value in enumerate(spreads[:-1]):
        print(f"encoder layer {i}: relative spread {value:.4f}")
    print(f"encoder output: relative spread {spreads[-1]:.4f}")
    warning = collapse_warning(spreads)
    if warning:
        print(warning)
    return 1 if warning else 0


if __name__ == "__main__":
    run(main)

"""Heads across a corpus: `python -m model.corpus [--checkpoint NAME] --input FILE [--ref FILE] --out DIR`.

Translates every sentence once (greedy; or teacher-forces --ref) and stores what the head dashboards need, per
head, in NPZ chunks written as it goes (what they hold: model/analysis/corpus_run.py).

Several processes or machines: `torchrun --nproc-per-node N -m model.corpus ...` (gloo on the CPU, NCCL on GPUs;
see docs/corpus-distributed.md). Each process translates its share of the chunks, rank 0 writes the same files one
process would, and an interrupted run resumes the missing chunks with any number of processes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from tqdm import tqdm

from model.analysis.corpus_run import CorpusError, check_out_folder, join_processes, leave_processes, run_corpus
from model.cli_support.common import (
    add_checkpoint_flag,
    add_language_flags,
    command_parser,
    fail,
    load_checkpoint_and_sentences,
    run,
)
from model.cli_support.numbers import count, positive_count


def build_parser():
    p = command_parser("corpus", __doc__)
    add_checkpoint_flag(p)
    p.add_argument("--input", required=True, help="source sentences, one per line (.gz allowed)")
    p.add_argument("--ref", help="reference translations: teacher-force them instead of translating")
    p.add_argument("--out", required=True, help="folder for the NPZ chunks and progress.json (an existing run resumes)")
    p.add_argument("--force", action="store_true", help="remove chunk files in --out that no run there recorded")
    p.add_argument("--max-sentences", type=count, default=0, help="use only the first N sentences (0: all)")
    p.add_argument(
        "--chunk", type=positive_count, default=200, help="sentences per chunk (memory is bounded by one chunk)"
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: a GPU when there is one")
    p.add_argument(
        "--weights",
        choices=("float32", "bfloat16", "int8"),
        default="float32",
        help="opt-in, CPU: store the weights in bfloat16 or int8 (faster on large models; attention differs slightly "
        "from float32's, see bench/run.py's nllb_*_attention_max_diff)",
    )
    add_language_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no GPU is visible to this process")
    if args.weights != "float32" and (args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())):
        p.error("--weights bfloat16/int8 runs on the CPU: add --device cpu")
    try:
        check_out_folder(Path(args.out), args.force)
    except CorpusError as exc:
        return fail(exc)
    languages = (args.src_lang, args.tgt_lang)  # a multilingual model's pair, the one the run translates
    loaded = load_checkpoint_and_sentences(args.checkpoint, args.input, args.ref, args.max_sentences, languages)
    if loaded is None:
        return 2
    ckpt, sources, references = loaded
    procs = join_processes(args.device)
    if args.weights != "float32":
        ckpt.model.use_low_precision_weights(getattr(torch, args.weights))
    ckpt.model.to(procs.device)
    bar = None  # made at the first sentence, so that a refused resume prints its one line alone

    def advance(n: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="corpus", file=sys.stderr, disable=procs.rank != 0)
        bar.total = total
        bar.update(n - bar.n)

    try:
        meta, repaired = run_corpus(
            ckpt, sources, references, Path(args.out), args.chunk, progress=advance, procs=procs
        )
    except CorpusError as exc:  # every rank raises it (rank 0's verdict is broadcast); one of them says it
        return fail(exc) if procs.rank == 0 else 2
    finally:
        if bar is not None:
            bar.close()
        leave_processes(procs)
    if procs.rank == 0:
        for sentence in repaired:
            print(sentence, file=sys.stderr)
        print(
            f"{meta['done']} sentences in {meta['chunks']} chunks, {meta['seconds']:.0f} s, "
            f"{procs.world} process(es), peak resident memory {meta.get('peak_rss_mb', 0):.0f} MB"
        )
    return 0


if __name__ == "__main__":
    run(main)

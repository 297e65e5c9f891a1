"""Translating with a decoder-only language model: the prompt, greedy and beam search, the attention read off it.

The prompt is the model's own chat template around one user message, the instruction (by default
`DEFAULT_INSTRUCTION`: "Translate the following {source} text into {target}:\\n\\n{text}"), followed by the
template's generation prompt (the assistant's header). The output runs until any of the model's end-of-turn ids
(`DecoderOnlyConfig.eos_ids`) or `max_new_tokens`. The source sentence's pieces inside the prompt are `src_span`
(start, end), and the output begins at `out_start` (= the prompt's length), so one self-attention [N, N] holds the
three kinds the encoder-decoder keeps apart: source x source, output x output, output -> source.

Recording contract (as model.decoding.search's, for a `capture()` run around `greedy_llm` / `beam_llm`):
- each search makes one `decode_step` call per step: call 0 feeds the whole prompt (one row, [1, heads, P, P]),
  call t >= 1 feeds output piece t - 1 to every live row ([rows, heads, 1, P + t]);
- row b of call t is the only row (greedy) or beam b after the reordering of step t - 1 (beam; the prompt's cache
  is copied into every beam after call 0);
- `LLMHypothesis.path[t]` is the row that holds the returned hypothesis at call t (path[0] = 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from model.core.decoder_only import DecoderOnlyTransformer, decoder_only_hook_name
from model.core.decoder_only_tokenizer import ChatTokenizer, check_instruction
from model.core.hooks import Run, capture

MAX_NEW_TOKENS = 256


@dataclass
class LLMPrompt:
    ids: list[int]  # the prompt's pieces, the generation prompt included
    text: str  # the rendered template
    src_span: tuple[int, int]  # the pieces [start, end) that hold the source sentence
    message: str  # the user message (the instruction filled in)


def build_prompt(
    tokenizer: ChatTokenizer, text: str, src_lang: str, tgt_lang: str, instruction: str | None = None
) -> LLMPrompt:
    """The chat template around the instruction, tokenized as `apply_chat_template(..., add_generation_prompt=True)`
    does, and the source sentence's pieces in it (every piece whose characters overlap the sentence's)."""
    instruction = check_instruction(instruction if instruction is not None else tokenizer.instruction)
    sentence = text.strip()
    if not sentence:
        raise ValueError("there is no text to translate")
    message = instruction.format(source=src_lang, target=tgt_lang, text=sentence)
    rendered = tokenizer.render([{"role": "user", "content": message}], add_generation_prompt=True)
    before = instruction.split("{text}")[0].format(source=src_lang, target=tgt_lang)
    lead = len(message) - len(message.lstrip())  # templates may trim the message
    at = rendered.find(message.strip())
    start = at + len(before) - lead if at >= 0 else rendered.rfind(sentence)
    if start < 0 or rendered[start : start + len(sentence)] != sentence:
        raise ValueError("the chat template does not keep the sentence as written, so its pieces cannot be found")
    end = start + len(sentence)
    ids, offsets = tokenizer.encode_with_offsets(rendered)
    inside = [i for i, (a, b) in enumerate(offsets) if a < end and b > start]
    return LLMPrompt(ids, rendered, (inside[0], inside[-1] + 1), message)


@dataclass
class LLMHypothesis:
    ids: list[int]  # output pieces, ending with an end-of-turn id unless cut at max_new_tokens
    score: float  # sum of log-probabilities
    path: list[int]  # the row of each decode_step call that holds it (see the recording contract)
    logprobs: list[float] = field(default_factory=list)  # per piece: its log-probability
    normalised: float = 0.0  # score / len(ids) ** length_penalty (beam search's ranking)


def _prompt_tensor(model: DecoderOnlyTransformer, prompt: list[int]) -> Tensor:
    if not prompt:
        raise ValueError("the prompt is empty")
    return torch.tensor([prompt], dtype=torch.long, device=model.generator.weight.device)


@torch.inference_mode()
def greedy_llm(
    model: DecoderOnlyTransformer,
    prompt: list[int],
    max_new_tokens: int = MAX_NEW_TOKENS,
    cache: list[dict] | None = None,
) -> LLMHypothesis:
    """The most probable piece at every step (as `generate(do_sample=False)`), until an end-of-turn id. `cache`: an
    empty `model.new_cache()` to fill, left holding every piece but the last output piece."""
    eos = set(model.cfg.eos_ids)
    cache = model.new_cache() if cache is None else cache
    logp = model.decode_step(_prompt_tensor(model, prompt), cache)
    ids, logprobs = [], []
    for step in range(max_new_tokens):
        best, token = logp[0].max(dim=-1)
        ids.append(int(token))
        logprobs.append(float(best))
        if ids[-1] in eos or step == max_new_tokens - 1:
            break
        logp = model.decode_step(token.view(1, 1), cache)
    return LLMHypothesis(ids, sum(logprobs), [0] * len(ids), logprobs, sum(logprobs))


@torch.inference_mode()
def beam_llm(
    model: DecoderOnlyTransformer,
    prompt: list[int],
    beam_size: int,
    max_new_tokens: int = MAX_NEW_TOKENS,
    length_penalty: float = 1.0,
    early_stopping: bool = False,
) -> LLMHypothesis:
    """Beam search as transformers' `generate(num_beams=k)` runs it (its defaults: length_penalty 1, early_stopping
    False): each step takes the max(2, 1 + #eos) * k best continuations; those among the first k that end (an
    end-of-turn id, or the length limit) join the k best finished, ranked by score / length ** length_penalty; the
    k best others go on. It stops when no running beam can beat the worst of k finished (its "heuristic"), with
    early_stopping once k have finished, or at max_new_tokens; the best finished one is returned."""
    if beam_size < 1:
        raise ValueError(f"beam_size must be at least 1, got {beam_size}")
    k, eos = beam_size, set(model.cfg.eos_ids)
    keep = max(2, 1 + len(eos)) * k
    device = model.generator.weight.device
    cache = model.new_cache()
    logp = model.decode_step(_prompt_tensor(model, prompt), cache)
    model.reorder_cache(cache, torch.zeros(k, dtype=torch.long, device=device))
    logp = logp.expand(k, -1)
    running = torch.full((k,), -1.0e9, device=device)  # as transformers: only the first beam starts alive
    running[0] = 0.0
    run_ids: list[list[int]] = [[] for _ in range(k)]
    run_paths: list[list[int]] = [[] for _ in range(k)]
    run_logps: list[list[float]] = [[] for _ in range(k)]
    finished: list[tuple[float, float, list[int], list[int], list[float]]] = []
    improvable = True
    for step in range(max_new_tokens):
        vocab = logp.shape[-1]
        scores, flat = (running[:, None] + logp).view(-1).topk(min(keep, k * vocab))
        beams, tokens = (flat // vocab).tolist(), (flat % vocab).tolist()
        scores_list = scores.tolist()
        last = step == max_new_tokens - 1
        hits = [last or t in eos for t in tokens]

        candidates = [  # (ids, path, log-probabilities) of each continuation
            (run_ids[b] + [t], run_paths[b] + [b], run_logps[b] + [float(logp[b, t])]) for b, t in zip(beams, tokens)
        ]
        if improvable and not (early_stopping and len(finished) == k):
            for r in range(min(k, len(tokens))):
                if hits[r]:
                    finished.append((scores_list[r] / (step + 1) ** length_penalty, scores_list[r], *candidates[r]))
            finished = sorted(finished, key=lambda f: f[0], reverse=True)[:k]
        alive = sorted(range(len(tokens)), key=lambda r: scores_list[r] - 1.0e9 * hits[r], reverse=True)[:k]
        nexts = [candidates[r] for r in alive]
        running = torch.tensor([scores_list[r] - 1.0e9 * hits[r] for r in alive], device=device)
        run_ids, run_paths, run_logps = (list(x) for x in zip(*nexts))
        if len(finished) == k:
            best_possible = float(running.max()) / (step + 1) ** length_penalty
            improvable = improvable and best_possible > min(f[0] for f in finished)
        if not improvable or (early_stopping and len(finished) == k) or all(hits) or last:
            break
        order = torch.tensor([beams[r] for r in alive], device=device)
        model.reorder_cache(cache, order)
        logp = model.decode_step(torch.tensor([[tokens[r]] for r in alive], device=device), cache)
    normalised, score, ids, path, logprobs = finished[0]
    return LLMHypothesis(ids, score, path, logprobs, normalised)


def attention_from_steps(calls: list[list[Tensor]], path: list[int], n: int) -> Tensor:
    """[layers, heads, n, n] from each layer's recorded weights per decode_step call (the recording contract):
    call 0 gives the prompt's rows, call t >= 1 the row of the piece it fed, read from row path[t]. Rows of
    pieces never fed (the last output piece) stay zero."""
    first = calls[0][0]
    prompt = first.shape[-1]
    out = torch.zeros(len(calls), first.shape[1], n, n)
    for layer, steps in enumerate(calls):
        out[layer, :, :prompt, :prompt] = steps[0][0].float().cpu()
        for t in range(1, min(len(steps), len(path))):  # a beam search may run on after its best one ended
            row = steps[t][path[t], :, 0].float().cpu()  # [heads, prompt + t]
            out[layer, :, prompt + t - 1, : row.shape[-1]] = row
    return out


@dataclass
class LLMTranslation:
    """A translation and where its parts sit in the one sequence (prompt, then output) the model read."""

    text: str  # the output decoded, special pieces left out
    prompt_ids: list[int]
    output_ids: list[int]  # ending with an end-of-turn id unless cut at max_new_tokens
    tokens: list[str]  # every piece of prompt and output as text (N = len(prompt_ids) + len(output_ids))
    src_span: tuple[int, int]  # the source sentence's pieces [start, end) in the prompt
    out_start: int  # where the output begins (= len(prompt_ids))
    score: float
    logprobs: list[float]
    attention: Tensor | None  # [layers, query heads, N, N] float32 on the CPU: the whole self-attention
    path: list[int]  # the hypothesis' row per decode_step call
    run: Run | None  # the capture run (the weights of every layer per call, and whatever `record` asked for)
    prompt_text: str = ""

    @property
    def ids(self) -> list[int]:
        return self.prompt_ids + self.output_ids

    def source_attention(self) -> Tensor:
        """[layers, heads, S, S]: the source sentence's pieces attending to each other."""
        a, b = self.src_span
        return self.attention[:, :, a:b, a:b]

    def output_attention(self) -> Tensor:
        """[layers, heads, T, T]: the output attending to itself (causal)."""
        return self.attention[:, :, self.out_start :, self.out_start :]

    def output_to_source(self) -> Tensor:
        """[layers, heads, T, S]: each output piece's weights on the source sentence (the analogue of
        cross-attention; rows do not sum to 1, the rest goes to the template and the output)."""
        a, b = self.src_span
        return self.attention[:, :, self.out_start :, a:b]


def translate_with_llm(
    model: DecoderOnlyTransformer,
    tokenizer: ChatTokenizer,
    text: str,
    src_lang: str,
    tgt_lang: str,
    beam_size: int = 1,
    max_new_tokens: int = MAX_NEW_TOKENS,
    length_penalty: float = 1.0,
    instruction: str | None = None,
    attention: bool = True,
    record: Iterable[str] = (),
) -> LLMTranslation:
    """Translate `text` (src_lang and tgt_lang are names the instruction writes, e.g. "English", "German") greedily
    (beam_size 1) or by beam search; with `attention`, every layer's self-attention over the whole sequence, rows
    from the decoding steps themselves, the last output piece's row (never fed during the search) from one pass over
    the whole sequence. `record`: further hook-point globs
    (`decoder_only_hook_name`) to keep in `run`, recorded under the same contract."""
    if not 1 <= max_new_tokens <= 4096:
        raise ValueError(f"max_new_tokens must be from 1 to 4096, got {max_new_tokens}")
    prompt = build_prompt(tokenizer, text, src_lang, tgt_lang, instruction)
    weights = decoder_only_hook_name("*", "weights")
    patterns = list(dict.fromkeys([*([weights] if attention else []), *record]))
    run = None
    cache = model.new_cache()  # greedy search leaves in it every piece but the last one
    if patterns:
        with capture(model, patterns) as run:
            hyp = _search(model, prompt.ids, beam_size, max_new_tokens, length_penalty, cache)
    else:
        hyp = _search(model, prompt.ids, beam_size, max_new_tokens, length_penalty, cache)
    ids = prompt.ids + hyp.ids
    matrix = None
    if attention:
        n_layers = model.cfg.n_layers
        calls = [run.calls(decoder_only_hook_name(layer, "weights")) for layer in range(n_layers)]
        matrix = attention_from_steps(calls, hyp.path, len(ids))
        device = model.generator.weight.device
        with torch.inference_mode(), capture(model, [weights]) as last:  # the last piece's own row
            if beam_size == 1:  # one more cached step, as the search's own: the weights read once, no logits
                model.attend(torch.tensor([ids[-1:]], device=device), cache)
            else:  # the beams' cache no longer holds the hypothesis: the whole sequence again
                model.attend(torch.tensor([ids], device=device))
        for layer in range(n_layers):
            matrix[layer, :, -1] = last.tensor(decoder_only_hook_name(layer, "weights"))[:, -1].float().cpu()
    return LLMTranslation(
        tokenizer.decode(hyp.ids),
        prompt.ids,
        hyp.ids,
        tokenizer.pieces(ids),
        prompt.src_span,
        len(prompt.ids),
        hyp.score,
        hyp.logprobs,
        matrix,
        hyp.path,
        run,
        prompt.text,
    )


def _search(
    model: DecoderOnlyTransformer,
    prompt: list[int],
    beam_size: int,
    max_new: int,
    length_penalty: float,
    cache: list[dict],
) -> LLMHypothesis:
    if beam_size == 1:
        return greedy_llm(model, prompt, max_new, cache)
    return beam_llm(model, prompt, beam_size, max_new, length_penalty)

"""The app's words in English and Korean, in one place per language; `t(key)` picks the session's language.

Korean follows the terms a Korean student of the field reads (임베딩, 위치 인코딩, 어텐션, 마스크, 잔차 연결,
정규화, 인코더, 디코더, 헤드), not a word-by-word rendering. tests/test_i18n.py fails when a key is missing.
"""

from __future__ import annotations

import streamlit as st

from model.core.kinds import KIND_LABELS

LANGUAGES = {"en": "English", "ko": "한국어"}

EN = {
    # chrome
    "app.caption": "See inside a Transformer translator",
    "app.model": "Model",
    "app.beam": "Beam size (1 = greedy)",
    "app.max_len": "Max output pieces (0 = automatic)",
    "app.language": "Language",
    "app.sentence": "Sentence to translate",
    "app.sentence_help": "Ctrl+Enter translates",
    "app.example": "…or pick an example (the model's telling examples first)",
    "app.choose": "Choose an example",
    "app.examples": "Examples",
    "app.examples_help": "This model's telling examples first (each says what to look at), then image captions "
    "from Multi30k",
    "app.present": "Present",
    "app.present_help": "Large type, no sidebar, high-contrast colours",
    "app.model_card": "Model card",
    "app.show_card": "Show the model card",
    "app.max_len_help": "0: twice the source's length + 10 pieces",
    "app.empty": "(empty translation)",
    "view.translate": "Translate",
    "view.model": "Model view",
    "view.compare": "Compare heads",
    "view.steps": "Step by step",
    "view.inside": "Inside one head",
    "view.positional": "Positional encoding",
    "view.analysis": "Head analysis",
    "view.whatif": "What if",
    "view.lesson": "Lesson",
    "view.corpus": "Heads across a corpus",
    "view.training": "Training",
    # training view and the live lab
    "training.source": "Film",
    "training.source.model": "{name}",
    "training.source.lab": "the live lab ({lab})",
    "training.waiting": "The lab is preparing its data and model; its first frame appears here in a few seconds.",
    "training.bad_film": "This film cannot be shown: {why}",
    "training.no_film_other": "**{name}** has no training film, so this shows only where its training ended; "
    "**{other}** has one: pick it under Model.",
    "training.no_film_lab": "**{name}** has no training film, so this shows only where its training ended. None of "
    "the models here has one yet: press **Train one now** below to watch a tiny Transformer learn in three minutes, "
    "or record one while training (`python -m model.train … --film`, see the docs' Training film page).",
    "training.sentence": "Film sentence",
    "training.grid": "All heads",
    "training.grid_help": "Every layer × head of the chosen attention at once",
    "training.look": "▶ plays the film; the slider under it moves through training in your browser. Look for the "
    "moment the cross-attention finds the word alignment (a diagonal, bent where the word order differs), for heads "
    "that settle early and heads that change late, and for heads that end up on </s>.",
    "training.frame": "Marked update",
    "training.frame_help": "The frame the film opens at and the curves below mark (it goes into a shared link)",
    "training.statistic": "Statistic per head",
    "training.stat.entropy": "entropy (bits; low: focused)",
    "training.stat.max_weight": "max_weight (strongest key's weight)",
    "training.stat.mean_distance": "mean_distance (from the diagonal)",
    "training.stat.same": "same (weight on its own position)",
    "training.stat.previous": "previous (weight on the position before)",
    "training.stat.next": "next (weight on the position after)",
    "training.stat.to_eos": "to_eos (weight on </s> and <s>)",
    "training.stat.to_punctuation": "to_punctuation",
    "training.stat.monotonicity": "monotonicity (cross: keys move along with queries)",
    "training.stat.aer": "AER (alignment error against gold; low: aligned)",
    "lab.title": "Live lab: watch a tiny Transformer learn",
    "lab.intro": "Trains a 2-layer Transformer on a toy task over digits (reverse: 3 1 4 → 4 1 3) for at most "
    "{minutes} minutes on this server, and streams its film into the view above as it learns. One lab at a time: "
    "everyone watching this server sees the same one.",
    "lab.task": "Task",
    "lab.task.copy": "copy",
    "lab.task.reverse": "reverse",
    "lab.task.sort": "sort",
    "lab.start": "Train one now",
    "lab.stop": "Stop",
    "lab.watch": "Watch it",
    "lab.starting": "Lab ({task}): starting… {s} s",
    "lab.no_start": "The lab stopped before it began: {why}",
    "lab.cannot_start": "The lab cannot start: {why}",
    "lab.training": "Lab ({task}): update {step} of {total}, {s} s",
    "lab.done": "Lab ({task}) done: {message}. Its model, {name}, is in the Model list.",
    "lab.ended": "Lab ({task}) ended at update {step} without finishing.",
    "lab.stopped": "Lab ({task}) stopped: {message}",
    "lab.failed": "Lab ({task}) failed: {message}",
    # lesson: controls
    "lesson.intro": "Follow this sentence through the whole forward pass of “Attention Is All You Need”, in the "
    "paper's order, "
    "with the real numbers this model computed. Pick the attention, layer, head and piece once; every section "
    "follows them.",
    "lesson.kind": "Attention to follow",
    "lesson.layer": "Layer",
    "lesson.head": "Head",
    "lesson.position": "Piece",
    "lesson.section": "Section",
    "lesson.pre_norm": "This model is pre-norm: it normalises each sub-layer's input instead of the sum (and once "
    "more after each stack), which keeps every position's own vector on the residual path.",
    "lesson.kind.encoder": "encoder self-attention",
    "lesson.kind.decoder": "decoder masked self-attention",
    "lesson.kind.cross": "encoder-decoder attention",
    "lesson.first_values": "The first {n} of {d} values (hover the picture for all of them):",
    # sections
    "sec.pieces.title": "1 · Pieces and ids",
    "sec.pieces.text": "The sentence is cut into subword pieces by SentencePiece; each piece is a row number in the "
    "embedding table. "
    "The source ends with </s>; the decoder reads its start symbol and then the pieces produced so far.",
    "sec.embedding.title": "2 · Embedding × √d_model",
    "sec.embedding.text": "Each id picks one row of a learned table of d_model numbers. The paper multiplies it by "
    "√d_model = "
    "{scale:.2f}, "
    "so that the embedding is not drowned by the positional encoding added next.",
    "sec.positions.title": "3 · + positional encoding",
    "sec.positions.text": "Attention itself ignores order, so a fixed vector per position is added. Every dimension is "
    "a sine "
    "or cosine of the "
    "position at its own frequency.",
    "sec.qkv.title": "4 · Queries, keys and values",
    "sec.qkv.text": "The head multiplies the layer's input by three learned matrices. The query asks, the keys answer, "
    "the values are what "
    "gets passed on. Each head works in d_k = {d_k} dimensions.",
    "sec.scores.title": "5 · Scores: QKᵀ / √d_k",
    "sec.scores.text": "The score of each key is the dot product of the query with it, divided by √d_k = {sqrt:.2f}.",
    "sec.mask.title": "6 · The mask",
    "sec.mask.text": "Where a query may not look, the score becomes −∞, so its weight becomes exactly 0: padding, and "
    "in "
    "the decoder "
    "every position after the query's own (it may not see the future).",
    "sec.softmax.title": "7 · Softmax",
    "sec.softmax.text": "Softmax turns the scores of the row into weights that are positive and sum to 1.",
    "sec.weighted_values.title": "8 · × V",
    "sec.weighted_values.text": "The head's output for the query is the weighted sum of the value vectors.",
    "sec.concat_heads.title": "9 · Heads concatenated × W_O",
    "sec.concat_heads.text": "The {h} heads' outputs are put side by side ({h} × {d_k} = {d} numbers) and multiplied "
    "by W_O: "
    "this is the "
    "attention sub-layer's output.",
    "sec.add_norm.title": "10 · Add & Norm",
    "sec.add_norm.text": "The sub-layer's output is added to its input (the residual connection) and the sum is "
    "normalised "
    "(LayerNorm): "
    "mean 0 and variance 1 over the {d} numbers, then a learned scale and shift.",
    "sec.feed_forward.title": "11 · The feed-forward network",
    "sec.feed_forward.text": "Each position then goes through the same two-layer network on its own: {d} → {d_ff} → "
    "{d}, with "
    "{act} between, "
    "and another Add & Norm.",
    "sec.layers.title": "12 · N layers",
    "sec.layers.text": "The encoder repeats self-attention + feed-forward {n_enc} times, the decoder masked "
    "self-attention + "
    "encoder-decoder attention + feed-forward {n_dec} times.",
    "sec.decoder_self.title": "13 · The decoder's masked self-attention",
    "sec.decoder_self.text": "The decoder attends to the pieces it has produced so far; the mask hides the later ones. "
    "The "
    "upper right of the "
    "picture is exactly 0.",
    "sec.cross.title": "14 · Encoder-decoder attention",
    "sec.cross.text": "Queries come from the decoder, keys and values from the encoder's last layer: this is where the "
    "translation looks "
    "at the source sentence.",
    "sec.output.title": "15 · Linear + softmax over the vocabulary",
    "sec.output.text": "The decoder's last vector is multiplied by the output matrix (one row per piece of the "
    "vocabulary, {v} pieces) "
    "and softmax gives the probability of every next piece.",
    "sec.layer_by_layer.title": "16 · The translation forming, layer by layer",
    "sec.layer_by_layer.text": "What the decoder would predict if it stopped after each layer (the output projection "
    "applied to "
    "that layer's stream).",
    # why
    "why.scale.title": "Why divide by √d_k?",
    "why.scale.text": "The dot product of two d_k-dimensional vectors grows with d_k: here its variance is "
    "{var:.1f} (d_k = {d_k}). "
    "Without the division this row's softmax would have entropy {h_raw:.2f} bits (largest weight {m_raw:.2f}); "
    "with it, {h_scaled:.2f} bits (largest weight {m_scaled:.2f}). A uniform row would have {h_uniform:.2f} bits. "
    "Too peaked a softmax has almost no gradient.",
    "why.pe.title": "Why sines and cosines?",
    "why.pe.integer": "Integer positions: the last piece of this sentence would add {last} to every dimension, "
    "{ratio:.1f}× the norm of an embedding.",
    "why.pe.fraction": "Positions as a fraction of the length: {frac:.2f} is position 5 in this sentence but "
    "position {other} in a 100-piece one.",
    "why.pe.sin": "Sinusoids: every position has the same norm ({norm:.2f}), no two of the first positions are "
    "closer than {dist:.2f}, "
    "positions up to {n} are defined (far past the training sentences), and PE(p + k) is a fixed rotation of PE(p).",
    "why.residual.title": "Why residual connections?",
    "why.residual.text": "Each sub-layer adds a correction to the stream instead of replacing it. Mean norm of the "
    "stream and of what each sub-layer adds:",
    "why.rnn.title": "Why attention and not an RNN?",
    "why.rnn.text": "From the first to the last of these {n} pieces, attention needs 1 step in every layer; an RNN "
    "needs {rnn} steps. "
    "The encoder here runs {layers} sequential layers; an RNN would run {n} sequential steps.",
    # tables
    "col.piece": "piece",
    "col.id": "id",
    "col.layer": "layer",
    "col.prediction": "prediction",
    "col.prob": "probability",
    "col.stack": "stack",
    "col.sublayer": "sub-layer",
    "col.residual": "|stream|",
    "col.added": "|added by the sub-layer|",
    "col.key": "key",
    "col.score": "score",
    "col.weight": "weight",
    **{f"kind.{kind}": label for kind, label in KIND_LABELS.items()},
    "ctl.attention": "Attention",
    "ctl.layer": "Layer",
    "ctl.head": "Head",
    "ctl.only_layer": "Layer 0 (the only one)",
    "ctl.mean": "Mean of heads",
    "ctl.figure_switches": "Layer and head: the figure's slider and buttons",
    "translate.pieces": "Pieces: {s} source, {t} target",
    "translate.words": "Words",
    "translate.merge": "Merge subword pieces into words",
    "translate.word_rule": "Word view: a word receives the **sum** of the weights on its pieces (rows still sum to 1); "
    "a "
    "word attends with the **mean** of its pieces' rows.",
    "translate.switch": "Switch layers and heads in the browser",
    "translate.switch_help": "Every layer and head of this kind travels with the figure: its own slider and buttons "
    "switch instantly, with no round trip to the server (for talks).",
    "translate.dl_html": "Figure (HTML, offline: every kind, layer and head)",
    "translate.dl_csv": "{kind} (CSV)",
    "translate.dl_npz": "Whole trace (NPZ)",
    "mv.click": "Click the middle of a head to open it below.",
    "cmp.js": "Jensen-Shannon divergence, mean over query rows (0 = same, 1 = disjoint)",
    "cmp.pick": "Pick two heads of the same attention kind to see their difference and distance.",
    "cmp.similarity": "Similarity of all heads of",
    "st.beam": "Beam search (beam {beam}): showing the beam that won.",
    "st.step": "Step",
    "st.step_help": "Step t reads target piece t and produces piece t + 1.",
    "st.play": "▶ Play",
    "st.line": "**Step {t}** · reads **{read}** → produces **{produced}**",
    "st.forced": "forced by you",
    "st.logprob": "the model's log-probability of it: {lp:.3f}",
    "hd.query": "Query position",
    "hd.caption": "{sel} · query {query} · d_k = {d_k}, √d_k = {sqrt:.3f} · M is 0 where the query may attend and "
    "−∞ where it may not (padding, or the future in the decoder).",
    "pe.positions": "Positions shown",
    "pe.dims": "Dimensions",
    "pe.why": "Why sinusoids",
    "deck.panel": "Deck (a talk as a list of views)",
    "deck.add": "Add this view to the deck",
    "deck.shipped": "Shipped decks",
    "deck.open": "Open",
    "deck.upload": "Upload a deck (JSON)",
    "deck.bad": "This deck cannot be used: {error}",
    "deck.loaded": "{title}: {n} slides; turn on Present to step through them.",
    "deck.download": "Download the deck (JSON)",
    "deck.handout": "Download the handout (HTML)",
    "deck.handout_help": "The whole talk in one file: every slide's title, note and figure (switch heads in it); "
    "it opens offline, on a phone too.",
    "deck.prev": "Previous view (← or Page Up)",
    "deck.next": "Next view (→ or Page Down)",
    "an.tab_stats": "Statistics",
    "an.tab_ablation": "Ablation",
    "an.tab_rollout": "Rollout & alignment",
    "an.over": "Over",
    "an.sentences": "Sentences",
    "an.no_sample": "No shipped validation sample for {pair}.",
    "an.compute": "Compute over {n} validation sentences",
    "an.statistic": "Statistic",
    "an.stats_csv": "Statistics (CSV)",
    "an.labels": "How heads are labelled",
    "an.first_rule": "The first rule that holds names the head; none: *mixed*.",
    "an.off_heads": "Switch off heads",
    "an.off_layers": "…or whole layers",
    "an.pick_off": "Pick heads or layers to switch off (their output is zeroed before the output projection).",
    "an.before": "**Before:** {text}",
    "an.after": "**After:** {text}  \nPieces, changes marked: {marked}",
    "an.logprob": "Log-probability of the original translation",
    "an.val_n": "Validation sentences for BLEU / chrF",
    "an.measure_go": "Measure on validation sentences",
    "an.bleu": "BLEU",
    "an.chrf": "chrF",
    "an.ref_logprob": "Reference log-prob / piece",
    "an.importance": "Every head's importance",
    "an.sweep_n": "Validation sentences for a new sweep",
    "an.sweep_go": "Run the sweep on {n} sentences",
    "an.no_sweep": "No sweep yet for this checkpoint.",
    "an.drop": "Drop when each head alone is switched off, on {n} validation sentences (baseline BLEU {bleu:.2f}, "
    "chrF {chrf:.2f}).",
    "an.measure": "Measure",
    "an.words": "Words instead of pieces",
    "an.rollout": "Rollout: 0.5·A + 0.5·I per layer (the residual), heads averaged, layers multiplied (Abnar & "
    "Zuidema, 2020). Attribution: cross-attention averaged over layers and heads, mapped back to "
    "source tokens by the encoder rollout.",
    "an.alignment": "Word alignment from cross-attention",
    "an.links": "Show links with weight ≥",
    "wi.tab_contrib": "Contributions",
    "wi.tab_force": "Force the start",
    "wi.tab_beam": "Beam tree",
    "wi.tab_flow": "Attention flow",
    "wi.force_help": "Type how the translation must start (or pick another candidate at any step): the model "
    "continues from there, and every view then shows the attention of that translation.",
    "wi.forced_input": "Forced start of the translation",
    "wi.continue": "Continue from here",
    "wi.clear": "Clear",
    "wi.at_step": "…or at step",
    "wi.pick": "pick another candidate",
    "wi.force_go": "Force “{text}” and continue",
    "wi.forced_note": "The first {n} pieces were forced; their log-probability is what the model gave them, not "
    "what it would have chosen.",
    "wi.greedy": "This translation is greedy (beam 1): it kept one hypothesis, so there is no tree to show.",
    "wi.use_beam": "Translate with beam 4",
    "wi.kept": "{n} hypotheses kept over {steps} steps, {done} finished.",
    "wi.open": "Open a hypothesis (or click a node)",
    "wi.partial": "**Partial hypothesis** (step {step}, log-prob {score:.3f}): {text}",
    "wi.output_piece": "Output piece",
    "wi.contrib_help": "A weight says where a head looked; the contribution (Kobayashi et al., 2020) says how much "
    "it moved into the decoder's residual stream: a large weight on a key with a small value "
    "vector moves little.",
    "wi.routes": "Show routes through edges carrying at least this share",
    "wi.no_route": "No route from the source reaches this piece above that threshold: lower it.",
    "wi.flow_help": "Attention flow (Abnar & Zuidema, 2020): the maximum flow from each input piece to an encoder "
    "output position through every layer, capacities 0.5·attention + 0.5·I. Rollout multiplies the "
    "layers; flow finds the best routes. One max-flow per (output, input) pair, with networkx.",
    "wi.flow_rows": "Encoder output positions",
    "wi.flow_go": "Compute the flow of {n} position(s)",
    "wi.flow_cost": "Cost: one max-flow per (output, input) pair; about 2 s per output position at 40 pieces and 3 "
    "layers on 2 CPU cores, growing with the square of the length. This sentence has {n} pieces.",
    "wi.flow_time": "{rows} × {n} max-flows in {s:.2f} s ({per:.2f} s per output position).",
    "hs.aer": "Alignment against human annotators (AER, lower is better)",
    "hs.variant": "{gold}: variant",
    "hs.no_corpus": "No corpus run for this model yet. Make one with:",
    "hs.run": "{n} sentences ({how}), {s:.0f} s, peak memory {mb:.0f} MB.",
    "hs.extreme": "Sentences where this head is most extreme on",
    "hs.x": "Scatter: x",
    "hs.y": "Scatter: y",
    "hs.colour": "Colour by",
    "an.scope_sentence": "this sentence",
    "an.scope_validation": "validation sentences",
    "hs.forced": "references teacher-forced",
    "hs.greedy": "greedy translations",
    "hs.weights": "Weights stored in {weights} (model.corpus --weights): attention differs slightly from float32's.",
    "app.look": "What to look at: {look}",
    "app.forced": "The first {n} pieces were forced (What if view); the model continued from there.",
    "app.truncated": "The input was longer than the model's limit: the first {kept} pieces were kept, {dropped} "
    "were dropped.",
    "app.tidy": "Tidy the input",
    "app.tidy_help": "A capital first letter, “I” for “i” and “.” or “?” at the end, as in the sentences the model "
    "learnt from: "
    "typed without them, a sentence translates much worse (English input only; the model card has the figures)",
    "app.tidied": "Translated as “{text}” (tidied: {changes}). Switch “Tidy the input” off in the sidebar to "
    "translate exactly what was typed.",
    "tidy.capital": "capital letter",
    "tidy.I": "“I”",
    "tidy.question mark": "question mark",
    "tidy.full stop": "full stop",
    "app.view": "View",
    "app.no_checkpoint": "There is no checkpoint named “{name}” here; showing {default}.",
    "app.screen": "Screen height (px, 0 = this window)",
    "app.screen_help": "The main figure fills the window below the controls; a height here sizes it for another "
    "screen instead",
    "app.notes_help": "Notes about this translation",
    "app.src_lang": "Source language",
    "app.tgt_lang": "Target language",
    "app.lang_help": "This model knows {n} languages. The source's code is the encoder's first piece; the target's is "
    "the translation's first piece, forced: shown as ⟨code⟩ in the views",
    "app.unknown_lang": "{param}={code} is not a language of {name}; translating {pair}.",
    "app.bilingual_lang": "{name} translates {pair} only; {param}={code} is left out.",
    "app.forced_code": "The first piece, ⟨{code}⟩, is the target language's code: forced, as the model was trained.",
    "pe.model_formula": "The formula this model uses",
    "pe.paper_formula": "The paper's formula (§3.5), for comparison",
    "pe.learned": "This model's positions are a learned table, not a formula: the picture shows the table itself.",
    "pe.summary.learned": "A learned table P, one per stack (not a formula); {start}.",
    "pe.summary.fairseq": "fairseq's sinusoids: frequencies exp(−i ln(10000) / (d/2 − 1)), so the slowest is exactly "
    "1/10000 (the paper's: 10000^(−(d−2)/d)), all sines then all cosines; {start}.",
    "pe.summary.halves": "The paper's frequencies laid out as all sines then all cosines (Marian); {start}.",
    "pe.summary.paper": "The paper's sinusoids (§3.5); {start}.",
    "pe.start.offset": "the piece at index n has position p = n + {offset}",
    "pe.start.plain": "the piece at index n has position n",
}

KO = {
    "app.caption": "트랜스포머 번역기의 속을 들여다보기",
    "app.model": "모델",
    "app.beam": "빔 크기 (1 = 그리디)",
    "app.max_len": "최대 출력 조각 수 (0 = 자동)",
    "app.language": "언어",
    "app.sentence": "번역할 문장",
    "app.sentence_help": "Ctrl+Enter로 번역",
    "app.example": "…또는 예문 고르기 (이 모델에서 눈여겨볼 예문 먼저)",
    "app.choose": "예문을 고르세요",
    "app.examples": "예문",
    "app.examples_help": "이 모델에서 눈여겨볼 예문이 먼저 (각각 볼 곳을 알려 줍니다), "
    "그다음 Multi30k의 사진 설명 문장",
    "app.present": "발표 모드",
    "app.present_help": "큰 글씨, 사이드바 없음, 고대비 색상",
    "app.model_card": "모델 카드",
    "app.show_card": "모델 카드 보기",
    "app.max_len_help": "0: 원문 길이의 두 배 + 10 조각",
    "app.empty": "(빈 번역)",
    "view.translate": "번역",
    "view.model": "모델 전체 보기",
    "view.compare": "헤드 비교",
    "view.steps": "단계별 디코딩",
    "view.inside": "헤드 하나의 내부",
    "view.positional": "위치 인코딩",
    "view.analysis": "헤드 분석",
    "view.whatif": "만약에",
    "view.lesson": "강의",
    "view.corpus": "코퍼스 전체의 헤드",
    "view.training": "학습 과정",
    "training.source": "필름",
    "training.source.model": "{name}",
    "training.source.lab": "실시간 실험실 ({lab})",
    "training.waiting": "실험실이 데이터와 모델을 준비하고 있습니다. 몇 초 뒤 첫 프레임이 여기에 나타납니다.",
    "training.bad_film": "이 필름은 보여 줄 수 없습니다: {why}",
    "training.no_film_other": "**{name}**에는 학습 필름이 없어서 학습이 끝난 모습만 보여 줍니다. "
    "**{other}**에는 필름이 있습니다: 모델 목록에서 고르세요.",
    "training.no_film_lab": "**{name}**에는 학습 필름이 없어서 학습이 끝난 모습만 보여 줍니다. 아직 필름이 있는 "
    "모델이 없습니다: 아래의 **지금 학습하기**를 눌러 작은 트랜스포머가 3분 안에 배우는 모습을 보거나, 학습하면서 "
    "필름을 기록하세요 (`python -m model.train … --film`, 문서의 학습 필름 페이지 참고).",
    "training.sentence": "필름 문장",
    "training.grid": "모든 헤드",
    "training.grid_help": "고른 어텐션의 모든 층 × 헤드를 한 번에",
    "training.look": "▶는 필름을 재생하고, 그 아래 슬라이더는 브라우저 안에서 학습 과정을 넘겨 봅니다. 크로스 "
    "어텐션이 단어 정렬(어순이 다른 곳에서 꺾이는 대각선)을 찾는 순간, 일찍 자리 잡는 헤드와 늦게 바뀌는 헤드, "
    "</s>에 머무르게 되는 헤드를 찾아보세요.",
    "training.frame": "표시할 업데이트",
    "training.frame_help": "필름이 처음 보여 주고 아래 곡선이 표시하는 프레임 (공유 링크에 들어갑니다)",
    "training.statistic": "헤드별 통계",
    "training.stat.entropy": "엔트로피 (비트, 낮을수록 집중)",
    "training.stat.max_weight": "max_weight (가장 강한 키의 가중치)",
    "training.stat.mean_distance": "mean_distance (대각선에서의 거리)",
    "training.stat.same": "same (자기 위치에 주는 가중치)",
    "training.stat.previous": "previous (바로 앞 위치에 주는 가중치)",
    "training.stat.next": "next (바로 뒤 위치에 주는 가중치)",
    "training.stat.to_eos": "to_eos (</s>와 <s>에 주는 가중치)",
    "training.stat.to_punctuation": "to_punctuation (문장 부호에 주는 가중치)",
    "training.stat.monotonicity": "monotonicity (크로스: 쿼리를 따라 키가 움직이는 정도)",
    "training.stat.aer": "AER (정답 정렬 대비 오류율, 낮을수록 정렬됨)",
    "lab.title": "실시간 실험실: 작은 트랜스포머가 배우는 모습 보기",
    "lab.intro": "숫자 장난감 과제(뒤집기: 3 1 4 → 4 1 3)로 2층 트랜스포머를 이 서버에서 최대 {minutes}분 동안 "
    "학습시키고, 배우는 동안 그 필름을 위의 그림으로 보내 줍니다. 실험실은 한 번에 하나이며, 이 서버를 보는 "
    "모두가 같은 실험실을 봅니다.",
    "lab.task": "과제",
    "lab.task.copy": "복사",
    "lab.task.reverse": "뒤집기",
    "lab.task.sort": "정렬",
    "lab.start": "지금 학습하기",
    "lab.stop": "멈추기",
    "lab.watch": "지켜보기",
    "lab.starting": "실험실 ({task}): 시작하는 중… {s}초",
    "lab.no_start": "실험실이 시작하기 전에 멈췄습니다: {why}",
    "lab.cannot_start": "실험실을 시작할 수 없습니다: {why}",
    "lab.training": "실험실 ({task}): 업데이트 {step} / {total}, {s}초",
    "lab.done": "실험실 ({task}) 완료: {message}. 모델 {name}이(가) 모델 목록에 있습니다.",
    "lab.ended": "실험실 ({task})이(가) 업데이트 {step}에서 끝나지 못하고 멈췄습니다.",
    "lab.stopped": "실험실 ({task}) 멈춤: {message}",
    "lab.failed": "실험실 ({task}) 실패: {message}",
    "lesson.intro": "이 문장이 「Attention Is All You Need」의 순전파 전체를 논문 순서대로 지나가는 과정을, 이 "
    "모델이 실제로 계산한 "
    "숫자와 함께 따라가 봅니다. 어텐션 종류, 레이어, 헤드, 조각을 한 번만 고르면 모든 절이 그 선택을 따릅니다.",
    "lesson.kind": "따라갈 어텐션",
    "lesson.layer": "레이어",
    "lesson.head": "헤드",
    "lesson.position": "조각",
    "lesson.section": "절",
    "lesson.pre_norm": "이 모델은 사전 정규화(pre-norm) 방식입니다: 합 대신 각 서브레이어의 입력을 정규화하고 (각 "
    "스택 뒤에서 한 번 더), 그래서 잔차 경로에 각 위치 고유의 벡터가 남습니다.",
    "lesson.kind.encoder": "인코더 셀프 어텐션",
    "lesson.kind.decoder": "디코더 마스크드 셀프 어텐션",
    "lesson.kind.cross": "인코더-디코더 어텐션",
    "lesson.first_values": "{d}개 값 중 처음 {n}개 (그림 위에 마우스를 올리면 전부 보입니다):",
    "sec.pieces.title": "1 · 조각과 ID",
    "sec.pieces.text": "SentencePiece가 문장을 서브워드 조각으로 자르고, 각 조각은 임베딩 표의 행 번호가 됩니다. "
    "소스는 </s>로 끝나고, 디코더는 시작 기호와 지금까지 만든 조각들을 읽습니다.",
    "sec.embedding.title": "2 · 임베딩 × √d_model",
    "sec.embedding.text": "각 ID는 학습된 표에서 d_model개 숫자로 된 행 하나를 고릅니다. 논문은 여기에 √d_model = "
    "{scale:.2f}을 곱해, "
    "다음에 더할 위치 인코딩에 임베딩이 묻히지 않게 합니다.",
    "sec.positions.title": "3 · + 위치 인코딩",
    "sec.positions.text": "어텐션 자체는 순서를 모르기 때문에 위치마다 고정된 벡터를 더합니다. 각 차원은 자기 주파수를 "
    "가진 "
    "위치의 사인 또는 코사인입니다.",
    "sec.qkv.title": "4 · 쿼리, 키, 밸류",
    "sec.qkv.text": "헤드는 레이어 입력에 학습된 행렬 세 개를 곱합니다. 쿼리는 묻고, 키는 답하고, 밸류는 전달되는 "
    "내용입니다. "
    "헤드 하나는 d_k = {d_k}차원에서 계산합니다.",
    "sec.scores.title": "5 · 점수: QKᵀ / √d_k",
    "sec.scores.text": "각 키의 점수는 쿼리와의 내적을 √d_k = {sqrt:.2f}로 나눈 값입니다.",
    "sec.mask.title": "6 · 마스크",
    "sec.mask.text": "쿼리가 보면 안 되는 곳의 점수는 −∞가 되어 가중치가 정확히 0이 됩니다. 패딩, 그리고 디코더에서는 "
    "쿼리 자신보다 뒤의 "
    "모든 위치(미래는 볼 수 없음)가 그렇습니다.",
    "sec.softmax.title": "7 · 소프트맥스",
    "sec.softmax.text": "소프트맥스는 한 행의 점수를 양수이면서 합이 1인 가중치로 바꿉니다.",
    "sec.weighted_values.title": "8 · × V",
    "sec.weighted_values.text": "쿼리에 대한 헤드의 출력은 밸류 벡터들의 가중합입니다.",
    "sec.concat_heads.title": "9 · 헤드 연결 × W_O",
    "sec.concat_heads.text": "헤드 {h}개의 출력을 나란히 이어 붙이고({h} × {d_k} = {d}개 숫자) W_O를 곱합니다. 이것이 "
    "어텐션 "
    "서브레이어의 출력입니다.",
    "sec.add_norm.title": "10 · 더하기와 정규화 (Add & Norm)",
    "sec.add_norm.text": "서브레이어의 출력을 그 입력에 더하고(잔차 연결) 합을 정규화합니다(레이어 정규화): {d}개 "
    "숫자의 "
    "평균을 0, 분산을 1로 만든 뒤 "
    "학습된 크기와 이동을 적용합니다.",
    "sec.feed_forward.title": "11 · 피드포워드 네트워크",
    "sec.feed_forward.text": "그다음 각 위치는 같은 2층 네트워크를 따로따로 지납니다: {d} → {d_ff} → {d}, 사이에 "
    "{act}, 그리고 "
    "다시 Add & Norm.",
    "sec.layers.title": "12 · N개의 레이어",
    "sec.layers.text": "인코더는 셀프 어텐션 + 피드포워드를 {n_enc}번, 디코더는 마스크드 셀프 어텐션 + 인코더-디코더 "
    "어텐션 + 피드포워드를 "
    "{n_dec}번 반복합니다.",
    "sec.decoder_self.title": "13 · 디코더의 마스크드 셀프 어텐션",
    "sec.decoder_self.text": "디코더는 지금까지 만든 조각들에 어텐션하고, 마스크가 그 뒤의 조각들을 가립니다. 그림의 "
    "오른쪽 "
    "위는 정확히 0입니다.",
    "sec.cross.title": "14 · 인코더-디코더 어텐션",
    "sec.cross.text": "쿼리는 디코더에서, 키와 밸류는 인코더의 마지막 레이어에서 옵니다. 번역이 원문 문장을 바라보는 "
    "곳이 바로 여기입니다.",
    "sec.output.title": "15 · 선형 변환 + 어휘 전체에 대한 소프트맥스",
    "sec.output.text": "디코더의 마지막 벡터에 출력 행렬(어휘의 조각마다 한 행, {v}개)을 곱하고, 소프트맥스가 다음 "
    "조각 "
    "하나하나의 확률을 줍니다.",
    "sec.layer_by_layer.title": "16 · 레이어를 거치며 만들어지는 번역",
    "sec.layer_by_layer.text": "디코더가 각 레이어 뒤에서 멈춘다면 무엇을 예측할지 (그 레이어의 잔차 스트림에 출력 "
    "투영을 적용한 "
    "결과).",
    "why.scale.title": "왜 √d_k로 나눌까?",
    "why.scale.text": "d_k차원 벡터 두 개의 내적은 d_k와 함께 커집니다. 여기서 그 분산은 {var:.1f}입니다 (d_k = "
    "{d_k}). "
    "나누지 않으면 이 행의 소프트맥스 엔트로피는 {h_raw:.2f}비트(최대 가중치 {m_raw:.2f}), 나누면 {h_scaled:.2f}비트"
    "(최대 가중치 {m_scaled:.2f})입니다. 균등한 행이라면 {h_uniform:.2f}비트입니다. 너무 뾰족한 소프트맥스는 "
    "기울기가 거의 없습니다.",
    "why.pe.title": "왜 사인과 코사인일까?",
    "why.pe.integer": "정수 위치를 쓰면 이 문장의 마지막 조각은 모든 차원에 {last}을(를) 더하게 되어, 임베딩 "
    "노름의 {ratio:.1f}배가 됩니다.",
    "why.pe.fraction": "길이에 대한 비율로 쓰면 {frac:.2f}은(는) 이 문장에서는 5번째 위치지만 100조각 문장에서는 "
    "{other}번째 위치입니다.",
    "why.pe.sin": "사인파를 쓰면 모든 위치의 노름이 같고({norm:.2f}), 앞쪽 위치들끼리 {dist:.2f}보다 가깝지 "
    "않으며, {n}번 위치까지(학습 문장보다 "
    "훨씬 길게) 정의되고, PE(p + k)는 PE(p)의 고정된 회전입니다.",
    "why.residual.title": "왜 잔차 연결을 쓸까?",
    "why.residual.text": "각 서브레이어는 스트림을 대체하지 않고 보정값을 더합니다. 스트림과 각 서브레이어가 "
    "더하는 값의 평균 노름:",
    "why.rnn.title": "왜 RNN이 아니라 어텐션일까?",
    "why.rnn.text": "이 {n}개 조각의 처음에서 끝까지, 어텐션은 레이어마다 1단계면 되지만 RNN은 {rnn}단계가 필요합니다. "
    "여기 인코더는 순차적인 레이어 {layers}개를 거치지만, RNN은 순차적인 단계 {n}개를 거쳐야 합니다.",
    "col.piece": "조각",
    "col.id": "ID",
    "col.layer": "레이어",
    "col.prediction": "예측",
    "col.prob": "확률",
    "col.stack": "스택",
    "col.sublayer": "서브레이어",
    "col.residual": "|스트림|",
    "col.added": "|서브레이어가 더한 값|",
    "col.key": "키",
    "col.score": "점수",
    "col.weight": "가중치",
    "kind.encoder": "인코더 셀프 어텐션",
    "kind.decoder": "디코더 마스크드 셀프 어텐션",
    "kind.cross": "인코더-디코더 (크로스) 어텐션",
    "ctl.attention": "어텐션",
    "ctl.layer": "레이어",
    "ctl.head": "헤드",
    "ctl.only_layer": "레이어 0 (하나뿐)",
    "ctl.mean": "헤드 평균",
    "ctl.figure_switches": "레이어와 헤드: 그림의 슬라이더와 버튼으로",
    "translate.pieces": "조각: 소스 {s}개, 타깃 {t}개",
    "translate.words": "단어",
    "translate.merge": "서브워드 조각을 단어로 합치기",
    "translate.word_rule": "단어 보기: 단어는 자기 조각들이 받은 가중치의 **합**을 받고(행의 합은 여전히 1), 자기 "
    "조각들 "
    "행의 **평균**으로 어텐션합니다.",
    "translate.switch": "브라우저에서 레이어와 헤드 전환",
    "translate.switch_help": "이 어텐션 종류의 모든 레이어와 헤드가 그림에 함께 담겨, 그림의 슬라이더와 버튼으로 "
    "서버를 "
    "거치지 않고 바로 전환됩니다(발표용).",
    "translate.dl_html": "그림 (HTML, 오프라인: 모든 종류·레이어·헤드)",
    "translate.dl_csv": "{kind} (CSV)",
    "translate.dl_npz": "전체 트레이스 (NPZ)",
    "mv.click": "헤드의 가운데를 누르면 아래에 크게 열립니다.",
    "cmp.js": "젠슨-섀넌 발산, 쿼리 행 평균 (0 = 같음, 1 = 겹치지 않음)",
    "cmp.pick": "같은 어텐션 종류의 헤드 두 개를 고르면 차이와 거리가 보입니다.",
    "cmp.similarity": "모든 헤드 사이의 유사도:",
    "st.beam": "빔 서치 (빔 {beam}): 이긴 빔을 보여 줍니다.",
    "st.step": "단계",
    "st.step_help": "단계 t는 타깃 조각 t를 읽고 조각 t + 1을 만듭니다.",
    "st.play": "▶ 재생",
    "st.line": "**단계 {t}** · **{read}**을(를) 읽고 → **{produced}**을(를) 만듦",
    "st.forced": "직접 고정한 조각",
    "st.logprob": "모델이 준 로그 확률: {lp:.3f}",
    "hd.query": "쿼리 위치",
    "hd.caption": "{sel} · 쿼리 {query} · d_k = {d_k}, √d_k = {sqrt:.3f} · M은 쿼리가 볼 수 있는 곳에서 0, 볼 수 "
    "없는 곳(패딩, 또는 디코더의 미래)에서 −∞입니다.",
    "pe.positions": "보여 줄 위치 수",
    "pe.dims": "차원",
    "pe.why": "왜 사인파일까?",
    "deck.panel": "덱 (발표를 이루는 보기 목록)",
    "deck.add": "지금 보기를 덱에 추가",
    "deck.shipped": "제공되는 덱",
    "deck.open": "열기",
    "deck.upload": "덱 올리기 (JSON)",
    "deck.bad": "이 덱은 쓸 수 없습니다: {error}",
    "deck.loaded": "{title}: 슬라이드 {n}장. 발표 모드를 켜면 차례로 넘길 수 있습니다.",
    "deck.download": "덱 내려받기 (JSON)",
    "deck.handout": "유인물 내려받기 (HTML)",
    "deck.handout_help": "발표 전체를 한 파일로: 슬라이드마다 제목, 메모, 그림(그림 안에서 헤드 전환). "
    "인터넷 없이, 휴대폰에서도 열립니다.",
    "deck.prev": "이전 보기 (← 또는 Page Up)",
    "deck.next": "다음 보기 (→ 또는 Page Down)",
    "an.tab_stats": "통계",
    "an.tab_ablation": "헤드 끄기",
    "an.tab_rollout": "롤아웃과 정렬",
    "an.over": "범위",
    "an.sentences": "문장 수",
    "an.no_sample": "{pair}의 검증 예문이 함께 제공되지 않습니다.",
    "an.compute": "검증 문장 {n}개로 계산",
    "an.statistic": "통계량",
    "an.stats_csv": "통계 (CSV)",
    "an.labels": "헤드에 이름을 붙이는 규칙",
    "an.first_rule": "처음으로 맞는 규칙이 헤드의 이름이 됩니다. 하나도 맞지 않으면 *mixed*.",
    "an.off_heads": "끌 헤드",
    "an.off_layers": "…또는 레이어 전체",
    "an.pick_off": "끌 헤드나 레이어를 고르세요 (출력 투영 전에 그 출력을 0으로 만듭니다).",
    "an.before": "**전:** {text}",
    "an.after": "**후:** {text}  \n조각 (바뀐 곳 표시): {marked}",
    "an.logprob": "원래 번역의 로그 확률",
    "an.val_n": "BLEU / chrF에 쓸 검증 문장 수",
    "an.measure_go": "검증 문장으로 측정",
    "an.bleu": "BLEU 점수",
    "an.chrf": "chrF 점수",
    "an.ref_logprob": "참조 번역의 조각당 로그 확률",
    "an.importance": "모든 헤드의 중요도",
    "an.sweep_n": "새 스윕에 쓸 검증 문장 수",
    "an.sweep_go": "문장 {n}개로 스윕 실행",
    "an.no_sweep": "이 체크포인트에는 아직 스윕이 없습니다.",
    "an.drop": "각 헤드 하나만 껐을 때의 하락, 검증 문장 {n}개 기준 (기준 BLEU {bleu:.2f}, chrF {chrf:.2f}).",
    "an.measure": "측정값",
    "an.words": "조각 대신 단어",
    "an.rollout": "롤아웃: 레이어마다 0.5·A + 0.5·I (잔차 연결), 헤드 평균, 레이어를 차례로 곱함 (Abnar & Zuidema, "
    "2020). 기여도: 레이어와 헤드에 대해 평균한 크로스 어텐션을 인코더 롤아웃으로 소스 토큰까지 "
    "되짚음.",
    "an.alignment": "크로스 어텐션으로 본 단어 정렬",
    "an.links": "이 가중치 이상인 연결만 보기",
    "wi.tab_contrib": "기여도",
    "wi.tab_force": "시작 고정하기",
    "wi.tab_beam": "빔 트리",
    "wi.tab_flow": "어텐션 흐름",
    "wi.force_help": "번역이 어떻게 시작해야 하는지 입력하거나 아무 단계에서 다른 후보를 고르세요. 모델은 "
    "거기서부터 이어 가고, 모든 보기가 그 번역의 어텐션을 보여 줍니다.",
    "wi.forced_input": "고정할 번역의 시작",
    "wi.continue": "여기서부터 이어 가기",
    "wi.clear": "지우기",
    "wi.at_step": "…또는 이 단계에서",
    "wi.pick": "다른 후보 고르기",
    "wi.force_go": "“{text}”로 고정하고 이어 가기",
    "wi.forced_note": "처음 {n}개 조각은 고정되었습니다. 그 로그 확률은 모델이 그 조각에 준 값이지, 모델이 고른 "
    "것이 아닙니다.",
    "wi.greedy": "이 번역은 그리디 탐색(빔 1)입니다. 가설을 하나만 남겼으므로 보여 줄 트리가 없습니다.",
    "wi.use_beam": "빔 4로 번역하기",
    "wi.kept": "{steps}단계에 걸쳐 가설 {n}개를 유지, {done}개 완료.",
    "wi.open": "가설 열기 (또는 노드를 누르기)",
    "wi.partial": "**부분 가설** (단계 {step}, 로그 확률 {score:.3f}): {text}",
    "wi.output_piece": "출력 조각",
    "wi.contrib_help": "가중치는 헤드가 어디를 봤는지, 기여도(Kobayashi et al., 2020)는 디코더의 잔차 스트림으로 "
    "얼마나 옮겼는지를 말합니다. 밸류 벡터가 작은 키에 큰 가중치를 줘도 옮겨지는 것은 적습니다.",
    "wi.routes": "이 비율 이상을 나르는 연결로 된 경로만 보기",
    "wi.no_route": "이 기준 이상으로 소스에서 이 조각까지 가는 경로가 없습니다. 기준을 낮추세요.",
    "wi.flow_help": "어텐션 흐름(Abnar & Zuidema, 2020): 모든 레이어를 거쳐 각 입력 조각에서 인코더 출력 위치로 "
    "가는 최대 유량, 용량은 0.5·어텐션 + 0.5·I. 롤아웃은 레이어를 곱하고, 흐름은 가장 좋은 경로를 "
    "찾습니다. (출력, 입력) 쌍마다 networkx로 최대 유량을 한 번 계산합니다.",
    "wi.flow_rows": "인코더 출력 위치",
    "wi.flow_go": "위치 {n}개의 흐름 계산",
    "wi.flow_cost": "비용: (출력, 입력) 쌍마다 최대 유량 한 번. CPU 코어 2개에서 40조각·3레이어일 때 출력 위치당 "
    "약 2초, 길이의 제곱에 비례해 늘어납니다. 이 문장은 {n}조각입니다.",
    "wi.flow_time": "최대 유량 {rows} × {n}번, {s:.2f}초 (출력 위치당 {per:.2f}초).",
    "hs.aer": "사람이 단 정렬과의 비교 (AER, 낮을수록 좋음)",
    "hs.variant": "{gold}: 방식",
    "hs.no_corpus": "이 모델에는 아직 코퍼스 실행 결과가 없습니다. 다음 명령으로 만드세요:",
    "hs.run": "문장 {n}개 ({how}), {s:.0f}초, 최대 메모리 {mb:.0f} MB.",
    "hs.extreme": "이 헤드가 가장 극단적인 문장들의 기준",
    "hs.x": "산점도: x",
    "hs.y": "산점도: y",
    "hs.colour": "색 기준",
    "an.scope_sentence": "이 문장",
    "an.scope_validation": "검증 문장",
    "hs.forced": "참조 번역을 교사 강요로 입력",
    "hs.greedy": "그리디 번역",
    "hs.weights": "가중치를 {weights}(으)로 저장해 계산했습니다(model.corpus --weights). "
    "어텐션이 float32와 조금 다릅니다.",
    "app.look": "볼 곳: {look}",
    "app.forced": "처음 {n}개 조각은 고정되었습니다(만약에 보기). 모델은 거기서부터 이어 갔습니다.",
    "app.truncated": "입력이 모델의 한도보다 깁니다: 처음 {kept}개 조각만 쓰고 {dropped}개는 버렸습니다.",
    "app.tidy": "입력 다듬기",
    "app.tidy_help": "모델이 배운 문장처럼 첫 글자를 대문자로, “i”를 “I”로 바꾸고 끝에 “.”이나 “?”를 붙입니다. "
    "이것이 없으면 "
    "번역이 훨씬 나빠집니다 (영어 입력만; 수치는 모델 카드에 있습니다)",
    "app.tidied": "“{text}”(으)로 번역했습니다 (다듬은 곳: {changes}). 입력한 그대로 번역하려면 사이드바에서 “입력 "
    "다듬기”를 끄세요.",
    "tidy.capital": "대문자",
    "tidy.I": "“I”",
    "tidy.question mark": "물음표",
    "tidy.full stop": "마침표",
    "app.view": "보기",
    "app.no_checkpoint": "“{name}”(이)라는 체크포인트가 여기에 없습니다. {default}을(를) 보여 줍니다.",
    "app.screen": "화면 높이 (픽셀, 0 = 이 창)",
    "app.screen_help": "주 그림이 컨트롤 아래의 창을 채웁니다. 여기에 높이를 넣으면 다른 화면에 맞춥니다",
    "app.notes_help": "이 번역에 대한 설명",
    "app.src_lang": "원문 언어",
    "app.tgt_lang": "번역 언어",
    "app.lang_help": "이 모델은 {n}개 언어를 압니다. 원문 언어 코드는 인코더의 첫 조각이고, 번역 언어 코드는 번역의 첫 "
    "조각으로 고정됩니다. 보기에서는 ⟨코드⟩로 표시합니다",
    "app.unknown_lang": "{param}={code}은(는) {name}의 언어가 아닙니다. {pair}(으)로 번역합니다.",
    "app.bilingual_lang": "{name}은(는) {pair}만 번역합니다. {param}={code}은(는) 쓰지 않습니다.",
    "app.forced_code": "첫 조각 ⟨{code}⟩은(는) 번역 언어의 코드입니다. 모델이 학습한 대로 고정됩니다.",
    "pe.model_formula": "이 모델이 쓰는 식",
    "pe.paper_formula": "비교를 위한 논문의 식 (§3.5)",
    "pe.learned": "이 모델의 위치는 식이 아니라 학습된 표입니다. 그림은 그 표 자체를 보여 줍니다.",
    "pe.summary.learned": "스택마다 하나씩 학습된 표 P (식이 아님). {start}.",
    "pe.summary.fairseq": "fairseq의 사인파: 주파수 exp(−i ln(10000) / (d/2 − 1)), 그래서 가장 느린 주파수가 정확히 "
    "1/10000입니다 (논문: 10000^(−(d−2)/d)). 사인 전부, 그다음 코사인 전부. {start}.",
    "pe.summary.halves": "논문의 주파수를 사인 전부, 그다음 코사인 전부로 배치 (Marian). {start}.",
    "pe.summary.paper": "논문의 사인파 (§3.5). {start}.",
    "pe.start.offset": "인덱스 n의 조각은 위치 p = n + {offset}",
    "pe.start.plain": "인덱스 n의 조각은 위치 n",
}

TEXTS = {"en": EN, "ko": KO}


def language() -> str:
    lang = st.session_state.get("lang", "en")
    return lang if lang in TEXTS else "en"


def kind_label(kind: str) -> str:
    """The name of an attention kind in the session's language."""
    return t(f"kind.{kind}")


def t(key: str, **values) -> str:
    """The text of `key` in the session's language, formatted with `values`."""
    text = TEXTS[language()].get(key) or EN[key]
    return text.format(**values) if values else text

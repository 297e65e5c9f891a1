#!/usr/bin/env bash
# Train larger general-domain models on a lent GPU (the `device` tool), in one call of its ten minutes:
# two sizes side by side on the one GPU for a fixed time, the one with the better validation BLEU handed back.
#
#   here:   bash docs/cards/device-train.sh prepare de      # data + tokenizer into .device/, checkpoints/ out of the upload
#   device: run(command="bash docs/cards/device-train.sh train de 7.5", carry=[".device"], timeout_s=600)
#   here:   bash docs/cards/device-train.sh unpack de /work/.device/...   # the reply's files_at: ../runs/gpu-en-de/final
#           bash docs/cards/device-train.sh restore                      # checkpoints/ tracked again
#   then:   RUN=../runs/gpu-en-de bash docs/cards/ship-general.sh de    # scores it on every test set, as for the CPU model
#
# Why two sizes, both within the 50 MB (float16) a shipped checkpoint may weigh, with the shipped 10k tokenizer:
#   wide: d_model 384, 6 heads (d_k 64, as the paper), d_ff 1536, 8 encoder + 2 decoder layers, dropout 0.2 (22.8M)
#   d512: d_model 512, 8 heads, d_ff 1536, 4 encoder + 2 decoder layers, dropout 0.3 (23.0M); about 200k pairs
#         is the size where Araabi & Monz (2020) find higher dropout and fewer layers best.
# Both are pre-norm (the post-norm run collapsed on CPU, see the card) with shallow decoders (Kasai et al., 2021).
# Selection is on the validation split only; the shipped CPU model stays unless the new one scores higher there
# and on the test sets (ship-general.sh prints both).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?usage: device-train.sh prepare|train|unpack|restore LANG ...}

case "$mode" in
prepare)
  lang=${2:?language: de or fr}
  dest=.device/general-en-$lang
  grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
  python3 -m model.prepare_general --tgt-lang "$lang" --out "$dest" > /dev/null
  cp "checkpoints/general-en-$lang/tokenizer.model" "$dest/"
  # The upload is the working tree, at most 64 MiB; the four shipped checkpoints alone are 90 MB and the
  # training needs none of them: untrack them until `restore` (the files stay where they are).
  grep -qx '/checkpoints/' .git/info/exclude || echo '/checkpoints/' >> .git/info/exclude
  git rm -r -q --cached checkpoints
  hook=$(git rev-parse --git-path hooks)/pre-commit && mkdir -p "$(dirname "$hook")"
  # Until `restore`, a commit would delete the checkpoints: refuse commits meanwhile.
  printf '#!/bin/sh\necho "checkpoints/ is untracked for a device call: bash docs/cards/device-train.sh restore first" >&2\nexit 1\n' \
    > "$hook" && chmod +x "$hook"
  du -sh "$dest"
  echo "ready: run(command=\"bash docs/cards/device-train.sh train $lang 7.5\", carry=[\".device\"], timeout_s=600)"
  ;;
restore)
  git reset -q -- checkpoints
  hook=$(git rev-parse --git-path hooks)/pre-commit
  if grep -qs 'untracked for a device call' "$hook"; then rm "$hook"; fi
  sed -i '\#^/checkpoints/$#d' .git/info/exclude
  git status --short checkpoints | head -3
  ;;
train)
  lang=${2:?language}; minutes=${3:-7.5}; out=${OUT:?OUT: the folder the device tool hands back}
  data=${DATA:-.device/general-en-$lang}
  common=(--train-src "$data/train.en.gz" --train-tgt "$data/train.$lang.gz" --valid-src "$data/val.en.gz"
          --valid-tgt "$data/val.$lang.gz" --src-lang en --tgt-lang "$lang" --tokenizer "$data/tokenizer.model"
          --max-len 256 --pre-norm --attention-dropout 0 --activation-dropout 0 --max-tokens 12288 --epochs 1000
          --max-minutes "$minutes" --lr-factor 0.7 --warmup 1000 --label-smoothing 0.1 --clip-norm 1.0 --seed 1
          --save-every-minutes 1000 --average-last 5 --val-max-sentences 1000 --threads 4 --bf16
          --device "${DEVICE:-cuda}")
  runs=${RUNS:-/tmp/headlight-runs}
  rm -rf "$runs" && mkdir -p "$runs"
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$out/gpu.txt"
  # EXTRA last, so that it can override any flag (tests/test_device_train.py trains tiny models through this script)
  python3 -m model.train "${common[@]}" --run-dir "$runs/wide" --d-model 384 --n-heads 6 --d-ff 1536 \
    --encoder-layers 8 --decoder-layers 2 --dropout 0.2 ${EXTRA:-} > "$out/wide.log" 2>&1 &
  python3 -m model.train "${common[@]}" --run-dir "$runs/d512" --d-model 512 --n-heads 8 --d-ff 1536 \
    --encoder-layers 4 --decoder-layers 2 --dropout 0.3 ${EXTRA:-} > "$out/d512.log" 2>&1 &
  wait
  # The better validation BLEU of each run's final pick (an average of the last epochs, or its best epoch).
  best=$(python3 -c '
import json, sys
from pathlib import Path
from model.training.loop import checkpoint_val_bleu
scores = {card.parent.parent.name: checkpoint_val_bleu(json.loads(card.read_text()))
          for card in Path(sys.argv[1]).glob("*/final/card.json")}
print(json.dumps(scores), file=sys.stderr)
print(max(scores, key=scores.get) if scores else "")' "$runs")
  [ -n "$best" ] || { echo "no run finished: see wide.log and d512.log" >&2; exit 1; }
  echo "$best" > "$out/picked.txt"
  python3 -c '
import sys, torch
from model.core.checkpoint import load_checkpoint, save_checkpoint
c = load_checkpoint(sys.argv[1])
save_checkpoint(c.path, c.model, c.tokenizer, c.src_lang, c.tgt_lang, card=c.card, dtype=torch.float16)  # as shipped
' "$runs/$best/final"
  tar -C "$runs/$best" -cf - final log.csv | split -b 15M -d - "$out/final.tar.part"
  ls -l "$out"
  ;;
unpack)
  lang=${2:?language}; from=${3:?the folder named by files_at in the reply}
  dest=${DEST:-../runs/gpu-en-$lang}
  rm -rf "$dest" && mkdir -p "$dest"
  cat "$from"/final.tar.part* | tar -C "$dest" -xf -
  cp "$from"/*.log "$from"/picked.txt "$dest/" 2>/dev/null || true
  python3 -c "from model.core.checkpoint import load_checkpoint as l; c = l('$dest/final'); print(c.path, c.model.num_parameters())"
  ;;
*)
  echo "usage: device-train.sh prepare|train|unpack|restore LANG ..." >&2; exit 2
  ;;
esac

#!/bin/bash
# Ship a general-domain run as checkpoints/general-en-LANG (from the repository root, once training has stopped):
# scores, model card, head statistics and sweep, corpus run, alignment against human gold.
#   bash docs/cards/ship-general.sh de     # or fr
set -euo pipefail
L=${1:?usage: ship-general.sh de|fr}
# Runs live beside the work tree (../runs), not inside it: a session's work tree is laid anew, and a run inside it is lost.
D=${DATA:-../runs/data/general-en-$L}
S=data
C=checkpoints/general-en-$L
TATOEBA="Tatoeba sentence pairs: tatoeba.org and manythings.org/anki, CC-BY 2.0 (France)."
MULTI30K="Multi30k: Elliott et al. (2016), Multi30K: Multilingual English-German Image Descriptions; French: Elliott et al. (2017)."
CHALLENGE="Tatoeba Translation Challenge test v2021-08-07 (Tiedemann, 2020), kept only where its English sentence is in no training pair."
FLORES="FLORES-200 devtest (NLLB Team, 2022), CC-BY-SA 4.0."
case $L in
  de) RUN=${RUN:-../runs/general-en-de-v3}; NAME="General English→German"; FL=deu_Latn; GOLD=rwth
      EXTRA_TESTS=(--test newstest2014 $S/news/newstest2014.en-de.en.gz $S/news/newstest2014.en-de.de.gz)
      ABOUT="general-domain English–German: Tatoeba everyday sentences (CC-BY 2.0), Multi30k train captions and WMT newstest 2009–2020 except 2014 (222,341 pairs; model selected on a Tatoeba validation split cut by English sentence)."
      CITATION="$TATOEBA $MULTI30K WMT newstest 2009–2020 (WMT shared tasks, distributed for research and evaluation; 2014 held out as the paper's test set). $CHALLENGE $FLORES" ;;
  fr) RUN=${RUN:-../runs/general-en-fr-v1c}; NAME="General English→French"; FL=fra_Latn; GOLD=hansards
      EXTRA_TESTS=()
      ABOUT="general-domain English–French: Tatoeba everyday sentences (CC-BY 2.0) and Multi30k train captions (191,286 pairs; model selected on a Tatoeba validation split cut by English sentence)."
      CITATION="$TATOEBA $MULTI30K $CHALLENGE $FLORES" ;;
  *) echo "ship-general.sh: the language must be de or fr, not '$L'" >&2; exit 2 ;;
esac
HOURS=$(python -c "import json,sys; print(f\"{json.load(open(sys.argv[1]))['training']['wall_time_s'] / 3600:.1f}\")" $RUN/final/card.json)
python -m model.diagnostics --checkpoint $RUN/final --input $D/val.en.gz   # refuses a collapsed encoder (exit 1)
python -m model.card --source $RUN/final --dest $C --name "$NAME" \
  --test tatoeba_test $D/test.en.gz $D/test.$L.gz \
  --test tatoeba_challenge $D/tatoeba_challenge_test.en.gz $D/tatoeba_challenge_test.$L.gz \
  --test flores200_devtest $S/flores/devtest.eng_Latn.gz $S/flores/devtest.$FL.gz \
  "${EXTRA_TESTS[@]}" \
  --test test_2016_flickr $S/multi30k/test_2016_flickr.en.gz $S/multi30k/test_2016_flickr.$L.gz \
  --data-json $D/stats.json --log $RUN/log.csv --demo checkpoints/samples/demo30.en.txt --demo-train-src $D/train.en.gz --notes docs/cards/general-en-$L-notes.md \
  --about "$ABOUT" --citation "$CITATION" \
  --limits "A 9.4M-parameter model trained for $HOURS hours on a 2-core CPU: short everyday sentences and captions mostly come out right; long news sentences often lose words or repeat, numbers and rare words (cut into pieces) are sometimes mistranslated, and \"it\" is not resolved by meaning."
python -m model.analyze --checkpoint $C --input $D/val.en.gz --ref $D/val.$L.gz --max-sentences 100 \
  --stats $C/head_stats.csv --sweep $C/head_importance.json
python -m model.corpus --checkpoint $C --input $D/val.en.gz --max-sentences 200 --out $C/corpus
python -m model.align_eval --checkpoint $C --gold $GOLD --out $C/alignment_$GOLD.csv
echo "then: write $C/gallery.json (claims checked by tests/test_gallery.py) and the README's shipped row"

#!/bin/bash
# Ship the general-domain English→German run as checkpoints/general-en-de (from the repository root, once training
# has stopped): scores, model card, head statistics and sweep, corpus run, alignment against RWTH.
set -euo pipefail
# Runs live beside the work tree (../runs), not inside it: a session's work tree is laid anew, and a run inside it is lost.
RUN=${RUN:-../runs/general-en-de-v3}
D=${DATA:-../runs/data/general-en-de}
S=../shared/data
C=checkpoints/general-en-de
python -m model.diagnostics --checkpoint $RUN/final --input $D/val.en.gz   # refuses a collapsed encoder (exit 1)
python -m model.card --source $RUN/final --dest $C --name "General English→German" \
  --test tatoeba_test $D/test.en.gz $D/test.de.gz \
  --test tatoeba_challenge $D/tatoeba_challenge_test.en.gz $D/tatoeba_challenge_test.de.gz \
  --test flores200_devtest $S/flores/devtest.eng_Latn.gz $S/flores/devtest.deu_Latn.gz \
  --test newstest2014 $S/news/newstest2014.en-de.en.gz $S/news/newstest2014.en-de.de.gz \
  --test test_2016_flickr $S/multi30k/test_2016_flickr.en.gz $S/multi30k/test_2016_flickr.de.gz \
  --data-json $D/stats.json --log $RUN/log.csv --demo checkpoints/samples/demo30.en.txt --notes docs/cards/general-en-de-notes.md \
  --about "general-domain English–German: Tatoeba everyday sentences (CC-BY 2.0), Multi30k train captions and WMT newstest 2009–2020 except 2014 (222,341 pairs; model selected on a Tatoeba validation split cut by English sentence)." \
  --citation "Tatoeba sentence pairs: tatoeba.org and manythings.org/anki, CC-BY 2.0 (France). Multi30k: Elliott et al. (2016), Multi30K: Multilingual English-German Image Descriptions. WMT newstest 2009–2020 (WMT shared tasks, distributed for research and evaluation; 2014 held out as the paper's test set). Tatoeba Translation Challenge test v2021-08-07 (Tiedemann, 2020), kept only where its English sentence is in no training pair. FLORES-200 devtest (NLLB Team, 2022), CC-BY-SA 4.0." \
  --limits "A 9.4M-parameter model trained for under two hours on two CPU cores: short everyday sentences and captions mostly come out right; long news sentences often lose words or repeat, numbers and rare words (cut into pieces) are sometimes mistranslated, and \"it\" is not resolved by meaning."
python -m model.analyze --checkpoint $C --input $D/val.en.gz --ref $D/val.de.gz --max-sentences 100 \
  --stats $C/head_stats.csv --sweep $C/head_importance.json
python -m model.corpus --checkpoint $C --input $D/val.en.gz --max-sentences 200 --out $C/corpus
python -m model.align_eval --checkpoint $C --gold rwth --out $C/alignment_rwth.csv
echo "then: write $C/gallery.json (claims checked by tests/test_gallery.py) and the README's shipped row"

#!/bin/sh
# The Amazon-670K-shape benchmark data (amazon670k-v1 preset, all 670,091 labels, seed 1) at a given
# scale, shared by bench_amazon.sh and ab_amazon.sh: generated into build/data/amazon670k-s<S>
# when missing; prints that directory.   usage: sh bench/e2e/amazon_data.sh BIN SCALE
set -eu
BIN=${1:?usage: amazon_data.sh BIN SCALE}
SCALE=${2:?usage: amazon_data.sh BIN SCALE}
DATA=build/data/amazon670k-s$SCALE
if [ ! -f "$DATA/train.txt" ]; then
  echo "[data] generating the amazon670k-v1 preset at scale $SCALE into $DATA" >&2
  "$BIN/slide-gen" --preset amazon670k-v1 --scale "$SCALE" --label-scale 1 --seed 1 --out "$DATA" >&2
fi
echo "$DATA"

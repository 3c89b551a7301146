#!/usr/bin/env bash
# Produce the outputs of run, audit, rerank and sweep on ML-100K (popularity, EASE, a short SASRec)
# into OUT, with one torch thread, so that two versions of equirec can be compared file by file
# with benchmarks/seams_compare.py. Usage: benchmarks/seams_outputs.sh OUT [DATA_DIR]
set -euo pipefail
OUT=${1:?output folder}
DATA=${2:-../shared/datasets/ml-100k}
EQ=${EQUIREC:-equirec}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"
for model in pop ease sasrec; do
  extra=()
  [ "$model" = sasrec ] && extra=(--epochs 3)
  $EQ run --dataset ml-100k --data-dir "$DATA" --model $model --seed 0 --quiet \
      --out "$OUT/$model" "${extra[@]}"
  $EQ audit "$OUT/$model" --n-boot 200
  $EQ rerank "$OUT/$model" --method fair --param p=0.5 --out "$OUT/$model-fair"
  $EQ rerank "$OUT/$model" --method calibrated --param lam=0.5 --out "$OUT/$model-calibrated"
  $EQ rerank "$OUT/$model" --method detconstsort --out "$OUT/$model-detconstsort"
  $EQ rerank "$OUT/$model" --method mmr --param lam=0.7 --out "$OUT/$model-mmr"
  $EQ rerank "$OUT/$model" --method ugf --param epsilon=0.01 --param solver=greedy \
      --out "$OUT/$model-ugf"
  $EQ rerank "$OUT/$model" --method cpfair --param lambda_user=0.5 --param lambda_item=0.5 \
      --param solver=greedy --out "$OUT/$model-cpfair"
  $EQ rerank "$OUT/$model" --method calibrated+fair --param calibrated.lam=0.3 \
      --param fair.p=0.4 --out "$OUT/$model-chain"
  $EQ audit "$OUT/$model-fair" --n-boot 200
  $EQ sweep "$OUT/$model" --method calibrated --grid lam=0.2,0.6 --out "$OUT/$model-sweep-calibrated"
done
$EQ sweep "$OUT/pop" --method resample --grid target=balanced \
    --param attribute=gender --param sampling=undersample --out "$OUT/pop-sweep-resample"
$EQ sweep "$OUT/sasrec" --method adversary --grid lam=1 --param attributes=gender \
    --out "$OUT/sasrec-sweep-adversary"

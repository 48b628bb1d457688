#!/bin/sh
# Reproduces experiments/dad.md and experiments/partial-labels.md (run from the repository root).
# Sequential, one training at a time (2 cores). Every arm: same seed, same steps.
#   sh experiments/run-experiments.sh [dad|partial|all] [epochs]
set -eu
WHAT=${1:-all}
EPOCHS=${2:-6}
ROOT=${EXP_ROOT:-/tmp/segloop-exp}
SEG="node bin/segloop.mjs"
TRAIN_FLAGS=${SEG_TRAIN_FLAGS:-"--arch unet2d --width 16 --batch-size 16 --patch 48,64 --steps-per-epoch 50 --epochs $EPOCHS --seed 1234 --json"}
D=$ROOT/data
OUT=$ROOT/results
mkdir -p "$OUT"
[ -d "$D/dev_test" ] || /usr/bin/python3 experiments/make_data.py "$D"

evaluate() { # project model-id name
  $SEG evaluate "$1" --model "$2" --images "$D/dev_test/images" --labels "$D/dev_test/labels" --json > "$OUT/eval-$3.json" 2> "$OUT/eval-$3.log"
  node -e "const r=require('$OUT/eval-$3.json');console.log('$3', JSON.stringify(r.overall))"
}
train() { # project name [extra flags]
  P=$1; N=$2; shift 2
  $SEG train "$P" $TRAIN_FLAGS "$@" > "$OUT/train-$N.json" 2> "$OUT/train-$N.log"
  node -e "const r=require('$OUT/train-$N.json');console.log('$N run',r.runId,'model',r.model.id,'steps',r.steps,'s',r.trainSeconds,'val',JSON.stringify(r.valDice))"
  evaluate "$P" "$(node -e "console.log(require('$OUT/train-$N.json').model.id)")" "$N"
}

if [ "$WHAT" = dad ] || [ "$WHAT" = all ]; then
  P=$ROOT/dad-proj
  rm -rf "$P"; $SEG init "$P" > /dev/null
  $SEG import "$P" --images "$D/pool/images" --labels "$D/pool/labels" --schema experiments/schema.json --json > "$OUT/import-dad.json"
  train "$P" dad-full   # the DAD source run
  train "$P" dad-full-v2   # same again: a full-data baseline run with the same code as the 70% arms (see dad.md)
  RUN=$(node -e "console.log(require('$OUT/train-dad-full.json').runId)")
  $SEG prune "$P" --run "$RUN" --lowest 30% --dry-run --json > "$OUT/prune-plan.json"
  $SEG prune "$P" --run "$RUN" --lowest 30% --json > "$OUT/prune-dad.json"
  train "$P" dad-pruned70
  $SEG prune "$P" --restore --json > /dev/null
  $SEG prune "$P" --run "$RUN" --random 30% --seed 1 --json > "$OUT/prune-random.json"
  train "$P" random70
  $SEG prune "$P" --restore --json > /dev/null
fi

if [ "$WHAT" = partial ] || [ "$WHAT" = all ]; then
  P=$ROOT/partial-proj
  rm -rf "$P"; $SEG init "$P" > /dev/null
  $SEG import "$P" --images "$D/siteA/images" --labels "$D/siteA/labels" --site A --schema experiments/schema.json --json > "$OUT/import-siteA.json"
  $SEG import "$P" --images "$D/siteB/images" --labels "$D/siteB/labels" --site B --schema experiments/schema.json --json > "$OUT/import-siteB.json"
  # Naive arm first: labels are treated as complete (--partial-loss none), whatever they declare.
  $SEG labels set-classes "$P" --site A --classes 1 --json > /dev/null
  $SEG labels set-classes "$P" --site B --classes 2 --json > /dev/null
  train "$P" partial-naive --partial-loss none
  train "$P" partial-adaptive-ld03 --partial-loss merge --label-dropout 0.3
fi

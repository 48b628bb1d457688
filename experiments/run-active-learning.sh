#!/bin/sh
# Reproduces experiments/active-learning.md (run from the repository root). One process per seed
# on a shared, resumable --out folder (run the same command again to continue a stopped run).
#   sh experiments/run-active-learning.sh [steps-per-round] [out]
set -eu
STEPS=${1:-150}
OUT=${2:-/tmp/segloop-al}
D=${AL_DATA:-/tmp/al-data}
SRC=/work/shared/data/hippocampus
# Symlinked pool (152) / dev_test (40) folders from splits.json.
/usr/bin/python3 - "$SRC" "$D" <<'PY'
import json, os, sys
src, d = sys.argv[1], sys.argv[2]
s = json.load(open(os.path.join(src, 'splits.json')))
for split, name in (('pool', 'pool'), ('dev_test', 'test')):
    for sub in ('images', 'labels'):
        os.makedirs(os.path.join(d, name, sub), exist_ok=True)
        for i in s[split]:
            dst = os.path.join(d, name, sub, f'{i}.nii.gz')
            if not os.path.exists(dst):
                os.symlink(os.path.join(src, sub, f'{i}.nii.gz'), dst)
PY
mkdir -p "$OUT"
for SEED in 1 2 3; do
  node bin/segloop.mjs simulate --images "$D/pool/images" --labels "$D/pool/labels" \
    --test-images "$D/test/images" --test-labels "$D/test/labels" \
    --strategies random,improved-random,entropy,fg-entropy,power-entropy \
    --initial 8 --step 8 --rounds 5 --seeds 3 --only-seed "$SEED" \
    --steps-per-round "$STEPS" --width 8 --batch-size 8 --patch 48,64 \
    --out "$OUT" --json > "$OUT/seed$SEED.json" 2> "$OUT/seed$SEED.log" &
done
wait
# The report over all seeds (every round is already done: this only summarises).
node bin/segloop.mjs simulate --images "$D/pool/images" --labels "$D/pool/labels" \
  --test-images "$D/test/images" --test-labels "$D/test/labels" \
  --strategies random,improved-random,entropy,fg-entropy,power-entropy \
  --initial 8 --step 8 --rounds 5 --seeds 3 \
  --steps-per-round "$STEPS" --width 8 --batch-size 8 --patch 48,64 \
  --out "$OUT" --json > "$OUT/report.json" 2> "$OUT/report.log"

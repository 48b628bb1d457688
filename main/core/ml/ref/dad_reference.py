#!/usr/bin/python3
"""Reference for dad.test.ts: target-region Dice of a prediction against a real hippocampus label
(numpy), per sample of a batch of two slabs; plus DAD and ranks of a hand-made history.
stdin: {"label": path}; stdout: JSON."""
import json, sys
import nibabel as nib
import numpy as np

req = json.load(sys.stdin)
ref = np.asarray(nib.load(req['label']).dataobj).astype(np.int32)
rng = np.random.default_rng(7)
pred = np.roll(ref, 1, axis=0)  # a shifted "prediction"
flip = rng.random(ref.shape) < 0.05
pred[flip] = rng.integers(0, 3, size=int(flip.sum()))
# Two samples: the first and second half along z, laid out sample after sample (C order).
z = ref.shape[2] // 2
samples = [(pred[:, :, :z], ref[:, :, :z]), (pred[:, :, z:2 * z], ref[:, :, z:2 * z])]

def target_dice(p, r, labelled):
    ds = []
    for k in (1, 2):
        if not labelled[k] or (r == k).sum() == 0:
            continue
        ds.append(2 * np.logical_and(p == k, r == k).sum() / ((p == k).sum() + (r == k).sum()))
    return float(np.mean(ds)) if ds else None

out = {
    'pred': np.concatenate([s[0].ravel() for s in samples]).tolist(),
    'ref': np.concatenate([s[1].ravel() for s in samples]).tolist(),
    'all': [target_dice(p, r, [1, 1, 1]) for p, r in samples],
    'only1': [target_dice(p, r, [1, 1, 0]) for p, r in samples],
}
json.dump(out, sys.stdout)

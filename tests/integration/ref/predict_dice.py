#!/usr/bin/env python3
"""Dice per foreground class between a prediction and a reference label (nibabel + numpy).

usage: predict_dice.py <pred.nii.gz> <ref.nii.gz> <num_classes>
Prints a JSON list: Dice of classes 1..K-1 (1.0 when both are empty).
"""
import json
import sys

import nibabel as nib
import numpy as np

pred = np.asarray(nib.load(sys.argv[1]).dataobj).astype(np.int64)
ref = np.rint(np.asarray(nib.load(sys.argv[2]).dataobj)).astype(np.int64)
out = []
for k in range(1, int(sys.argv[3])):
    p, r = pred == k, ref == k
    s = p.sum() + r.sum()
    out.append(1.0 if s == 0 else float(2 * np.logical_and(p, r).sum() / s))
print(json.dumps(out))

"""nibabel/numpy reference fingerprint for plan.ts on a folder with images/ and labels/.
Prints JSON: spacings/shapes medians, foreground intensity stats (all foreground voxels of all
cases, z-scored per case is NOT applied: raw values), class voxel fractions and presence."""
import glob
import json
import os
import sys

import nibabel as nib
import numpy as np

root = sys.argv[1]
K = int(sys.argv[2])
files = sorted(glob.glob(os.path.join(root, "images", "*.nii.gz")))
sp, sh, fg = [], [], []
counts = np.zeros(K)
presence = np.zeros(K)
for f in files:
    im = nib.load(f)
    lb = nib.load(os.path.join(root, "labels", os.path.basename(f)))
    a = np.asarray(im.dataobj, dtype=np.float64)
    l = np.asarray(lb.dataobj).astype(np.int64)
    sp.append([float(z) for z in im.header.get_zooms()[:3]])
    sh.append(list(im.shape[:3]))
    fg.append(a[l > 0])
    c = np.bincount(l.ravel(), minlength=K)
    counts += c
    presence += c > 0
fg = np.concatenate(fg)
print(json.dumps({
    "cases": len(files),
    "medianSpacing": np.median(np.array(sp), 0).tolist(),
    "medianShape": np.median(np.array(sh), 0).tolist(),
    "fg": {"mean": float(fg.mean()), "std": float(fg.std()), "p00_5": float(np.percentile(fg, 0.5)), "p99_5": float(np.percentile(fg, 99.5)),
           "median": float(np.median(fg)), "min": float(fg.min()), "max": float(fg.max())},
    "classFrequencies": (counts / counts.sum()).tolist(),
    "classPresence": (presence / len(files)).tolist(),
}))

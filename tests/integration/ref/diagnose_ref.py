"""Reference numbers for segloop diagnose, straight from the files with nibabel/numpy/scipy.

usage: diagnose_ref.py <images_dir> <labels_dir> <tiny_voxels>
Prints JSON: per image on-disk dtype, numpy percentiles (0.5, 50, 99.5; default linear method) and
max; per label on-disk dtype, voxels per value, and per class the number of 26-connected
components (scipy.ndimage.label with a 3x3x3 structure of ones) and of those smaller than
<tiny_voxels> that are not the largest.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage

images_dir, labels_dir, tiny = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = {"images": {}, "labels": {}}
for name in sorted(os.listdir(images_dir)):
    if not name.endswith(".nii.gz"):
        continue
    img = nib.load(os.path.join(images_dir, name))
    data = np.asanyarray(img.dataobj).astype(np.float64)
    out["images"][name] = {
        "dtype": str(img.get_data_dtype()),
        "p": [float(v) for v in np.percentile(data, [0.5, 50, 99.5])],
        "max": float(data.max()),
    }
    lpath = os.path.join(labels_dir, name)
    if not os.path.exists(lpath):
        continue
    lab = nib.load(lpath)
    ldata = np.asanyarray(lab.dataobj)
    values, counts = np.unique(ldata, return_counts=True)
    classes = {}
    for v in values:
        if v <= 0 or v != int(v):
            continue
        labelled, n = ndimage.label(ldata == v, structure=np.ones((3, 3, 3)))
        sizes = sorted(np.bincount(labelled.ravel())[1:].tolist(), reverse=True)
        classes[str(int(v))] = {"components": n, "tiny": sum(1 for s in sizes[1:] if s < tiny)}
    out["labels"][name] = {
        "dtype": str(lab.get_data_dtype()),
        "counts": {str(float(v)): int(c) for v, c in zip(values, counts)},
        "classes": classes,
    }
json.dump(out, sys.stdout)

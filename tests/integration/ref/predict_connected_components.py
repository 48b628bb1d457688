#!/usr/bin/env python3
"""Reference for Segloop's post-processing: scipy.ndimage.label on a (noisy) label map.

usage: predict_connected_components.py <mask.nii.gz> <out.nii.gz> <connectivity 6|18|26>
Labels the non-zero voxels of the mask and writes the component ids (int32, same affine).
Prints {"count": n, "sizes": [...]} (sizes in scipy's id order) as JSON on stdout.
"""
import json
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage

src, out, conn = sys.argv[1], sys.argv[2], int(sys.argv[3])
img = nib.load(src)
mask = np.asarray(img.dataobj) != 0
structure = ndimage.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[conn])
labels, n = ndimage.label(mask, structure=structure)
nib.save(nib.Nifti1Image(labels.astype(np.int32), img.affine), out)
sizes = np.bincount(labels.ravel())[1:].tolist()
print(json.dumps({"count": int(n), "sizes": sizes}))

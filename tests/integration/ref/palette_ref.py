"""Writes a synthetic RGB24 palette mask with nibabel and prints the nearest-palette decoding.

usage: palette_ref.py <out.nii.gz>
The mask is 12x10x3; the palette is black=0, red=1, green=2, blue=3. A few pixels are blended
(as resizing does) so they sit off the palette. Prints JSON {labels (nibabel order, Fortran
ravel), off, counts} computed with numpy: argmin of the squared RGB distance, ties to the first.
"""
import json
import sys

import nibabel as nib
import numpy as np

palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=np.int64)
rng = np.random.default_rng(3)
cls = rng.integers(0, 4, size=(12, 10, 3))
rgb = palette[cls].astype(np.uint8)
# Blend 15 pixels towards another colour, like bilinear resizing at a boundary.
for n in range(15):
    i, j, k = rng.integers(0, 12), rng.integers(0, 10), rng.integers(0, 3)
    other = palette[(cls[i, j, k] + 1) % 4]
    rgb[i, j, k] = np.round(0.7 * rgb[i, j, k] + 0.3 * other).astype(np.uint8)
rgb_dtype = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])
arr = np.zeros(rgb.shape[:3], dtype=rgb_dtype)
arr["R"], arr["G"], arr["B"] = rgb[..., 0], rgb[..., 1], rgb[..., 2]
img = nib.Nifti1Image(arr, np.diag([0.5, 0.5, 2.0, 1.0]))
nib.save(img, sys.argv[1])

back = np.asanyarray(nib.load(sys.argv[1]).dataobj)
flat = np.stack([back["R"], back["G"], back["B"]], axis=-1).reshape(-1, 3, order="F").astype(np.int64)
d = ((flat[:, None, :] - palette[None, :, :]) ** 2).sum(-1)
labels = d.argmin(1)
off = int((d.min(1) > 0).sum())
print(json.dumps({"labels": labels.tolist(), "off": off, "counts": np.bincount(labels, minlength=4).tolist()}))

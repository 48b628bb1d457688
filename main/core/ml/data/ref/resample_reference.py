"""scipy reference for data/resample.ts. Usage:
  resample_reference.py <image.nii.gz> <label.nii.gz> <tx> <ty> <tz> <out_dir>
Writes image_lin.f32 (order=1) and label_nn.f32 (order=0), both in nibabel order flattened
Fortran-style (i fastest), plus meta.json with the output shape, using
scipy.ndimage.affine_transform(matrix=diag(target/spacing), mode='nearest'): output voxel o
samples input coordinate o * target/spacing, the mapping resample.ts documents."""
import json
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage

img_p, lab_p, tx, ty, tz, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
img = nib.load(img_p)
lab = nib.load(lab_p)
sp = np.array(img.header.get_zooms()[:3], dtype=np.float64)
tgt = np.array([tx, ty, tz])
shape = tuple(int(max(1, round(n * s / t))) for n, s, t in zip(img.shape, sp, tgt))
scale = tgt / sp
a = np.asarray(img.dataobj, dtype=np.float64)
l = np.asarray(lab.dataobj, dtype=np.float64)
ri = ndimage.affine_transform(a, np.diag(scale), output_shape=shape, order=1, mode="nearest")
rl = ndimage.affine_transform(l, np.diag(scale), output_shape=shape, order=0, mode="nearest")
os.makedirs(out, exist_ok=True)
ri.astype(np.float32).flatten(order="F").tofile(os.path.join(out, "image_lin.f32"))
rl.astype(np.float32).flatten(order="F").tofile(os.path.join(out, "label_nn.f32"))
json.dump({"shape": shape, "affine": (img.affine @ np.diag([*scale, 1])).tolist(), "p": np.percentile(a, [0.5, 99.5]).tolist(),
           "mean": float(np.clip(a, *np.percentile(a, [0.5, 99.5])).mean()), "std": float(np.clip(a, *np.percentile(a, [0.5, 99.5])).std())},
          open(os.path.join(out, "meta.json"), "w"))

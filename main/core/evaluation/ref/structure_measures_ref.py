#!/usr/bin/env python3
"""Reference for Segloop's per-structure measurements (core/evaluation/structure-measures.ts).

stdin: {"masks": [{"file": "<label.nii.gz>", "spacing": [sx, sy, sz]?, "labels": [1, 2]}]}
stdout: one entry per mask and label, in order:
  {"voxels", "volume_mm3"  (skimage.measure.regionprops area x voxel volume),
   "feret_skimage"         (regionprops feret_diameter_max: marching cubes of the convex image, voxel units),
   "diameter_faces_mm"     (max distance between the face midpoints of the surface voxels, via
                            scipy.spatial.ConvexHull + pdist: the definition Segloop uses, computed independently)}
"""
import json
import sys

import nibabel as nib
import numpy as np
from scipy.spatial import ConvexHull
from scipy.spatial.distance import pdist
from skimage.measure import regionprops

req = json.load(sys.stdin)
out = []
for m in req["masks"]:
    img = nib.load(m["file"])
    data = np.asarray(img.dataobj).astype(np.int32)
    spacing = np.array(m.get("spacing") or img.header.get_zooms()[:3], dtype=float)
    for label in m["labels"]:
        mask = data == label
        props = regionprops(mask.astype(np.uint8))
        if not props:
            out.append(None)
            continue
        p = props[0]
        padded = np.pad(mask, 1)
        pts = []
        for axis in range(3):
            for step in (-1, 1):
                outside = ~np.roll(padded, -step, axis=axis)
                idx = np.argwhere(padded & outside).astype(float) - 1.0
                idx[:, axis] += 0.5 * step
                pts.append(idx)
        pts = np.concatenate(pts) * spacing
        hull = pts[ConvexHull(pts).vertices]
        out.append({
            "voxels": int(p.area),
            "volume_mm3": float(p.area * np.prod(spacing)),
            "feret_skimage": float(p.feret_diameter_max),
            "diameter_faces_mm": float(pdist(hull).max()),
        })
print(json.dumps(out))

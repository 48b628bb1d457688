"""skimage/scipy reference for region-grow.ts.

stdin: JSON {"shape": [X, Y, Z], "image": [...x fastest...], "labels": [...], "segment": s,
             "seeds": [voxel index...], "tolerance": t | "auto", "connectivity": 6|18|26, "overwrite": bool,
             "insideSegment": n | null, "range": [lo, hi] | null, "maxVoxels": n | null (absent: no limit),
             "autoKs": [...], "autoRadius": r, "autoMinVoxels": m}
stdout: JSON {"labels": [...], "tolerances": [...], "interval": [lo, hi] | null, "leak": bool}.
Arrays are numpy (Z, Y, X) so C order is x fastest.

Fixed tolerance: skimage.segmentation.flood per seed (voxels the mask forbids are NaN, so walls).
"auto": centre = median and sigma = 1.4826 MAD (std if the MAD is 0) of the passable voxels of the
seeds' (2r+1)^3 cubes (pooled, each voxel once); for each k of autoKs the region is the scipy.ndimage
components of (passable & |image - centre| <= k sigma) that hold a seed; the k chosen minimises
(n[k+1] - n[k-1]) / n[k] (ends one-sided) among regions of at least min(autoMinVoxels, n[last])
voxels whose next k does not pass maxVoxels, ties to the larger k. Written independently of the
TypeScript priority flood, which computes the same regions in one pass.
"""
import json
import sys

import numpy as np
from scipy import ndimage
from skimage.segmentation import flood

req = json.load(sys.stdin)
X, Y, Z = req["shape"]
img = np.array(req["image"], dtype=np.float64).reshape(Z, Y, X)
lab0 = np.array(req["labels"], dtype=np.uint8).reshape(Z, Y, X)
lab = lab0.copy()
seg = req["segment"]
conn = {6: 1, 18: 2, 26: 3}[req.get("connectivity", 6)]
inside = req.get("insideSegment")
rng = req.get("range")
bound = req.get("maxVoxels")
bound = np.inf if bound is None else bound

passable = np.ones_like(lab0, dtype=bool)
if inside is not None:
    passable &= lab0 == inside
if rng is not None:
    lo, hi = min(rng), max(rng)
    passable &= (img >= lo) & (img <= hi)


def zyx(s):
    z, rem = divmod(s, X * Y)
    y, x = divmod(rem, X)
    return z, y, x


seeds = [s for s in req["seeds"] if passable[zyx(s)]]
region = np.zeros_like(passable)
tols = []
interval = None
leak = False
if req["tolerance"] == "auto" and seeds:
    r = req["autoRadius"]
    sample = np.zeros_like(passable)
    for s in seeds:
        z, y, x = zyx(s)
        sl = (slice(max(0, z - r), z + r + 1), slice(max(0, y - r), y + r + 1), slice(max(0, x - r), x + r + 1))
        sample[sl] |= passable[sl]
        sample[z, y, x] = True
    vals = img[sample]
    centre = float(np.median(vals))
    sigma = 1.4826 * float(np.median(np.abs(vals - centre)))
    if sigma == 0:
        sigma = float(np.sqrt(np.mean((vals - centre) ** 2)))
    ks = req["autoKs"]
    structure = ndimage.generate_binary_structure(3, conn)
    regions, sizes = [], []
    for k in ks:
        m = passable & (np.abs(img - centre) <= k * sigma)
        comp, _ = ndimage.label(m, structure=structure)
        ids = {int(comp[zyx(s)]) for s in seeds} - {0}
        reg = np.isin(comp, list(ids)) if ids else np.zeros_like(m)
        regions.append(reg)
        n = int(reg.sum())
        sizes.append(np.inf if n > bound else n)
    best, best_q = -1, np.inf
    last = sizes[-1]
    for j in range(len(ks)):
        if not np.isfinite(sizes[j]) or sizes[j] == 0:
            continue
        prev = sizes[max(0, j - 1)]
        nxt = sizes[min(len(ks) - 1, j + 1)]
        if not np.isfinite(nxt):
            continue
        big = sizes[j] >= min(req["autoMinVoxels"], last)
        q = (nxt - prev) / sizes[j] + (0 if big else 1e6)
        if q <= best_q:
            best_q, best = q, j
    if best < 0:
        ok = [j for j in range(len(ks)) if np.isfinite(sizes[j]) and sizes[j] > 0]
        best = ok[0] if ok else -1
    if best < 0:
        leak = True
        t = ks[0] * sigma
    else:
        t = ks[best] * sigma
        region = regions[best]
    tols = [t for _ in req["seeds"]]
    interval = [centre - t, centre + t]
elif req["tolerance"] == "auto":
    tols = [0.0 for _ in req["seeds"]]
else:
    tol = float(req["tolerance"])
    tols = [tol for _ in req["seeds"]]
    walled = np.where(passable, img, np.nan)
    for s in seeds:
        region |= flood(walled, zyx(s), tolerance=tol, connectivity=conn)
    if region.sum() > bound:
        leak = True

if not leak:
    allowed = region if (req.get("overwrite") or inside is not None) else region & ((lab0 == 0) | (lab0 == seg))
    lab[allowed] = seg
json.dump({"labels": lab.ravel().tolist(), "tolerances": tols, "interval": interval, "leak": leak}, sys.stdout)

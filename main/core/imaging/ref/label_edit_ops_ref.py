"""scipy.ndimage reference for label-edit-ops.ts.

stdin: JSON {"shape": [X, Y, Z], "spacing": [sx, sy, sz], "labels": [...x fastest...], "ops": [...]}
stdout: JSON list, one labelmap (x fastest) per op. Arrays are held as numpy (Z, Y, X) so C order is
x fastest, like NIfTI / our layout; the ball is {offset : |offset * spacing| <= r}.
"""
import json
import sys

import numpy as np
from scipy import ndimage

req = json.load(sys.stdin)
X, Y, Z = req["shape"]
sx, sy, sz = req["spacing"]
lab0 = np.array(req["labels"], dtype=np.uint8).reshape(Z, Y, X)


def ball(mm):
    rz, ry, rx = (int(np.floor(mm / s + 1e-9)) for s in (sz, sy, sx))
    zz, yy, xx = np.mgrid[-rz:rz + 1, -ry:ry + 1, -rx:rx + 1]
    return (xx * sx) ** 2 + (yy * sy) ** 2 + (zz * sz) ** 2 <= mm * mm * (1 + 1e-9)


def structure(conn):
    return ndimage.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[conn])


out = []
for op in req["ops"]:
    lab = lab0.copy()
    seg = op["segment"]
    m = lab == seg
    k = op["kind"]
    if k in ("keepLargest", "removeSmall", "keepAt"):
        ids, n = ndimage.label(m, structure=structure(op.get("connectivity", 6)))
        sizes = np.bincount(ids.ravel())
        if k == "keepLargest":
            keep = {int(np.argmax(sizes[1:])) + 1} if n > 0 else set()
        elif k == "removeSmall":
            keep = {i for i in range(1, n + 1) if sizes[i] >= op["minVoxels"]}
        else:
            keep = {int(ids.ravel()[op["index"]])}
        drop = m & ~np.isin(ids, list(keep))
        lab[drop] = 0
    elif k == "grow":
        g = ndimage.binary_dilation(m, structure=ball(op["mm"]))
        lab[g & (lab == 0)] = seg
    elif k == "shrink":
        e = ndimage.binary_erosion(m, structure=ball(op["mm"]), border_value=1)
        lab[m & ~e] = 0
    elif k == "open":
        b = ball(op["mm"])
        o = ndimage.binary_dilation(ndimage.binary_erosion(m, structure=b, border_value=1), structure=b)
        lab[m & ~o] = 0
    elif k == "close":
        b = ball(op["mm"])
        c = ndimage.binary_erosion(ndimage.binary_dilation(m, structure=b), structure=b, border_value=1)
        lab[c & (lab == 0)] = seg
    elif k == "median":
        med = ndimage.median_filter(m.astype(np.uint8), footprint=ball(op["mm"]), mode="nearest").astype(bool)
        editable = m | (lab == 0)
        lab[editable & med] = seg
        lab[editable & ~med & m] = 0
    elif k == "fillHoles":
        f = ndimage.binary_fill_holes(m)
        lab[f & ~m] = seg
    out.append(lab.ravel().tolist())
print(json.dumps(out))

"""skimage reference for region-grow.ts.

stdin: JSON {"shape": [X, Y, Z], "image": [...x fastest...], "labels": [...], "segment": s,
             "seeds": [voxel index...], "tolerance": t | "auto", "connectivity": 6|18|26, "overwrite": bool}
stdout: JSON {"labels": [...], "tolerances": [...]}. Arrays are numpy (Z, Y, X) so C order is x fastest.
"auto" tolerance = autoK (request, default 0.75) x the population standard deviation of the seed's 3x3x3 neighbourhood.
"""
import json
import sys

import numpy as np
from skimage.segmentation import flood

req = json.load(sys.stdin)
X, Y, Z = req["shape"]
img = np.array(req["image"], dtype=np.float64).reshape(Z, Y, X)
lab0 = np.array(req["labels"], dtype=np.uint8).reshape(Z, Y, X)
lab = lab0.copy()
seg = req["segment"]
conn = {6: 1, 18: 2, 26: 3}[req.get("connectivity", 6)]
tols = []
for s in req["seeds"]:
    z, rem = divmod(s, X * Y)
    y, x = divmod(rem, X)
    if req["tolerance"] == "auto":
        nb = img[max(0, z - 1):z + 2, max(0, y - 1):y + 2, max(0, x - 1):x + 2]
        tol = float(req.get("autoK", 0.75)) * float(nb.std())
    else:
        tol = float(req["tolerance"])
    tols.append(tol)
    m = flood(img, (z, y, x), tolerance=tol, connectivity=conn)
    allowed = m if req.get("overwrite") else m & ((lab0 == 0) | (lab0 == seg))
    lab[allowed] = seg
json.dump({"labels": lab.ravel().tolist(), "tolerances": tols}, sys.stdout)

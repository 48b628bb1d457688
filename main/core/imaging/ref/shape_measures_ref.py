"""Reference for shape-measures.ts on real masks: skimage regionprops / find_contours.

stdin: JSON {"slices": [{"w", "h", "data": [...], "label"}]}; stdout: JSON list of
{pixels, semi_major, semi_minor, perimeter, feret} in pixel units (spacing 1).
semi axes: 2*sqrt(eig(inertia_tensor) + 1/12) — skimage's moments of pixel centres plus each pixel's
own uniform-square moment (1/12), which shape-measures.ts includes.
"""
import json
import sys

import numpy as np
from skimage import measure

out = []
for s in json.load(sys.stdin)["slices"]:
    m = (np.array(s["data"], dtype=np.int32).reshape(s["h"], s["w"]) == s["label"]).astype(np.uint8)
    props = measure.regionprops(m)[0]
    ev = np.linalg.eigvalsh(props.inertia_tensor)
    contours = measure.find_contours(np.pad(m, 1).astype(float), 0.5)
    per = float(sum(np.sum(np.hypot(*np.diff(c, axis=0).T)) for c in contours))
    out.append({
        "pixels": int(props.area),
        "semi_major": float(2 * np.sqrt(ev[-1] + 1 / 12)),
        "semi_minor": float(2 * np.sqrt(ev[0] + 1 / 12)),
        "perimeter": per,
        "feret": float(props.feret_diameter_max),
    })
print(json.dumps(out))

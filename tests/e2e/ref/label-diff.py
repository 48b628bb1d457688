"""Reference for the e2e save test: compares two label NIfTI files with nibabel.
Prints JSON: number of differing voxels, the sorted set of values those voxels hold in the new file,
and whether shape and affine match."""
import json
import sys

import nibabel as nib
import numpy as np

old, new = (nib.load(p) for p in sys.argv[1:3])
a = np.asanyarray(old.dataobj).astype(np.int64)
b = np.asanyarray(new.dataobj).astype(np.int64)
diff = a != b
print(json.dumps({
    "changed": int(diff.sum()),
    "changedTo": sorted(int(v) for v in np.unique(b[diff])),
    "shapeEqual": a.shape == b.shape,
    "affineEqual": bool(np.allclose(old.affine, new.affine)),
}))

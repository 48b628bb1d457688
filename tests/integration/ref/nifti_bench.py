"""Time nibabel reading NIfTI files fully (decompress + scale), excluding interpreter start-up.

usage: nifti_bench.py ROUNDS FILE...   prints JSON {"rounds_s": [...], "voxels": N}
Same work as the TS reader: the whole voxel array in memory with scl_slope/scl_inter applied
(np.asanyarray(img.dataobj) keeps the on-disk dtype when there is no scaling, as ours does).
"""
import json
import sys
import time

import nibabel as nib
import numpy as np


def main(argv):
    rounds = int(argv[0])
    files = argv[1:]
    times = []
    voxels = 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        voxels = 0
        for path in files:
            arr = np.asanyarray(nib.load(path).dataobj)
            voxels += arr.size
        times.append(time.perf_counter() - t0)
    json.dump({"rounds_s": times, "voxels": voxels}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])

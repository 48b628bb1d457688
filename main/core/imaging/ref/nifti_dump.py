"""Dump what nibabel reads from NIfTI files, as JSON on stdout (reference for the TS reader/writer).

usage: nifti_dump.py FILE...   (or --list FILE holding one path per line)
Per file: shape, disk dtype, affine, zooms, sform/qform codes, and after scaling (as get_fdata):
sum, a position-weighted checksum sum(v * ((linear_index % 997) + 1)) with the linear index
i + X*(j + Y*k) (i fastest), nan count, and the values of the first 16 voxels in that order.
"""
import json
import sys

import nibabel as nib
import numpy as np


def dump(path):
    img = nib.load(path)
    data = np.asarray(img.dataobj).astype(np.float64)
    flat = data.reshape(-1, order="F")
    weights = (np.arange(flat.size) % 997) + 1
    finite = np.where(np.isfinite(flat), flat, 0.0)
    hdr = img.header
    return {
        "file": path,
        "shape": [int(s) for s in img.shape],
        "dtype": str(img.get_data_dtype()),
        "affine": img.affine.tolist(),
        "zooms": [float(z) for z in hdr.get_zooms()],
        "qform_code": int(hdr["qform_code"]),
        "sform_code": int(hdr["sform_code"]),
        "sum": float(finite.sum()),
        "checksum": float((finite * weights).sum()),
        "nan_count": int(np.isnan(flat).sum()),
        "first": [float(v) for v in flat[:16]],
        "descrip": hdr["descrip"].item().decode("latin1"),
    }


def main(argv):
    if argv[:1] == ["--list"]:
        with open(argv[1]) as f:
            files = [line.strip() for line in f if line.strip()]
    else:
        files = argv
    json.dump([dump(p) for p in files], sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])

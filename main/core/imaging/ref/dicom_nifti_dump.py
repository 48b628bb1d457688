"""Dump a NIfTI with nibabel for the DICOM tests: <out>.json (shape, dtype, affine, zooms, sha256 of
the voxel array as little-endian C bytes in nibabel/Fortran voxel order) and <out>.raw (those bytes).

usage: dicom_nifti_dump.py IN.nii[.gz] OUT_PREFIX
The raw bytes are in Segloop Volume order (i fastest): numpy order='F' of nibabel's array.
"""
import hashlib
import json
import sys

import nibabel as nib
import numpy as np

img = nib.load(sys.argv[1])
arr = np.asanyarray(img.dataobj)
if img.dataobj.slope not in (1.0, None) or img.dataobj.inter not in (0.0, None):
    arr = img.get_fdata(dtype=np.float32)
raw = np.asarray(arr).astype(arr.dtype.newbyteorder('<')).tobytes(order='F')
with open(sys.argv[2] + '.raw', 'wb') as f:
    f.write(raw)
json.dump(
    {
        'shape': list(arr.shape),
        'dtype': str(arr.dtype.name),
        'affine': img.affine.tolist(),
        'zooms': [float(z) for z in img.header.get_zooms()],
        'axcodes': ''.join(nib.aff2axcodes(img.affine)),
        'sha256': hashlib.sha256(raw).hexdigest(),
        'sum': int(arr.astype(np.int64).sum()) if arr.dtype.kind in 'iu' else float(arr.sum()),
    },
    open(sys.argv[2] + '.json', 'w'),
)

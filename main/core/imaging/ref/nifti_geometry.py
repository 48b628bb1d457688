"""nibabel geometry reference: reads JSON [{"affine": 4x4, "shape": [x,y,z]}...] on stdin, prints
per case aff2axcodes, the affine of as_closest_canonical, and set_qform's quaternion/qfac/zooms."""
import json
import sys

import nibabel as nib
import numpy as np


def main():
    out = []
    for case in json.load(sys.stdin):
        aff = np.array(case["affine"], dtype=np.float64)
        shape = tuple(case["shape"])
        data = np.arange(np.prod(shape), dtype=np.float32).reshape(shape, order="F")
        img = nib.Nifti1Image(data, aff)
        canon = nib.as_closest_canonical(img)
        hdr = nib.Nifti1Header()
        hdr.set_qform(aff, code=1)
        cdata = np.asarray(canon.dataobj).reshape(-1, order="F")
        out.append({
            "axcodes": "".join(c if c is not None else "?" for c in nib.aff2axcodes(aff)),
            "canonical_affine": canon.affine.tolist(),
            "canonical_shape": list(canon.shape),
            "canonical_first": [float(v) for v in cdata[:8]],
            "canonical_last": float(cdata[-1]),
            "quat_bcd": [float(hdr["quatern_b"]), float(hdr["quatern_c"]), float(hdr["quatern_d"])],
            "qfac": float(hdr["pixdim"][0]),
            "zooms": [float(z) for z in hdr["pixdim"][1:4]],
            "qform": hdr.get_qform().tolist(),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

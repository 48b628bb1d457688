"""Reference segmentation metrics (numpy + scipy) for tests/integration/metrics-scipy.test.ts.

Usage: metrics_scipy.py <labels_dir> <out_dir> <case ids comma-separated>
       metrics_scipy.py --nifti <labels_dir> <out_dir> <case id>   (files for the CLI test)
Writes <out_dir>/<name>.pred.bin / .ref.bin (uint8, nibabel order = Fortran order of the array)
and prints one JSON document: a list of {name, shape, spacing, classes: {label: metrics}}.

Conventions (MONAI): surface = mask & ~binary_erosion(mask, 6-connectivity, border_value=0);
directed distances A->B = distance_transform_edt(~surfB, sampling=spacing)[surfA];
HD95 = max of the two directed 95th percentiles (numpy linear); HD = max; ASSD = mean of the
concatenated directed sets. Both empty: Dice 1, distances 0. One empty: Dice 0, distances None.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage

STRUCT = ndimage.generate_binary_structure(3, 1)


def surface(m):
    return m & ~ndimage.binary_erosion(m, structure=STRUCT, border_value=0)


def class_metrics(pred, ref, c, spacing):
    p = pred == c
    r = ref == c
    ps, rs = int(p.sum()), int(r.sum())
    tp = int((p & r).sum())
    vox = float(np.prod(spacing))
    out = {"predVoxels": ps, "refVoxels": rs, "tp": tp,
           "predVolumeMm3": ps * vox, "refVolumeMm3": rs * vox}
    if ps == 0 and rs == 0:
        out.update(dice=1.0, iou=1.0, hd95=0.0, hd=0.0, assd=0.0, empty="both")
        return out
    out["dice"] = 2.0 * tp / (ps + rs)
    out["iou"] = tp / (ps + rs - tp)
    if ps == 0 or rs == 0:
        out.update(hd95=None, hd=None, assd=None, empty="pred" if ps == 0 else "ref")
        return out
    sp, sr = surface(p), surface(r)
    d_p2r = ndimage.distance_transform_edt(~sr, sampling=spacing)[sp]
    d_r2p = ndimage.distance_transform_edt(~sp, sampling=spacing)[sr]
    out["hd95"] = float(max(np.percentile(d_p2r, 95), np.percentile(d_r2p, 95)))
    out["hd"] = float(max(d_p2r.max(), d_r2p.max()))
    out["assd"] = float(np.concatenate([d_p2r, d_r2p]).mean())
    out["empty"] = "none"
    return out


def shift(a, offset):
    """Shift without wrap-around (vacated voxels become background)."""
    return ndimage.shift(a, offset, order=0, mode="constant", cval=0)


def perturbations(ref):
    ball = STRUCT
    fg = ref > 0
    out = {"identity": ref.copy()}
    e = ref.copy()
    e[(ref == 1) & ~ndimage.binary_erosion(ref == 1, ball)] = 0
    out["erode1"] = e
    d = ref.copy()
    d[ndimage.binary_dilation(ref == 2, ball, iterations=2) & (ref == 0)] = 2
    out["dilate2x2"] = d
    out["shift100"] = shift(ref, (1, 0, 0))
    out["shift021"] = shift(ref, (0, 2, -1))
    rm = ref.copy()
    rm[rm == 2] = 0
    out["remove2"] = rm
    # whole foreground eroded then relabelled: affects both classes at once
    both = ref.copy()
    both[~ndimage.binary_erosion(fg, ball)] = 0
    out["erodeAll"] = both
    return out


def synthetic():
    """Edge cases: both empty, one empty, single voxel, masks touching the volume border."""
    shp = (9, 7, 5)
    z = np.zeros(shp, np.uint8)
    cases = {}
    cases["bothEmpty"] = (z.copy(), z.copy())
    a = z.copy(); a[2:5, 2:4, 1:3] = 1
    cases["predEmpty"] = (z.copy(), a.copy())
    cases["refEmpty"] = (a.copy(), z.copy())
    s1 = z.copy(); s1[4, 3, 2] = 1
    s2 = z.copy(); s2[6, 1, 4] = 1
    cases["singleVoxel"] = (s1, s2)
    cases["singleVoxelSame"] = (s1.copy(), s1.copy())
    b1 = z.copy(); b1[0:4, :, 0:2] = 1; b1[5:, 0:3, :] = 2
    b2 = z.copy(); b2[0:3, 1:, 0:3] = 1; b2[6:, 0:2, 1:] = 2
    cases["border"] = (b1, b2)
    full = np.ones(shp, np.uint8)
    cases["fullVsBorder"] = (full, b1.clip(0, 1))
    return cases


def nifti_mode(labels_dir, out_dir, cid):
    """Writes ref/pred .nii.gz with an anisotropic affine (1, 1.5, 3 mm) plus two misfits, prints metrics."""
    img = nib.load(os.path.join(labels_dir, cid + ".nii.gz"))
    ref = np.asarray(img.dataobj).round().astype(np.uint8)
    pred = shift(ref, (1, -1, 0))
    pred[ndimage.binary_dilation(pred == 1, STRUCT) & (pred == 0)] = 1
    spacing = (1.0, 1.5, 3.0)
    aff = np.diag(list(spacing) + [1.0])
    aff[:3, 3] = img.affine[:3, 3]
    nib.save(nib.Nifti1Image(ref, aff), os.path.join(out_dir, "ref.nii.gz"))
    nib.save(nib.Nifti1Image(pred, aff), os.path.join(out_dir, "pred.nii.gz"))
    moved = aff.copy()
    moved[0, 3] += 0.5
    nib.save(nib.Nifti1Image(pred, moved), os.path.join(out_dir, "pred_moved.nii.gz"))
    nib.save(nib.Nifti1Image(pred[:-1], aff), os.path.join(out_dir, "pred_cropped.nii.gz"))
    json.dump({"spacing": list(spacing), "classes": {str(c): class_metrics(pred, ref, c, spacing) for c in (1, 2)}}, sys.stdout)


def main():
    if sys.argv[1] == "--nifti":
        nifti_mode(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    labels_dir, out_dir, ids = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    results = []

    def emit(name, pred, ref, spacing, classes):
        pred = np.asarray(pred, np.uint8)
        ref = np.asarray(ref, np.uint8)
        pred.flatten(order="F").tofile(os.path.join(out_dir, name + ".pred.bin"))
        ref.flatten(order="F").tofile(os.path.join(out_dir, name + ".ref.bin"))
        results.append({
            "name": name, "shape": list(ref.shape), "spacing": list(spacing),
            "classes": {str(c): class_metrics(pred, ref, c, spacing) for c in classes},
        })

    for cid in ids:
        ref = np.asarray(nib.load(os.path.join(labels_dir, cid + ".nii.gz")).dataobj).round().astype(np.uint8)
        for pname, pred in perturbations(ref).items():
            for sname, spacing in (("iso", (1.0, 1.0, 1.0)), ("aniso", (1.0, 1.5, 3.0))):
                emit(f"{cid}.{pname}.{sname}", pred, ref, spacing, [1, 2])
    for name, (pred, ref) in synthetic().items():
        for sname, spacing in (("iso", (1.0, 1.0, 1.0)), ("aniso", (0.8, 1.5, 3.0))):
            emit(f"synthetic.{name}.{sname}", pred, ref, spacing, [1, 2])
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

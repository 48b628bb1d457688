"""Write a hippocampus label as an RGB24 NIfTI mask (schema colours), with a few blended pixels.

usage: make_rgb_mask.py <label.nii.gz> <out.nii> <#rrggbb for 0> <#rrggbb for 1> <#rrggbb for 2>
Prints the number of blended (off-palette) pixels.
"""
import sys
import nibabel as nib
import numpy as np

src, out, *colours = sys.argv[1:]
lab = nib.load(src)
data = np.asanyarray(lab.dataobj).astype(np.uint8)
pal = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=np.int32)
rgb = pal[data]
# Anti-aliased edge pixels: nudge 25 foreground pixels a little off their colour.
fg = np.argwhere(data > 0)[:25]
for i, j, k in fg:
    rgb[i, j, k] = np.clip(rgb[i, j, k] + np.array([9, -7, 5]), 0, 255)
rgb = rgb.astype(np.uint8)
struct = np.zeros(data.shape, dtype=[('R', 'u1'), ('G', 'u1'), ('B', 'u1')])
struct['R'], struct['G'], struct['B'] = rgb[..., 0], rgb[..., 1], rgb[..., 2]
img = nib.Nifti1Image(struct, lab.affine)
img.header.set_data_dtype(np.dtype([('R', 'u1'), ('G', 'u1'), ('B', 'u1')]))
nib.save(img, out)
print(len(fg))

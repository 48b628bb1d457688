#!/usr/bin/python3
"""Experiment data for experiments/{dad,partial-labels}.md (hippocampus, /work/shared/data/hippocampus).

Writes into OUT (default /tmp/segloop-exp/data):
  pool/{images,labels}         copies of the 152 pool cases (the importer skips symlinks) (splits.json)
  dev_test/{images,labels}     copies of the 40 dev_test cases
  siteA/{images,labels}        pool cases with an EVEN id; labels keep class 1 only (2 -> 0)
  siteB/{images,labels}        pool cases with an ODD id;  labels keep class 2 only (1 -> 0)
"""
import json, os, shutil, sys
import nibabel as nib
import numpy as np

SRC = '/work/shared/data/hippocampus'
OUT = sys.argv[1] if len(sys.argv) > 1 else '/tmp/segloop-exp/data'
splits = json.load(open(os.path.join(SRC, 'splits.json')))

def link(ids, name):
    for sub in ('images', 'labels'):
        d = os.path.join(OUT, name, sub)
        os.makedirs(d, exist_ok=True)
        for i in ids:
            dst = os.path.join(d, f'{i}.nii.gz')
            if not os.path.exists(dst):
                shutil.copyfile(os.path.join(SRC, sub, f'{i}.nii.gz'), dst)

link(splits['pool'], 'pool')
link(splits['dev_test'], 'dev_test')
num = lambda i: int(i.split('_')[1])
for site, keep, drop, par in (('siteA', 1, 2, 0), ('siteB', 2, 1, 1)):
    ids = [i for i in splits['pool'] if num(i) % 2 == par]
    os.makedirs(os.path.join(OUT, site, 'images'), exist_ok=True)
    os.makedirs(os.path.join(OUT, site, 'labels'), exist_ok=True)
    for i in ids:
        dst = os.path.join(OUT, site, 'images', f'{i}.nii.gz')
        if not os.path.exists(dst):
            shutil.copyfile(os.path.join(SRC, 'images', f'{i}.nii.gz'), dst)
        lab = nib.load(os.path.join(SRC, 'labels', f'{i}.nii.gz'))
        a = np.asarray(lab.dataobj).astype(np.uint8)
        a[a == drop] = 0
        nib.save(nib.Nifti1Image(a, lab.affine), os.path.join(OUT, site, 'labels', f'{i}.nii.gz'))
    print(site, len(ids), 'cases, keeps class', keep)
print('pool', len(splits['pool']), 'dev_test', len(splits['dev_test']))

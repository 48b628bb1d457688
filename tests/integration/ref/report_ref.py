"""Reference per-class metrics of the project files behind an evaluation report
(tests/integration/report-build.test.ts), read with nibabel and computed with numpy/scipy
(class_metrics from metrics_scipy.py: the MONAI conventions).

Usage: report_ref.py <json list of {"key", "pred", "ref", "classes"}>  -> JSON {key: {label: metrics}}
Spacing = nibabel's header zooms of the reference.
"""
import json
import os
import sys

import nibabel as nib
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics_scipy import class_metrics  # noqa: E402

out = {}
for item in json.loads(sys.argv[1]):
    ref_img = nib.load(item["ref"])
    ref = np.asarray(ref_img.dataobj).astype(np.int64)
    pred = np.asarray(nib.load(item["pred"]).dataobj).astype(np.int64)
    spacing = [float(z) for z in ref_img.header.get_zooms()[:3]]
    out[item["key"]] = {str(c): class_metrics(pred, ref, c, spacing) for c in item["classes"]}
print(json.dumps(out))

"""numpy reference for main/core/evaluation/aggregate.ts and compare.ts (tests/integration/metrics-aggregate.test.ts).

stdin: {"a": [case], "b": [case], "resamples": int, "seed": int, "worstN": int}
case = {"caseId", "patientId", "site", "classes": [{"label", "dice", "iou", "hd95", "hd", "assd", "refVolumeMm3", "refVoxels"}], "mean": {...}}
stdout: numpy summaries (std with ddof=1, percentiles 'linear'), tercile cuts, strata, worst-N and a
paired bootstrap whose index stream comes from a port of mulberry32 (the RNG is the only thing shared;
resampling, means and percentiles are numpy).
"""
import json
import sys

import numpy as np

KEYS = ["dice", "iou", "hd95", "hd", "assd"]
M32 = 0xFFFFFFFF


def mulberry32(seed):
    a = seed & M32

    def imul(x, y):
        return (x * y) & M32

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & M32
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296.0

    return nxt


def val(case, label, key):
    if label == "mean":
        return case["mean"][key]
    for c in case["classes"]:
        if c["label"] == label:
            return c[key]
    return None


def summ(xs):
    xs = np.array([x for x in xs if x is not None], float)
    if xs.size == 0:
        return {"n": 0, "mean": None, "median": None, "std": None}
    return {"n": int(xs.size), "mean": float(xs.mean()), "median": float(np.median(xs)),
            "std": float(xs.std(ddof=1)) if xs.size > 1 else None}


def main():
    inp = json.load(sys.stdin)
    a, b = inp["a"], inp["b"]
    labels = sorted({c["label"] for case in a for c in case["classes"]})
    keys = labels + ["mean"]
    out = {"overall": {str(l): {k: summ([val(c, l, k) for c in a]) for k in KEYS} for l in keys}}

    sizes = {}
    for l in labels:
        present = [c for c in a if (val(c, l, "refVoxels") or 0) > 0]
        vols = np.array([val(c, l, "refVolumeMm3") for c in present], float)
        c1, c2 = np.percentile(vols, [100 / 3, 200 / 3])
        sizes[str(l)] = {
            "cuts": [float(c1), float(c2)],
            "small": sorted(c["caseId"] for c, v in zip(present, vols) if v <= c1),
            "medium": sorted(c["caseId"] for c, v in zip(present, vols) if c1 < v <= c2),
            "large": sorted(c["caseId"] for c, v in zip(present, vols) if v > c2),
            "smallDice": summ([val(c, l, "dice") for c, v in zip(present, vols) if v <= c1]),
        }
    out["bySize"] = sizes
    sites = sorted({c["site"] for c in a})
    out["bySite"] = {s: {k: summ([val(c, "mean", k) for c in a if c["site"] == s]) for k in KEYS} for s in sites}
    pats = sorted({c["patientId"] for c in a})
    out["patients"] = {p: {k: summ([val(c, "mean", k) for c in a if c["patientId"] == p])["mean"] for k in KEYS} for p in pats}
    order = sorted(a, key=lambda c: (c["mean"]["dice"], c["caseId"]))
    out["worst"] = [c["caseId"] for c in order[: inp["worstN"]]]

    bmap = {c["caseId"]: c for c in b}
    ids = sorted(c["caseId"] for c in a if c["caseId"] in bmap)
    amap = {c["caseId"]: c for c in a}
    paired = {}
    for metric, higher in (("dice", True), ("hd95", False)):
        for by in ("case", "patient"):
            res = {}
            for l in keys:
                rows = [(amap[i]["patientId"], val(amap[i], l, metric), val(bmap[i], l, metric)) for i in ids]
                rows = [r for r in rows if r[1] is not None and r[2] is not None]
                d = np.array([r[2] - r[1] for r in rows], float)
                better = d > 0 if higher else d < 0
                tie = np.abs(d) <= 1e-12
                if by == "case":
                    clusters = [[x] for x in d]
                else:
                    groups = sorted({r[0] for r in rows})
                    clusters = [[x for r, x in zip(rows, d) if r[0] == g] for g in groups]
                rng = mulberry32(inp["seed"])
                k = len(clusters)
                stats = np.empty(inp["resamples"])
                for r in range(inp["resamples"]):
                    picks = [int(np.floor(rng() * k)) for _ in range(k)]
                    allv = np.concatenate([clusters[p] for p in picks])
                    stats[r] = allv.mean()
                lo, hi = np.percentile(stats, [2.5, 97.5])
                res[str(l)] = {"n": len(rows), "meanDiff": float(d.mean()), "ci": [float(lo), float(hi)],
                               "wins": int((better & ~tie).sum()), "losses": int((~better & ~tie).sum()), "ties": int(tie.sum())}
            paired[f"{metric}.{by}"] = res
    out["paired"] = paired
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

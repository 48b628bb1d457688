"""Independent PyTorch reference for losses.ts. Reads a JSON case on stdin:
{logits: [B,N,K] nested, target: [B,N] ints, labelled: [B,K] or null, weights: [K] or null,
 partial: 'merge'|'exclude', batch_dice: bool, include_bg: bool, smooth: float}
and prints {total, ce, dice} (dice = 1 - mean Dice)."""
import json
import sys

import torch
import torch.nn.functional as F

c = json.load(sys.stdin)
x = torch.tensor(c["logits"], dtype=torch.float64)  # B,N,K
t = torch.tensor(c["target"], dtype=torch.long)  # B,N
B, N, K = x.shape
m = torch.ones(B, K, dtype=torch.float64) if c["labelled"] is None else torch.tensor(c["labelled"], dtype=torch.float64)
m[:, 0] = 1
w = torch.ones(K, dtype=torch.float64) if c["weights"] is None else torch.tensor(c["weights"], dtype=torch.float64)
y = F.one_hot(t, K).double()
if c["partial"] == "merge":
    p = torch.softmax(x, -1)
    pe = torch.zeros_like(p)
    ye = torch.zeros_like(y)
    for b in range(B):
        for k in range(K):
            dst = k if m[b, k] == 1 else 0
            pe[b, :, dst] += p[b, :, k]
            ye[b, :, dst] += y[b, :, k]
else:
    xm = x.clone()
    for b in range(B):
        for k in range(K):
            if m[b, k] == 0:
                xm[b, :, k] = -float("inf")
    pe = torch.softmax(xm, -1)
    ye = y * m[:, None, :]
if m.min() == 1 and c["partial"] == "merge":
    # Fully labelled: must equal torch's own weighted cross-entropy.
    ce = F.cross_entropy(x.reshape(-1, K), t.reshape(-1), weight=w)
else:
    logp = torch.log(pe.clamp_min(1e-300))
    yw = ye * w
    ce = -(yw * logp * m[:, None, :]).sum() / yw.sum()
s = c["smooth"]
if c["batch_dice"]:
    inter = (pe * ye).sum((0, 1)); den = pe.sum((0, 1)) + ye.sum((0, 1))
    dm = m.max(0).values
else:
    inter = (pe * ye).sum(1); den = pe.sum(1) + ye.sum(1)
    dm = m.clone()
dice = (2 * inter + s) / (den + s)
if not c["include_bg"]:
    dm = dm.clone(); dm[..., 0] = 0
mean_dice = (dice * dm).sum() / dm.sum().clamp_min(1)
print(json.dumps({"ce": ce.item(), "dice": 1 - mean_dice.item(), "total": ce.item() + 1 - mean_dice.item()}))

"""PyTorch twin of main/core/ml/models/unet.ts (every registered variant: plain / residual blocks,
attention gates, 2D / 3D, transposed-conv up-sampling, max pooling, instance norm with affine,
leaky ReLU 0.01, conv bias) and of the trainer's default loss (losses.ts: cross-entropy + 1 - mean
per-sample soft Dice over the foreground classes, smooth 1e-5), driven step by step over
stdin/stdout so the benchmark can alternate our step and this one (ABAB) in one time window.

One JSON object per line in, one per line out:
  {"cmd": "build", "arch": "unet3d", "dims": 3, "shape": [40, 56, 40], "batch": 2, "classes": 3,
   "depth": 4, "width": 16, "threads": 2}      -> {"params": n, "threads": t, "interop": i, "torch": v}
  {"cmd": "step", "mode": "train" | "infer"}  -> {"ms": wall ms, "cpu_ms": process CPU ms}
  {"cmd": "quit"}
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, dims, cin, classes, depth, base, residual, attention, max_width=320):
        super().__init__()
        self.dims, self.residual, self.attention = dims, residual, attention
        Conv = nn.Conv3d if dims == 3 else nn.Conv2d
        ConvT = nn.ConvTranspose3d if dims == 3 else nn.ConvTranspose2d
        Norm = nn.InstanceNorm3d if dims == 3 else nn.InstanceNorm2d
        self.Conv, self.Norm = Conv, Norm
        w = [min(base * 2 ** l, max_width) for l in range(depth)]
        self.w = w
        self.enc = nn.ModuleList([self.block(cin if l == 0 else w[l - 1], w[l]) for l in range(depth)])
        self.pool = nn.MaxPool3d(2) if dims == 3 else nn.MaxPool2d(2)
        self.up = nn.ModuleList([ConvT(w[l + 1], w[l], 2, stride=2) for l in range(depth - 1)])
        self.gates = nn.ModuleList([self.gate(w[l]) for l in range(depth - 1)]) if attention else None
        self.dec = nn.ModuleList([self.block(2 * w[l], w[l]) for l in range(depth - 1)])
        self.head = Conv(w[0], classes, 1)

    def block(self, cin, cout):
        m = nn.ModuleDict({
            "c1": self.Conv(cin, cout, 3, padding=1), "n1": self.Norm(cout, affine=True),
            "c2": self.Conv(cout, cout, 3, padding=1), "n2": self.Norm(cout, affine=True),
        })
        if self.residual and cin != cout:
            m["sc"] = self.Conv(cin, cout, 1)
            m["sn"] = self.Norm(cout, affine=True)
        return m

    def gate(self, f):
        inter = max(1, f // 2)
        return nn.ModuleDict({
            "wg": self.Conv(f, inter, 1), "ng": self.Norm(inter, affine=True),
            "wx": self.Conv(f, inter, 1), "nx": self.Norm(inter, affine=True),
            "psi": self.Conv(inter, 1, 1), "np": self.Norm(1, affine=True),
        })

    def run_block(self, m, x):
        y = F.leaky_relu(m["n1"](m["c1"](x)), 0.01)
        y = m["n2"](m["c2"](y))
        if self.residual:
            y = y + (m["sn"](m["sc"](x)) if "sc" in m else x)
        return F.leaky_relu(y, 0.01)

    def forward(self, x):
        skips = []
        h = x
        for l, b in enumerate(self.enc):
            if l > 0:
                h = self.pool(h)
            h = self.run_block(b, h)
            skips.append(h)
        for l in range(len(self.dec) - 1, -1, -1):
            u = self.up[l](h)
            s = skips[l]
            if self.attention:
                g = self.gates[l]
                a = F.relu(g["ng"](g["wg"](u)) + g["nx"](g["wx"](s)))
                s = s * torch.sigmoid(g["np"](g["psi"](a)))
            h = self.run_block(self.dec[l], torch.cat([s, u], 1))
        return self.head(h)


def dice_ce(logits, target, K, smooth=1e-5):
    ce = F.cross_entropy(logits, target)
    p = torch.softmax(logits, 1)
    y = F.one_hot(target, K).movedim(-1, 1).to(p.dtype)
    axes = tuple(range(2, p.dim()))
    inter = (p * y).sum(axes)
    den = p.sum(axes) + y.sum(axes)
    dice = (2 * inter + smooth) / (den + smooth)
    return ce + 1 - dice[:, 1:].mean()


def main():
    net = opt = x = y = None
    K = 0
    for line in sys.stdin:
        c = json.loads(line)
        if c["cmd"] == "quit":
            break
        if c["cmd"] == "build":
            torch.set_num_threads(int(c["threads"]))
            torch.manual_seed(7)
            arch = c["arch"]
            K = int(c["classes"])
            net = Net(int(c["dims"]), 1, K, int(c["depth"]), int(c["width"]), arch in ("resunet", "attention-resunet"), arch in ("attention-unet", "attention-resunet"))
            opt = torch.optim.Adam(net.parameters(), 1e-3)
            # Our tensors are [B, Z, Y, X, C] for a patch (X, Y, Z); torch's are [B, C, Z, Y, X].
            spatial = list(reversed(c["shape"]))
            x = torch.randn(int(c["batch"]), 1, *spatial)
            y = torch.randint(0, K, (int(c["batch"]), *spatial))
            out = {"params": sum(p.numel() for p in net.parameters()), "threads": torch.get_num_threads(),
                   "interop": torch.get_num_interop_threads(), "torch": torch.__version__}
        else:
            t0, c0 = time.perf_counter(), time.process_time()
            if c["mode"] == "train":
                net.train()
                opt.zero_grad(set_to_none=True)
                loss = dice_ce(net(x), y, K)
                loss.backward()
                opt.step()
                float(loss)
            else:
                net.eval()
                with torch.no_grad():
                    float(torch.softmax(net(x), 1).sum())
            out = {"ms": (time.perf_counter() - t0) * 1000, "cpu_ms": (time.process_time() - c0) * 1000}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

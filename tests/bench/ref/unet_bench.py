"""PyTorch CPU reference for tests/bench: the same U-Net as tests/bench/unet-bench-model.ts.

usage: unet_bench.py --dims 3 --shape 40 56 40 --batch 2 --mode train|infer --warmup 3 --steps 10
Prints one JSON line: {"ms": [...], "median": m, "params": n, "threads": t}.
"""
import argparse, json, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dims, cin, cout, stride):
        super().__init__()
        Conv = nn.Conv3d if dims == 3 else nn.Conv2d
        Norm = nn.InstanceNorm3d if dims == 3 else nn.InstanceNorm2d
        self.c1 = Conv(cin, cout, 3, stride=stride, padding=1)
        self.n1 = Norm(cout, affine=True, eps=1e-5)
        self.c2 = Conv(cout, cout, 3, padding=1)
        self.n2 = Norm(cout, affine=True, eps=1e-5)

    def forward(self, x):
        x = F.leaky_relu(self.n1(self.c1(x)), 0.01)
        return F.leaky_relu(self.n2(self.c2(x)), 0.01)


class UNet(nn.Module):
    def __init__(self, dims, cin, classes, widths):
        super().__init__()
        ConvT = nn.ConvTranspose3d if dims == 3 else nn.ConvTranspose2d
        Conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.enc = nn.ModuleList()
        c = cin
        for i, w in enumerate(widths):
            self.enc.append(Block(dims, c, w, 1 if i == 0 else 2))
            c = w
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for l in range(len(widths) - 2, -1, -1):
            self.up.append(ConvT(widths[l + 1], widths[l], 2, stride=2))
            self.dec.append(Block(dims, 2 * widths[l], widths[l], 1))
        self.head = Conv(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for b in self.enc:
            x = b(x)
            skips.append(x)
        for i, (u, d) in enumerate(zip(self.up, self.dec)):
            x = d(torch.cat([u(x), skips[-2 - i]], 1))
        return self.head(x)


def dice_ce(logits, onehot):
    spatial = tuple(range(2, logits.dim()))
    logp = F.log_softmax(logits, 1)
    ce = -(onehot * logp).sum(1).mean()
    p = logp.exp()
    inter = (p * onehot).sum(spatial)
    denom = p.sum(spatial) + onehot.sum(spatial)
    dice = (2 * inter + 1e-5) / (denom + 1e-5)
    return ce + (1 - dice[:, 1:].mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dims', type=int, default=3)
    ap.add_argument('--shape', type=int, nargs='+', default=[40, 56, 40])
    ap.add_argument('--batch', type=int, default=2)
    ap.add_argument('--classes', type=int, default=3)
    ap.add_argument('--mode', default='train')
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--threads', type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = UNet(a.dims, 1, a.classes, [16, 32, 64, 128])
    x = torch.randn(a.batch, 1, *a.shape)
    lab = torch.randint(0, a.classes, (a.batch, *a.shape))
    onehot = F.one_hot(lab, a.classes).movedim(-1, 1).float()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        if a.mode == 'train':
            net.train()
            opt.zero_grad()
            loss = dice_ce(net(x), onehot)
            loss.backward()
            opt.step()
            loss.item()
        else:
            net.eval()
            with torch.no_grad():
                net(x).softmax(1).sum().item()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({'ms': times, 'median': statistics.median(times),
                      'params': sum(p.numel() for p in net.parameters()), 'threads': torch.get_num_threads()}))


if __name__ == '__main__':
    main()

"""PyTorch twin of models/unet.ts (plain blocks, transposed-conv up-sampling, max pooling,
instance norm with affine, conv bias on). Prints the parameter count as JSON for the test:
  python3 unet3d_reference.py <depth> <base_width> <in_channels> <num_classes>
"""
import json
import sys

import torch.nn as nn


def block(cin, cout):
    return nn.Sequential(
        nn.Conv3d(cin, cout, 3, padding=1, bias=True), nn.InstanceNorm3d(cout, affine=True), nn.LeakyReLU(0.01),
        nn.Conv3d(cout, cout, 3, padding=1, bias=True), nn.InstanceNorm3d(cout, affine=True), nn.LeakyReLU(0.01),
    )


class UNet3D(nn.Module):
    def __init__(self, depth, base, cin, classes, max_width=320):
        super().__init__()
        w = [min(base * 2 ** l, max_width) for l in range(depth)]
        self.enc = nn.ModuleList([block(cin if l == 0 else w[l - 1], w[l]) for l in range(depth)])
        self.pool = nn.MaxPool3d(2)
        self.up = nn.ModuleList([nn.ConvTranspose3d(w[l + 1], w[l], 2, stride=2) for l in range(depth - 1)])
        self.dec = nn.ModuleList([block(2 * w[l], w[l]) for l in range(depth - 1)])
        self.head = nn.Conv3d(w[0], classes, 1)


if __name__ == "__main__":
    depth, base, cin, classes = (int(a) for a in sys.argv[1:5])
    m = UNet3D(depth, base, cin, classes)
    print(json.dumps({"params": sum(p.numel() for p in m.parameters())}))

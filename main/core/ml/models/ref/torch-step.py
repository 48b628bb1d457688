import sys, time, torch, importlib.util
sys.path.insert(0, __import__('os').path.dirname(__file__))
from unet3d_reference import UNet3D
torch.set_num_threads(2)
m = UNet3D(4, 16, 1, 3)
opt = torch.optim.Adam(m.parameters(), 1e-3)
x = torch.randn(2, 1, 40, 56, 40); y = (x[:, 0] > 1).long()
ts = []
for s in range(4):
    t0 = time.time()
    # forward
    skips = []; h = x
    for l, b in enumerate(m.enc):
        if l > 0: h = m.pool(h)
        h = b(h); skips.append(h)
    for l in range(len(m.dec) - 1, -1, -1):
        h = m.dec[l](torch.cat([skips[l], m.up[l](h)], 1))
    logits = m.head(h)
    loss = torch.nn.functional.cross_entropy(logits, y)
    opt.zero_grad(); loss.backward(); opt.step()
    ts.append(round((time.time() - t0) * 1000))
print(ts)

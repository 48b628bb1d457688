"""PyTorch (float64, CPU) references for tests/integration/kernels-*.test.ts.

usage: kernels_ref.py in.json out.json
in.json: {"cases": [{"op": ..., ...}]}; tensors are nested lists in tfjs layout (channels last;
conv filters [k.., in, out], transposed-conv filters [k.., out, in]). Every case returns the
forward value and the gradients of L = sum(y * r) with respect to each input, in tfjs layout.
'same' padding follows TensorFlow (extra row/column at the end), built with F.pad.
"""
import json, math, sys
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def to_cf(x, nd):  # channels-last -> channels-first
    return x.permute(0, nd + 1, *range(1, nd + 1))


def to_cl(x, nd):
    return x.permute(0, *range(2, nd + 2), 1)


def filt(w, nd):  # [k.., in, out] -> [out, in, k..]
    return w.permute(nd + 1, nd, *range(nd))


def tf_pad(x_cf, ks, strides, padding):
    if padding == 'valid':
        return x_cf
    pads = []
    for size, k, s in zip(x_cf.shape[2:], ks, strides):
        out = math.ceil(size / s)
        total = max((out - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    flat = []
    for before, after in reversed(pads):
        flat += [before, after]
    return F.pad(x_cf, flat)


def conv(x_cl, w, strides, padding, nd):
    ks = w.shape[:nd]
    xp = tf_pad(to_cf(x_cl, nd), ks, strides, padding)
    f = F.conv2d if nd == 2 else F.conv3d
    return to_cl(f(xp, filt(w, nd), stride=strides), nd)


def conv_transpose(x_cl, w, out_shape, strides, padding, nd):
    # Adjoint of conv with respect to its input, exactly as tfjs defines convNdTranspose: the
    # transposed-conv filter [k.., out, in] is the filter of that conv ([k.., in_conv, out_conv]).
    z = torch.zeros(out_shape, requires_grad=True)
    y = conv(z, w, strides, padding, nd)
    (g,) = torch.autograd.grad(y, z, grad_outputs=x_cl, create_graph=True)
    return g


def run(case):
    op = case['op']
    if op in ('conv2d', 'conv3d', 'conv2dTranspose', 'conv3dTranspose'):
        nd = 2 if '2d' in op else 3
        x, w, r = t(case['x']), t(case['w']), torch.tensor(case['r'])
        s = [case['stride']] * nd
        if op.endswith('Transpose'):
            y = conv_transpose(x, w, case['outShape'], s, case['pad'], nd)
        else:
            y = conv(x, w, s, case['pad'], nd)
        gx, gw = torch.autograd.grad((y * r).sum(), [x, w])
        return {'y': y.tolist(), 'dx': gx.tolist(), 'dw': gw.tolist()}
    if op in ('instanceNorm', 'batchNorm'):
        x, g, b, r = t(case['x']), t(case['gamma']), t(case['beta']), torch.tensor(case['r'])
        nd = x.dim() - 2
        xc = to_cf(x, nd)
        if op == 'instanceNorm':
            y = F.instance_norm(xc, weight=g, bias=b, eps=1e-5)
        else:
            y = F.batch_norm(xc, None, None, weight=g, bias=b, training=True, eps=1e-5)
        y = to_cl(y, nd)
        gx, gg, gb = torch.autograd.grad((y * r).sum(), [x, g, b])
        return {'y': y.tolist(), 'dx': gx.tolist(), 'dgamma': gg.tolist(), 'dbeta': gb.tolist()}
    if op == 'rank5':
        x = np.asarray(case['x'], dtype=np.float64)
        b, sz = case['begin'], case['size']
        sl = tuple(slice(bi, bi + si) for bi, si in zip(b, sz))
        return {
            'slice': x[sl].tolist(),
            'sum': {k: x.sum(axis=tuple(ax)).tolist() for k, ax in case['sumAxes'].items()},
            'mean': {k: x.mean(axis=tuple(ax)).tolist() for k, ax in case['sumAxes'].items()},
            'transpose': np.transpose(x, case['perm']).tolist(),
            'tile': np.tile(x, case['reps']).tolist(),
            'split': [a.tolist() for a in np.split(x, np.cumsum(case['splitSizes'])[:-1], axis=case['splitAxis'])],
        }
    raise ValueError(op)


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)['cases']
    with open(sys.argv[2], 'w') as f:
        json.dump({'results': [run(c) for c in cases]}, f)


if __name__ == '__main__':
    main()

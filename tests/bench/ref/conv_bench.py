"""PyTorch side of tests/bench/bench-conv.ts: times one 3D convolution kernel per request.

Protocol: one JSON object per line on stdin, one per line on stdout.
  {"cmd": "setup", "threads": 2, "layers": [{"x": [N,C,D,H,W], "w": [...], "stride": s,
   "padding": p, "transposed": bool}, ...]}           -> {"torch": version, "threads": t, "interop": i}
  {"cmd": "run", "layer": i, "kernel": "fwd"|"dW"|"dX"} -> {"ms": wall ms, "cpuMs": process CPU ms of that one call}
fwd is aten.convolution; dW / dX are aten.convolution_backward with the output mask of that one
gradient: the very calls autograd makes for torch.nn.functional.conv3d / conv_transpose3d.
"""
import json
import sys
import time

import torch


def main():
    layers = []
    for line in sys.stdin:
        c = json.loads(line)
        if c["cmd"] == "setup":
            torch.set_num_threads(int(c["threads"]))
            g = torch.Generator().manual_seed(7)
            layers = []
            for spec in c["layers"]:
                x = torch.randn(spec["x"], generator=g)
                w = torch.randn(spec["w"], generator=g) * 0.1
                s, p, t = [spec["stride"]] * 3, [spec["padding"]] * 3, bool(spec["transposed"])
                with torch.no_grad():
                    y = torch.ops.aten.convolution(x, w, None, s, p, [1, 1, 1], t, [0, 0, 0], 1)
                layers.append((x, w, torch.randn(y.shape, generator=g), s, p, t))
            out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "interop": torch.get_num_interop_threads()}
        elif c["cmd"] == "run":
            x, w, gy, s, p, t = layers[int(c["layer"])]
            k = c["kernel"]
            with torch.no_grad():
                t0, c0 = time.perf_counter(), time.process_time()
                if k == "fwd":
                    r = torch.ops.aten.convolution(x, w, None, s, p, [1, 1, 1], t, [0, 0, 0], 1)
                else:
                    mask = [k == "dX", False, k == "dW"]
                    r = torch.ops.aten.convolution_backward(gy, x, w, None, s, p, [1, 1, 1], t, [0, 0, 0], 1, mask)
                ms = (time.perf_counter() - t0) * 1000
                cpu = (time.process_time() - c0) * 1000
            del r
            out = {"ms": ms, "cpuMs": cpu}
        else:
            out = {"error": "unknown cmd"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

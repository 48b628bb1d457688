// npm run bench:train -- [--rounds 6] [--warmup 2] [--threads 2] [--arch all|unet3d,unet2d,resunet,attention-unet] [--plain]
// ms per training step of the shipped networks (model registry + the trainer's own step) against
// their PyTorch twin, alternating in one run; --plain adds the layers-wrapper overhead row.
import { runBench } from './unet-bench-harness';

await runBench('train');
// The threaded wasm build's worker threads keep Node alive; a benchmark is done when it has printed.
process.exit(0);

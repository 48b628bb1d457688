// npm run bench:train -- [--steps 8] [--warmup 2] [--threads 2] [--only 2D|3D]
// ms per training step (Adam, Dice+CE) of the same U-Net: ours on the best backend vs CPU PyTorch.
import { runBench } from './unet-bench-harness';

await runBench('train');
// The threaded wasm build's worker threads keep Node alive; a benchmark is done when it has printed.
process.exit(0);

// npm run bench:infer -- [--steps 10] [--warmup 2] [--threads 2] [--only 2D|3D]
// ms per forward pass (softmax probabilities) of the same U-Net: ours vs CPU PyTorch.
import { runBench } from './unet-bench-harness';

await runBench('infer');
// The threaded wasm build's worker threads keep Node alive; a benchmark is done when it has printed.
process.exit(0);

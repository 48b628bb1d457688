// npm run bench:infer -- [--rounds 8] [--warmup 2] [--threads 2] [--arch all|unet3d,unet2d,resunet,attention-unet] [--plain]
// ms per forward pass (softmax probabilities) of the shipped networks against their PyTorch twin.
import { runBench } from './unet-bench-harness';

await runBench('infer');
// The threaded wasm build's worker threads keep Node alive; a benchmark is done when it has printed.
process.exit(0);

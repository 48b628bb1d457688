// The production worker process: `train` and `predict`. node-compat must load before any
// tfjs module, hence the dynamic imports.
import './node-compat';

const { runWorkerMain } = await import('./worker-main');
const { runTraining } = await import('../ml/trainer');
const { runPrediction } = await import('../ml/inference/predict-task');

runWorkerMain({ train: runTraining, predict: runPrediction });

// The production worker process: `train` and `predict`. Gradients are registered by
// @tensorflow/tfjs-layers (imported by losses.ts), which works under plain Node and tsx alike.
import { runWorkerMain } from './worker-main';
import { runTraining } from '../ml/trainer';
import { runPrediction } from '../ml/inference/predict-task';
import { runAlScoring } from '../active-learning/score-task';

runWorkerMain({ train: runTraining, predict: runPrediction, 'al-score': runAlScoring });

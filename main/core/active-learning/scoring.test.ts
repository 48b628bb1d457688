// Every scoring function against a numpy/scipy reference on probability maps made from a real
// hippocampus label (smoothed one-hot -> softmax; samples = the same with the label shifted by
// one voxel along each axis and with different smoothing, as TTA/MC members disagree at borders).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNifti } from '../imaging/nifti';
import type { ProbMap } from '../ml/inference/sliding-window';
import { HIPPOCAMPUS } from '../../../tests/data-root';
import { getScoringFunction, listScoringFunctions } from './scoring';

function probsFromLabel(lab: Uint8Array, shape: [number, number, number], K: number, shift: [number, number, number], temp: number): ProbMap {
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  const logits = new Float32Array(n * K);
  // Box-smoothed one-hot (3x3x3) of the shifted label, scaled by temp.
  for (let k = 0; k < Z; k++) for (let j = 0; j < Y; j++) for (let i = 0; i < X; i++) {
    const v = i + X * (j + Y * k);
    for (let dk = -1; dk <= 1; dk++) for (let dj = -1; dj <= 1; dj++) for (let di = -1; di <= 1; di++) {
      const a = Math.min(X - 1, Math.max(0, i + di - shift[0]));
      const b = Math.min(Y - 1, Math.max(0, j + dj - shift[1]));
      const c = Math.min(Z - 1, Math.max(0, k + dk - shift[2]));
      logits[v * K + lab[a + X * (b + Y * c)]] += temp / 27;
    }
  }
  const data = new Float32Array(n * K);
  for (let v = 0; v < n; v++) {
    let m = -Infinity;
    for (let c = 0; c < K; c++) m = Math.max(m, logits[v * K + c]);
    let s = 0;
    for (let c = 0; c < K; c++) s += Math.exp(logits[v * K + c] - m);
    for (let c = 0; c < K; c++) data[v * K + c] = Math.exp(logits[v * K + c] - m) / s;
  }
  return { shape, numClasses: K, data };
}

const PY = String.raw`
import sys, json, numpy as np
from scipy import ndimage
d, X, Y, Z, K, S = sys.argv[1], *map(int, sys.argv[2:7])
def load(name): return np.fromfile(f'{d}/{name}', dtype=np.float32).astype(np.float64).reshape(-1, K)
mean = load('mean.bin'); samples = np.stack([load(f's{i}.bin') for i in range(S)])
def H(p): return -(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0)).sum(-1)
lab = mean.argmax(-1)
fg = (lab > 0).reshape(Z, Y, X)
region = ndimage.maximum_filter(fg.astype(np.uint8), size=5, mode='constant').astype(bool).reshape(-1)
top = np.sort(mean, -1)
out = {
  'meanEntropy': H(mean).mean(),
  'foregroundEntropy': H(mean)[region].mean(),
  'meanTtaVariance': samples.var(0).mean(),
  'mcVariance': samples.var(0).mean(),
  'bald': (H(samples.mean(0)) - H(samples).mean(0)).mean(),
  'margin': 1 - (top[:, -1] - top[:, -2]).mean(),
  'ensembleDisagreement': (samples.argmax(-1) != lab[None]).mean(),
}
print(json.dumps(out))
`;

describe('scoring functions vs numpy', () => {
  it('match the reference on maps from a real hippocampus label', async () => {
    const v = await readNifti(path.join(HIPPOCAMPUS, 'labels', 'hippocampus_003.nii.gz'));
    const lab = Uint8Array.from(v.data, (x) => Math.round(x));
    const shape = [...v.shape] as [number, number, number];
    const K = 3;
    const samples = [
      probsFromLabel(lab, shape, K, [0, 0, 0], 4),
      probsFromLabel(lab, shape, K, [1, 0, 0], 3),
      probsFromLabel(lab, shape, K, [0, 1, 0], 5),
      probsFromLabel(lab, shape, K, [0, 0, 1], 2),
    ];
    // The mean map = the samples' mean, as TTA / MC / ensembles produce it.
    const mean: ProbMap = { shape, numClasses: K, data: new Float32Array(samples[0].data.length) };
    for (const s of samples) for (let i = 0; i < s.data.length; i++) mean.data[i] += s.data[i] / samples.length;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'al-score-ref-'));
    writeFileSync(path.join(dir, 'mean.bin'), Buffer.from(mean.data.buffer));
    samples.forEach((s, i) => writeFileSync(path.join(dir, `s${i}.bin`), Buffer.from(s.data.buffer)));
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', PY, dir, ...shape.map(String), String(K), String(samples.length)], { encoding: 'utf8' })) as Record<string, number>;
    const input = { mean, flips: samples, mc: samples, members: samples };
    expect(listScoringFunctions().map((f) => f.name).sort()).toEqual(Object.keys(ref).sort());
    for (const f of listScoringFunctions()) {
      const got = f.score(input, { margin: 2 });
      expect(ref[f.name], f.name).toBeGreaterThan(0);
      expect(Math.abs(got - ref[f.name]) / ref[f.name], `${f.name}: ${got} vs numpy ${ref[f.name]}`).toBeLessThan(1e-4);
    }
  }, 120_000);

  it('rejects missing samples with a clear error', () => {
    const p: ProbMap = { shape: [1, 1, 1], numClasses: 2, data: new Float32Array([0.5, 0.5]) };
    expect(() => getScoringFunction('bald').score({ mean: p })).toThrow(/needs at least 2 samples/);
    expect(() => getScoringFunction('nope')).toThrow(/Unknown scoring function/);
  });
});

// A deterministic slice of `npm run fuzz`: 600 mutated NIfTI/DICOM files from ../shared/data through
// the readers in a child process with a per-case timeout. Every case must read or fail with a typed
// SegloopError; none may crash, hang or push the reader's RSS past the stated bound.
import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz-runner';

describe('hostile files (fuzz slice, seed 7)', () => {
  it('600 cases: 0 untyped errors, 0 crashes, 0 hangs, RSS within the bound, and the mutations reach every refusal path', async () => {
    const s = await runFuzz({ cases: 600, seed: 7, timeoutMs: 60_000 });
    expect(s.failures).toEqual([]);
    expect(s.cases).toBe(600);
    expect(s.untyped + s.crashes + s.hangs).toBe(0);
    expect(s.peakRssMiB).toBeLessThanOrEqual(s.rssBoundMiB);
    // the slice is only worth something if it reaches the paths it is meant to test
    for (const code of ['NIFTI_TRUNCATED', 'NOT_NIFTI', 'IMAGE_TOO_LARGE', 'NIFTI_UNSUPPORTED', 'DICOM_INVALID']) expect(s.codes[code] ?? 0).toBeGreaterThan(0);
    expect(s.ok).toBeGreaterThan(50);
    expect(Object.keys(s.mutations).some((k) => k.startsWith('nifti/bomb'))).toBe(true);
    expect(Object.keys(s.mutations).some((k) => k.startsWith('dicom-series/'))).toBe(true);
  }, 600_000);

  it('the runner itself records a crash and a hang and goes on in a fresh child', async () => {
    const s = await runFuzz({ cases: 8, seed: 7, timeoutMs: 5_000, env: { SEGLOOP_FUZZ_SELFTEST: 'crash@2,hang@5' } });
    expect(s.cases).toBe(8);
    expect(s.crashes).toBe(1);
    expect(s.hangs).toBe(1);
    expect(s.failures.map((f) => [f.index, f.kind])).toEqual([
      [2, 'crash'],
      [5, 'hang'],
    ]);
    expect(s.ok + s.typed).toBe(6);
  }, 300_000);
});

import { describe, expect, it } from 'vitest';
import { assertNoPatientLeakage, splitByPatient } from './splits';

const items = Array.from({ length: 40 }, (_, i) => ({ id: `img${i}`, patientId: `p${Math.floor(i / 3)}` }));

describe('patient-grouped validation split', () => {
  it('never puts one patient on both sides, for many seeds, and hits the requested fraction roughly', () => {
    for (let seed = 0; seed < 50; seed++) {
      const { train, val } = splitByPatient(items, 0.2, seed);
      const tp = new Set(train.map((t) => t.patientId));
      expect(val.some((v) => tp.has(v.patientId))).toBe(false);
      expect(train.length + val.length).toBe(items.length);
      expect(val.length).toBeGreaterThanOrEqual(8);
      expect(val.length).toBeLessThanOrEqual(11);
    }
  });

  it('is reproducible from its seed', () => {
    expect(splitByPatient(items, 0.2, 5).val.map((v) => v.id)).toEqual(splitByPatient(items, 0.2, 5).val.map((v) => v.id));
  });

  it('keeps user-fixed val images in validation and their whole patient with them', () => {
    const fixed = items.map((it) => (it.id === 'img4' ? { ...it, fixed: 'val' as const } : it));
    const { val } = splitByPatient(fixed, 0.1, 1);
    expect(val.map((v) => v.id)).toEqual(expect.arrayContaining(['img3', 'img4', 'img5']));
  });

  it('fails with SPLIT_LEAKAGE when a patient is in both', () => {
    expect(() => assertNoPatientLeakage([{ id: 'a', patientId: 'P1' }], [{ id: 'b', patientId: 'P1' }])).toThrow(
      expect.objectContaining({ code: 'SPLIT_LEAKAGE', message: expect.stringMatching(/P1/) }),
    );
    const bad = [
      { id: 'a', patientId: 'P1', fixed: 'train' as const },
      { id: 'b', patientId: 'P1', fixed: 'val' as const },
      { id: 'c', patientId: 'P2' },
    ];
    expect(() => splitByPatient(bad, 0.3, 1)).toThrow(expect.objectContaining({ code: 'SPLIT_LEAKAGE' }));
  });

  it('refuses a split that leaves nothing to train on', () => {
    expect(() => splitByPatient([{ id: 'a', patientId: 'P', fixed: 'val' as const }], 0.2, 1)).toThrow(expect.objectContaining({ code: 'NO_TRAINING_DATA' }));
  });
});

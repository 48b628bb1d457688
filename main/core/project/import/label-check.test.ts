import { describe, expect, it } from 'vitest';
import { checkLabelVoxels } from './label-check';

describe('checkLabelVoxels', () => {
  it('accepts integer-valued float labels and converts them to uint8 with counts', () => {
    const r = checkLabelVoxels(new Float32Array([0, 1, 2, 2, 0]), 'l.nii', new Set([0, 1, 2]));
    expect([...r.voxels]).toEqual([0, 1, 2, 2, 0]);
    expect(r.values).toEqual([0, 1, 2]);
    expect(r.counts).toEqual({ 0: 2, 1: 1, 2: 2 });
  });

  it('rejects non-integer, negative and NaN values naming the file and voxel', () => {
    expect(() => checkLabelVoxels(new Float32Array([0, 1.5]), 'a.nii')).toThrow(/a\.nii: label voxel 1 has value 1\.5/);
    expect(() => checkLabelVoxels(new Int16Array([0, -1]), 'b.nii')).toThrow(expect.objectContaining({ code: 'LABEL_NOT_INTEGER' }));
    expect(() => checkLabelVoxels(new Float32Array([NaN]), 'c.nii')).toThrow(expect.objectContaining({ code: 'LABEL_NOT_INTEGER' }));
  });

  it('rejects values outside the schema and lists them', () => {
    expect(() => checkLabelVoxels(new Uint8Array([0, 1, 3, 7]), 'd.nii', new Set([0, 1, 2]))).toThrow(/values 3, 7 are not in the label schema/);
  });
});

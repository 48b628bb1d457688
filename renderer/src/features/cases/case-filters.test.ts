import { describe, expect, it } from 'vitest';
import { filterRows, sortRows } from './case-filters';

const rows = [
  { id: 'hippocampus_10', score: 0.2, split: 'pool' },
  { id: 'hippocampus_2', score: null, split: 'train' },
  { id: 'hippocampus_1', score: 0.9, split: 'pool' },
];

describe('case filters', () => {
  it('sorts ids naturally and keeps missing scores last in both directions', () => {
    expect(sortRows(rows, 'id', 'asc').map((r) => r.id)).toEqual(['hippocampus_1', 'hippocampus_2', 'hippocampus_10']);
    expect(sortRows(rows, 'score', 'desc').map((r) => r.score)).toEqual([0.9, 0.2, null]);
    expect(sortRows(rows, 'score', 'asc').map((r) => r.score)).toEqual([0.2, 0.9, null]);
  });

  it('filters case-insensitively on the given keys only', () => {
    expect(filterRows(rows, 'TRAIN', ['split']).map((r) => r.id)).toEqual(['hippocampus_2']);
    expect(filterRows(rows, 'train', ['id'])).toEqual([]);
    expect(filterRows(rows, '  ', ['id'])).toHaveLength(3);
  });
});

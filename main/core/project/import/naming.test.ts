import { describe, expect, it } from 'vitest';
import { isNiftiFile, matchLabels, patientIdFromName, stemOf } from './naming';

describe('import naming', () => {
  it('recognises NIfTI files and strips their suffixes', () => {
    expect(isNiftiFile('x/Case.NII.GZ')).toBe(true);
    expect(isNiftiFile('x/case.img')).toBe(false);
    expect(stemOf('/a/hippocampus_003.nii.gz')).toBe('hippocampus_003');
    expect(stemOf('pair.hdr')).toBe('pair');
  });

  it('matches labels by name, tolerating nnU-Net channel and _seg suffixes, and reports leftovers', () => {
    const { byImage, unmatchedLabels, ambiguous } = matchLabels(
      ['i/a.nii.gz', 'i/b_0000.nii.gz', 'i/c.nii.gz', 'i/d.nii'],
      ['l/a.nii.gz', 'l/b.nii.gz', 'l/z.nii.gz', 'l/d_seg.nii', 'l/d_mask.nii'],
    );
    expect(byImage.get('i/a.nii.gz')).toBe('l/a.nii.gz');
    expect(byImage.get('i/b_0000.nii.gz')).toBe('l/b.nii.gz');
    expect(byImage.has('i/c.nii.gz')).toBe(false);
    expect(ambiguous).toEqual(['i/d.nii']);
    expect(unmatchedLabels).toEqual(['l/z.nii.gz']);
  });

  it('derives patient ids from a pattern, or the stem', () => {
    expect(patientIdFromName('sub-01_ses-2_T1w', '^(sub-[0-9]+)')).toBe('sub-01');
    expect(patientIdFromName('case_0000')).toBe('case');
    expect(() => patientIdFromName('x', '^(y)')).toThrow(/does not match/);
    expect(() => patientIdFromName('x', '(')).toThrow(/not a valid regular expression/);
  });
});

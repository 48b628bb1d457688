import { describe, expect, it } from 'vitest';
import { SegloopError, isErrorCode, toErrorData } from './errors';

describe('errors', () => {
  it('round-trips a SegloopError through its data form', () => {
    const e = new SegloopError('NOT_NIFTI', 'x.nii: bad magic', { file: 'x.nii' });
    const back = SegloopError.fromData(JSON.parse(JSON.stringify(e.toData())));
    expect(back.code).toBe('NOT_NIFTI');
    expect(back.message).toBe('x.nii: bad magic');
    expect(back.details).toEqual({ file: 'x.nii' });
  });

  it('maps a full disk to DISK_FULL and unknown errors to INTERNAL_ERROR', () => {
    expect(toErrorData(Object.assign(new Error('no space'), { code: 'ENOSPC' })).code).toBe('DISK_FULL');
    expect(toErrorData(new Error('boom'))).toEqual({ code: 'INTERNAL_ERROR', message: 'boom' });
    expect(isErrorCode('NOT_NIFTI')).toBe(true);
    expect(isErrorCode('nope')).toBe(false);
  });
});

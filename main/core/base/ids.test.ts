import { describe, expect, it } from 'vitest';
import { idFromString, parseDbId, parseIdList } from './ids';

describe('integer ids', () => {
  it('reads positive decimal integers and nothing else', () => {
    expect(idFromString('1')).toBe(1);
    expect(idFromString('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    for (const bad of ['', '0', '07', '-1', '+1', '1.0', '1e3', '0x10', ' 3', '3 ', '9007199254740993', '12345678901234567', 'abc']) {
      expect(idFromString(bad), bad).toBeNull();
    }
  });

  it('reports a malformed wire id with the entity not-found code', () => {
    expect(parseDbId('42', 'IMAGE_NOT_FOUND', 'image')).toBe(42);
    expect(() => parseDbId('x; DROP', 'IMAGE_NOT_FOUND', 'image')).toThrow(
      expect.objectContaining({ code: 'IMAGE_NOT_FOUND', message: 'There is no image with id "x; DROP".', details: { id: 'x; DROP' } }),
    );
  });

  it('parses command-line lists, trimming around commas, and names the flag when one is wrong', () => {
    expect(parseIdList('images', undefined)).toBeUndefined();
    expect(parseIdList('images', '3, 5,8')).toEqual([3, 5, 8]);
    expect(() => parseIdList('images', '3,,5')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/--images/) }));
    expect(() => parseIdList('model', '1e3')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

import { describe, expect, it } from 'vitest';
import { ERROR_CODES, SegloopError } from './errors';
import { USER_MESSAGES, errorText, userMessage } from './error-messages';

describe('user messages', () => {
  it('has one sentence for every error code and none for codes that do not exist', () => {
    expect(Object.keys(USER_MESSAGES).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) expect(USER_MESSAGES[code], code).toMatch(/^[A-Z].{10,}[.)]$/);
  });

  it('gives the state codes of the model registry their own advice, not the generic one', () => {
    for (const code of ['ALREADY_PROMOTED', 'NOTHING_TO_ROLL_BACK', 'ROLLBACK_NOT_EARLIER', 'MODEL_HAS_NO_WEIGHTS'] as const) {
      expect(userMessage(code)).not.toBe(USER_MESSAGES.INVALID_ARGUMENT);
    }
  });

  it('shows what to do first and keeps what happened', () => {
    const err = new SegloopError('NOTHING_TO_ROLL_BACK', 'There is no earlier promoted model to roll back to.');
    expect(errorText(err)).toBe(`${USER_MESSAGES.NOTHING_TO_ROLL_BACK} (There is no earlier promoted model to roll back to.)`);
    expect(userMessage('NO_SUCH_CODE')).toBe(USER_MESSAGES.INTERNAL_ERROR);
    expect(errorText(new Error('boom'))).toBe(`${USER_MESSAGES.INTERNAL_ERROR} (boom)`);
  });
});

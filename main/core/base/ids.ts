// Ids are integers in the database and strings on the wire and on the command line. One parser, so
// that "07", "1e3", "-1", " 3" or a 20-digit number mean the same everywhere: not an id.
import { SegloopError, type ErrorCode } from '../../../shared/errors';

const DECIMAL_ID = /^[1-9][0-9]{0,15}$/;

/** The id written in `raw`, or null unless raw is a positive decimal integer a double holds exactly. */
export function idFromString(raw: string): number | null {
  if (!DECIMAL_ID.test(raw)) return null;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * The id of an entity a request names. A malformed id is reported with the entity's not-found code,
 * as a missing one is: to the caller both mean "there is no such thing".
 */
export function parseDbId(raw: string, code: ErrorCode, what: string): number {
  const n = idFromString(raw);
  if (n === null) throw new SegloopError(code, `There is no ${what} with id "${raw}".`, { id: raw });
  return n;
}

/** A command-line list such as `--images 3,5,8`; undefined when the flag is absent. */
export function parseIdList(flag: string, v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const ids = v.split(',').map((s) => idFromString(s.trim()));
  if (ids.some((n) => n === null)) throw new SegloopError('INVALID_ARGUMENT', `--${flag} takes comma-separated ids, got "${v}".`, { [flag]: v });
  return ids as number[];
}

// The SegloopError a promise rejects with (fails the test if it resolves or throws something else).
import { SegloopError } from '../shared/errors';

export async function failure(p: Promise<unknown>): Promise<SegloopError> {
  const err = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  if (!(err instanceof SegloopError)) throw err;
  return err;
}

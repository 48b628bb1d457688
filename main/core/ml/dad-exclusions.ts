// The training exclusion set: images that `segloop prune` took out of future trainings. Nothing
// is deleted — the images, their labels and the DAD records stay; `trainInProject` leaves them
// out of the next run and lists them in the run's data snapshot as `excludedImageIds`.
//
// Storage: one JSON value in project_meta (key `training_exclusions`), changed only inside a
// transaction that also writes an audit_log entry (who, when, which images, from which run and
// why). The audit log is append-only, so the full history of the set is there. No migration:
// the set is small and needs no queries beyond "which ids are excluded now".
import { z } from 'zod';
import { SegloopError } from '../../../shared/errors';
import { defaultActor } from '../base/actor';
import { RepoContext, mapSqliteError } from '../project/db';
import type { ProjectStore } from '../project';

export const EXCLUSIONS_KEY = 'training_exclusions';

export const ExclusionEntry = z.object({
  imageId: z.number().int().positive(),
  /** Training run whose DAD ranking chose it (null: chosen by hand or at random). */
  runId: z.number().int().positive().nullable(),
  dad: z.number().nullable(),
  reason: z.string(),
  at: z.string(),
  actor: z.string(),
});
export type ExclusionEntry = z.infer<typeof ExclusionEntry>;

const ExclusionSet = z.object({ entries: z.array(ExclusionEntry) });

function actorOf(actor?: string): string {
  return actor || defaultActor();
}

function read(store: ProjectStore): ExclusionEntry[] {
  const r = store.database.prepare('SELECT value FROM project_meta WHERE key = ?').get(EXCLUSIONS_KEY) as { value: string } | undefined;
  if (!r) return [];
  let json: unknown;
  try {
    json = JSON.parse(r.value);
  } catch {
    throw new SegloopError('PROJECT_CORRUPT', `The training exclusion set in ${store.dir}/project.db is not valid JSON.`);
  }
  const parsed = ExclusionSet.safeParse(json);
  if (!parsed.success) throw new SegloopError('PROJECT_CORRUPT', `The training exclusion set in ${store.dir}/project.db is malformed (${parsed.error.issues[0]?.message}).`);
  return parsed.data.entries;
}

/** The images currently excluded from training, oldest exclusion first. */
export function listExclusions(store: ProjectStore): ExclusionEntry[] {
  return read(store);
}

export function excludedImageIds(store: ProjectStore): Set<number> {
  return new Set(read(store).map((e) => e.imageId));
}

export interface ExcludeInput {
  imageIds: readonly number[];
  runId?: number | null;
  /** DAD per image id, recorded with the exclusion. */
  dad?: ReadonlyMap<number, number>;
  reason: string;
  actor?: string;
  now?: () => Date;
}

/** Adds images to the exclusion set (already excluded ones are left as they are). Audited. */
export function excludeImages(store: ProjectStore, input: ExcludeInput): { added: ExclusionEntry[]; alreadyExcluded: number[] } {
  const ctx = new RepoContext(store.database, input.now ?? (() => new Date()), actorOf(input.actor));
  try {
    return store.database
      .transaction(() => {
        const entries = read(store);
        const have = new Set(entries.map((e) => e.imageId));
        const added: ExclusionEntry[] = [];
        const already: number[] = [];
        for (const id of new Set(input.imageIds)) {
          store.images.require(id);
          if (have.has(id)) {
            already.push(id);
            continue;
          }
          added.push({ imageId: id, runId: input.runId ?? null, dad: input.dad?.get(id) ?? null, reason: input.reason, at: ctx.now(), actor: ctx.actor() });
        }
        if (added.length) {
          write(store, [...entries, ...added]);
          ctx.audit('training_exclusion.add', 'training_exclusion', input.runId ?? null, {
            imageIds: added.map((e) => e.imageId),
            runId: input.runId ?? null,
            reason: input.reason,
          });
        }
        return { added, alreadyExcluded: already };
      })
      .immediate();
  } catch (err) {
    throw mapSqliteError(err);
  }
}

/** Takes images out of the exclusion set (all of them when imageIds is omitted). Audited. */
export function restoreImages(store: ProjectStore, opts: { imageIds?: readonly number[]; actor?: string; now?: () => Date } = {}): ExclusionEntry[] {
  const ctx = new RepoContext(store.database, opts.now ?? (() => new Date()), actorOf(opts.actor));
  try {
    return store.database
      .transaction(() => {
        const entries = read(store);
        const wanted = opts.imageIds ? new Set(opts.imageIds) : null;
        if (wanted) {
          const have = new Set(entries.map((e) => e.imageId));
          const unknown = [...wanted].filter((id) => !have.has(id));
          if (unknown.length) throw new SegloopError('INVALID_ARGUMENT', `Image(s) ${unknown.join(', ')} are not excluded from training: nothing to restore for them.`, { unknown });
        }
        const restored = entries.filter((e) => !wanted || wanted.has(e.imageId));
        if (restored.length) {
          write(store, entries.filter((e) => wanted && !wanted.has(e.imageId)));
          ctx.audit('training_exclusion.restore', 'training_exclusion', null, { imageIds: restored.map((e) => e.imageId) });
        }
        return restored;
      })
      .immediate();
  } catch (err) {
    throw mapSqliteError(err);
  }
}

function write(store: ProjectStore, entries: ExclusionEntry[]): void {
  store.database
    .prepare('INSERT INTO project_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value')
    .run(EXCLUSIONS_KEY, JSON.stringify({ entries }));
}

// Handlers of the 'diagnostics:*' and 'splits:*' operations. Diagnostics reads every image and
// label, which takes seconds on a big project, so 'diagnostics:run' starts a job (progress per
// image, cancel) and 'diagnostics:result' hands back the finished report by job id.
import path from 'node:path';
import type { Job } from '../../shared/contract';
import type { CompositionGroup, DiagnosticsResult, SplitStatusWire } from '../../shared/diagnostics-schema';
import { SegloopError } from '../../shared/errors';
import { runDiagnostics } from '../core/diagnostics';
import type { JobQueue } from '../core/jobs/job-queue';
import type { ProjectStore } from '../core/project';
import { createSplit, splitStatus, type SplitStatus } from '../core/project/splits';
import type { Handlers } from './dispatch';

export type DiagnosticsOps = Pick<Handlers, 'diagnostics:run' | 'diagnostics:result' | 'splits:status' | 'splits:create'>;

/** Finished reports kept for 'diagnostics:result' (older ones are dropped). */
const KEEP_RESULTS = 4;

export function diagnosticsOps(deps: { store: ProjectStore; jobs: JobQueue; author: string; toJob: (id: string) => Job }): DiagnosticsOps {
  const { store, jobs, author } = deps;
  const results = new Map<string, DiagnosticsResult>();

  return {
    async 'diagnostics:run'() {
      const handle = jobs.submit('diagnostics', async (ctx) => {
        const report = await runDiagnostics(store, {
          onProgress: (p) => {
            if (ctx.signal.aborted) throw new SegloopError('JOB_CANCELLED', 'Diagnostics was cancelled.');
            ctx.report({ fraction: p.total ? p.done / p.total : null, message: `Read ${p.done} of ${p.total} images` });
          },
        });
        const result: DiagnosticsResult = { report: finiteOrNull(report), groups: compositionGroups(store), imageIds: imageIdsByName(store), finishedAt: new Date().toISOString() };
        results.set(ctx.id, result);
        while (results.size > KEEP_RESULTS) results.delete(results.keys().next().value as string);
        return result;
      });
      return { jobId: handle.id };
    },

    async 'diagnostics:result'(input) {
      const job = deps.toJob(input.jobId);
      return { job, result: job.status === 'done' ? (results.get(input.jobId) ?? null) : null };
    },

    async 'splits:status'() {
      return statusWire(splitStatus(store));
    },

    async 'splits:create'(input) {
      const r = createSplit(store, { test: input.test, val: input.val, seed: input.seed, stratifyBy: input.stratifyBy, actor: author });
      return { imagesChanged: r.imagesChanged, eligibility: r.eligibility, eligiblePatients: r.eligiblePatients, status: statusWire(splitStatus(store)) };
    },
  };
}

/** JSON (HTTP) turns Infinity/NaN into null anyway; do it for both transports, explicitly. */
function finiteOrNull<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))) as T;
}

type State = 'labelled' | 'pseudo' | 'unlabelled';
const RANK: Record<State, number> = { unlabelled: 0, pseudo: 1, labelled: 2 };

/** Label state per split and per site, with the same site and state rules as runDiagnostics. */
export function compositionGroups(store: ProjectStore): CompositionGroup[] {
  const patients = new Map(store.patients.list().map((p) => [p.id, p]));
  const latest = new Map(store.labelVersions.latestPerImage().map((lv) => [lv.imageId, lv]));
  const groups = new Map<string, { by: 'split' | 'site'; name: string; images: Record<State, number>; patients: Map<number, State> }>();
  for (const img of store.images.list()) {
    const lv = latest.get(img.id);
    const state: State = !lv ? 'unlabelled' : lv.source === 'pseudo' ? 'pseudo' : 'labelled';
    const site = img.site ?? patients.get(img.patientId)?.site ?? '(none)';
    for (const [by, name] of [['split', img.split ?? '(none)'], ['site', site]] as const) {
      const key = `${by}\u0000${name}`;
      const g = groups.get(key) ?? { by, name, images: { labelled: 0, pseudo: 0, unlabelled: 0 }, patients: new Map<number, State>() };
      g.images[state]++;
      const prev = g.patients.get(img.patientId);
      if (prev === undefined || RANK[state] > RANK[prev]) g.patients.set(img.patientId, state);
      groups.set(key, g);
    }
  }
  return [...groups.values()]
    .sort((a, b) => a.by.localeCompare(b.by) || a.name.localeCompare(b.name))
    .map((g) => {
      const p: Record<State, number> = { labelled: 0, pseudo: 0, unlabelled: 0 };
      for (const s of g.patients.values()) p[s]++;
      const pair = (s: State) => ({ patients: p[s], images: g.images[s] });
      return { by: g.by, name: g.name, counts: { labelled: pair('labelled'), pseudo: pair('pseudo'), unlabelled: pair('unlabelled') } };
    });
}

/** The names runDiagnostics gives images and label versions, mapped to image ids. */
export function imageIdsByName(store: ProjectStore): Record<string, string> {
  const latest = new Map(store.labelVersions.latestPerImage().map((lv) => [lv.imageId, lv]));
  const out: Record<string, string> = {};
  for (const img of store.images.list()) {
    const name = img.sourceName ?? path.basename(img.path);
    out[name] = String(img.id);
    const lv = latest.get(img.id);
    if (lv) out[`${name} (label v${lv.id}, ${lv.source})`] = String(img.id);
  }
  return out;
}

function statusWire(s: SplitStatus): SplitStatusWire {
  return {
    frozen: s.frozen,
    created: s.created,
    counts: s.counts,
    bySite: s.bySite,
    unassignedImages: s.unassignedImages,
    leakage: s.leakage.map((l) => ({
      patient: l.patient,
      patientId: String(l.patientId),
      splits: l.splits,
      imageIds: Object.fromEntries(Object.entries(l.imageIds).map(([k, ids]) => [k, (ids ?? []).map(String)])),
    })),
  };
}

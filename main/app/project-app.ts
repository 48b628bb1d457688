// Composition root of one open project: the store, the job queue and the handlers of every
// contract operation. Both transports (IPC in main/electron, HTTP in main/server) take the AppApi.
import path from 'node:path';
import type { CaseRow, EventMessage, ImageMeta, Job, LabelVersion } from '../../shared/contract';
import { SegloopError } from '../../shared/errors';
import { parseDbId } from '../core/base/ids';
import { JobQueue, type JobInfo } from '../core/jobs/job-queue';
import { ProjectStore, type ImageRow, type LabelVersionRow } from '../core/project';
import { saveLabelVersion } from '../core/project/label-voxels';
import { diagnosticsOps } from './diagnostics-ops';
import { alOps } from './al-ops';
import { draftOps } from './draft-ops';
import { labelOps } from './label-ops';
import { evaluationOps } from './evaluation-ops';
import { toWireJob } from './jobs-wire';
import { modelsOps } from './models-ops';
import { reviewOps } from './review-ops';
import { segmentStatusFromWire, segmentStatusOps } from './segment-status-ops';
import { trainingOps } from './training-ops';
import type { AppApi, Handlers, ResolvedFile } from './dispatch';
import { ROUND_META_KEY, uncertaintyFromScores } from '../core/active-learning';


export interface ProjectAppOptions {
  /** Recorded as the author of saved label versions. */
  author?: string;
  transport: 'ipc' | 'http';
}

export interface ProjectApp extends AppApi {
  readonly store: ProjectStore;
  readonly jobs: JobQueue;
  dispose(): void;
}

export async function openProjectApp(dir: string, options: ProjectAppOptions): Promise<ProjectApp> {
  const store = await ProjectStore.open(dir);
  // One ML job owns the CPU/GPU at a time; another one waits (and says so) instead of failing.
  const jobs = new JobQueue({ busy: 'queue' });
  const listeners = new Set<(msg: EventMessage) => void>();
  const emit = (msg: EventMessage): void => {
    for (const l of listeners) l(msg);
  };

  const author = options.author ?? process.env.SEGLOOP_USER ?? process.env.USER ?? process.env.USERNAME ?? 'user';

  const loop = { store, jobs, author, emit };

  const image = (id: string): ImageRow => store.images.require(parseDbId(id, 'IMAGE_NOT_FOUND', 'image'));

  const handlers: Handlers = {
    async 'project:info'() {
      const info = store.info();
      return { name: info.name, path: info.dir, patients: info.patients, images: info.images, labelledImages: info.labelledImages, transport: options.transport };
    },

    async 'cases:list'() {
      return { rows: caseRows(store) };
    },

    async 'cases:next'(input) {
      const rows = caseRows(store);
      const after = input.afterImageId;
      const candidates = rows.filter((r) => r.labelStatus === 'unlabelled' && r.imageId !== after);
      // Until active learning has scored the pool: the latest AL round's picks, then the most
      // uncertain unlabelled pool case, then any unlabelled case, in id order.
      const rounds = store.alRounds.list();
      const lastRound = rounds.at(-1);
      if (lastRound) {
        const pick = lastRound.selected.map(String).find((id) => candidates.some((c) => c.imageId === id));
        if (pick) return { imageId: pick, reason: `Selected by active-learning round ${lastRound.id} (${lastRound.strategy}).` };
      }
      const pool = candidates.filter((r) => r.split === 'pool' || r.split === null);
      const ordered = [...pool].sort((a, b) => (b.uncertainty ?? -Infinity) - (a.uncertainty ?? -Infinity) || Number(a.imageId) - Number(b.imageId));
      const next = ordered[0] ?? candidates[0];
      if (!next) return { imageId: null, reason: 'Every case has a label: nothing left to label.' };
      return { imageId: next.imageId, reason: next.uncertainty != null ? 'Most uncertain unlabelled case.' : 'Next unlabelled case.' };
    },

    async 'images:get'(input) {
      return imageMeta(store, image(input.imageId));
    },

    async 'labels:list'(input) {
      const row = image(input.imageId);
      return { versions: store.labelVersions.listForImage(row.id).map(labelVersion) };
    },

    async 'labels:save'(input) {
      // Ids from the wire are parsed here; checks, diff and storage are core's (saveLabelVersion).
      const saved = await saveLabelVersion(store, {
        imageId: image(input.imageId).id,
        parentVersionId: input.parentVersionId === null ? null : parseDbId(input.parentVersionId, 'LABEL_VERSION_NOT_FOUND', 'label version'),
        voxelsGzBase64: input.voxelsGzBase64,
        source: input.source,
        author,
        secondsSpent: input.secondsSpent,
        segmentStatus: segmentStatusFromWire(input.segmentStatus),
      });
      return { version: labelVersion(saved.row), voxelsChanged: saved.voxelsChanged };
    },

    async 'labelSchema:get'() {
      return { labels: store.labelSchema.list().map((c) => ({ index: c.idx, name: c.name, colour: c.colour })) };
    },

    async 'jobs:list'() {
      return { jobs: jobs.list().map(toJob) };
    },
    async 'jobs:get'(input) {
      return toJob(jobs.get(input.jobId));
    },
    async 'jobs:cancel'(input) {
      return toJob(jobs.cancel(input.jobId));
    },

    ...diagnosticsOps({ store, jobs, author, toJob: (id) => toJob(jobs.get(id)) }),
    ...evaluationOps({ store }),
    ...trainingOps(loop),
    ...modelsOps(loop),
    ...reviewOps(loop),
    ...alOps(loop),
    ...draftOps({ store, author }),
    ...labelOps({ store }),
    ...segmentStatusOps({ store }),
  };

  const offJobs = jobs.onDidChangeJob((job) => emit({ event: 'jobs:progress', payload: toJob(job) }));

  return {
    store,
    jobs,
    handlers,
    async resolveFile(req): Promise<ResolvedFile> {
      const prediction = (): ReturnType<ProjectStore['predictions']['require']> => {
        return store.predictions.require(parseDbId(req.id, 'NOT_FOUND', 'prediction'));
      };
      const { path: rel, sha256 } =
        req.kind === 'image'
          ? image(req.id)
          : req.kind === 'prediction'
            ? prediction()
            : req.kind === 'uncertainty'
              ? (() => {
                  const p = prediction();
                  if (p.uncertaintyPath === null || p.uncertaintySha256 === null) {
                    throw new SegloopError('FILE_NOT_FOUND', `Prediction ${req.id} has no uncertainty map (it was made without test-time augmentation).`, { id: req.id });
                  }
                  return { path: p.uncertaintyPath, sha256: p.uncertaintySha256 };
                })()
              : (() => {
              const row = store.labelVersions.get(parseDbId(req.id, 'LABEL_VERSION_NOT_FOUND', 'label version'));
              if (!row) throw new SegloopError('LABEL_VERSION_NOT_FOUND', `Label version ${req.id} does not exist in this project.`, { id: req.id });
              return row;
            })();
      // Only paths registered in the database, inside the project folder, no symlink/hard link,
      // and only the bytes the database recorded (CHECKSUM_MISMATCH otherwise).
      const { absPath, size } = await store.verifiedFile(rel, sha256);
      return { absPath, size, name: path.basename(rel) };
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose() {
      offJobs();
      listeners.clear();
      jobs.dispose();
      store.close();
    },
  };
}


function imageName(row: ImageRow): string {
  return (row.sourceName ?? path.posix.basename(row.path)).replace(/\.nii(\.gz)?$/i, '');
}

/** The displayed uncertainty: the documented score keys (active-learning PREDICTION_SCORE_KEYS). */
function uncertaintyOf(scores: Record<string, unknown> | null, preferred?: string | null): number | null {
  return uncertaintyFromScores(scores, preferred);
}

/** The score of one image in an AL round: a number, or an object holding one under a known key. */
function roundScore(scores: Record<string, unknown>, imageId: number): number | null {
  const v = scores[String(imageId)];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v && typeof v === 'object') return uncertaintyOf(v as Record<string, unknown>, (scores[ROUND_META_KEY] as { scoreKey?: string } | undefined)?.scoreKey ?? null);
  return null;
}

function caseRows(store: ProjectStore): CaseRow[] {
  const patients = new Map(store.patients.list().map((p) => [p.id, p]));
  // The latest uncertainty: the newest active-learning round's score, else the newest prediction's.
  const lastRound = store.alRounds.list().at(-1) ?? null;
  const latest = new Map(store.labelVersions.latestPerImage().map((v) => [v.imageId, v]));
  const versionCounts = store.labelVersions.countPerImage();
  const modelVersions = new Map(store.models.list().map((m) => [m.id, m.version]));
  const reviews = store.reviews.latestPerPrediction();
  return store.images.list().map((img) => {
    const lv = latest.get(img.id) ?? null;
    const pred = store.predictions.latestForImage(img.id);
    return {
      imageId: String(img.id),
      patientId: String(img.patientId),
      patient: patients.get(img.patientId)?.externalId ?? String(img.patientId),
      image: imageName(img),
      modality: img.modality,
      split: img.split,
      labelStatus: lv ? 'labelled' : 'unlabelled',
      labelSource: lv?.source ?? null,
      latestLabelVersionId: lv ? String(lv.id) : null,
      labelVersions: versionCounts.get(img.id) ?? 0,
      uncertainty: (lastRound ? roundScore(lastRound.scores, img.id) : null) ?? uncertaintyOf(pred?.scores ?? null),
      shape: img.shape.slice(0, 3) as [number, number, number],
      lastPrediction: pred ? { id: String(pred.id), modelVersion: modelVersions.get(pred.modelId) ?? 0, createdAt: pred.createdAt, score: uncertaintyOf(pred.scores ?? null) } : null,
      reviewState: pred ? (reviews.get(pred.id)?.decision ?? 'none') : null,
      alRank: lastRound && lastRound.selected.includes(img.id) ? lastRound.selected.indexOf(img.id) + 1 : null,
    };
  });
}

function imageMeta(store: ProjectStore, img: ImageRow): ImageMeta {
  return {
    id: String(img.id),
    patientId: String(img.patientId),
    patient: store.patients.get(img.patientId)?.externalId ?? String(img.patientId),
    name: imageName(img),
    modality: img.modality,
    split: img.split,
    shape: img.shape.slice(0, 3) as [number, number, number],
    spacing: img.spacing.slice(0, 3) as [number, number, number],
    affine: img.affine as ImageMeta['affine'],
    sha256: img.sha256,
  };
}

function labelVersion(v: LabelVersionRow): LabelVersion {
  return {
    id: String(v.id),
    imageId: String(v.imageId),
    parentId: v.parentId === null ? null : String(v.parentId),
    source: v.source,
    author: v.author,
    modelVersionId: v.modelId === null ? null : String(v.modelId),
    voxelsChanged: v.voxelsChanged,
    secondsSpent: v.secondsSpent,
    sha256: v.sha256,
    createdAt: v.createdAt,
  };
}

function toJob(j: JobInfo): Job {
  return toWireJob(j);
}


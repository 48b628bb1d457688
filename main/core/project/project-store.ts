// The project folder as one object: opens/creates project.db, runs migrations, exposes the
// repositories, and adds voxel files the crash-safe way (file first, atomically; rows after,
// in one transaction; stray files are removed by recover()).
import { existsSync, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { SegloopError } from '../../../shared/errors';
import { defaultActor } from '../base/actor';
import { AlRoundRepository } from './al-round-repository';
import { AuditRepository } from './audit-repository';
import { openDatabase, RepoContext, type Db } from './db';
import { acquireProjectLock, type ProjectLock } from './project-lock';
import { defaultIo, resolveInProject, safeFileName, sha256Bytes, sha256File, verifyStoredFile, writeFileAtomic, type AtomicWriteIo } from './files';
import { ImageRepository } from './image-repository';
import { LabelSchemaRepository } from './label-schema-repository';
import { LabelVersionRepository, type LabelVersionMeta } from './label-version-repository';
import { assertNotNewer, LATEST_SCHEMA_VERSION, migrate, schemaVersion, type MigrationResult } from './migrations';
import { ModelRepository } from './model-repository';
import { PatientRepository } from './patient-repository';
import { PredictionRepository, type PredictionMeta } from './prediction-repository';
import {
  checkIntegrity,
  emptyQuarantine,
  listQuarantine,
  MANAGED_DIRS,
  quarantineStrayFiles,
  restoreQuarantined,
  type IntegrityReport,
  type QuarantineListing,
  type RecoveryReport,
} from './recovery';
import { ReviewRepository } from './review-repository';
import { TrainingRunRepository } from './training-run-repository';
import type {
  ImageMeta,
  ImageRow,
  LabelSource,
  LabelVersionRow,
  ModelRow,
  ModelStatus,
  MutationOptions,
  PatientRow,
  PredictionRow,
  Split,
  TrainingRunStatus,
} from './types';
import { MODEL_STATUSES, SPLITS, TRAINING_RUN_STATUSES } from './types';

export const PROJECT_DB = 'project.db';

export interface ProjectStoreOptions {
  /** Written to audit_log.actor when a mutation names no actor. Defaults to the OS user name. */
  actor?: string;
  /** Clock for created_at/audit timestamps (tests). */
  now?: () => Date;
  /** Low-level write steps (tests inject ENOSPC here). */
  io?: AtomicWriteIo;
  /** SQLite busy timeout; short by default so a stuck writer elsewhere gives BUSY, not a freeze. */
  busyTimeoutMs?: number;
}

export interface OpenOptions extends ProjectStoreOptions {
  /**
   * Tidy up after a crash (default true): remove our own temp files, quarantine unknown files.
   * Runs only when this open took the project lock, i.e. no other writer can be mid-save.
   */
  recover?: boolean;
  /** Open without the write lock and without recovery (info, diagnose, reports): writes are refused. */
  readOnly?: boolean;
}

/** Bytes in memory, or a file to copy in. */
export type FileSource = { bytes: Uint8Array; sourcePath?: undefined } | { sourcePath: string; bytes?: undefined };

export type AddImageInput = FileSource &
  ImageMeta & {
    patientExternalId: string;
    site?: string | null;
    split?: Split | null;
    /** Original file name (kept for display and as the stored file name); defaults to sourcePath's name. */
    sourceName?: string | null;
  };

export type AddLabelVersionInput = LabelVersionMeta & {
  bytes: Uint8Array;
  /**
   * When true and this image already has a version with identical bytes and the same source,
   * that version is returned instead of a new one (makes re-running an import a no-op).
   */
  reuseIdentical?: boolean;
  /**
   * Refuse with LABEL_CONFLICT unless parentId is the image's newest version (null only when it
   * has none), checked inside the write transaction. Default: on for edits ('manual',
   * 'ai_edited'), where a stale parent means someone else's save would be silently superseded.
   */
  checkConflict?: boolean;
};

export type AddPredictionInput = PredictionMeta & {
  bytes: Uint8Array;
  uncertaintyBytes?: Uint8Array | null;
};

export interface Added<T> {
  row: T;
  created: boolean;
}

export interface ProjectInfo {
  name: string;
  dir: string;
  schemaVersion: number;
  createdAt: string;
  patients: number;
  images: number;
  imagesBySplit: Record<Split | 'none', number>;
  labelledImages: number;
  labelVersions: number;
  labelVersionsBySource: Record<LabelSource, number>;
  labelClasses: number;
  models: number;
  modelsByStatus: Record<ModelStatus, number>;
  promotedModelVersion: number | null;
  trainingRuns: number;
  trainingRunsByStatus: Record<TrainingRunStatus, number>;
  predictions: number;
  alRounds: number;
  reviews: number;
  auditEntries: number;
}

export class ProjectStore {
  readonly patients: PatientRepository;
  readonly images: ImageRepository;
  readonly labelSchema: LabelSchemaRepository;
  readonly labelVersions: LabelVersionRepository;
  readonly models: ModelRepository;
  readonly trainingRuns: TrainingRunRepository;
  readonly predictions: PredictionRepository;
  readonly alRounds: AlRoundRepository;
  readonly reviews: ReviewRepository;
  readonly audit: AuditRepository;
  /** What the open() migration did, if anything. */
  readonly migration: MigrationResult;

  private readonly ctx: RepoContext;
  private readonly io: AtomicWriteIo;
  private closed = false;
  private fileQueue: Promise<void> = Promise.resolve();
  private readonly identity: { dev: number; ino: number } | null;

  private constructor(
    /** Absolute, symlink-free path of the project folder. */
    readonly dir: string,
    private readonly db: Db,
    options: ProjectStoreOptions,
    migration: MigrationResult,
    /** The write lock; null when opened read-only. */
    private readonly lock: ProjectLock | null,
  ) {
    this.identity = fileIdentity(path.join(dir, PROJECT_DB));
    this.ctx = new RepoContext(db, options.now ?? (() => new Date()), options.actor ?? defaultActor(), () => this.assertWritable(), () => this.noteOwnWrite());
    if (lock !== null) {
      // The writer checkpoints only where it can note the result (noteOwnWrite, close), so any other
      // change of project.db's bytes is somebody else's (an in-place overwrite) and refused.
      db.pragma('wal_autocheckpoint = 0');
      this.noteOwnWrite();
    }
    this.io = options.io ?? defaultIo;
    this.migration = migration;
    this.patients = new PatientRepository(this.ctx);
    this.images = new ImageRepository(this.ctx);
    this.labelSchema = new LabelSchemaRepository(this.ctx);
    this.labelVersions = new LabelVersionRepository(this.ctx);
    this.models = new ModelRepository(this.ctx);
    this.trainingRuns = new TrainingRunRepository(this.ctx);
    this.predictions = new PredictionRepository(this.ctx);
    this.alRounds = new AlRoundRepository(this.ctx);
    this.reviews = new ReviewRepository(this.ctx);
    this.audit = new AuditRepository(this.ctx);
  }

  /** Creates a new project in `dir` (created if missing). PROJECT_EXISTS if it already holds one. */
  static async create(dir: string, project: { name: string }, options: ProjectStoreOptions = {}): Promise<ProjectStore> {
    if (!project.name.trim()) throw new SegloopError('INVALID_ARGUMENT', 'A project needs a name.');
    await fsp.mkdir(dir, { recursive: true });
    const real = await fsp.realpath(dir);
    const file = path.join(real, PROJECT_DB);
    if (existsSync(file)) throw new SegloopError('PROJECT_EXISTS', `${real} already holds a Segloop project (${PROJECT_DB}). Open it instead.`, { dir: real });
    const lock = acquireProjectLock(real);
    let db: Db;
    try {
      db = openDatabase(file, { create: true, busyTimeoutMs: options.busyTimeoutMs });
    } catch (err) {
      lock.release();
      throw err;
    }
    try {
      const ctx = new RepoContext(db, options.now ?? (() => new Date()), options.actor ?? defaultActor());
      const migration = migrate(db, file, undefined, () => {
        const put = db.prepare('INSERT INTO project_meta (key, value) VALUES (?, ?)');
        put.run('name', project.name);
        put.run('created_at', ctx.now());
        ctx.audit('project.create', 'project', null, { name: project.name, schemaVersion: LATEST_SCHEMA_VERSION }, {});
      });
      for (const d of MANAGED_DIRS) await fsp.mkdir(path.join(real, d), { recursive: true });
      return new ProjectStore(real, db, options, migration, lock);
    } catch (err) {
      db.close();
      lock.release();
      throw err;
    }
  }

  /** Opens an existing project, upgrading its schema in place; PROJECT_NOT_FOUND / PROJECT_NEWER_THAN_APP. */
  static async open(dir: string, options: OpenOptions = {}): Promise<ProjectStore> {
    const real = await fsp.realpath(dir).catch(() => null);
    const file = real === null ? null : path.join(real, PROJECT_DB);
    if (file === null || real === null || !existsSync(file)) {
      throw new SegloopError('PROJECT_NOT_FOUND', `${dir} is not a Segloop project: it has no ${PROJECT_DB}.`, { dir });
    }
    if (options.readOnly) return ProjectStore.openReadOnly(real, file, options);
    const lock = acquireProjectLock(real);
    let store: ProjectStore;
    try {
      const db = openDatabase(file, { create: false, busyTimeoutMs: options.busyTimeoutMs });
      try {
        const ctx = new RepoContext(db, options.now ?? (() => new Date()), options.actor ?? defaultActor());
        const migration = migrate(db, file, undefined, (r) => ctx.audit('project.migrate', 'project', null, { from: r.from, to: r.to, applied: r.applied }, {}));
        store = new ProjectStore(real, db, options, migration, lock);
      } catch (err) {
        db.close();
        throw err;
      }
    } catch (err) {
      lock.release();
      throw err;
    }
    try {
      if (lock.fresh && lock.staleHolder) {
        const h = lock.staleHolder;
        store.ctx.tx(() => store.ctx.audit('project.lock_takeover', 'project', null, { previousHolder: { pid: h.pid, host: h.host, startedAt: h.startedAt, command: h.command } }, {}));
      }
      if (lock.fresh && (options.recover ?? true)) await store.recover();
    } catch (err) {
      store.close();
      throw err;
    }
    return store;
  }

  private static async openReadOnly(real: string, file: string, options: OpenOptions): Promise<ProjectStore> {
    let db = openDatabase(file, { create: false, readOnly: true, busyTimeoutMs: options.busyTimeoutMs ?? 2000 });
    try {
      assertNotNewer(db, file);
      if (schemaVersion(db) < LATEST_SCHEMA_VERSION) {
        // An older project must be upgraded once, by a writer: take the lock just for that.
        db.close();
        (await ProjectStore.open(real, { ...options, readOnly: false, recover: false })).close();
        db = openDatabase(file, { create: false, readOnly: true, busyTimeoutMs: options.busyTimeoutMs ?? 2000 });
      }
      return new ProjectStore(real, db, options, { from: schemaVersion(db), to: schemaVersion(db), applied: [] }, null);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** True when opened with { readOnly: true }: no lock held, every write refused. */
  get readOnly(): boolean {
    return this.lock === null;
  }

  /**
   * Refuses a write when this store is read-only or when project.db is no longer the file it
   * opened (deleted, moved or replaced under a running server): writing then would go into a
   * file nobody will ever open again, or mix two databases.
   */
  assertWritable(): void {
    if (this.closed) throw new SegloopError('INTERNAL_ERROR', 'The project is closed.');
    if (this.lock === null) throw new SegloopError('PROJECT_READ_ONLY', `${this.dir} is open read-only here: nothing was saved.`, { dir: this.dir });
    const now = fileIdentity(path.join(this.dir, PROJECT_DB));
    if (now === null) {
      throw new SegloopError('PROJECT_MOVED', `${PROJECT_DB} in ${this.dir} was deleted or moved while the project was open: nothing was saved. Put it back or reopen the project.`, { dir: this.dir });
    }
    if (this.identity && (now.dev !== this.identity.dev || now.ino !== this.identity.ino)) {
      throw new SegloopError('PROJECT_MOVED', `${PROJECT_DB} in ${this.dir} was replaced by another file while the project was open: nothing was saved. Reopen the project.`, { dir: this.dir });
    }
    // Same inode, other bytes: copied over in place (e.g. an older backup). Only this process writes
    // project.db (the lock), and it notes the file's size/mtime/ctime after each of its own writes.
    const file = path.join(this.dir, PROJECT_DB);
    const expected = ownStamps.get(file);
    if (expected !== undefined && fileStamp(file) !== expected) {
      throw new SegloopError('PROJECT_MOVED', `${PROJECT_DB} in ${this.dir} was overwritten by another program while the project was open: nothing was saved. Reopen the project.`, { dir: this.dir, reason: 'overwritten' });
    }
  }

  /** Folds the WAL into project.db (the writer only), noting the result as our own change. */
  checkpoint(mode: 'PASSIVE' | 'TRUNCATE' = 'TRUNCATE'): void {
    this.assertWritable();
    this.db.pragma(`wal_checkpoint(${mode})`);
    this.noteOwnWrite();
  }

  private noteOwnWrite(): void {
    const file = path.join(this.dir, PROJECT_DB);
    // Without auto-checkpoints the WAL would grow forever: fold it back past 4 MiB.
    if ((fileStamp(`${file}-wal`, true) ?? 0) > 4 * 1024 * 1024) this.db.pragma('wal_checkpoint(PASSIVE)');
    const stamp = fileStamp(file);
    if (stamp !== null) ownStamps.set(file, stamp);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      // Fold the WAL back so the folder can be copied as plain files (only the writer can).
      if (this.lock !== null && fileIdentity(path.join(this.dir, PROJECT_DB)) !== null) {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
        this.noteOwnWrite();
      }
    } catch {
      // a busy or vanished database: closing still releases everything below
    } finally {
      this.db.close();
      this.lock?.release();
    }
  }

  /** Escape hatch for diagnostics and tests; prefer the repositories. */
  get database(): Db {
    return this.db;
  }

  get name(): string {
    return this.meta('name') ?? path.basename(this.dir);
  }

  /** Absolute path of a stored relative path, confined to the project folder. */
  resolve(relPath: string): Promise<string> {
    return resolveInProject(this.dir, relPath);
  }

  /**
   * A stored file checked for reading out (renderer, downloads): inside the project, no symlink or
   * hard link, bytes equal to the row's sha256 (verified once per file per process).
   */
  verifiedFile(relPath: string, sha256: string): Promise<{ absPath: string; size: number }> {
    return verifyStoredFile(this.dir, relPath, sha256);
  }

  info(): ProjectInfo {
    const db = this.db;
    const countBy = <K extends string>(sql: string, keys: readonly K[]): Record<K, number> => {
      const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
      for (const r of db.prepare(sql).all() as { k: K | null; n: number }[]) out[(r.k ?? 'none') as K] = r.n;
      return out;
    };
    return {
      name: this.name,
      dir: this.dir,
      schemaVersion: schemaVersion(db),
      createdAt: this.meta('created_at') ?? '',
      patients: this.patients.count(),
      images: this.images.count(),
      imagesBySplit: countBy('SELECT split AS k, count(*) AS n FROM images GROUP BY split', [...SPLITS, 'none'] as const),
      labelledImages: this.labelVersions.countLabelledImages(),
      labelVersions: this.labelVersions.count(),
      labelVersionsBySource: this.labelVersions.countBySource(),
      labelClasses: this.labelSchema.list().length,
      models: this.models.count(),
      modelsByStatus: countBy('SELECT status AS k, count(*) AS n FROM models GROUP BY status', MODEL_STATUSES),
      promotedModelVersion: this.models.promoted()?.version ?? null,
      trainingRuns: this.trainingRuns.count(),
      trainingRunsByStatus: countBy('SELECT status AS k, count(*) AS n FROM training_runs GROUP BY status', TRAINING_RUN_STATUSES),
      predictions: this.predictions.count(),
      alRounds: this.alRounds.count(),
      reviews: this.reviews.count(),
      auditEntries: this.audit.count(),
    };
  }

  /**
   * Adds an image file: copied to images/<sha256 prefix>/<name> (atomic), then patient + image
   * rows in one transaction. Adding bytes already in the project returns the existing row.
   */
  async addImageFile(input: AddImageInput, opts?: MutationOptions): Promise<Added<ImageRow> & { patient: PatientRow }> {
    const bytes = input.bytes ?? (await readSource(input.sourcePath as string));
    const sourceName = input.sourceName ?? (input.sourcePath !== undefined ? path.basename(input.sourcePath) : null);
    if (bytes.byteLength === 0) throw new SegloopError('FILE_EMPTY', `${sourceName ?? 'The image'} is empty: nothing to import.`, { sourceName });
    const sha256 = sha256Bytes(bytes);
    const existing = this.images.getBySha256(sha256);
    if (existing) return { row: existing, created: false, patient: this.patients.require(existing.patientId) };

    const rel = `images/${sha256.slice(0, 12)}/${safeFileName(sourceName ?? '', `image${niftiExtension(bytes)}`)}`;
    return this.withFiles([{ rel, bytes, sha256 }], () => {
      const again = this.images.getBySha256(sha256);
      if (again) return { row: again, created: false, patient: this.patients.require(again.patientId) };
      const patient = this.patients.getOrCreate({ externalId: input.patientExternalId, site: input.site ?? null }, opts).row;
      const row = this.images.insertRow(
        {
          patientId: patient.id,
          path: rel,
          sha256,
          shape: input.shape,
          spacing: input.spacing,
          affine: input.affine,
          dtype: input.dtype,
          modality: input.modality,
          site: input.site ?? null,
          split: input.split ?? null,
          sourceName,
        },
        opts,
      );
      return { row, created: true, patient };
    });
  }

  /** Saves a new, immutable label version: labels/<imageId>/<sha256>.nii[.gz] (atomic), then its row. */
  async addLabelVersionFile(input: AddLabelVersionInput, opts?: MutationOptions): Promise<Added<LabelVersionRow>> {
    this.images.require(input.imageId);
    if (input.bytes.byteLength === 0) throw new SegloopError('FILE_EMPTY', `The label for image ${input.imageId} is empty: nothing to save.`);
    const sha256 = sha256Bytes(input.bytes);
    const same = (): LabelVersionRow | null => (input.reuseIdentical ? this.labelVersions.findSame(input.imageId, sha256, input.source) : null);
    const early = same();
    if (early) return { row: early, created: false };
    const checkConflict = input.checkConflict ?? (input.source === 'manual' || input.source === 'ai_edited');
    // Early, to skip writing a file for nothing; the authoritative check is in the transaction.
    if (checkConflict) this.labelVersions.assertParentIsLatest(input.imageId, input.parentId ?? null);
    const rel = `labels/${input.imageId}/${sha256}${niftiExtension(input.bytes)}`;
    return this.withFiles([{ rel, bytes: input.bytes, sha256 }], () => {
      const again = same();
      if (again) return { row: again, created: false };
      const { bytes: _bytes, reuseIdentical: _reuse, checkConflict: _check, ...meta } = input;
      if (checkConflict) this.labelVersions.assertParentIsLatest(input.imageId, input.parentId ?? null);
      return { row: this.labelVersions.insertRow({ ...meta, path: rel, sha256 }, opts), created: true };
    });
  }

  /** Saves a model's prediction (and uncertainty map) under predictions/<modelId>/<imageId>/. */
  async addPredictionFiles(input: AddPredictionInput, opts?: MutationOptions): Promise<PredictionRow> {
    this.images.require(input.imageId);
    this.models.require(input.modelId);
    const dir = `predictions/${input.modelId}/${input.imageId}`;
    const sha256 = sha256Bytes(input.bytes);
    const files = [{ rel: `${dir}/${sha256}${niftiExtension(input.bytes)}`, bytes: input.bytes, sha256 }];
    if (input.uncertaintyBytes) {
      const usha = sha256Bytes(input.uncertaintyBytes);
      files.push({ rel: `${dir}/${usha}-uncertainty${niftiExtension(input.uncertaintyBytes)}`, bytes: input.uncertaintyBytes, sha256: usha });
    }
    return this.withFiles(files, () => {
      const { bytes: _b, uncertaintyBytes: _u, ...meta } = input;
      return this.predictions.insertRow(
        { ...meta, path: files[0].rel, sha256: files[0].sha256, uncertaintyPath: files[1]?.rel ?? null, uncertaintySha256: files[1]?.sha256 ?? null },
        opts,
      );
    });
  }

  /** Stores a model's weights (one file) under models/<modelId>/ and records them on the model. */
  async addModelWeightsFile(modelId: number, bytes: Uint8Array, fileName = 'weights.bin', opts?: MutationOptions): Promise<ModelRow> {
    this.models.require(modelId);
    const sha256 = sha256Bytes(bytes);
    const rel = `models/${modelId}/${sha256.slice(0, 12)}-${safeFileName(fileName, 'weights.bin')}`;
    return this.withFiles([{ rel, bytes, sha256 }], () => this.models.setWeights(modelId, rel, sha256, opts));
  }

  /**
   * Removes temp files of our own atomic writer and MOVES every other unreferenced file of the
   * managed folders to .segloop/quarantine/<date>/ (never deletes it: it may be committed work of
   * a database that was swapped or restored); logs what it did. Needs the write lock.
   */
  async recover(opts?: MutationOptions): Promise<RecoveryReport> {
    this.assertWritable();
    const report = await quarantineStrayFiles(this.dir, this.db, this.ctx.now());
    // Missing files are reported on every call but logged only alongside a change, not at every open.
    if (report.removedTempFiles.length + report.quarantined.length > 0) {
      this.ctx.tx(() => this.ctx.audit('project.recover', 'project', null, { ...report }, opts));
    }
    return report;
  }

  /** What recovery set aside in .segloop/quarantine (read-only). */
  quarantine(): Promise<QuarantineListing> {
    return listQuarantine(this.dir, this.db);
  }

  /** Takes one file out of the quarantine (see restoreQuarantined); audited. Needs the write lock. */
  async restoreFromQuarantine(id: string, to?: string, opts?: MutationOptions): Promise<{ from: string; to: string; bytes: number }> {
    this.assertWritable();
    const done = await restoreQuarantined(this.dir, this.db, id, to);
    this.ctx.tx(() => this.ctx.audit('quarantine.restore', 'project', null, { ...done }, opts));
    return done;
  }

  /** Deletes the quarantined files (all, or one batch) — only ever on a user's request; audited with what went. */
  async emptyQuarantine(batch?: string, opts?: MutationOptions): Promise<{ deleted: number; bytes: number }> {
    this.assertWritable();
    const gone = await emptyQuarantine(this.dir, this.db, batch);
    const bytes = gone.reduce((n, e) => n + e.bytes, 0);
    this.ctx.tx(() => this.ctx.audit('quarantine.empty', 'project', null, { batch: batch ?? null, deleted: gone.map((e) => ({ id: e.id, bytes: e.bytes })), bytes }, opts));
    return { deleted: gone.length, bytes };
  }

  /** Database integrity, foreign keys, and that every referenced file exists (and matches its sha256). */
  checkIntegrity(options: { checksums?: boolean } = {}): Promise<IntegrityReport> {
    return checkIntegrity(this.dir, this.db, { checksums: options.checksums ?? true });
  }

  /**
   * Writes each file (atomically, skipping a file already present with the right content), then
   * runs `commit` (a DB transaction). If anything fails, files this call created and no row
   * references are removed again, so a failure leaves the project as it was.
   */
  private async withFiles<T>(files: { rel: string; bytes: Uint8Array; sha256: string }[], commit: () => T): Promise<T> {
    // One file operation at a time per store: otherwise a failing call could delete a shared
    // content-addressed file that a concurrent call has just checked and is about to reference.
    const previous = this.fileQueue;
    let release = (): void => undefined;
    this.fileQueue = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      this.assertWritable();
      return await this.writeThenCommit(files, commit);
    } finally {
      release();
    }
  }

  private async writeThenCommit<T>(files: { rel: string; bytes: Uint8Array; sha256: string }[], commit: () => T): Promise<T> {
    const created: string[] = [];
    try {
      for (const f of files) {
        const abs = await resolveInProject(this.dir, f.rel);
        if (existsSync(abs) && (await sha256File(abs)) === f.sha256) continue;
        await writeFileAtomic(abs, f.bytes, this.io);
        created.push(f.rel);
      }
      return this.ctx.tx(commit);
    } catch (err) {
      for (const rel of created) {
        if (!this.isReferenced(rel)) await fsp.rm(path.join(this.dir, rel), { force: true }).catch(() => undefined);
      }
      // A folder made for this write and left empty (rmdir refuses a non-empty one): as before.
      for (const f of files) await fsp.rmdir(path.dirname(path.join(this.dir, f.rel))).catch(() => undefined);
      throw err;
    }
  }

  private isReferenced(rel: string): boolean {
    return (
      this.db
        .prepare(
          `SELECT 1 FROM images WHERE path = @p UNION ALL SELECT 1 FROM label_versions WHERE path = @p
           UNION ALL SELECT 1 FROM predictions WHERE path = @p OR uncertainty_path = @p
           UNION ALL SELECT 1 FROM models WHERE weights_path = @p LIMIT 1`,
        )
        .get({ p: rel }) !== undefined
    );
  }

  private meta(key: string): string | null {
    const r = this.db.prepare('SELECT value FROM project_meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value ?? null;
  }
}

async function readSource(sourcePath: string): Promise<Uint8Array> {
  try {
    return await fsp.readFile(sourcePath);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') throw new SegloopError('FILE_NOT_FOUND', `${sourcePath} does not exist.`, { path: sourcePath });
    throw err;
  }
}

/** '.nii.gz' for gzip data, '.nii' otherwise: the stored name tells readers how to open it. */
function niftiExtension(bytes: Uint8Array): string {
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? '.nii.gz' : '.nii';
}

// project.db's state after this process's own last write, per file (stores of one process share
// the lock, so a write through one must not look foreign to the other).
const ownStamps = new Map<string, string>();

function fileStamp(file: string): string | null;
function fileStamp(file: string, sizeOnly: true): number | null;
function fileStamp(file: string, sizeOnly = false): string | number | null {
  try {
    const st = statSync(file, { bigint: true });
    return sizeOnly ? Number(st.size) : `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return null;
  }
}

function fileIdentity(file: string): { dev: number; ino: number } | null {
  try {
    const st = statSync(file);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

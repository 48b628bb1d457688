// `segloop select` as a user runs it, on a copy of the bundled demo project (8 cases, 5 labelled,
// 3 unlabelled): refused requests exit non-zero with their code and record nothing; the random
// baseline records a round without a model; after `segloop train` (a few steps), an entropy round
// scores the 3 unlabelled cases in the worker and the al_round row holds the picks in order with
// their reasons, the seed and the model, matching what the command printed.
import Database from 'better-sqlite3';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoProject } from '../../main/app/demo-project';
import { segloop } from './helpers/cli';

// Each command is a fresh Node process (tsx start-up, the worker, tfjs): slow on a loaded 2-core machine.
const CLI_TIMEOUT = 900_000;

let dir = '';
let project = '';

interface RoundRow {
  id: number;
  strategy: string;
  model_id: number | null;
  selected: number[];
  scores: Record<string, unknown>;
}

function rounds(): RoundRow[] {
  const d = new Database(path.join(project, 'project.db'), { readonly: true, fileMustExist: true });
  try {
    return (d.prepare('SELECT id, strategy, model_id, selected, scores FROM al_rounds ORDER BY id').all() as { id: number; strategy: string; model_id: number | null; selected: string; scores: string }[]).map((r) => ({
      ...r,
      selected: JSON.parse(r.selected) as number[],
      scores: JSON.parse(r.scores) as Record<string, unknown>,
    }));
  } finally {
    d.close();
  }
}

function unlabelledIds(): number[] {
  const d = new Database(path.join(project, 'project.db'), { readonly: true, fileMustExist: true });
  try {
    return (d.prepare('SELECT id FROM images WHERE id NOT IN (SELECT image_id FROM label_versions) ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  } finally {
    d.close();
  }
}

/** What `select --json` prints on success (errors print { ok: false, error }). */
interface SelectJson {
  roundId: number;
  modelId: number | null;
  strategy: string;
  seed: number;
  picks: { imageId: number; rank: number; score: number | null; reason: string }[];
  scores: Record<string, Record<string, number>>;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'segloop-select-cli-'));
  project = path.join(dir, 'demo');
  await createDemoProject(project);
});

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('segloop select', () => {
  it('refuses bad requests with their code and records nothing', () => {
    const cases: [string[], RegExp][] = [
      [['--strategy', 'no-such', '--count', '1'], /UNKNOWN_STRATEGY/],
      [['--strategy', 'random', '--count', '0'], /INVALID_ARGUMENT/],
      [['--strategy', 'random', '--count', '4'], /BUDGET_EXCEEDS_POOL/],
      [['--strategy', 'entropy', '--count', '1'], /MODEL_NOT_FOUND/], // no model yet
      [['--strategy', 'power-entropy', '--count', '1', '--param', 'beat=2'], /INVALID_ARGUMENT/], // a typo is not ignored
    ];
    for (const [args, code] of cases) {
      const r = segloop(['select', project, ...args]);
      expect(r.status, args.join(' ')).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(code);
    }
    expect(rounds()).toEqual([]);
  }, CLI_TIMEOUT);

  it('random without a model: a round with the picks in order', () => {
    const r = segloop(['select', project, '--strategy', 'random', '--count', '2', '--seed', '3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = r.json as SelectJson;
    expect(out.modelId).toBeNull();
    const [row] = rounds();
    expect(row).toMatchObject({ strategy: 'random', model_id: null, selected: out.picks.map((x) => x.imageId) });
    for (const id of row.selected) expect(unlabelledIds()).toContain(id);
  }, CLI_TIMEOUT);

  it('after `segloop train`, entropy scores the unlabelled cases and records the ordered picks with reasons', () => {
    const t = segloop(['train', project, '--arch', 'unet2d', '--epochs', '1', '--steps-per-epoch', '2', '--batch-size', '2', '--width', '4', '--depth', '2', '--patch', '32,32', '--json']);
    expect(t.status, t.stdout + t.stderr).toBe(0);

    const r = segloop(['select', project, '--strategy', 'entropy', '--count', '3', '--seed', '8', '--json']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const out = r.json as SelectJson;
    expect(r.stderr).toMatch(/\[100%\]/); // the worker's progress lines
    const all = rounds();
    expect(all).toHaveLength(2);
    const row = all[1];
    expect(row.id).toBe(out.roundId);
    expect(row.strategy).toBe('entropy');
    expect(row.model_id).toBe(out.modelId);
    expect(row.model_id).not.toBeNull();
    expect(row.selected).toEqual(out.picks.map((x) => x.imageId));
    // Every unlabelled case scored; picks = all three, highest mean entropy first.
    expect(Object.keys(out.scores).map(Number).sort((a, b) => a - b)).toEqual(unlabelledIds());
    const byScore = [...unlabelledIds()].sort((a, b) => out.scores[b].meanEntropy - out.scores[a].meanEntropy || a - b);
    expect(row.selected).toEqual(byScore);
    const meta = row.scores._round as { seed: number; scoreKey: string; picks: { imageId: number; rank: number; reason: string }[] };
    expect(meta).toMatchObject({ seed: 8, scoreKey: 'meanEntropy' });
    expect(meta.picks.map((x) => [x.imageId, x.rank])).toEqual(row.selected.map((id, i) => [id, i + 1]));
    for (const x of meta.picks) expect(x.reason).toMatch(/entropy/i);
    for (const id of row.selected) expect((row.scores[String(id)] as Record<string, number>).meanEntropy).toBe(out.scores[id].meanEntropy);

    // The human-readable form prints the same queue.
    const text = segloop(['select', project, '--strategy', 'entropy', '--count', '1', '--seed', '8']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`1\\. image ${byScore[0]}: `));
  }, CLI_TIMEOUT);
});

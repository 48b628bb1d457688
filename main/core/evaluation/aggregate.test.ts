// Aggregation (summaries, strata, per patient, worst-N) and the paired bootstrap comparison
// against a numpy re-computation (ref/metrics_aggregate.py).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { summarizeEvaluation, type CaseRecord } from './aggregate';
import { comparePaired } from './compare';
import { foregroundMean, type ClassMetrics, type EmptyCase } from './metrics';
import { mulberry32 } from '../base/rng';

const PY = '/usr/bin/python3';
const SCRIPT = new URL('./ref/metrics_aggregate.py', import.meta.url).pathname;

function makeCases(seed: number, base?: CaseRecord[]): CaseRecord[] {
  const rng = mulberry32(seed);
  const out: CaseRecord[] = [];
  for (let n = 0; n < 31; n++) {
    const classes: ClassMetrics[] = [1, 2].map((label) => {
      const prev = base?.[n].metrics.classes[label - 1];
      const refVoxels = prev ? prev.refVoxels : n % 13 === 5 && label === 2 ? 0 : 200 + Math.floor(rng() * 3000);
      let empty: EmptyCase = refVoxels === 0 ? 'ref' : 'none';
      if (!prev && n % 11 === 3 && label === 1) empty = 'pred';
      // Model B: same values as A on some cases (ties), otherwise A plus noise.
      const same = prev && n % 7 === 0;
      const dice = empty !== 'none' ? 0 : same ? prev.dice : Math.min(1, Math.max(0, (prev?.dice ?? 0.6 + 0.35 * rng()) + (prev ? 0.1 * (rng() - 0.4) : 0)));
      const hd95 = empty !== 'none' ? null : same ? prev.hd95 : (prev?.hd95 ?? 1 + 6 * rng()) + (prev ? rng() - 0.6 : 0);
      return {
        label, dice, iou: dice / (2 - dice), tp: 0, fp: 0, fn: 0,
        predVoxels: empty === 'pred' ? 0 : 1, refVoxels, predVolumeMm3: 0, refVolumeMm3: refVoxels * 0.9,
        hd95, hd: hd95 === null ? null : hd95 * 1.5, assd: hd95 === null ? null : hd95 / 3,
        empty, bothEmpty: false,
      };
    });
    out.push({
      caseId: `case_${String(n).padStart(3, '0')}`,
      patientId: `p${Math.floor(n / 3)}`,
      site: ['siteA', 'siteB', 'siteC'][n % 3],
      metrics: { spacing: [1, 1, 1], classes, mean: foregroundMean(classes) },
    });
  }
  return out;
}

const close = (got: number | null | undefined, want: number | null | undefined, tol = 1e-12): void => {
  if (want === null || want === undefined) expect(got ?? null).toBeNull();
  else expect(Math.abs((got as number) - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)));
};

describe.skipIf(!existsSync(PY))('evaluation aggregation vs numpy (python3 required)', () => {
  it('summaries, size terciles, sites, patients, worst-N and paired bootstrap agree with numpy', () => {
    const a = makeCases(7);
    const b = makeCases(8, a).slice(0, 29); // two cases only in A
    const resamples = 400;
    const seed = 42;
    const flat = (cs: CaseRecord[]) => cs.map((c) => ({ caseId: c.caseId, patientId: c.patientId, site: c.site, classes: c.metrics.classes, mean: c.metrics.mean }));
    const ref = JSON.parse(execFileSync(PY, [SCRIPT], { input: JSON.stringify({ a: flat(a), b: flat(b), resamples, seed, worstN: 5 }), encoding: 'utf8' }));

    const s = summarizeEvaluation(a, { worstN: 5 });
    for (const row of s.overall) {
      for (const key of ['dice', 'iou', 'hd95', 'hd', 'assd'] as const) {
        const want = ref.overall[String(row.label)][key];
        expect(row.metrics[key].n).toBe(want.n);
        close(row.metrics[key].mean, want.mean);
        close(row.metrics[key].median, want.median);
        close(row.metrics[key].std, want.std);
      }
    }
    expect(s.overall.find((r) => r.label === 1)?.emptyCounts).toEqual({ none: 28, both: 0, pred: 3, ref: 0 });
    for (const sz of s.bySize) {
      const want = ref.bySize[String(sz.label)];
      close(sz.cutsMm3?.[0], want.cuts[0]);
      close(sz.cutsMm3?.[1], want.cuts[1]);
      for (const st of ['small', 'medium', 'large'] as const) expect(sz.strata.find((x) => x.stratum === st)?.caseIds.sort()).toEqual(want[st]);
      close(sz.strata[0].summary.metrics.dice.mean, want.smallDice.mean);
    }
    expect(s.bySize[1].strata.find((x) => x.stratum === 'absent')?.caseIds).toEqual(['case_005', 'case_018']);
    for (const site of s.bySite) {
      const mean = site.overall.find((r) => r.label === 'mean');
      close(mean?.metrics.dice.mean, ref.bySite[site.site].dice.mean);
      close(mean?.metrics.hd95.mean, ref.bySite[site.site].hd95.mean);
    }
    expect(s.patients).toHaveLength(11);
    for (const p of s.patients) {
      const m = p.perClass.find((r) => r.label === 'mean');
      close(m?.dice, ref.patients[p.patientId].dice);
      close(m?.assd, ref.patients[p.patientId].assd);
    }
    expect(s.worst.map((w) => w.caseId)).toEqual(ref.worst);

    for (const metric of ['dice', 'hd95'] as const) {
      for (const by of ['case', 'patient'] as const) {
        const cmp = comparePaired(a, b, { metric, resamples, seed, resampleBy: by });
        expect(cmp.matched).toBe(29);
        expect(cmp.onlyA).toEqual(['case_029', 'case_030']);
        for (const row of cmp.classes) {
          const want = ref.paired[`${metric}.${by}`][String(row.label)];
          expect(row.n).toBe(want.n);
          close(row.meanDiff, want.meanDiff);
          close(row.ci?.[0], want.ci[0], 1e-9);
          close(row.ci?.[1], want.ci[1], 1e-9);
          expect([row.wins, row.losses, row.ties]).toEqual([want.wins, want.losses, want.ties]);
        }
        // The fixture must exercise wins, losses, ties and null exclusions.
        const mean = cmp.classes.find((r) => r.label === 'mean');
        expect(Math.min(mean?.wins ?? 0, mean?.losses ?? 0, mean?.ties ?? 0)).toBeGreaterThan(0);
        if (metric === 'hd95') expect(cmp.classes.find((r) => r.label === 1)?.excluded).toBeGreaterThan(0);
      }
    }
  });
});

describe('comparePaired basics', () => {
  it('is reproducible with a seed, and the CI brackets the mean difference', () => {
    const a = makeCases(1);
    const b = makeCases(2, a);
    const x = comparePaired(a, b, { seed: 9 });
    const y = comparePaired(a, b, { seed: 9 });
    expect(x).toEqual(y);
    for (const r of x.classes) {
      expect(r.ci?.[0]).toBeLessThanOrEqual(r.meanDiff as number);
      expect(r.ci?.[1]).toBeGreaterThanOrEqual(r.meanDiff as number);
    }
    expect(() => comparePaired(a, [...b, b[0]])).toThrow(/appears twice/);
    expect(() => comparePaired(a, b, { resamples: 0 })).toThrow(/resamples/);
  });
});

import { describe, expect, it } from 'vitest';
import type { EvaluationReportView, LearningCurveView } from '../../../../shared/evaluation-schema';
import { curveGeometry, flattenCases, measurementCases, measureUnit, measureValue, niceTicks, signedMeasure, sortCases } from './evaluation-view';

const cell = (label: number, dice: number, hd95: number | null, empty: 'none' | 'pred' = 'none') => ({ label, dice, iou: dice / (2 - dice), hd95, assd: hd95, refVolumeMm3: 100, predVolumeMm3: 90, empty });
const evalCase = (id: string, d1: number, d2: number, h2: number | null, empty: 'none' | 'pred' = 'none') => ({
  imageId: id, image: `img${id}`, patient: `p${id}`, site: 'A', referenceSource: 'imported', referenceFromModel: false, patientInTraining: false,
  classes: [cell(1, d1, 1), cell(2, d2, h2, empty)], meanDice: (d1 + d2) / 2, meanHd95: h2 === null ? 1 : (1 + h2) / 2,
  measurements: {
    dims: 3 as const,
    classes: [
      { label: 1, pred: { volumeMm3: 1000 * d1, maxDiameterMm: 30 }, ref: { volumeMm3: 900, maxDiameterMm: 31.5 } },
      { label: 2, pred: empty === 'pred' ? null : { volumeMm3: 500, maxDiameterMm: 20 }, ref: { volumeMm3: 450, maxDiameterMm: 20 } },
    ],
  },
});
const model = (version: number, cases: ReturnType<typeof evalCase>[]) => ({
  model: { id: String(version), version, status: 'candidate', architecture: 'x' }, cases, skipped: [], overall: [], bySite: [], bySize: [], patients: [], worst: [],
  measurements: (['volumeMm3', 'maxDiameterMm'] as const).map((key) => ({ label: 1, key, n: cases.length, oneEmpty: 0, meanAbsError: 1, meanError: -1, meanAbsRelError: 0.1, refMean: 10, predMean: 9 })),
});

const view: EvaluationReportView = {
  split: 'test', imagesConsidered: 3, referenceSources: ['imported'],
  classes: [{ label: 1, name: 'anterior', colour: '#ff0000' }, { label: 2, name: 'posterior', colour: '#0000ff' }],
  primary: model(1, [evalCase('1', 0.8, 0.7, 2), evalCase('2', 0.9, 0, null, 'pred'), evalCase('3', 0.85, 0.8, 1.5)]),
  secondary: model(2, [evalCase('1', 0.9, 0.8, 1), evalCase('3', 0.86, 0.8, 1.5)]),
  comparison: null, conventions: [], warnings: [],
};

describe('evaluation view helpers', () => {
  it('flattens cases with per-class columns, the compared mean, the delta and empty-mask notes', () => {
    const { columns, rows } = flattenCases(view);
    expect(columns.map((c) => c.key)).toEqual(['image', 'patient', 'site', 'dice_1', 'hd95_1', 'dice_2', 'hd95_2', 'meanDice', 'meanHd95', 'meanDiceB', 'deltaDice', 'flags']);
    expect(rows[0]).toMatchObject({ dice_1: 0.8, hd95_2: 2 });
    expect(rows[0].meanDiceB).toBeCloseTo(0.85, 12);
    expect(rows[0].deltaDice).toBeCloseTo(0.1, 12);
    expect(rows[1]).toMatchObject({ meanDiceB: null, deltaDice: null, hd95_2: null, flags: 'posterior: prediction empty' });
  });

  it('lists each case and class with prediction, reference and error per measure; volumes in ml', () => {
    const { keys, rows } = measurementCases(view);
    expect(keys).toEqual(['volumeMm3', 'maxDiameterMm']);
    expect(rows).toHaveLength(6);
    expect(rows[0]).toMatchObject({ imageId: '1', label: 1 });
    expect(rows[0].cells[0]).toEqual({ key: 'volumeMm3', pred: 800, ref: 900, error: -100 });
    expect(rows[0].cells[1].error).toBeCloseTo(-1.5, 12);
    // prediction empty: no value, no error
    expect(rows[3].cells[0]).toEqual({ key: 'volumeMm3', pred: null, ref: 450, error: null });
    expect([measureUnit('volumeMm3'), measureValue('volumeMm3', -100), signedMeasure('volumeMm3', 100)]).toEqual(['ml', '-0.100', '+0.100']);
    expect([measureUnit('circumferenceMm'), measureValue('circumferenceMm', 181.234), signedMeasure('maxDiameterMm', null)]).toEqual(['mm', '181.23', '—']);
  });

  it('sorts worst first and keeps undefined distances last in both directions', () => {
    const { rows } = flattenCases(view);
    expect(sortCases(rows, 'meanDice', 'asc').map((r) => r.imageId)).toEqual(['2', '1', '3']);
    expect(sortCases(rows, 'hd95_2', 'desc').map((r) => r.imageId)).toEqual(['1', '3', '2']);
    expect(sortCases(rows, 'hd95_2', 'asc').map((r) => r.imageId)).toEqual(['3', '1', '2']);
  });

  it('places integer ticks at their values and leaves points without minutes off the minutes axis', () => {
    expect(niceTicks(4.32, 4, true)).toEqual([0, 2, 4]);
    expect(niceTicks(4.32, 5, true)).toEqual([0, 1, 2, 3, 4]);
    expect(niceTicks(43, 4, false)).toEqual([0, 20, 40]);
    expect(niceTicks(0.7, 4, false)).toEqual([0, 0.2, 0.4, 0.6]);
    const curve: LearningCurveView = {
      points: [
        { modelId: '1', version: 1, status: 'retired', labelledImages: 2, labelVersions: 2, annotationMinutes: 7, minutesComplete: false, meanDice: 0.7, diceSource: 'test-predictions', evaluatedCases: 6, notes: [] },
        { modelId: '2', version: 2, status: 'candidate', labelledImages: 4, labelVersions: 4, annotationMinutes: null, minutesComplete: false, meanDice: 0.8, diceSource: 'test-predictions', evaluatedCases: 6, notes: [] },
      ],
      excluded: [], sameTestCases: true, notes: [],
    };
    const g = curveGeometry(curve, 'images');
    const tick2 = g.xTicks.find((t) => t.text === '2');
    expect(g.series[0].points[0].x).toBeCloseTo(tick2?.x as number, 9);
    const m = curveGeometry(curve, 'minutes');
    expect(m.missing).toBe(1);
    expect(m.series[0].points).toHaveLength(1);
  });
});

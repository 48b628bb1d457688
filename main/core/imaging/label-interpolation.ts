// Fill between slices: a clinician labels a few slices of a structure and the slices between them
// are interpolated by morphological contour interpolation (Albu et al. 2008, the algorithm of 3D
// Slicer's "Fill between slices"), run from ITK's own implementation compiled to WebAssembly
// (@itk-wasm/morphological-contour-interpolation). It runs in Node from node_modules: no CDN, no
// network, the same in the packaged app.
import { morphologicalContourInterpolationNode } from '@itk-wasm/morphological-contour-interpolation';
import { SegloopError } from '../../../shared/errors';
import type { Shape3, Spacing3 } from './label-edit-ops';

/** For each axis, how many empty slices lie between the first and the last labelled slice of `segment`. */
export function sliceGaps(labels: Uint8Array, shape: Shape3, segment: number): [number, number, number] {
  const [X, Y, Z] = shape;
  const has = [new Uint8Array(X), new Uint8Array(Y), new Uint8Array(Z)];
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        if (labels[x + X * (y + Y * z)] !== segment) continue;
        has[0][x] = 1;
        has[1][y] = 1;
        has[2][z] = 1;
      }
    }
  }
  return has.map((h) => {
    const first = h.indexOf(1);
    const last = h.lastIndexOf(1);
    if (first < 0) return 0;
    let gaps = 0;
    for (let i = first; i <= last; i++) if (!h[i]) gaps++;
    return gaps;
  }) as [number, number, number];
}

/**
 * Interpolates `segment` between its labelled slices along `axis` (0 = i/x, 1 = j/y, 2 = k/z;
 * 'auto': the axis with the most unlabelled slices between labelled ones). Only background voxels
 * are filled: other segments and what was drawn stay as they are.
 */
export async function fillBetweenSlices(labels: Uint8Array, shape: Shape3, spacing: Spacing3, segment: number, axis: 0 | 1 | 2 | 'auto' = 'auto'): Promise<{ labels: Uint8Array; axis: number }> {
  const [X, Y, Z] = shape;
  if (labels.length !== X * Y * Z) throw new SegloopError('LABEL_GEOMETRY_MISMATCH', `The labelmap has ${labels.length} voxels but the image is ${shape.join('×')}.`);
  const gaps = sliceGaps(labels, shape, segment);
  const chosen = axis === 'auto' ? gaps.indexOf(Math.max(...gaps)) : axis;
  if (gaps[chosen] === 0) {
    throw new SegloopError('INVALID_ARGUMENT', `Segment ${segment} has no unlabelled slices between labelled ones along axis ${'ijk'[chosen]}: label a few slices with gaps between them first.`);
  }
  const mask = Uint8Array.from(labels, (v) => (v === segment ? 1 : 0));
  const image = {
    imageType: { dimension: 3, componentType: 'uint8', pixelType: 'Scalar', components: 1 },
    name: 'labels',
    origin: [0, 0, 0],
    spacing: [...spacing],
    direction: new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]),
    size: [X, Y, Z],
    metadata: new Map(),
    data: mask,
  };
  let out: Uint8Array;
  try {
    const r = await morphologicalContourInterpolationNode(image as unknown as Parameters<typeof morphologicalContourInterpolationNode>[0], { label: 1, axis: chosen });
    out = r.outputImage.data as Uint8Array;
  } catch (err) {
    throw new SegloopError('INTERNAL_ERROR', `Interpolation between slices failed: ${(err as Error).message}`);
  }
  const result = labels.slice();
  for (let i = 0; i < result.length; i++) if (out[i] && result[i] === 0) result[i] = segment;
  return { labels: result, axis: chosen };
}

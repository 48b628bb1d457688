// Clinical measurements of one structure in a label mask, in millimetres: area (2D) or volume (3D),
// contour perimeter, the moments ellipse (axes, orientation, circumference — the head-circumference
// measure of fetal ultrasound), and the maximum diameter (Feret). Voxel spacing may be anisotropic:
// every quantity is computed in mm coordinates, never in pixels then scaled.
import type { Vec3 } from './geometry';

export interface EllipseFit {
  /** semi-axes in mm, a >= b */
  semiMajorMm: number;
  semiMinorMm: number;
  /** angle of the major axis from the image x axis, radians in (-pi/2, pi/2] */
  angleRad: number;
  centreMm: [number, number];
  /** Ramanujan's second approximation (relative error < 1e-9 for b/a > 0.5) */
  circumferenceMm: number;
}

export interface SliceMeasures {
  label: number;
  pixels: number;
  areaMm2: number;
  /** length of the marching-squares iso-contour at 0.5 (all closed contours, holes included) */
  perimeterMm: number;
  ellipse: EllipseFit | null;
  /** largest distance between two contour points */
  maxDiameterMm: number;
}

export interface VolumeMeasures {
  label: number;
  voxels: number;
  volumeMm3: number;
  /** extent of the structure's bounding box along each axis, mm */
  extentMm: Vec3;
}

export function ellipseCircumference(a: number, b: number): number {
  if (a + b === 0) return 0;
  const h = ((a - b) / (a + b)) ** 2;
  return Math.PI * (a + b) * (1 + (3 * h) / (10 + Math.sqrt(4 - 3 * h)));
}

/** Voxel count, volume and extent of `label` in a 3D mask (x fastest, as NIfTI stores it). */
export function measureVolume(mask: ArrayLike<number>, shape: Vec3, spacing: Vec3, label: number): VolumeMeasures {
  const [X, Y] = shape;
  let n = 0;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== label) continue;
    n++;
    const x = i % X;
    const y = Math.floor(i / X) % Y;
    const z = Math.floor(i / (X * Y));
    const p = [x, y, z];
    for (let d = 0; d < 3; d++) {
      if (p[d] < lo[d]) lo[d] = p[d];
      if (p[d] > hi[d]) hi[d] = p[d];
    }
  }
  const extentMm: Vec3 = n === 0 ? [0, 0, 0] : [0, 1, 2].map((d) => (hi[d] - lo[d] + 1) * spacing[d]) as Vec3;
  return { label, voxels: n, volumeMm3: n * spacing[0] * spacing[1] * spacing[2], extentMm };
}

/**
 * Measures `label` on one 2D slice (W x H, x fastest) with pixel size [sx, sy] mm. Pixel centres
 * sit at (x*sx, y*sy). Returns pixels 0 and empty measures when the label is absent.
 */
export function measureSlice(slice: ArrayLike<number>, width: number, height: number, spacing: [number, number], label: number): SliceMeasures {
  const [sx, sy] = spacing;
  let n = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (slice[y * width + x] !== label) continue;
      n++;
      mx += x * sx;
      my += y * sy;
    }
  }
  if (n === 0) return { label, pixels: 0, areaMm2: 0, perimeterMm: 0, ellipse: null, maxDiameterMm: 0 };
  mx /= n;
  my /= n;
  // second central moments in mm², each pixel a uniform square (the +s²/12 term): exact for the
  // moments of the pixelated shape, so a rasterised ellipse gives back its axes
  let cxx = 0;
  let cyy = 0;
  let cxy = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (slice[y * width + x] !== label) continue;
      const dx = x * sx - mx;
      const dy = y * sy - my;
      cxx += dx * dx;
      cyy += dy * dy;
      cxy += dx * dy;
    }
  }
  cxx = cxx / n + (sx * sx) / 12;
  cyy = cyy / n + (sy * sy) / 12;
  cxy /= n;
  const tr = cxx + cyy;
  const disc = Math.sqrt(Math.max(0, ((cxx - cyy) / 2) ** 2 + cxy * cxy));
  const l1 = tr / 2 + disc;
  const l2 = Math.max(0, tr / 2 - disc);
  // a filled ellipse with semi-axes a, b has second moments a²/4 and b²/4 along its axes
  const a = 2 * Math.sqrt(l1);
  const b = 2 * Math.sqrt(l2);
  const angleRad = 0.5 * Math.atan2(2 * cxy, cxx - cyy);
  const segments = contourSegments(slice, width, height, label);
  let perimeter = 0;
  const points: [number, number][] = [];
  for (const [x0, y0, x1, y1] of segments) {
    perimeter += Math.hypot((x1 - x0) * sx, (y1 - y0) * sy);
    points.push([x0 * sx, y0 * sy]);
  }
  return {
    label,
    pixels: n,
    areaMm2: n * sx * sy,
    perimeterMm: perimeter,
    ellipse: { semiMajorMm: a, semiMinorMm: b, angleRad, centreMm: [mx, my], circumferenceMm: ellipseCircumference(a, b) },
    maxDiameterMm: maxDistance(points),
  };
}

/**
 * Marching squares at level 0.5 over the binary image (label vs rest), with the image padded by
 * background so every contour closes. Segments in pixel coordinates (pixel centres at integers).
 * The saddle cases are resolved by the cell's mean (as skimage.measure.find_contours does).
 */
function contourSegments(slice: ArrayLike<number>, width: number, height: number, label: number): [number, number, number, number][] {
  const v = (x: number, y: number): number => (x < 0 || y < 0 || x >= width || y >= height ? 0 : slice[y * width + x] === label ? 1 : 0);
  const out: [number, number, number, number][] = [];
  for (let y = -1; y < height; y++) {
    for (let x = -1; x < width; x++) {
      const tl = v(x, y);
      const tr = v(x + 1, y);
      const br = v(x + 1, y + 1);
      const bl = v(x, y + 1);
      const code = tl | (tr << 1) | (br << 2) | (bl << 3);
      if (code === 0 || code === 15) continue;
      // edge midpoints (binary data: the 0.5 crossing is always halfway)
      const top: [number, number] = [x + 0.5, y];
      const right: [number, number] = [x + 1, y + 0.5];
      const bottom: [number, number] = [x + 0.5, y + 1];
      const left: [number, number] = [x, y + 0.5];
      const seg = (p: [number, number], q: [number, number]) => out.push([p[0], p[1], q[0], q[1]]);
      switch (code) {
        case 1:
        case 14:
          seg(left, top);
          break;
        case 2:
        case 13:
          seg(top, right);
          break;
        case 3:
        case 12:
          seg(left, right);
          break;
        case 4:
        case 11:
          seg(right, bottom);
          break;
        case 6:
        case 9:
          seg(top, bottom);
          break;
        case 7:
        case 8:
          seg(left, bottom);
          break;
        case 5: // tl and br set: the mean (0.5) counts as inside, so the two corners join
          seg(left, bottom);
          seg(top, right);
          break;
        case 10:
          seg(left, top);
          seg(right, bottom);
          break;
      }
    }
  }
  return out;
}

/** Largest pairwise distance, on the convex hull (monotone chain + rotating over hull pairs). */
function maxDistance(points: [number, number][]): number {
  if (points.length < 2) return 0;
  const pts = [...points].sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  const cross = (o: [number, number], a: [number, number], b: [number, number]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  const hull = lower.slice(0, -1).concat(upper.slice(0, -1));
  let best = 0;
  // hulls of label contours are small (hundreds of points): the quadratic pass is exact and cheap
  for (let i = 0; i < hull.length; i++) {
    for (let j = i + 1; j < hull.length; j++) best = Math.max(best, Math.hypot(hull[i][0] - hull[j][0], hull[i][1] - hull[j][1]));
  }
  return best;
}

// Connected components of one label value with 26-connectivity (as scipy.ndimage.label with a
// 3x3x3 structure of ones). Voxel order is nibabel's: index i + X*(j + Y*k).
import type { VoxelArray } from '../imaging/volume';

/** Sizes (voxel counts) of the 26-connected components where data == value, largest first. */
export function componentSizes(data: VoxelArray, shape: readonly [number, number, number], value: number): number[] {
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const sizes: number[] = [];
  for (let start = 0; start < n; start++) {
    if (seen[start] || data[start] !== value) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let size = 0;
    while (top > 0) {
      const v = stack[--top];
      size++;
      const i = v % X;
      const j = Math.floor(v / X) % Y;
      const k = Math.floor(v / (X * Y));
      for (let dk = -1; dk <= 1; dk++) {
        const kk = k + dk;
        if (kk < 0 || kk >= Z) continue;
        for (let dj = -1; dj <= 1; dj++) {
          const jj = j + dj;
          if (jj < 0 || jj >= Y) continue;
          for (let di = -1; di <= 1; di++) {
            const ii = i + di;
            if (ii < 0 || ii >= X) continue;
            const u = ii + X * (jj + Y * kk);
            if (!seen[u] && data[u] === value) {
              seen[u] = 1;
              stack[top++] = u;
            }
          }
        }
      }
    }
    sizes.push(size);
  }
  return sizes.sort((a, b) => b - a);
}

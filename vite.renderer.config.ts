// The renderer's Vite config, shared by `electron-vite` (electron.vite.config.ts) and the browser
// build that `segloop serve` hosts (`vite build --config vite.renderer.config.ts` -> out/renderer).
import vue from '@vitejs/plugin-vue';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UserConfig } from 'vite';

const root = path.dirname(fileURLToPath(import.meta.url));

export const rendererConfig: UserConfig = {
  root: path.join(root, 'renderer'),
  base: './',
  plugins: [vue()],
  resolve: { alias: { '@shared': path.join(root, 'shared') } },
  // Cornerstone's compute worker is an ES module worker.
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['@cornerstonejs/dicom-image-loader'] },
  build: {
    outDir: path.join(root, 'out/renderer'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 8000,
    target: 'es2022',
  },
};

export default rendererConfig;

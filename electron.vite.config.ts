// electron-vite: three entry points (main, preload, renderer), each with its own build.
import { defineConfig, externalizeDepsPlugin } from 'electron-vite';
import path from 'node:path';
import { rendererConfig } from './vite.renderer.config';

// SEGLOOP_OUT_DIR builds elsewhere (the packaging test builds into a temp folder so it never
// rewrites the out/renderer that running e2e tests serve).
const OUT = process.env.SEGLOOP_OUT_DIR ?? 'out';

export default defineConfig({
  main: {
    plugins: [externalizeDepsPlugin()],
    build: { outDir: `${OUT}/main`, rollupOptions: { input: { main: path.resolve('main/electron/main.ts'), worker: path.resolve('main/core/worker/worker-entry.ts'), 'preprocess-pool-worker': path.resolve('main/core/ml/data/preprocess-pool-worker.ts') } } },
  },
  preload: {
    plugins: [externalizeDepsPlugin()],
    build: {
      outDir: `${OUT}/preload`,
      rollupOptions: { input: { preload: path.resolve('main/electron/preload.ts') }, output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    ...rendererConfig,
    build: { ...rendererConfig.build, outDir: `${OUT}/renderer`, rollupOptions: { input: path.resolve('renderer/index.html') } },
  },
});

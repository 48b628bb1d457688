// Layer rules of DESIGN.md, enforced here (not by hope):
//   core imports neither electron nor renderer; shared imports nothing of ours;
//   renderer imports only shared and itself; features do not import each other.
import tseslint from 'typescript-eslint';
import segloop from './tools/eslint-layers.js';
import vueParser from 'vue-eslint-parser';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(fileURLToPath(import.meta.url));

export const FEATURES = ['cases', 'labelling', 'review', 'training', 'models', 'diagnostics', 'evaluation'];

const featureZones = FEATURES.map((f) => ({
  target: `./renderer/src/features/${f}`,
  from: './renderer/src/features',
  except: [`./${f}`],
  message: 'Features do not import each other: move shared code to renderer/src/ui or shared/.',
}));

// Layers inside main/core, lowest first: a module may import the ones before it, never one after.
// evaluation sits below ml because training validation and DAD use its one Dice; active-learning
// sits below jobs because jobs run its rounds. worker/worker-entry.ts is the child process's task
// table (a composition root, loaded by path and imported by nothing) and may import every task.
export const CORE_LAYERS = ['base', 'imaging', 'project', 'evaluation', 'diagnostics', 'ml', 'worker', 'active-learning', 'jobs'];
const WORKER_ENTRY = './main/core/worker/worker-entry.ts';

const coreZones = CORE_LAYERS.flatMap((mod, i) =>
  CORE_LAYERS.slice(i + 1).map((upper) => ({
    target: `./main/core/${mod}`,
    from: `./main/core/${upper}`,
    targetExcept: mod === 'worker' ? [WORKER_ENTRY] : [],
    message: `Inside core, ${mod} is below ${upper} (${CORE_LAYERS.join(' → ')}): move the shared part down, to base/ if it is generic.`,
  })),
);

export const layerZones = [
  { target: './main/core', from: './main/electron', message: 'core never imports the Electron shell.' },
  { target: './main/core', from: './main/server', message: 'core knows no transport.' },
  { target: './main/core', from: './main/app', message: 'core is called by app, never the reverse.' },
  { target: './main/core', from: './renderer', message: 'core never imports the renderer.' },
  { target: './shared', from: './main', message: 'shared/ imports nothing of ours.' },
  { target: './shared', from: './renderer', message: 'shared/ imports nothing of ours.' },
  { target: './renderer', from: './main', message: 'renderer imports only shared/ and itself.' },
  ...featureZones,
  ...coreZones,
];

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'out/**', 'dist/**', 'release/**', 'coverage/**', 'tests/e2e/artifacts/**', 'renderer/dist/**', 'tests/fixtures/lint/**', '.tmp/**'],
  },
  ...tseslint.configs.recommended,
  {
    // Vue single-file components: their <script> blocks obey the same layer rules.
    files: ['**/*.vue'],
    languageOptions: { parser: vueParser, parserOptions: { parser: tseslint.parser, sourceType: 'module', extraFileExtensions: ['.vue'] } },
  },
  {
    plugins: { segloop },
    rules: {
      'segloop/layers': ['error', { zones: layerZones, root: ROOT }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['main/core/**/*.ts', 'shared/**/*.ts', 'renderer/**/*.ts', 'renderer/**/*.vue'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'Only main/electron may import electron.' }] }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'shared/ imports nothing platform-specific.' }],
        patterns: [{ group: ['node:*', 'fs', 'path', 'child_process'], message: 'shared/ runs in the renderer too: no Node built-ins.' }],
      }],
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.vue'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'electron', message: 'The renderer talks to main only through the ApiClient.' }],
        patterns: [{ group: ['node:*', 'fs', 'child_process'], message: 'The renderer is sandboxed: no Node built-ins.' }],
      }],
    },
  },
);

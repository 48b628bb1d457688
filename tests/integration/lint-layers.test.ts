import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import path from 'node:path';

// Each fixture is linted as if it lived at the given path in the tree, so the
// layer rules of eslint.config.js are exercised exactly as they are on real code.
const root = path.resolve(__dirname, '../..');
const fixture = (name: string): string => readFileSync(path.join(root, 'tests/fixtures/lint', name), 'utf8');

async function lintAs(code: string, virtualPath: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, virtualPath) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layer rules', () => {
  it('rejects core importing the Electron shell', async () => {
    const msgs = await lintAs(fixture('core-imports-electron-shell.ts'), 'main/core/project/leak.ts');
    expect(msgs.some((m) => m.startsWith('segloop/layers'))).toBe(true);
  });

  it('rejects core importing electron', async () => {
    const msgs = await lintAs(fixture('core-imports-electron.ts'), 'main/core/ml/leak.ts');
    expect(msgs.some((m) => m.startsWith('no-restricted-imports'))).toBe(true);
  });

  it('rejects shared importing main', async () => {
    const msgs = await lintAs(fixture('shared-imports-main.ts'), 'shared/leak.ts');
    expect(msgs.some((m) => m.startsWith('segloop/layers'))).toBe(true);
  });

  it('rejects a feature importing another feature', async () => {
    const msgs = await lintAs(fixture('feature-imports-feature.ts'), 'renderer/src/features/labelling/leak.ts');
    expect(msgs.some((m) => m.startsWith('segloop/layers'))).toBe(true);
  });

  it('rejects a Vue component of one feature importing another feature', async () => {
    const sfc = `<script setup lang="ts">\n${fixture('feature-imports-feature.ts')}\n</script>\n<template><div /></template>\n`;
    const msgs = await lintAs(sfc, 'renderer/src/features/review/Leak.vue');
    expect(msgs.some((m) => m.startsWith('segloop/layers'))).toBe(true);
  });

  it('rejects a core module importing a module above it inside core', async () => {
    const msgs = await lintAs(fixture('core-imports-upward.ts'), 'main/core/project/leak.ts');
    expect(msgs.some((m) => m.startsWith('segloop/layers') && m.includes('project is below ml'))).toBe(true);
  });

  it('lets only the worker entry (the task table) import active-learning from worker/', async () => {
    const code = "import { scoreTask } from '../active-learning/score-task';\nexport const t = scoreTask;\n";
    const entry = await lintAs(code, 'main/core/worker/worker-entry.ts');
    const other = await lintAs(code, 'main/core/worker/worker-host.ts');
    expect(entry.filter((m) => m.startsWith('segloop/layers'))).toEqual([]);
    expect(other.some((m) => m.startsWith('segloop/layers'))).toBe(true);
  });

  it('accepts a core module that respects the layers', async () => {
    const msgs = await lintAs(fixture('core-allowed.ts'), 'main/core/imaging/ok.ts');
    expect(msgs).toEqual([]);
  });
});

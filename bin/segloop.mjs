#!/usr/bin/env node
// Entry point of the `segloop` command: runs the TypeScript CLI through tsx so that
// `npx segloop ...` works straight after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../main/cli/index.ts', import.meta.url).href);

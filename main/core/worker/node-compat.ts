// Makes the ML modules loadable in a plain Node (tsx) process, where vitest's bundling does not
// help: `@tensorflow/tfjs-core/dist/register_all_gradients` is an ESM file with directory
// imports, which Node refuses (ERR_UNSUPPORTED_DIR_IMPORT). Under Node, tfjs-core resolves to
// its CJS bundle, and tfjs-layers' Node bundle registers every core gradient into the shared
// global registry — so the deep import is redundant here and is mapped to an empty module.
// Import this module FIRST (before anything that imports tfjs), then load the rest dynamically.
import { register } from 'node:module';
import '@tensorflow/tfjs-layers';

const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier === '@tensorflow/tfjs-core/dist/register_all_gradients' || specifier === '@tensorflow/tfjs-core/dist/register_all_gradients.js') {
    return { url: 'data:text/javascript,export {}', shortCircuit: true };
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

// A small ESLint rule for the layer rules of DESIGN.md. We would use eslint-plugin-import-x's
// no-restricted-paths, but it depends on unrs-resolver, whose platform packages the registry
// mirror of our build machines does not carry, which breaks `npm ci`. This rule resolves
// relative import paths itself (no file-system access needed) and checks them against zones.
import path from 'node:path';

/** @typedef {{ target: string, from: string, except?: string[], targetExcept?: string[], message: string }} Zone */

function inside(file, dir) {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** @type {import('eslint').Rule.RuleModule} */
const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'forbid imports that cross the layers of DESIGN.md' },
    schema: [{ type: 'object', properties: { zones: { type: 'array' }, root: { type: 'string' } }, additionalProperties: false }],
  },
  create(context) {
    const { zones = [], root = context.cwd } = context.options[0] ?? {};
    const filename = context.filename;
    /** @type {Zone[]} */
    const active = zones.filter(
      (z) => inside(filename, path.resolve(root, z.target)) && !(z.targetExcept ?? []).some((t) => inside(filename, path.resolve(root, t))),
    );
    if (!active.length) return {};
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const resolved = path.resolve(path.dirname(filename), source.value);
      for (const z of active) {
        const from = path.resolve(root, z.from);
        if (!inside(resolved, from)) continue;
        if ((z.except ?? []).some((e) => inside(resolved, path.resolve(from, e)))) continue;
        context.report({ node, message: `Unexpected path "${source.value}" imported in restricted zone. ${z.message}` });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
    };
  },
};

export default { rules: { layers: layersRule } };

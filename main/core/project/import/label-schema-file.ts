// The label schema of an import: read from a JSON file, or inferred from the label values found.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { SegloopError } from '../../../../shared/errors';

export interface LabelClass {
  index: number;
  name: string;
  colour: string;
}

const schemaFile = z.object({
  labels: z
    .array(
      z.object({
        index: z.number().int().min(0).max(255),
        name: z.string().min(1).max(100),
        colour: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'colour must be #rrggbb'),
      }),
    )
    .min(2, 'a schema needs background and at least one structure'),
});

export function readLabelSchemaFile(file: string): LabelClass[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SegloopError('INVALID_ARGUMENT', `Cannot read label schema ${file}: ${(err as Error).message}`);
  }
  const parsed = schemaFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SegloopError('VALIDATION_FAILED', `Label schema ${file} is invalid at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const labels = [...parsed.data.labels].sort((a, b) => a.index - b.index);
  if (labels[0].index !== 0) throw new SegloopError('VALIDATION_FAILED', `Label schema ${file} must define index 0 (background)`);
  const seen = new Set<number>();
  for (const l of labels) {
    if (seen.has(l.index)) throw new SegloopError('VALIDATION_FAILED', `Label schema ${file} defines index ${l.index} twice`);
    seen.add(l.index);
  }
  return labels;
}

// A colour-blind-friendly palette (Okabe-Ito), then a fallback hue walk.
const PALETTE = ['#e69f00', '#56b4e9', '#009e73', '#f0e442', '#0072b2', '#d55e00', '#cc79a7'];

export function inferLabelSchema(values: Iterable<number>): LabelClass[] {
  const idx = [...new Set([0, ...values])].sort((a, b) => a - b);
  return idx.map((index, i) => ({
    index,
    name: index === 0 ? 'background' : `label ${index}`,
    colour: index === 0 ? '#000000' : (PALETTE[(i - 1) % PALETTE.length] ?? '#ffffff'),
  }));
}

// Named, swappable model architectures (MONAI-Label style). A trainer asks for a model by name
// plus options; the full resolved config travels with the saved weights (see io.ts).

import type * as tfl from '@tensorflow/tfjs-layers';
import { buildUNet, DEFAULT_UNET_CONFIG, type BuildOptions, type UNetConfig } from './unet';
import { SegloopError } from '../../../../shared/errors';

export type ModelOptions = Partial<UNetConfig>;

export interface ModelDefinition {
  name: string;
  description: string;
  /** Turns user options into a complete config (fixing what the architecture implies). */
  resolve(options: ModelOptions): UNetConfig;
  /** `opts.seed`: the same seed gives the same initial weights. */
  build(config: UNetConfig, opts?: BuildOptions): tfl.LayersModel;
}

const registry = new Map<string, ModelDefinition>();

export function registerModel(def: ModelDefinition): void {
  registry.set(def.name, def);
}

export function listModels(): ModelDefinition[] {
  return [...registry.values()];
}

export function getModelDefinition(name: string): ModelDefinition {
  const def = registry.get(name);
  if (!def) {
    throw new SegloopError('INVALID_ARGUMENT', `Unknown model architecture "${name}". Known: ${[...registry.keys()].join(', ')}.`, { name });
  }
  return def;
}

export interface CreatedModel {
  name: string;
  config: UNetConfig;
  model: tfl.LayersModel;
}

export function createModel(name: string, options: ModelOptions = {}, build: BuildOptions = {}): CreatedModel {
  const def = getModelDefinition(name);
  const config = def.resolve(options);
  return { name, config, model: def.build(config, build) };
}

function unetVariant(name: string, description: string, fixed: Partial<UNetConfig>): ModelDefinition {
  return {
    name,
    description,
    resolve: (o) => ({ ...DEFAULT_UNET_CONFIG, ...o, ...fixed }),
    build: (config, opts) => buildUNet(config, name.replace(/[^a-z0-9]/g, '_'), opts),
  };
}

registerModel(unetVariant('unet2d', '2D U-Net (slice by slice)', { dims: 2, residual: false, attention: false }));
registerModel(unetVariant('unet3d', '3D U-Net', { dims: 3, residual: false, attention: false }));
registerModel(unetVariant('resunet', 'U-Net with residual blocks (2D or 3D)', { residual: true, attention: false }));
registerModel(unetVariant('attention-unet', 'U-Net with attention gates on the skips (2D or 3D)', { residual: false, attention: true }));
registerModel(unetVariant('attention-resunet', 'Residual U-Net with attention gates (2D or 3D)', { residual: true, attention: true }));

export { createModel, getModelDefinition, listModels, registerModel, type CreatedModel, type ModelDefinition, type ModelOptions } from './registry';
export { buildUNet, DEFAULT_UNET_CONFIG, type BuildOptions, type UNetConfig } from './unet';
export { Normalization, NearestUpsample, type NormKind } from './layers';

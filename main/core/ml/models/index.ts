export { createModel, getModelDefinition, listModels, registerModel, type CreatedModel, type ModelDefinition, type ModelOptions } from './registry';
export { buildUNet, DEFAULT_UNET_CONFIG, type UNetConfig } from './unet';
export { saveModel, loadModel, type SavedModelInfo } from './io';
export { Normalization, NearestUpsample, type NormKind } from './layers';

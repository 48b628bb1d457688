export * from './layout';
export * from './prng';
export * from './resample';
export * from './intensity';
export * from './augment';
export * from './preprocess';
export * from './sampler';

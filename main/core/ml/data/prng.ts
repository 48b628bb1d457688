// The data pipeline's seeded generator is the code base's one PRNG (base/rng).
export { createRng, type Rng } from '../../base/rng';

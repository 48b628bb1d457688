/**
 * Active learning (issue 12): which unlabelled images to label next.
 *
 * Core API (for main/app handlers `al:strategies`, `al:select`, `al:rounds`, and the CLI):
 * - `listStrategies()` / `listScoringFunctions()` -> `{ name, description, params }[]`
 *   (params: `{ name, type, default, description }`). Registries: `registerStrategy`,
 *   `getStrategy`, `registerScoringFunction`, `getScoringFunction` (strategies.ts, scoring.ts).
 * - `selectInProject(store, { strategy, count, modelId?, seed?, params?, signal?, onEvent? })`
 *   in main/core/jobs/select-job.ts -> `{ roundId, modelId, picks: { imageId, rank, score, reason }[] }`.
 *   Scores the unlabelled non-test pool in a worker process (task `al-score`), files one
 *   prediction per scored image (scores under PREDICTION_SCORE_KEYS), records an al_round.
 *   Errors: UNKNOWN_STRATEGY, BUDGET_EXCEEDS_POOL, NO_UNLABELLED_IMAGES, MODEL_NOT_FOUND,
 *   INVALID_ARGUMENT, JOB_CANCELLED — nothing recorded on any of them.
 * - `alRoundsOf(store)` (rounds.ts) -> every round, newest last, with `picks` (ordered queue),
 *   strategy, params, seed, model, per-image scores; `queueOf(round, labelledIds)` -> picks not
 *   yet labelled, in round order ("label next" follows it).
 * - `editDiceOf(store)` / `editDiceByRound(store)` (rounds.ts): the stop signal — Dice between
 *   each reviewed prediction and the label version the reviewer saved, and its mean per round.
 * - `uncertaintyFromScores(scores, preferredKey?)`: the number the Cases "uncertainty" column shows.
 * - Simulation (simulate.ts): `runSimulation(options)` replays AL with oracle labels.
 */
export * from './scoring';
export * from './strategies';
export { listStrategiesInfo, listScoringFunctionsInfo } from './info';
export { alRoundsOf, queueOf, toAlRound, editDiceOf, editDiceByRound, ROUND_META_KEY, type AlRound, type AlRoundMeta, type EditDice, type EditDicePerRound } from './rounds';

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
 *   INVALID_ARGUMENT (also an unknown or out-of-range strategy param), JOB_CANCELLED — nothing
 *   recorded on any of them. `planSelection` checks a request without work (handlers call it
 *   before a job exists); `submitSelection(queue, store, opts)` runs it as the `al-select` job
 *   (exclusive when it scores). A model-free strategy (random) with no model named scores
 *   nothing and records a round without a model, so a new project can start its first round.
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

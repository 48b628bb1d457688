// The messages between a job and its worker process are defined by the tasks they run (ml); the
// worker only transports them. Re-exported here for the worker's own modules and its callers.
export * from '../ml/task-protocol';

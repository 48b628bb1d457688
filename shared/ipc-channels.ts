// IPC channel names, kept free of imports so the sandboxed preload can bundle them alone.
/** Operation calls: invoke(IPC_INVOKE, name, input) -> ResultEnvelope. */
export const IPC_INVOKE = 'segloop:invoke';
/** Voxel files: invoke(IPC_FILE, { kind, id }) -> ResultEnvelope<Uint8Array>. */
export const IPC_FILE = 'segloop:file';
/** Pushed events (job progress): main -> renderer. */
export const IPC_EVENT = 'segloop:event';

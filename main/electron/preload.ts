// The preload bridge: one small typed object on `window.segloop`, never ipcRenderer itself.
// It runs sandboxed, so it imports nothing but electron and the channel names (bundled).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC_EVENT, IPC_FILE, IPC_INVOKE } from '../../shared/ipc-channels';

const bridge = {
  /** Calls a contract operation; resolves with { ok, value } or { ok: false, error }. */
  invoke: (name: string, input: unknown): Promise<unknown> => ipcRenderer.invoke(IPC_INVOKE, String(name), input),
  /** Reads a registered voxel file ({ kind: 'image' | 'label', id }). */
  readFile: (req: unknown): Promise<unknown> => ipcRenderer.invoke(IPC_FILE, req),
  /** Subscribes to pushed events; returns the unsubscribe function. */
  onEvent: (listener: (msg: unknown) => void): (() => void) => {
    const handler = (_event: IpcRendererEvent, msg: unknown): void => listener(msg);
    ipcRenderer.on(IPC_EVENT, handler);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT, handler);
    };
  },
};

contextBridge.exposeInMainWorld('segloop', bridge);

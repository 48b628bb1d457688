// Types of scripts/electron-binary.mjs (plain JS so that bare-Node scripts can run it).
export interface ElectronBinaryStatus {
  present: boolean;
  path: string | null;
  /** The folder electron-builder takes as `electronDist` (the one holding the binary). */
  distDir: string | null;
  reason: string;
}

/** Finds the Electron binary without touching `require('electron')`, which would start a download. */
export function electronBinaryStatus(): ElectronBinaryStatus;

// Types of scripts/native-addon.mjs (plain JS so that binding.gyp and bare-Node scripts can run it).
export const ROOT: string;
export const ADDON_BUILD_RELATIVE: string;
export const ADDON_RESOURCES_RELATIVE: string;
export function stageDir(os: string, arch: string, root?: string): string;
export function builderOs(platform: NodeJS.Platform | string): string;
export const LINUX_SYSTEM_LIBS: Set<string>;
export function linuxLinkFlags(): string[];
export interface ElfDynamic {
  needed: string[];
  rpath: string[];
  runpath: string[];
}
export function readElfDynamic(file: string): ElfDynamic;
export function openblasVersionIn(file: string): string | null;
export interface LinuxAddonDependencies {
  needed: string[];
  runpath: string[];
  /** Non-system libraries found beside the addon through an $ORIGIN search path. */
  bundled: string[];
  /** Non-system libraries the addon (or a bundled library) needs and the package does not carry. */
  missing: string[];
  /** How its BLAS is linked, in words. */
  blas: string;
}
export function linuxAddonDependencies(file: string, seen?: Set<string>): LinuxAddonDependencies;
export function describeAddonFile(file: string, resourcesPath?: string): string;
export interface LoadCheck {
  ok: boolean;
  blasInfo?: string;
  /** BLAS/LAPACK/gfortran shared objects mapped into the process that loaded the addon. */
  mappedBlas?: string[];
  error?: string;
}
export function loadCheck(file: string, opts?: { wrap?: string[] }): LoadCheck;

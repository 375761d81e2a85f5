/** `epictetus --version`: the version and commit `npm run build` wrote into dist/build-info.json. */
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  readonly version: string;
  /** Short commit id, `-dirty` when tracked files differed from it, or `unknown` outside git. */
  readonly commit: string;
}

/** Where the build writes it: next to main.js. */
export const BUILD_INFO_URL = new URL('../build-info.json', import.meta.url);

export function readBuildInfo(): BuildInfo {
  try {
    const info = JSON.parse(readFileSync(BUILD_INFO_URL, 'utf8')) as Partial<BuildInfo>;
    return { version: String(info.version ?? 'unknown'), commit: String(info.commit ?? 'unknown') };
  } catch {
    return { version: 'unknown', commit: 'unknown' };
  }
}

export function versionLine(info: BuildInfo = readBuildInfo()): string {
  return `epictetus ${info.version} (commit ${info.commit})`;
}

/**
 * The external tools of the deployment tests, at the versions of tools.env, as
 * test/deploy/install-tools.sh installs them (into .cache/), else found on PATH.
 *
 * In CI (CI=true) a missing tool fails the tests that need it (.ci/run installs them);
 * elsewhere those tests are skipped with the reason.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const versions = Object.fromEntries(readFileSync(join(ROOT, 'test/deploy/tools.env'), 'utf8').split('\n')
  .map((l) => /^([A-Z_]+)=(.*)$/.exec(l.trim())).filter((m) => m !== null).map((m) => [m[1]!, m[2]!]));

function version(name: string): string {
  const v = versions[name];
  if (!v) throw new Error(`test/deploy/tools.env has no ${name}`);
  return v;
}

export const HELM_VERSION = version('HELM_VERSION');
export const KUBERNETES_VALIDATE_VERSION = version('KUBERNETES_VALIDATE_VERSION');

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, name)).find(executable);
}

export interface Tool {
  readonly name: string;
  /** undefined: not installed. */
  readonly path: string | undefined;
  /** Why it is missing and how to get it. */
  readonly missing: string;
}

function find(name: string, pinned: string, versionName: string): Tool {
  const path = executable(pinned) ? pinned : onPath(name);
  return { name, path, missing: `${name} ${versions[versionName]} is not installed: run \`bash test/deploy/install-tools.sh\`` };
}

export const helm = (): Tool => find('helm', join(ROOT, '.cache/helm', HELM_VERSION, 'helm'), 'HELM_VERSION');
export const kubernetesValidate = (): Tool =>
  find('kubernetes-validate', join(ROOT, '.cache/kubernetes-validate', KUBERNETES_VALIDATE_VERSION, 'bin/kubernetes-validate'), 'KUBERNETES_VALIDATE_VERSION');

/** In CI a missing tool is a failure; elsewhere a reason to skip. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

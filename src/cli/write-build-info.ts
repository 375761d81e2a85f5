/**
 * Run by `npm run build` after tsc: writes dist/build-info.json with package.json's version and
 * the commit the build came from, for `epictetus --version`. Outside a git checkout of this
 * project (an image build without .git, an unpacked tarball): commit `unknown`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUILD_INFO_URL, type BuildInfo } from './version.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function commit(): string {
  const git = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    // Not a checkout of some enclosing project the package happens to sit in.
    if (realpathSync(git('rev-parse', '--show-toplevel')) !== realpathSync(root)) return 'unknown';
    const id = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') === '' ? id : `${id}-dirty`;
  } catch {
    return 'unknown';
  }
}

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const info: BuildInfo = { version, commit: commit() };
writeFileSync(BUILD_INFO_URL, `${JSON.stringify(info)}\n`);

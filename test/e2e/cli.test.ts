/** The command line as a newcomer meets it: the Node.js check, --help everywhere, --version, bad options. */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN } from '../helpers/service.js';

const ROOT = join(dirname(MAIN), '..');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; engines: { node: string } };

function cli(args: string[], node = process.execPath): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(node, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A `node` older than 24 on this machine, outside node_modules (what `node dist/main.js` finds outside npm). */
function olderNode(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => d !== '' && !d.includes('node_modules'));
  for (const bin of [...dirs.map((d) => join(d, 'node')), '/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(bin)) continue;
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    const major = Number(/^v(\d+)\./.exec(r.stdout ?? '')?.[1]);
    if (major >= 14 && major < 24) return bin;
  }
  return undefined;
}

const OLD_NODE = olderNode();

describe('the Node.js version', () => {
  it('is the one package.json asks for', () => {
    expect(PKG.engines.node).toBe('>=24');
  });

  it.skipIf(OLD_NODE === undefined)(`stops at once with one line on an older Node.js (${OLD_NODE ?? 'skipped: no Node.js older than 24 on this machine'})`, () => {
    for (const args of [['run'], ['--version'], ['plan', '--json']]) {
      const r = cli(args, OLD_NODE);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      const found = spawnSync(OLD_NODE!, ['--version'], { encoding: 'utf8' }).stdout.trim().slice(1);
      expect(lines[0]).toContain('needs Node.js 24 LTS or newer');
      expect(lines[0]).toContain(`this is Node.js ${found}`);
      expect(lines[0]).toContain('`npm start`');
      expect(lines[0]).toContain('`npx epictetus`');
      expect(lines[0]).not.toMatch(/TypeError|undici/);
    }
  });
});

describe('npm ci', () => {
  const ls = spawnSync('npm', ['install-scripts', 'ls'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  const known = ls.status === 0 || /allowScripts/.test(ls.stdout + ls.stderr);
  it.skipIf(!known)(`runs node@24's install script without an allowScripts notice${known ? '' : ' (skipped: this npm has no install-scripts policy)'}`, () => {
    expect(ls.stdout + ls.stderr).toContain('No packages with unreviewed install scripts');
    expect(ls.status).toBe(0);
  });
});

describe('--help', () => {
  it.each(['run', 'plan', 'sim', 'demo', 'help'])('%s --help prints its own usage and exits 0', (command) => {
    for (const flag of ['--help', '-h']) {
      const r = cli([command, flag]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.startsWith(`usage: epictetus ${command}`)).toBe(true);
    }
    if (command !== 'help') expect(cli(['help', command]).stdout).toBe(cli([command, '--help']).stdout);
  });

  it('wins over other arguments, even unknown ones', () => {
    const r = cli(['plan', '--nope', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: epictetus plan [--json]');
  });

  it('epictetus --help lists every command', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = cli(args);
      expect(r.code).toBe(0);
      for (const c of ['run', 'plan', 'sim', 'demo', 'help']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
      expect(r.stdout).toContain('--version');
    }
  });
});

describe('--version', () => {
  it('prints the version of package.json and the commit it was built from', () => {
    const info = JSON.parse(readFileSync(join(ROOT, 'dist', 'build-info.json'), 'utf8')) as { version: string; commit: string };
    expect(info.version).toBe(PKG.version);
    let head: string | undefined;
    try {
      head = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch { /* not a checkout: the build wrote unknown */ }
    if (head === undefined) expect(info.commit).toBe('unknown');
    else {
      expect(info.commit).toMatch(/^[0-9a-f]{12}(-dirty)?$/);
      // The build may predate the last commit: it is in this checkout's history all the same.
      const built = info.commit.replace(/-dirty$/, '');
      expect(spawnSync('git', ['-C', ROOT, 'merge-base', '--is-ancestor', built, 'HEAD']).status).toBe(0);
    }
    for (const flag of ['--version', '-V']) {
      const r = cli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`epictetus ${PKG.version} (commit ${info.commit})\n`);
    }
  });

  it('says unknown for the commit when built outside git', () => {
    const dir = mkdtempSync(join(tmpdir(), 'epictetus-nogit-'));
    try {
      mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
      for (const f of ['write-build-info.js', 'version.js']) copyFileSync(join(ROOT, 'dist', 'cli', f), join(dir, 'dist', 'cli', f));
      copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
      execFileSync(process.execPath, [join(dir, 'dist', 'cli', 'write-build-info.js')], { env: { PATH: process.env.PATH ?? '', GIT_CEILING_DIRECTORIES: tmpdir() } });
      expect(JSON.parse(readFileSync(join(dir, 'dist', 'build-info.json'), 'utf8'))).toEqual({ version: PKG.version, commit: 'unknown' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad arguments', () => {
  it.each([
    ['run', ['--dry-run'], 2, "unknown option '--dry-run'"],
    ['sim', ['--node', '2'], 2, "unknown option '--node'"],
    ['demo', ['--fast'], 2, "unknown option '--fast'"],
    ['demo', ['now'], 2, "unexpected argument 'now'"],
    // plan's 2 means "changes": a usage error is its 1, "could not tell"
    ['plan', ['--jsn'], 1, "unknown option '--jsn'"],
  ] as const)('%s %j exits %i naming the problem, with the usage', (command, args, code, message) => {
    const r = cli([command, ...args]);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`epictetus ${command}: ${message}`);
    expect(r.stderr).toContain(`usage: epictetus ${command}`);
  });

  it('an unknown command or option at the top says which, with the usage, and exits 2', () => {
    for (const [arg, what] of [['deploy', 'command'], ['--verbose', 'option']] as const) {
      const r = cli([arg]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`epictetus: unknown ${what} "${arg}"`);
      expect(r.stderr).toContain('usage: epictetus [command]');
    }
    expect(cli(['help', 'deploy']).code).toBe(2);
  });
});

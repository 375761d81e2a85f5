/** The demo, as a user runs it, plays its whole story and exits 0. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MAIN } from '../helpers/service.js';

describe('npm run demo', () => {
  it('shows the expected DNS answer after every step', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN, 'demo'], { timeout: 90_000 });
    expect(stdout).toContain('Demo passed');
    expect(stdout.match(/^ {3}OK$/gm)).toHaveLength(7);
    expect(stdout).toMatch(/DNS answer for app\.example\.com: 203\.0\.113\.11, 203\.0\.113\.13, 203\.0\.113\.14/);
  });
});

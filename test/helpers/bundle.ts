/**
 * Bundles one source file as `npm run build` bundles the service (rolldown.config.ts: the same
 * resolution and chunk names), for tests that run a piece of the service in a process of its own.
 * The folder is readable by every user (a test may run the bundle as nobody); remove it after.
 */
import { chmodSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'rolldown';
import { chunkFileNames, resolve } from '../../rolldown.config.js';

export async function bundleEntry(entry: string): Promise<{ dir: string; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'epictetus-bundle-'));
  await build({
    input: { entry }, platform: 'node', resolve, logLevel: 'silent',
    output: { dir, format: 'esm', entryFileNames: '[name].mjs', chunkFileNames: (chunk) => chunkFileNames(chunk, 'mjs') },
  });
  chmodSync(dir, 0o755);
  for (const d of [dir, join(dir, 'chunks')]) {
    try {
      for (const f of readdirSync(d, { withFileTypes: true })) chmodSync(join(d, f.name), f.isDirectory() ? 0o755 : 0o644);
    } catch { /* no chunks folder */ }
  }
  return { dir, file: join(dir, 'entry.mjs') };
}

/** `epictetus sim` prints what to export; `epictetus run` works against it; Ctrl-C stops it. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { MAIN, startService, waitFor } from '../helpers/service.js';

describe('epictetus sim', () => {
  it('starts both simulators, prints the variables, and stops on SIGINT', async () => {
    const sim = spawn(process.execPath, [MAIN, 'sim', '--nodes', '2', '--hostnames', 'web.example.com'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    createInterface({ input: sim.stdout }).on('line', (l) => lines.push(l));
    const exited = new Promise<number | null>((r) => sim.once('exit', (code) => r(code)));
    try {
      await waitFor(() => lines.some((l) => l.startsWith('# Ctrl-C')) || undefined, 20_000, 'sim banner');
      const env = Object.fromEntries(lines.filter((l) => l.startsWith('export ')).map((l) => l.slice(7).split(/=(.*)/s).slice(0, 2) as [string, string]));
      expect(Object.keys(env).sort()).toEqual(['CLOUDFLARE_API_BASE_URL', 'CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_ZONE_ID', 'DNS_HOSTNAMES', 'K8S_CONFIG_PATH']);
      expect(env.DNS_HOSTNAMES).toBe('web.example.com');
      const service = startService(env);
      try {
        await service.waitReady();
        const h = await service.get('/health');
        expect(h.body).toMatchObject({ nodes: { total: 2, eligible: 2 }, records: { managed: { 'web.example.com': 2 } } });
      } finally {
        await service.stop();
      }
    } finally {
      sim.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('rejects a bad --nodes value with a clear message', async () => {
    const sim = spawn(process.execPath, [MAIN, 'sim', '--nodes', 'many'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    sim.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    expect(await new Promise((r) => sim.once('exit', r))).toBe(2);
    expect(err).toContain('--nodes must be a whole number');
  });
});

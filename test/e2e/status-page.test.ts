/** The status page, in a real headless Chromium: readable tables with the cluster's state. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { simNodeIp, startWorld, type World } from '../../src/cli/world.js';
import { startService, type ServiceProcess } from '../helpers/service.js';

const CHROMIUM = '/usr/bin/chromium';
let world: World | undefined;
let service: ServiceProcess | undefined;

afterEach(async () => {
  await service?.stop('SIGKILL');
  await world?.stop();
});

// CI installs Debian's chromium (.ci/run); elsewhere the test says why it cannot run.
describe.skipIf(!existsSync(CHROMIUM) && process.env.CI !== 'true')('status page in Chromium', () => {
  it('shows hostnames, nodes with reasons, foreign records and the last changes', async () => {
    world = await startWorld({ nodes: 3 });
    const w = world;
    w.cloudflare.addRecord(w.zoneId, { name: 'app.example.com', type: 'A', content: '198.51.100.7', comment: 'office' });
    service = startService(w.env);
    await service.waitReady();
    w.kube.patchNode('worker-3', { spec: { taints: [{ key: 'DeletionCandidateOfClusterAutoscaler', effect: 'PreferNoSchedule' }, { key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' }] } });
    await service.waitForLog((l) => l.action === 'delete');
    const port = Number(/port (\d+)/.exec(service.lines.find((l) => l.includes('health server listening')) ?? '')?.[1]);

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const res = await page.goto(`http://127.0.0.1:${port}/`);
      expect(res?.status()).toBe(200);
      expect(await page.title()).toBe('Epictetus status');
      const tables = await page.$$eval('section', (sections) => sections.map((s) => ({
        title: s.querySelector('h2')?.textContent ?? '',
        rows: [...s.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      })));
      const byTitle = Object.fromEntries(tables.map((t) => [t.title, t.rows]));
      expect(byTitle['Hostnames']).toEqual([['app.example.com', 'example.com', '2', 'auto', 'no', 'env']]);
      expect(byTitle['Nodes']).toContainEqual(['worker-3', 'excluded', simNodeIp(3), '10.0.0.3', 'both-ca-taints']);
      expect(byTitle['Nodes']).toContainEqual(['worker-1', 'serving', simNodeIp(1), '10.0.0.1', '']);
      expect(byTitle['Records']).toEqual([
        ['app.example.com', 'A', '198.51.100.7', '', 'left alone (not-a-cluster-ip)'],
        ['app.example.com', 'A', simNodeIp(1), 'worker-1', 'serving'],
        ['app.example.com', 'A', simNodeIp(2), 'worker-2', 'serving'],
      ]);
      expect(byTitle['Records left alone (not owned)']).toEqual([['app.example.com', 'A', '198.51.100.7', '(none)', 'not-a-cluster-ip']]);
      expect(byTitle['Last changes']?.[0]?.slice(1)).toEqual(['delete', 'app.example.com', 'A', simNodeIp(3), 'worker-3', 'both-ca-taints']);

      // the tables render: visible, laid out, with borders, in a real screenshot
      const box = await page.locator('table').first().boundingBox();
      expect(box?.width).toBeGreaterThan(300);
      expect(box?.height).toBeGreaterThan(40);
      const shot = join(mkdtempSync(join(tmpdir(), 'epictetus-shot-')), 'status.png');
      const png = await page.screenshot({ path: shot, fullPage: true });
      expect(png.length).toBeGreaterThan(20_000);
      // Decode the screenshot in the page itself (the test has no PNG decoder) and count colours.
      const distinctColours = await page.evaluate(`(async () => {
        const img = new Image();
        img.src = 'data:image/png;base64,${png.toString('base64')}';
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const data = ctx.getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < data.length; i += 4 * 97) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
        return seen.size;
      })()`) as number;
      expect(distinctColours).toBeGreaterThan(5); // text, borders, header shading: not a blank page
    } finally {
      await browser.close();
    }
  });
});

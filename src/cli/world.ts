/** Both simulators started together, as `epictetus sim`, the demo and the tests use them. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeToken } from '../sim/cloudflare/fake-token.js';
import { CloudflareSim } from '../sim/cloudflare/index.js';
import { KubeSim, makeNode } from '../sim/kube/index.js';

export interface WorldOptions {
  readonly nodes?: number;
  /** The first zone; `extraZones` adds more (then zones are discovered, not pinned). */
  readonly zone?: string;
  readonly extraZones?: readonly string[];
  readonly hostnames?: readonly string[];
  readonly token?: string;
  readonly dnsPort?: number;
}

export interface World {
  readonly kube: KubeSim;
  readonly cloudflare: CloudflareSim;
  readonly zoneId: string;
  readonly kubeconfigPath: string;
  readonly token: string;
  readonly hostnames: readonly string[];
  /** The environment that points the service at the simulators. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/** Documentation addresses (RFC 5737) for the simulated nodes. */
export function simNodeIp(i: number): string {
  return `203.0.113.${10 + i}`;
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const zone = opts.zone ?? 'example.com';
  const token = opts.token ?? fakeToken('world');
  const hostnames = opts.hostnames ?? [`app.${zone}`];
  const kube = await KubeSim.start();
  const extra = opts.extraZones ?? [];
  const cloudflare = await CloudflareSim.start({
    token, zones: [zone, ...extra].map((name) => ({ name })), dnsPort: opts.dnsPort ?? 0, maxRecordsPerZone: 1_000_000, rateLimit: false,
  });
  for (let i = 1; i <= (opts.nodes ?? 3); i++) {
    kube.createNode(makeNode(`worker-${i}`, { externalIP: simNodeIp(i), internalIP: `10.0.0.${i}` }));
  }
  const dir = mkdtempSync(join(tmpdir(), 'epictetus-sim-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  kube.writeKubeconfig(kubeconfigPath);
  const zoneId = cloudflare.zone(zone).id;
  return {
    kube, cloudflare, zoneId, kubeconfigPath, token, hostnames,
    env: {
      CLOUDFLARE_API_TOKEN: token,
      ...(extra.length === 0 ? { CLOUDFLARE_ZONE_ID: zoneId } : {}),
      CLOUDFLARE_API_BASE_URL: cloudflare.baseUrl,
      K8S_CONFIG_PATH: kubeconfigPath,
      DNS_HOSTNAMES: hostnames.join(','),
    },
    async stop() {
      await Promise.all([kube.stop(), cloudflare.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

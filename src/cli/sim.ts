/** `epictetus sim`: both simulators, and the variables that point the service at them. */
import type { CommandOptions } from './usage.js';
import { startWorld } from './world.js';

export async function simCommand(values: CommandOptions<'sim'>, signal: AbortSignal): Promise<number> {
  const nodes = Number(values.nodes);
  if (!Number.isInteger(nodes) || nodes < 0 || nodes > 10_000) {
    process.stderr.write(`epictetus sim: --nodes must be a whole number 0–10000, got "${values.nodes}"\n`);
    return 2;
  }
  const world = await startWorld({
    nodes, zone: values.zone,
    ...(values.hostnames ? { hostnames: values.hostnames.split(',').map((h) => h.trim()) } : {}),
  });
  const exports = Object.entries(world.env).map(([k, v]) => `export ${k}=${v}`).join('\n');
  process.stdout.write(`# Kubernetes simulator: ${world.kube.url} (${nodes} nodes; kubectl --kubeconfig ${world.kubeconfigPath} get nodes)
# Cloudflare simulator: ${world.cloudflare.baseUrl} (zone ${values.zone}, id ${world.zoneId})
# DNS server: dig @127.0.0.1 -p ${world.cloudflare.dnsPort} ${world.hostnames[0]} A +short
# Paste these into another shell, then run: npm start
${exports}
# Ctrl-C stops the simulators.
`);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await world.stop();
  return 0;
}

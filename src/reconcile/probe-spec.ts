/** HEALTH_PROBE and the `epictetus.io/probe` annotation: what to ask a node before sending it traffic (pure). */
import type { ProbeSpec } from '../model/types.js';

export const KUBE_PROXY_PROBE: ProbeSpec = { kind: 'http', port: 10256, path: '/healthz', text: 'kube-proxy' };

export const PROBE_SYNTAX = 'tcp:<port>, http://:<port>/<path>, https://:<port>/<path>, kube-proxy (http://:10256/healthz), or empty/none for no probe';

function port(raw: string): number | undefined {
  if (!/^\d{1,5}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** A probe, null for none, or why the text is not one. */
export function parseProbe(raw: string): ProbeSpec | null | { readonly error: string } {
  const text = raw.trim();
  const lower = text.toLowerCase();
  if (lower === '' || lower === 'none') return null;
  if (lower === 'kube-proxy') return KUBE_PROXY_PROBE;
  const tcp = /^tcp:(\d+)$/.exec(lower);
  if (tcp) {
    const p = port(tcp[1] ?? '');
    return p === undefined ? { error: `"${text.slice(0, 60)}": the port must be 1–65535` } : { kind: 'tcp', port: p, path: '', text: `tcp:${p}` };
  }
  const http = /^(https?):\/\/:(\d+)(\/[^\s?#]*)?(\?[^\s#]*)?$/i.exec(text);
  if (http) {
    const kind = (http[1] ?? '').toLowerCase() as 'http' | 'https';
    const p = port(http[2] ?? '');
    if (p === undefined) return { error: `"${text.slice(0, 60)}": the port must be 1–65535` };
    const path = `${http[3] ?? '/'}${http[4] ?? ''}`;
    return { kind, port: p, path, text: `${kind}://:${p}${path}` };
  }
  return { error: `"${text.slice(0, 60)}" is not a probe; accepts ${PROBE_SYNTAX}` };
}

/** The probe of one node for one probe spec: results are kept per key. */
export function probeKey(node: string, spec: ProbeSpec): string {
  return `${node} ${spec.text}`;
}

/** GET /: a plain HTML page a person can read, rendered on the server (no build step, no script). */
import type { ControllerStatus } from '../controller/status.js';
import type { ProbeEvidence } from '../probe/prober.js';

/** Changes shown on the page (newest first); /health lists them all. */
const CHANGES_SHOWN = 20;

export interface PageData {
  readonly status: ControllerStatus;
  readonly health: string;
  /** Why the health is not ok, each a sentence. */
  readonly problems?: readonly string[];
  readonly probes?: readonly ProbeEvidence[];
  readonly leadership: { readonly enabled: boolean; readonly role: string; readonly leader: string | null; readonly identity: string };
}

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function table(caption: string, head: readonly string[], rows: readonly (readonly unknown[])[], empty: string): string {
  if (rows.length === 0) return `<section><h2>${esc(caption)}</h2><p class="empty">${esc(empty)}</p></section>`;
  const th = head.map((h) => `<th scope="col">${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  return `<section><h2>${esc(caption)}</h2><table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table></section>`;
}

export function renderStatusPage(d: PageData): string {
  const s = d.status;
  const held = s.held.map((h) => [h.record.name, h.record.type, h.record.content, h.node ?? '', h.wouldBe, h.reason]);
  const addr = (n: string) => {
    const a = s.nodeAddresses[n];
    return a ? [[...a.ipv4, ...a.ipv6].join(', ') || '(none)', a.internal ?? ''] : ['', ''];
  };
  const nodes = s.verdicts.slice(0, 1000).map((v) => [v.name, v.eligible ? 'serving' : 'excluded', ...addr(v.name), [v.reasons.join(', '), v.detail].filter(Boolean).join(': ')]);
  const records = s.hostnames.flatMap((h) => {
    const rows = (s.hostnameRecords[h.name] ?? []).map((r) => [h.name, r.type, r.ip, r.node ?? '', r.state]);
    const notServed = Object.entries(s.excludedFor[h.name] ?? {}).map(([node, why]) => [h.name, '', '', node, `not serving: ${why.join(', ')}`]);
    return [...rows, ...notServed];
  });
  const claims = [
    ...s.serviceProblems.map((p) => [p.service, `${p.problem} (${p.meanwhile})`]),
    ...s.refusedClaims.map((r) => [r.service, `claim refused: ${r.why}`]),
    ...s.conflicts.map((c) => [c.hostname, `${c.difference}: using ${c.kept}, ignoring ${c.ignored}`]),
  ];
  const changes = s.recentChanges.slice(0, CHANGES_SHOWN).map((c) => [c.at, c.action, c.hostname, c.type, c.ip, c.node ?? '', c.reason]);
  const more = s.recentChanges.length > CHANGES_SHOWN ? `<p class="empty">${s.recentChanges.length - CHANGES_SHOWN} older change(s) in /health.</p>` : '';
  const problems = (d.problems ?? []).length > 0
    ? `<ul id="problems">${(d.problems ?? []).map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10"><title>Epictetus status</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem;color:#111;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
table{border-collapse:collapse;min-width:40%}th,td{border:1px solid #bbb;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#eef}tbody tr:nth-child(even){background:#f7f7f7}.empty{color:#666;font-style:italic}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;background:#dfd}.bad{background:#fdd}
#problems{color:#900}
</style></head><body>
<h1>Epictetus</h1>
<p>Health: <span class="badge${d.health === 'ok' ? '' : ' bad'}" id="health">${esc(d.health)}</span>
 · role: <strong id="role">${esc(d.leadership.role)}</strong>${d.leadership.enabled ? ` · leader: <strong id="leader">${esc(d.leadership.leader ?? 'none')}</strong>` : ''}
 · this replica: ${esc(d.leadership.identity)}
 · last successful sync: ${esc(s.lastSuccessfulSync ?? 'never')}${s.lastError ? ` · last error: ${esc(s.lastError.code)} ${esc(s.lastError.message)}` : ''}</p>
${problems}
${table('Hostnames', ['Hostname', 'Zone', 'Managed records', 'TTL', 'Proxied', 'Claimed by'],
    s.hostnames.map((h) => [h.name, h.frozen ? `(left as it is: ${h.frozen})` : h.zone ?? '(no zone: skipped)', s.managedRecords[h.name] ?? 0, h.ttl === 1 ? 'auto' : h.ttl, h.proxied ? 'yes' : 'no', h.source]), 'No hostname is claimed.')}
${table('Records', ['Hostname', 'Type', 'IP', 'Node', 'State'], records, 'No record.')}
${table('Nodes', ['Node', 'State', 'Published addresses', 'InternalIP', 'Reasons'], nodes, 'No nodes.')}
${(d.probes ?? []).length > 0 ? table('Health probes', ['Node', 'Probe', 'Address', 'Verdict', 'Last result', 'Latency (ms)', 'Failures in a row'],
    (d.probes ?? []).map((p) => [p.node, p.probe, p.address ?? '(none)', p.state, p.last?.detail ?? '(not yet)', p.last?.latencyMs ?? '', p.consecutiveFailures]), '') : ''}
${table('Claim problems', ['Service or hostname', 'Problem'], claims, 'None.')}
${table('Removals held back', ['Name', 'Type', 'Content', 'Node', 'Would be', 'Held by'], held, 'None.')}
${table('Records left alone (not owned)', ['Name', 'Type', 'Content', 'Owner', 'Why'],
    s.foreignRecords.map((f) => [f.name, f.type, f.content, f.owner ?? '(none)', f.reason]), 'None.')}
${table('Last changes', ['Time', 'Action', 'Hostname', 'Type', 'IP', 'Node', 'Reason'], changes, 'No change yet.')}${more}
</body></html>
`;
}

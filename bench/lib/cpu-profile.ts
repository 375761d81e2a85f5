/** A CPU profile taken through the inspector: kept in a file on request, and its functions by self time. */
import { writeFileSync } from 'node:fs';
import { round } from './stats.js';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
export interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/** Writes the profile to `--out FILE` when asked, and prints the `top` functions with the most self time. */
export function reportProfile(profile: Profile, argv: readonly string[], top: number): void {
  const out = argv[argv.indexOf('--out') + 1];
  if (argv.includes('--out') && out) writeFileSync(out, JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    const key = `${f?.functionName || '(anonymous)'} ${f?.url.split('/').pop() ?? ''}:${f?.lineNumber ?? 0}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${String(round(us / 1000, 1)).padStart(8)} ms  ${k}\n`);
}

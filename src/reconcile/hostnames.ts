/** Hostname parsing and validation (pure). */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Why a name is not a valid DNS hostname, or null when it is one. */
export function hostnameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  const labels = name.split('.');
  if (labels.length < 2) return 'needs at least two labels (e.g. app.example.com)';
  for (const [i, label] of labels.entries()) {
    if (i === 0 && label === '*') continue;
    if (label === '') return 'has an empty label';
    if (!LABEL.test(label)) {
      return `has an invalid label "${label.slice(0, 70)}" (letters, digits and inner hyphens, at most 63)`;
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return 'has an all-numeric top-level label';
  return null;
}

/** Lower-case, strip one trailing dot, trim. */
export function normalizeHostname(raw: string): string {
  return raw.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * Splits a comma-separated list into normalized, de-duplicated names (in first-seen order),
 * with a problem for each invalid one.
 */
export function parseHostnameList(raw: string): { names: string[]; problems: string[] } {
  const names: string[] = [];
  const problems: string[] = [];
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const name = normalizeHostname(part);
    const problem = hostnameProblem(name);
    if (problem !== null) problems.push(`"${part.trim().slice(0, 80)}" ${problem}`);
    else if (!names.includes(name)) names.push(name);
  }
  // Name a few problems, not thousands.
  return { names, problems: problems.length > 5 ? [...problems.slice(0, 5), `and ${problems.length - 5} more`] : problems };
}

/** metav1.MicroTime: RFC 3339 in UTC with exactly six fractional digits, as the API server writes it. */
export function microTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2024-01-01T00:00:00.123Z
  return `${iso.slice(0, -1)}000Z`;
}

/** Milliseconds since the epoch of a MicroTime or Time, 0 when absent or unreadable. */
export function parseTime(v: unknown): number {
  return typeof v === 'string' ? Date.parse(v) || 0 : 0;
}

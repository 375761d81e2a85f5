/** Errors with a stable code, and whether trying again can help. */
export class EpictetusError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  /** The API's own error codes, when it gave any (Cloudflare's `errors[].code`, e.g. 81053). */
  readonly apiCodes: readonly number[];

  constructor(
    code: string,
    message: string,
    opts: { retryable?: boolean; status?: number; retryAfterMs?: number; apiCodes?: readonly number[]; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'EpictetusError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.status = opts.status;
    this.retryAfterMs = opts.retryAfterMs;
    this.apiCodes = opts.apiCodes ?? [];
  }
}

const secretSources = new Set<() => Iterable<string>>();

/**
 * Secrets (the API token) that must never appear in text this process keeps or shows: every
 * error message taken with `errorMessage` — stored for /health, the status page, metrics — is
 * scrubbed of them, not only the log lines. Returns a function that forgets the source.
 */
export function registerSecrets(source: () => Iterable<string>): () => void {
  secretSources.add(source);
  return () => { secretSources.delete(source); };
}

/** `text` with every registered secret (4 characters or more) replaced by [REDACTED]. */
export function redact(text: string, extra: Iterable<string> = []): string {
  let out = text;
  const scrub = (s: string) => { if (s.length >= 4) out = out.replaceAll(s, '[REDACTED]'); };
  for (const source of secretSources) for (const s of source()) scrub(s);
  for (const s of extra) scrub(s);
  return out;
}

/** An error's message, scrubbed of secrets: the one way error text is kept anywhere. */
export function errorMessage(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}

export function errorCode(err: unknown): string {
  return err instanceof EpictetusError ? err.code : 'EPI_UNEXPECTED';
}

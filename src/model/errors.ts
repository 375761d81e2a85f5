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

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function errorCode(err: unknown): string {
  return err instanceof EpictetusError ? err.code : 'EPI_UNEXPECTED';
}

/** Cloudflare answers and transport failures -> EpictetusError with a stable code and whether retrying can help. */
import { EpictetusError } from '../model/errors.js';
import type { ApiMessage } from './schemas.js';

export { retryAfterMs } from './ratelimit.js';

/** The messages we quote are bounded: an answer is not a place to read a novel from. */
const MAX_MESSAGES = 5;
const MAX_MESSAGE_LENGTH = 200;

const clip = (s: string): string => (s.length > MAX_MESSAGE_LENGTH ? `${s.slice(0, MAX_MESSAGE_LENGTH)}…` : s);

/** `81053: An A, AAAA, or CNAME record…; 1004: DNS Validation Error [9005: …]` */
export function describeErrors(errors: readonly ApiMessage[]): string {
  const one = (e: ApiMessage): string => {
    const chain = (e.error_chain ?? []).slice(0, MAX_MESSAGES).map(one);
    return `${e.code}: ${clip(e.message)}${chain.length > 0 ? ` [${chain.join('; ')}]` : ''}`;
  };
  return errors.slice(0, MAX_MESSAGES).map(one).join('; ');
}

/** Cloudflare's codes, top level first, then the codes of their `error_chain` (e.g. [1004, 9005]). */
export function errorCodes(errors: readonly ApiMessage[]): number[] {
  const out: number[] = [];
  const visit = (list: readonly ApiMessage[], depth: number): void => {
    for (const e of list) if (Number.isInteger(e.code)) out.push(e.code);
    if (depth < 3) for (const e of list) visit(e.error_chain ?? [], depth + 1);
  };
  visit(errors, 0);
  return out;
}

export function hasErrorCode(err: unknown, code: number): boolean {
  return err instanceof EpictetusError && err.apiCodes.includes(code);
}

/** An answer with an HTTP error status. The message never carries headers, so never the token. */
export function httpError(what: string, status: number, errors: readonly ApiMessage[], retryAfter?: number): EpictetusError {
  const msg = `Cloudflare ${what}: HTTP ${status} (${describeErrors(errors) || 'no error details'})`;
  const base = { status, apiCodes: errorCodes(errors) };
  if (status === 429) {
    return new EpictetusError('EPI_CF_RATE_LIMITED', msg, { ...base, retryable: true, ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }) });
  }
  if (status >= 500 || status === 408) return new EpictetusError('EPI_CF_SERVER', msg, { ...base, retryable: true });
  if (status === 401 || status === 403) return new EpictetusError('EPI_CF_AUTH', msg, base);
  if (status === 404) return new EpictetusError('EPI_CF_NOT_FOUND', msg, base);
  if (status >= 400) return new EpictetusError('EPI_CF_REJECTED', msg, base);
  return badAnswer(what, `HTTP ${status}`, status);
}

/** An answer that is not what the API sends (HTML, wrong types, success:false with 200, endless pages). */
export function badAnswer(what: string, why: string, status?: number, errors: readonly ApiMessage[] = []): EpictetusError {
  return new EpictetusError('EPI_CF_BAD_ANSWER', `Cloudflare ${what}: unexpected answer (${why})`, {
    retryable: true,
    ...(status === undefined ? {} : { status }),
    apiCodes: errorCodes(errors),
  });
}

/** The system error code under a fetch failure: ECONNREFUSED, ECONNRESET, ENOTFOUND, UND_ERR_SOCKET… */
export function causeCode(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const o = e as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof o.code === 'string' && o.code !== '') return o.code;
    if (Array.isArray(o.errors) && o.errors.length > 0) e = o.errors[0];
    else e = o.cause;
  }
  return 'unknown cause';
}

/** A call that got no (complete) answer: aborted by the caller, timed out, or the connection failed. */
export function transportError(what: string, err: unknown, why: 'aborted' | 'timeout' | 'network', timeoutMs: number): EpictetusError {
  if (why === 'aborted') return new EpictetusError('EPI_ABORTED', `Cloudflare ${what}: aborted`);
  if (why === 'timeout') return new EpictetusError('EPI_CF_TIMEOUT', `Cloudflare ${what}: timed out after ${timeoutMs} ms`, { retryable: true });
  return new EpictetusError('EPI_CF_CONNECTION', `Cloudflare ${what}: connection failed (${causeCode(err)})`, { retryable: true });
}

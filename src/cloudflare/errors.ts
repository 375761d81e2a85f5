/** Cloudflare SDK errors -> EpictetusError with a stable code and whether retrying can help. */
import Cloudflare from 'cloudflare';
import { EpictetusError } from '../model/errors.js';

export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const raw = headers?.get('retry-after');
  if (raw === null || raw === undefined || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function apiErrors(err: InstanceType<typeof Cloudflare.APIError>): string {
  const list = Array.isArray(err.errors) ? err.errors : [];
  return list.map((e) => `${e.code}: ${e.message}`).join('; ');
}

export function hasErrorCode(err: unknown, code: number): boolean {
  return err instanceof EpictetusError && err.message.includes(`${code}: `);
}

/** Maps anything the SDK throws; the message never carries headers, so never the token. */
export function mapCloudflareError(err: unknown, what: string): EpictetusError {
  if (err instanceof EpictetusError) return err;
  if (err instanceof Cloudflare.APIConnectionTimeoutError) {
    return new EpictetusError('EPI_CF_TIMEOUT', `Cloudflare ${what}: timed out`, { retryable: true });
  }
  if (err instanceof Cloudflare.APIUserAbortError) {
    return new EpictetusError('EPI_ABORTED', `Cloudflare ${what}: aborted`);
  }
  if (err instanceof Cloudflare.APIConnectionError) {
    return new EpictetusError('EPI_CF_CONNECTION', `Cloudflare ${what}: connection failed`, { retryable: true });
  }
  if (err instanceof Cloudflare.APIError) {
    const status = err.status ?? 0;
    const detail = apiErrors(err) || 'no error details';
    const msg = `Cloudflare ${what}: HTTP ${status} (${detail})`;
    const apiCodes = (Array.isArray(err.errors) ? err.errors : []).map((e) => Number(e.code)).filter(Number.isFinite);
    if (status === 429) {
      const after = retryAfterMs(err.headers);
      return new EpictetusError('EPI_CF_RATE_LIMITED', msg, { retryable: true, status, ...(after === undefined ? {} : { retryAfterMs: after }) });
    }
    if (status >= 500 || status === 408) return new EpictetusError('EPI_CF_SERVER', msg, { retryable: true, status });
    if (status === 401 || status === 403) return new EpictetusError('EPI_CF_AUTH', msg, { status });
    if (status === 404) return new EpictetusError('EPI_CF_NOT_FOUND', msg, { status });
    return new EpictetusError('EPI_CF_REJECTED', msg, { status, apiCodes });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new EpictetusError('EPI_CF_UNEXPECTED', `Cloudflare ${what}: ${message}`, { retryable: true });
}

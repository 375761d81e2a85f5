import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Cloudflare from 'cloudflare';
import { CloudflareSim, type CloudflareSimOptions } from '../../src/sim/cloudflare/index.js';

import { fakeToken } from '../../src/sim/cloudflare/fake-token.js';

export { fakeToken };
export const TOKEN = fakeToken();
export const ZONE = 'example.com';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Cloudflare's OpenAPI subset, vendored under test/vendor/ (see its README for source and licence). */
export const vendoredOpenApi = (file: string): string => path.resolve(repoRoot, 'test/vendor/cloudflare-openapi', file);

/** A simulator with one zone (example.com), no DNS server unless asked for. */
export function startSim(opts: Partial<CloudflareSimOptions> = {}): Promise<CloudflareSim> {
  return CloudflareSim.start({ token: TOKEN, zones: [{ name: ZONE }], dnsPort: false, ...opts });
}

export interface SdkOptions {
  token?: string;
  maxRetries?: number;
  fetch?: typeof fetch;
}

/** The official SDK pointed at the simulator, without retries unless asked for. */
export function sdk(sim: CloudflareSim, opts: SdkOptions = {}): Cloudflare {
  return new Cloudflare({
    apiToken: opts.token ?? TOKEN,
    baseURL: sim.baseUrl,
    maxRetries: opts.maxRetries ?? 0,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** the parsed body, or undefined when it is not JSON */
  json: unknown;
}

/** A plain HTTP call to the simulator (path relative to /client/v4), authenticated unless `auth` says otherwise. */
export async function call(
  sim: CloudflareSim,
  method: string,
  apiPath: string,
  opts: { body?: unknown; auth?: string | null } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const auth = opts.auth === undefined ? `Bearer ${TOKEN}` : opts.auth;
  if (auth !== null) headers.authorization = auth;
  const res = await fetch(`${sim.baseUrl}${apiPath}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The `errors` of a Cloudflare envelope. */
export function errorsOf(body: unknown): Array<{ code: number; message: string; error_chain?: Array<{ code: number }> }> {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) ? errors : [];
}

/** The one table of settings: name, default, parser, what it accepts, and whether it is secret. */
import { z } from 'zod';
import { parseHostnameList } from '../reconcile/hostnames.js';
import { bool, httpUrl, intIn, numberIn, oneOf, text, ttl } from './parsers.js';

export interface Setting {
  readonly env: string;
  /** undefined: required. */
  readonly default: string | undefined;
  readonly parse: z.ZodType<unknown, string>;
  readonly accepts: string;
  readonly describe: string;
  readonly secret?: boolean;
}

const hostnames = z.string().transform((raw, ctx) => {
  const { names, problems } = parseHostnameList(raw);
  for (const p of problems) ctx.addIssue({ code: 'custom', message: p });
  if (names.length === 0 && problems.length === 0) ctx.addIssue({ code: 'custom', message: 'no hostname given' });
  return names;
});

export const SETTINGS = [
  { env: 'CLOUDFLARE_API_TOKEN', default: undefined, secret: true,
    parse: z.string().trim().regex(/^[A-Za-z0-9_-]{20,200}$/),
    accepts: 'a Cloudflare API token (letters, digits, _ and -) with Zone:DNS:Edit',
    describe: 'Cloudflare API token' },
  { env: 'CLOUDFLARE_ZONE_ID', default: undefined,
    parse: z.string().trim().toLowerCase().regex(/^[0-9a-f]{32}$/),
    accepts: 'the zone id: 32 hexadecimal characters (Cloudflare dashboard, Overview, API)',
    describe: 'Cloudflare zone that holds the hostnames' },
  { env: 'DNS_HOSTNAMES', default: undefined, parse: hostnames,
    accepts: 'a comma-separated list of DNS names, e.g. app.example.com,www.example.com',
    describe: 'Hostnames that get one record per eligible node' },
  { env: 'DNS_SYNC_INTERVAL', default: '60', parse: intIn(1, 86400),
    accepts: 'whole seconds, 1–86400', describe: 'Seconds between full syncs that re-read Cloudflare' },
  { env: 'DNS_TTL', default: '1', parse: ttl(),
    accepts: '1 (automatic) or 60–86400 seconds', describe: 'TTL of the records created' },
  { env: 'DNS_PROXIED', default: 'false', parse: bool(),
    accepts: 'true or false', describe: 'Create records proxied through Cloudflare (TTL is then automatic)' },
  { env: 'OWNER_ID', default: 'default', parse: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/),
    accepts: '1–63 letters, digits, ".", "_" or "-", starting with a letter or digit',
    describe: 'Marker written in the comment of the records this instance owns; give each cluster sharing a zone its own' },
  { env: 'MIN_RECORDS_PER_HOSTNAME', default: '1', parse: intIn(0, 1000),
    accepts: 'a whole number, 0–1000 (0 turns the floor off)',
    describe: 'Safety floor: managed records never removed below this count per hostname and record type' },
  { env: 'LOG_LEVEL', default: 'INFO', parse: oneOf(['DEBUG', 'INFO', 'WARNING', 'WARN', 'ERROR']),
    accepts: 'DEBUG, INFO, WARNING (or WARN) or ERROR, in any case', describe: 'Least severe level logged' },
  { env: 'LOG_FORMAT', default: 'console', parse: z.string().trim().toLowerCase().pipe(z.enum(['console', 'json'])),
    accepts: 'console or json', describe: 'console: one readable line per event; json: one JSON object per line' },
  { env: 'HEALTH_CHECK_INTERVAL', default: '30', parse: intIn(1, 3600),
    accepts: 'whole seconds, 1–3600', describe: 'Seconds between checks that both APIs answer' },
  { env: 'ENABLE_HEALTH_SERVER', default: 'true', parse: bool(),
    accepts: 'true or false', describe: 'Serve /health, /health/ready and /health/live' },
  { env: 'HEALTH_PORT', default: '8080', parse: intIn(0, 65535),
    accepts: 'a TCP port, 0–65535 (0 picks a free one)', describe: 'Port of the health server' },
  { env: 'LIVENESS_TIMEOUT', default: '300', parse: intIn(5, 86400),
    accepts: 'whole seconds, 5–86400', describe: '/health/live answers 503 when one reconcile runs longer than this, or the loop stops ticking' },
  { env: 'K8S_CONFIG_PATH', default: '', parse: text(),
    accepts: 'a kubeconfig file path, or empty for in-cluster config', describe: 'Kubeconfig to use; empty means in-cluster' },
  { env: 'MAX_RETRIES', default: '3', parse: intIn(0, 20),
    accepts: 'a whole number, 0–20', describe: 'Retries of a failed API call (429, 5xx, timeouts, connection errors)' },
  { env: 'RETRY_DELAY', default: '5', parse: numberIn(0, 300),
    accepts: 'seconds, 0–300 (decimals allowed)', describe: 'First retry delay; doubles each retry, with jitter' },
  { env: 'CLOUDFLARE_API_BASE_URL', default: 'https://api.cloudflare.com/client/v4', parse: httpUrl(),
    accepts: 'an http(s) URL', describe: 'Cloudflare API base URL (a proxy or the simulator)' },
] as const satisfies readonly Setting[];

/**
 * The service's logger: one line per event, in JSON or one readable line, every line scrubbed of
 * secrets, written synchronously to a file descriptor (a container runtime keeps it).
 *
 * JSON lines carry what log pipelines read without configuration: `level` as a lower-case name,
 * `time` in ISO 8601 (UTC), then the logger's bindings (`component`), the event's own fields,
 * and `msg` last. No `pid`, `hostname` or service name: in a container they are constant and
 * the collector adds the pod's; and `hostname` and `service` are field names the events
 * themselves use (a DNS name, a namespace/name).
 *
 * Console lines: `[HH:MM:ss.mmm] LEVEL (on <hostname field>): msg {other fields as JSON}`.
 *
 * Written here rather than taken from pino: the service needs levels, child bindings, an error
 * serializer and redaction, which fit in this file, where pino and pino-pretty cost several
 * MB of memory and their own dependencies.
 */
import { writeSync } from 'node:fs';
import { redact } from '../model/errors.js';

export type LevelName = 'debug' | 'info' | 'warn' | 'error';

interface LogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
  /** A logger whose every line also carries these fields (before the event's own). */
  child(bindings: Readonly<Record<string, unknown>>): Logger;
}

export interface LoggerOptions {
  readonly level: LevelName | 'silent';
  readonly format: 'console' | 'json';
  /** Strings that must never be written, whatever logged them. */
  readonly secrets: () => Iterable<string>;
  readonly fd?: number;
}

const RANK: Record<LevelName | 'silent', number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };
const CENSOR = '[REDACTED]';
/** Field names whose value is never written, at the top level or one object down (and headers.authorization). */
const SECRET_KEYS = new Set(['apiToken', 'token']);

export function scrub(line: string, secrets: Iterable<string>): string {
  return redact(line, secrets);
}

/** An Error as data: its class, message, stack, own enumerable fields (code, status…) and cause. */
function serializeError(err: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { type: err.constructor?.name ?? 'Error', message: err.message, stack: err.stack };
  for (const [k, v] of Object.entries(err)) if (!(k in out)) out[k] = v;
  if (err.cause instanceof Error && depth < 3) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

/** A copy with secret-named fields censored (only where something needs censoring: most events have none). */
function censored(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  const set = (k: string, v: unknown) => { out ??= { ...fields }; out[k] = v; };
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEYS.has(k)) set(k, CENSOR);
    else if (k === 'err' && v instanceof Error) set(k, serializeError(v));
    else if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Error)) {
      const inner = v as Record<string, unknown>;
      let copy: Record<string, unknown> | undefined;
      for (const ik of Object.keys(inner)) if (SECRET_KEYS.has(ik)) (copy ??= { ...inner })[ik] = CENSOR;
      const headers = (copy ?? inner).headers;
      if (headers !== null && typeof headers === 'object' && 'authorization' in headers) {
        (copy ??= { ...inner }).headers = { ...(headers as Record<string, unknown>), authorization: CENSOR };
      }
      if (k === 'headers' && 'authorization' in inner) (copy ??= { ...inner }).authorization = CENSOR;
      if (copy) set(k, copy);
    }
  }
  return out ?? fields;
}

/** JSON of anything a caller may log: a cycle becomes "[Circular]", a bigint its decimal text. */
function json(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    const seen = new WeakSet<object>();
    return JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v !== null && typeof v === 'object') {
        if (seen.has(v)) return '[Circular]';
        seen.add(v);
      }
      return v;
    });
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function consoleLine(level: LevelName, time: Date, fields: Record<string, unknown>, msg: string | undefined): string {
  const { hostname, ...rest } = fields;
  const clock = `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}.${pad(time.getMilliseconds(), 3)}`;
  const on = hostname === undefined ? '' : ` (on ${String(hostname)})`;
  const extra = Object.keys(rest).length > 0 ? ` ${json(rest)}` : '';
  return `[${clock}] ${level.toUpperCase()}${on}:${msg === undefined ? '' : ` ${msg}`}${extra}\n`;
}

export function createLogger(opts: LoggerOptions, bindings: Readonly<Record<string, unknown>> = {}): Logger {
  const fd = opts.fd ?? 1;
  const threshold = RANK[opts.level];
  const emit = (level: LevelName, a: object | string, b?: string): void => {
    if (RANK[level] < threshold) return;
    const [own, msg] = typeof a === 'string' ? [{}, a] : [a instanceof Error ? { err: a } : a as Record<string, unknown>, b ?? (a instanceof Error ? a.message : undefined)];
    const fields = censored({ ...bindings, ...own });
    const time = new Date();
    let line: string;
    if (opts.format === 'console') line = consoleLine(level, time, fields, msg);
    else {
      const { level: _l, time: _t, msg: _m, ...rest } = fields;
      line = `${json({ level, time: time.toISOString(), ...rest, ...(msg === undefined ? {} : { msg }) })}\n`;
    }
    writeSync(fd, scrub(line, opts.secrets()));
  };
  const fn = (level: LevelName): LogFn => ((a: object | string, b?: string) => emit(level, a, b)) as LogFn;
  return {
    debug: fn('debug'), info: fn('info'), warn: fn('warn'), error: fn('error'),
    child: (more) => createLogger(opts, { ...bindings, ...more }),
  };
}

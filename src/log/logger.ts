/**
 * pino logger whose every output line is scrubbed of secrets, in JSON or one readable line.
 * JSON lines carry what log pipelines read without configuration: `level` as a lower-case name,
 * `time` in ISO 8601 (UTC), `msg`, then the event's own fields. No `pid`, `hostname` or service
 * name: in a container they are constant and the collector adds the pod's; and `hostname` and
 * `service` are field names the events themselves use (a DNS name, a namespace/name).
 */
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { redact } from '../model/errors.js';

export type { Logger };

export interface LoggerOptions {
  readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  readonly format: 'console' | 'json';
  /** Strings that must never be written, whatever logged them. */
  readonly secrets: () => Iterable<string>;
  readonly fd?: number;
}

export function scrub(line: string, secrets: Iterable<string>): string {
  return redact(line, secrets);
}

export function createLogger(opts: LoggerOptions): Logger {
  const fd = opts.fd ?? 1;
  const format = opts.format === 'console'
    ? pretty.prettyFactory({ colorize: false, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: '' })
    : (line: string) => line;
  const destination = {
    write(line: string): void {
      writeSync(fd, scrub(format(line), opts.secrets()));
    },
  };
  return pino({
    level: opts.level,
    base: undefined,
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['apiToken', 'token', '*.apiToken', '*.token', 'headers.authorization', '*.headers.authorization'], censor: '[REDACTED]' },
    serializers: { err: pino.stdSerializers.err },
  }, destination);
}

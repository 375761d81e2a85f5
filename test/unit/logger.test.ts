/** The logger's two formats: what each line looks like, and that no secret gets through either. */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, type LoggerOptions } from '../../src/log/logger.js';

const SECRET = 'fake-secret-abcdefghijklmnop';

/** Lines a logger writes to a file descriptor, as a container runtime would keep them. */
function written(format: LoggerOptions['format'], log: (l: ReturnType<typeof createLogger>) => void): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'epictetus-log-'));
  const path = join(dir, 'out.log');
  const fd = openSync(path, 'w');
  try {
    log(createLogger({ level: 'debug', format, secrets: () => [SECRET], fd }));
  } finally {
    closeSync(fd);
  }
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  rmSync(dir, { recursive: true, force: true });
  return lines;
}

const events = (l: ReturnType<typeof createLogger>) => {
  l.warn({ service: 'default/web', problem: 'bad ttl' }, 'DNS disabled for service default/web: bad ttl');
  l.child({ component: 'node-watch' }).debug({ hostname: 'app.example.com' }, `sent ${SECRET} by mistake`);
  l.error({ apiToken: 'tok_1234567890abcdefghij' }, 'failed');
};

describe('logger', () => {
  it('json: level names, ISO time, msg, the event\'s fields, nothing else', () => {
    const lines = written('json', events);
    expect(lines).toHaveLength(3);
    const [warn, debug, error] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(warn!)).toEqual(['level', 'time', 'service', 'problem', 'msg']);
    expect(warn).toMatchObject({ level: 'warn', service: 'default/web', msg: 'DNS disabled for service default/web: bad ttl' });
    expect(new Date(String(warn!.time)).toISOString()).toBe(warn!.time);
    expect(debug).toMatchObject({ level: 'debug', component: 'node-watch', hostname: 'app.example.com', msg: 'sent [REDACTED] by mistake' });
    expect(error).toMatchObject({ level: 'error', apiToken: '[REDACTED]' });
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it('console: one readable line per event, with every field, and no secret', () => {
    const lines = written('console', events);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] WARN: DNS disabled for service default\/web: bad ttl \{"service":"default\/web","problem":"bad ttl"\}$/);
    expect(lines[1]).toMatch(/^\[[\d:.]+\] DEBUG \(on app\.example\.com\): sent \[REDACTED\] by mistake \{"component":"node-watch"\}$/);
    expect(lines[2]).toMatch(/^\[[\d:.]+\] ERROR: failed \{"apiToken":"\[REDACTED\]"\}$/);
    expect(lines.join('\n')).not.toContain(SECRET);
  });
});

describe('logger fields', () => {
  it('leaves out levels below the threshold, and everything when silent', () => {
    const lines = (level: LoggerOptions['level']) => {
      const dir = mkdtempSync(join(tmpdir(), 'epictetus-log-'));
      const fd = openSync(join(dir, 'out.log'), 'w');
      const l = createLogger({ level, format: 'json', secrets: () => [], fd });
      l.debug('d');
      l.info('i');
      l.warn('w');
      l.error('e');
      closeSync(fd);
      const text = readFileSync(join(dir, 'out.log'), 'utf8');
      rmSync(dir, { recursive: true, force: true });
      return text.split('\n').filter((x) => x !== '').map((x) => (JSON.parse(x) as { msg: string }).msg);
    };
    expect(lines('debug')).toEqual(['d', 'i', 'w', 'e']);
    expect(lines('warn')).toEqual(['w', 'e']);
    expect(lines('silent')).toEqual([]);
  });

  it('serializes an err with its class, message, stack, code and cause; censors tokens one level down and authorization headers', () => {
    const [line] = written('json', (l) => {
      const err = Object.assign(new TypeError('boom', { cause: new Error('root') }), { code: 'EPI_X' });
      l.child({ component: 'c' }).error({ err, call: { token: 't0k3n-abcdefghijklmnopqrst', headers: { authorization: 'Bearer x' } }, headers: { authorization: 'Bearer y' } }, 'failed');
    });
    const o = JSON.parse(line!) as { err: Record<string, unknown>; call: Record<string, unknown>; headers: Record<string, unknown>; component: string };
    expect(o.component).toBe('c');
    expect(o.err).toMatchObject({ type: 'TypeError', message: 'boom', code: 'EPI_X', cause: { type: 'Error', message: 'root' } });
    expect(String(o.err.stack)).toContain('TypeError: boom');
    expect(o.call).toEqual({ token: '[REDACTED]', headers: { authorization: '[REDACTED]' } });
    expect(o.headers).toEqual({ authorization: '[REDACTED]' });
  });

  it('writes what JSON cannot hold as it can: a cycle, a bigint', () => {
    const [line] = written('json', (l) => {
      const loop: Record<string, unknown> = { name: 'x' };
      loop.self = loop;
      l.info({ loop, big: 12345678901234567890n }, 'odd fields');
    });
    expect(JSON.parse(line!)).toMatchObject({ loop: { name: 'x', self: '[Circular]' }, big: '12345678901234567890', msg: 'odd fields' });
  });
});

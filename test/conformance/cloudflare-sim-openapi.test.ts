// Contract test: the simulator's answers, and the bodies the official SDK sends it, checked
// against Cloudflare's published OpenAPI description (2024-08 subset; batch reconstructed).
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudflareSim } from '../../src/sim/cloudflare/index.js';
import { call, sdk, vendoredOpenApi, startSim, ZONE } from '../helpers/cloudflare.js';

type Json = Record<string, unknown>;

const loadSpec = (file: string): Json => JSON.parse(readFileSync(vendoredOpenApi(file), 'utf8')) as Json;
const plain = loadSpec('openapi-dns-2024-08.json');
const withBatch = loadSpec('openapi-dns-2024-08-with-batch.json');

type Schemas = { components: { schemas: Record<string, Json> } };

/**
 * Two corrections to the 2024-08 description, each in its own copy of the spec:
 * - responses: `comment` is typed string only, yet the real API answers `"comment": null` for a
 *   record without a comment, so responses get `nullable: true` on it;
 * - requests: the shared record schema lists `id`, `proxiable`, `created_on` and `modified_on`
 *   as required and is used for request bodies too. OpenAPI exempts required readOnly
 *   properties from requests, but `id` is not marked readOnly, so no create body could
 *   conform: requests drop those four from `required`.
 */
function responseVariant(spec: Json): Json {
  const copy = structuredClone(spec) as Schemas;
  copy.components.schemas['dns-records_comment'] = { ...copy.components.schemas['dns-records_comment'], nullable: true };
  return copy;
}

function requestVariant(spec: Json): Json {
  const copy = structuredClone(spec) as Schemas;
  copy.components.schemas['dns-records_dns-record'] = { ...copy.components.schemas['dns-records_dns-record'], required: [] };
  return copy;
}

// Non-strict: the spec uses OpenAPI-only keywords (nullable, example, x-*) and misplaced ones
// (minLength on arrays, uniqueItems on objects) that strict JSON Schema rejects.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(responseVariant(plain), 'dns');
ajv.addSchema(responseVariant(withBatch), 'batch');
ajv.addSchema(requestVariant(plain), 'dns-request');
ajv.addSchema(requestVariant(withBatch), 'batch-request');

const pointer = (segments: string[]): string =>
  segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

function schemaAt(specId: string, segments: string[]): ValidateFunction {
  const validate = ajv.getSchema(`${specId}#/${pointer(segments)}`);
  if (!validate) throw new Error(`no schema at ${segments.join(' ')} in ${specId}`);
  return validate;
}

const operation = (spec: Json, path: string, method: string): Json =>
  ((spec.paths as Record<string, Record<string, Json>>)[path]?.[method] ?? {}) as Json;

/** The 2XX or 4XX response key as spelled in the file (the plain file still has `4xx` for DNS records). */
function responseKey(spec: Json, path: string, method: string, status: '200' | '4XX'): string {
  const keys = Object.keys(operation(spec, path, method).responses as Json);
  const key = keys.find((k) => k.toUpperCase() === status);
  if (!key) throw new Error(`${method} ${path} has no ${status} response`);
  return key;
}

const responseSegments = (spec: Json, path: string, method: string, status: '200' | '4XX'): string[] => [
  'paths',
  path,
  method,
  'responses',
  responseKey(spec, path, method, status),
  'content',
  'application/json',
  'schema',
];

const responseSchema = (specId: 'dns' | 'batch', path: string, method: string): ValidateFunction =>
  schemaAt(specId, responseSegments(specId === 'dns' ? plain : withBatch, path, method, '200'));

/**
 * The failure part of an operation's 4XX schema. For the DNS-record and token operations the
 * 4XX schema is `allOf[<success schema>, <failure schema>]`, which no body can satisfy (the
 * success half demands `success: true` and, for lists, an array `result`); the failure half is
 * what real error bodies follow.
 */
function failureSchema(specId: 'dns' | 'batch', path: string, method: string): ValidateFunction {
  const spec = specId === 'dns' ? plain : withBatch;
  const segments = responseSegments(spec, path, method, '4XX');
  const schema = segments.reduce<unknown>((node, key) => (node as Json)[key], spec) as { allOf?: Array<{ $ref?: string }> };
  const i = schema.allOf?.findIndex((s) => s.$ref?.endsWith('api-response-common-failure')) ?? -1;
  return schemaAt(specId, i >= 0 ? [...segments, 'allOf', String(i)] : segments);
}

function expectValid(validate: ValidateFunction, body: unknown): void {
  const ok = validate(body);
  expect(validate.errors ?? [], JSON.stringify(body)).toEqual([]);
  expect(ok).toBe(true);
}

const RECORDS = '/zones/{zone_id}/dns_records';
const RECORD = '/zones/{zone_id}/dns_records/{dns_record_id}';

let sim: CloudflareSim;
let zoneId: string;
const sent: Array<{ method: string; url: string; body: unknown }> = [];

const recordingFetch: typeof fetch = async (input, init) => {
  const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
  sent.push({ method: init?.method ?? 'GET', url: String(input), body });
  return fetch(input, init);
};

beforeAll(async () => {
  sim = await startSim();
  zoneId = sim.zone(ZONE).id;
});

afterAll(async () => {
  await sim.stop();
});

describe('responses conform to the OpenAPI description', () => {
  it('tokens verify and zones list', async () => {
    expectValid(responseSchema('dns', '/user/tokens/verify', 'get'), (await call(sim, 'GET', '/user/tokens/verify')).json);
    expectValid(responseSchema('dns', '/zones', 'get'), (await call(sim, 'GET', `/zones?name=${ZONE}`)).json);
  });

  it('DNS record create, get, list, patch, put and delete', async () => {
    const base = `/zones/${zoneId}/dns_records`;
    const created = await call(sim, 'POST', base, { body: { type: 'A', name: 'c', content: '192.0.2.1', ttl: 1, comment: 'x' } });
    expectValid(responseSchema('dns', RECORDS, 'post'), created.json);
    const aaaa = await call(sim, 'POST', base, { body: { type: 'AAAA', name: 'c', content: '2001:db8::1', ttl: 120 } });
    expectValid(responseSchema('dns', RECORDS, 'post'), aaaa.json);
    const id = (created.json as { result: { id: string } }).result.id;

    expectValid(responseSchema('dns', RECORD, 'get'), (await call(sim, 'GET', `${base}/${id}`)).json);
    expectValid(responseSchema('dns', RECORDS, 'get'), (await call(sim, 'GET', base)).json);
    expectValid(responseSchema('dns', RECORDS, 'get'), (await call(sim, 'GET', `${base}?page=9`)).json);
    const patched = await call(sim, 'PATCH', `${base}/${id}`, { body: { content: '192.0.2.2' } });
    expectValid(responseSchema('dns', RECORD, 'patch'), patched.json);
    const put = await call(sim, 'PUT', `${base}/${id}`, { body: { type: 'A', name: 'c', content: '192.0.2.3', ttl: 1 } });
    expectValid(responseSchema('dns', RECORD, 'put'), put.json);
    expectValid(responseSchema('dns', RECORD, 'delete'), (await call(sim, 'DELETE', `${base}/${id}`)).json);
  });

  it('batch (reconstructed operation)', async () => {
    const base = `/zones/${zoneId}/dns_records`;
    const keep = sim.addRecord(zoneId, { name: 'b1', type: 'A', content: '192.0.2.1' });
    const gone = sim.addRecord(zoneId, { name: 'b2', type: 'A', content: '192.0.2.2' });
    const res = await call(sim, 'POST', `${base}/batch`, {
      body: {
        deletes: [{ id: gone.id }],
        patches: [{ id: keep.id, comment: 'patched' }],
        posts: [{ type: 'AAAA', name: 'b3', content: '2001:db8::3', ttl: 1 }],
      },
    });
    expect(res.status).toBe(200);
    expectValid(responseSchema('batch', `${RECORDS}/batch`, 'post'), res.json);
  });

  it('error bodies follow the failure envelope', async () => {
    const base = `/zones/${zoneId}/dns_records`;
    const cases: Array<[string, string, string, Promise<{ status: number; json: unknown }>]> = [
      ['/user/tokens/verify', 'get', 'dns', call(sim, 'GET', '/user/tokens/verify', { auth: 'Bearer nope' })],
      ['/zones', 'get', 'dns', call(sim, 'GET', '/zones', { auth: null })],
      [RECORDS, 'get', 'dns', call(sim, 'GET', `/zones/${'0'.repeat(32)}/dns_records`)],
      [RECORDS, 'post', 'dns', call(sim, 'POST', base, { body: { type: 'A', name: 'e', content: 'x', ttl: 1 } })],
      [RECORD, 'get', 'dns', call(sim, 'GET', `${base}/${'e'.repeat(32)}`)],
      [RECORD, 'patch', 'dns', call(sim, 'PATCH', `${base}/${'e'.repeat(32)}`, { body: {} })],
      [RECORD, 'delete', 'dns', call(sim, 'DELETE', `${base}/${'e'.repeat(32)}`)],
      [`${RECORDS}/batch`, 'post', 'batch', call(sim, 'POST', `${base}/batch`, { body: { deletes: [{ id: 'e'.repeat(32) }] } })],
    ];
    for (const [path, method, specId, answer] of cases) {
      const res = await answer;
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expectValid(failureSchema(specId as 'dns' | 'batch', path, method), res.json);
    }
  });

  it('zones of every status, account and permission', async () => {
    const copy = sim.addZone({ name: 'status.example', account: '9'.repeat(32), status: 'pending' });
    sim.addZone({ name: 'status.example', status: 'moved', permission: 'read' });
    sim.addZone({ name: 'status.example', account: '8'.repeat(32), status: 'initializing', permission: 'none' });
    const listed = await call(sim, 'GET', '/zones?name=status.example');
    expect((listed.json as { result: unknown[] }).result).toHaveLength(3);
    expectValid(responseSchema('dns', '/zones', 'get'), listed.json);
    expectValid(responseSchema('dns', '/zones', 'get'), (await call(sim, 'GET', '/zones?status=pending')).json);
    expect((await call(sim, 'GET', `/zones/${copy.id}`)).status).toBe(200);
  });

  it('refusals for token rights and CNAME conflicts follow the failure envelope', async () => {
    const base = `/zones/${zoneId}/dns_records`;
    const cname = sim.addRecord(zoneId, { name: 'conflict', type: 'CNAME', content: 'target.example.net' });
    const conflict = await call(sim, 'POST', `${base}/batch`, { body: { posts: [{ type: 'A', name: 'conflict', content: '192.0.2.1', ttl: 1 }] } });
    expect(conflict.status).toBe(400);
    expectValid(failureSchema('batch', `${RECORDS}/batch`, 'post'), conflict.json);
    sim.deleteRecord(zoneId, cname.id);

    sim.setZonePermission(zoneId, 'none');
    try {
      const forbidden = await call(sim, 'GET', base);
      expect(forbidden.status).toBe(403);
      expectValid(failureSchema('dns', RECORDS, 'get'), forbidden.json);
      sim.setZonePermission(zoneId, 'hidden');
      const hidden = await call(sim, 'GET', `/zones?name=${ZONE}`);
      expectValid(responseSchema('dns', '/zones', 'get'), hidden.json);
      expect((hidden.json as { result: unknown[] }).result).toEqual([]);
      const unauthorized = await call(sim, 'GET', base);
      expect(unauthorized.status).toBe(403);
      expectValid(failureSchema('dns', RECORDS, 'get'), unauthorized.json);
    } finally {
      sim.setZonePermission(zoneId, 'edit');
    }
  });

  it('documents that the composed 4XX schemas of DNS records and token verify accept no body at all', async () => {
    const body = (await call(sim, 'GET', `/zones/${'0'.repeat(32)}/dns_records`)).json;
    for (const [path, method] of [
      [RECORDS, 'get'],
      [RECORD, 'patch'],
      ['/user/tokens/verify', 'get'],
    ] as const) {
      const composed = schemaAt('dns', responseSegments(plain, path, method, '4XX'));
      expect(composed(body)).toBe(false);
      expect(composed.errors?.map((e) => e.instancePath)).toContain('/success');
    }
  });
});

describe('request bodies the official SDK sends conform to the OpenAPI description', () => {
  it('create, edit, update and batch', async () => {
    const client = sdk(sim, { fetch: recordingFetch });
    const created = await client.dns.records.create({
      zone_id: zoneId,
      type: 'A',
      name: 'sdk',
      content: '192.0.2.1',
      ttl: 1,
      comment: 'epictetus',
    });
    await client.dns.records.edit(created.id, { zone_id: zoneId, type: 'A', name: 'sdk', content: '192.0.2.2', ttl: 60 });
    await client.dns.records.update(created.id, { zone_id: zoneId, type: 'A', name: 'sdk', content: '192.0.2.3', ttl: 60 });
    await client.dns.records.batch({
      zone_id: zoneId,
      deletes: [{ id: created.id }],
      posts: [{ type: 'A', name: 'sdk', content: '192.0.2.4', ttl: 1, proxied: false }],
    });

    const bodyOf = (method: string, suffix: RegExp): unknown => sent.find((s) => s.method === method && suffix.test(s.url))?.body;
    const requestSchema = (specId: string, path: string, method: string): ValidateFunction =>
      schemaAt(specId, ['paths', path, method, 'requestBody', 'content', 'application/json', 'schema']);
    expectValid(requestSchema('dns-request', RECORDS, 'post'), bodyOf('POST', /dns_records$/));
    expectValid(requestSchema('dns-request', RECORD, 'patch'), bodyOf('PATCH', /dns_records\/\w+$/));
    expectValid(requestSchema('dns-request', RECORD, 'put'), bodyOf('PUT', /dns_records\/\w+$/));
    expectValid(requestSchema('batch-request', `${RECORDS}/batch`, 'post'), bodyOf('POST', /batch$/));
  });
});

import { deepEqual, objectAt, stringAt, type JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { fieldErrors, type FieldError } from '../status.js';
import { ageOf } from '../table.js';
import { checkMicroTime, validateName, validateQualifiedName } from '../validation.js';
import { withMetadataMergeKeys } from './common.js';

const LIMIT = 128;
const NOTE_LIMIT = 1024;

/** Field names of the two APIs over the same objects: events.k8s.io/v1 and the legacy core/v1. */
interface EventFields {
  regarding: string;
  note: string;
  reportingController: string;
}

const V1_FIELDS: EventFields = { regarding: 'regarding', note: 'note', reportingController: 'reportingController' };
const CORE_FIELDS: EventFields = { regarding: 'involvedObject', note: 'message', reportingController: 'reportingComponent' };

function requiredShort(event: JsonObject, field: string): FieldError[] {
  const value = stringAt(event, field) ?? '';
  if (value === '') return [fieldErrors.required(field)];
  if (value.length > LIMIT) return [fieldErrors.invalid(field, '', `can have at most ${LIMIT} characters`)];
  return [];
}

/**
 * legacyValidateEvent (pkg/apis/core/validation/events.go), which every Event passes: events
 * with an eventTime must name their reporting controller, instance, action and reason.
 */
function legacyErrors(event: JsonObject, f: EventFields): FieldError[] {
  const errs: FieldError[] = [];
  const namespace = stringAt(objectAt(event, 'metadata'), 'namespace') ?? '';
  const regardingNamespace = stringAt(objectAt(event, f.regarding), 'namespace') ?? '';
  if (typeof event.eventTime !== 'string') {
    if (regardingNamespace === '' ? namespace !== '' && namespace !== 'default' : namespace !== regardingNamespace) {
      errs.push(fieldErrors.invalid('involvedObject.namespace', regardingNamespace, 'does not match event.namespace'));
    }
  } else {
    if (regardingNamespace === '' && namespace !== 'default' && namespace !== 'kube-system') {
      errs.push(fieldErrors.invalid('involvedObject.namespace', regardingNamespace, 'does not match event.namespace'));
    }
    const controller = stringAt(event, f.reportingController) ?? '';
    if (controller === '') errs.push(fieldErrors.required(f.reportingController));
    else errs.push(...validateQualifiedName(f.reportingController, controller));
    errs.push(...requiredShort(event, 'reportingInstance'), ...requiredShort(event, 'action'), ...requiredShort(event, 'reason'));
    if ((stringAt(event, f.note) ?? '').length > NOTE_LIMIT) {
      errs.push(fieldErrors.invalid('message', '', `can have at most ${NOTE_LIMIT} characters`));
    }
  }
  errs.push(...validateName('namespace', namespace, 'dns-subdomain'));
  return errs;
}

/** ValidateEventCreate for events.k8s.io/v1: the legacy checks plus eventTime and type. */
function v1Errors(event: JsonObject): FieldError[] {
  const errs = legacyErrors(event, V1_FIELDS);
  if (typeof event.eventTime !== 'string') errs.push(fieldErrors.required('eventTime'));
  const type = stringAt(event, 'type') ?? '';
  if (type !== 'Normal' && type !== 'Warning') errs.push(fieldErrors.invalid('type', '', `has invalid value: ${type}`));
  for (const field of ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount', 'deprecatedSource']) {
    if (event[field] !== undefined && event[field] !== null) errs.push(fieldErrors.invalid(field, '', 'needs to be unset'));
  }
  return errs;
}

function columns(f: EventFields): ResourceDef['columns'] {
  const lastSeen = (e: JsonObject, now: number) =>
    ageOf(
      stringAt(objectAt(e, 'series'), 'lastObservedTime') ??
        stringAt(e, 'lastTimestamp') ??
        stringAt(e, 'eventTime') ??
        stringAt(e, 'deprecatedLastTimestamp'),
      now,
    );
  const object = (e: JsonObject) => {
    const ref = objectAt(e, f.regarding) ?? {};
    return `${(stringAt(ref, 'kind') ?? '').toLowerCase()}/${stringAt(ref, 'name') ?? ''}`;
  };
  return [
    { name: 'Last Seen', type: 'string', description: 'Time when this Event was last observed', cell: lastSeen },
    { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning)', cell: (e) => stringAt(e, 'type') ?? '' },
    { name: 'Reason', type: 'string', description: 'Why the action was taken', cell: (e) => stringAt(e, 'reason') ?? '' },
    { name: 'Object', type: 'string', description: 'The object this Event is about', cell: object },
    { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation', cell: (e) => stringAt(e, f.note) ?? '' },
    { name: 'Name', type: 'string', format: 'name', priority: 1, description: 'Name of the event', cell: (e) => stringAt(objectAt(e, 'metadata'), 'name') ?? '' },
  ];
}

function fieldSelectors(f: EventFields): ResourceDef['fieldSelectors'] {
  const ref = (key: string) => (e: JsonObject) => String(objectAt(e, f.regarding)?.[key] ?? '');
  return {
    [`${f.regarding}.kind`]: ref('kind'),
    [`${f.regarding}.name`]: ref('name'),
    [`${f.regarding}.namespace`]: ref('namespace'),
    [`${f.regarding}.uid`]: ref('uid'),
    [`${f.regarding}.apiVersion`]: ref('apiVersion'),
    reason: (e) => stringAt(e, 'reason') ?? '',
    type: (e) => stringAt(e, 'type') ?? '',
    [f.reportingController]: (e) => stringAt(e, f.reportingController) ?? '',
  };
}

function decodeTimes(def: ResourceDef, event: JsonObject): void {
  checkMicroTime(def, event.eventTime);
  checkMicroTime(def, objectAt(event, 'series')?.lastObservedTime);
}

export const events: ResourceDef = {
  group: 'events.k8s.io',
  version: 'v1',
  plural: 'events',
  singular: 'event',
  kind: 'Event',
  namespaced: true,
  nameFormat: 'dns-subdomain',
  shortNames: ['ev'],
  schema: 'io.k8s.api.events.v1.Event',
  statusSubresource: false,
  createOnUpdate: true,
  mergeKeys: withMetadataMergeKeys({}),
  fieldSelectors: fieldSelectors(V1_FIELDS),
  columns: columns(V1_FIELDS),
  decode: (event) => decodeTimes(events, event),
  validate: (event) => v1Errors(event),
};

/** core/v1 name ↔ events.k8s.io/v1 name, for fields that differ. */
const RENAMES: ReadonlyArray<[string, string]> = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['reportingComponent', 'reportingController'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

/** What Go serialises for unset core/v1 fields (non-pointer structs and strings, null times). */
const CORE_DEFAULTS: Readonly<JsonObject> = {
  involvedObject: {},
  source: {},
  firstTimestamp: null,
  lastTimestamp: null,
  eventTime: null,
  reportingComponent: '',
  reportingInstance: '',
};

function rename(obj: JsonObject, to: 'core' | 'v1'): JsonObject {
  const out: JsonObject = { ...obj };
  for (const [core, v1] of RENAMES) {
    const [source, target] = to === 'v1' ? [core, v1] : [v1, core];
    const value = out[source];
    delete out[source];
    if (value !== undefined) out[target] = value;
  }
  return out;
}

/** The legacy core/v1 Event API, served from the events.k8s.io/v1 storage as the API server does. */
export const coreEvents: ResourceDef = {
  group: '',
  version: 'v1',
  plural: 'events',
  singular: 'event',
  kind: 'Event',
  namespaced: true,
  nameFormat: 'dns-subdomain',
  shortNames: ['ev'],
  schema: 'io.k8s.api.core.v1.Event',
  statusSubresource: false,
  createOnUpdate: true,
  mergeKeys: withMetadataMergeKeys({}),
  fieldSelectors: { ...fieldSelectors(CORE_FIELDS), source: (e) => stringAt(objectAt(e, 'source'), 'component') ?? '' },
  columns: columns(CORE_FIELDS),
  decode: (event) => decodeTimes(coreEvents, event),
  validate: (event) => legacyErrors(event, CORE_FIELDS),
  storedAs: {
    def: events,
    fromStored: (stored) => ({ ...CORE_DEFAULTS, ...rename(stored, 'core') }),
    toStored(core) {
      const stored = rename(core, 'v1');
      for (const [key, value] of Object.entries(stored)) {
        const coreKey = RENAMES.find(([, v1]) => v1 === key)?.[0] ?? key;
        if (value === null || (key !== 'regarding' && deepEqual(value, CORE_DEFAULTS[coreKey]))) delete stored[key];
      }
      return stored;
    },
  },
};

import { objectAt, stringAt, type JsonObject } from '../json.js';
import type { ResourceDef } from '../resource.js';
import { fieldErrors, type FieldError } from '../status.js';
import { ageOf } from '../table.js';
import { checkMicroTime, validateName, validateQualifiedName } from '../validation.js';
import { withMetadataMergeKeys } from './common.js';

const LIMIT = 128;
const NOTE_LIMIT = 1024;

function requiredShort(event: JsonObject, field: string): FieldError[] {
  const value = stringAt(event, field) ?? '';
  if (value === '') return [fieldErrors.required(field)];
  if (value.length > LIMIT) return [fieldErrors.invalid(field, '', `can have at most ${LIMIT} characters`)];
  return [];
}

/** ValidateEventCreate for events.k8s.io/v1 (pkg/apis/core/validation/events.go). */
function validateEvent(event: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  const namespace = stringAt(objectAt(event, 'metadata'), 'namespace') ?? '';
  const regardingNamespace = stringAt(objectAt(event, 'regarding'), 'namespace') ?? '';
  const hasEventTime = typeof event.eventTime === 'string';
  if (!hasEventTime) {
    if (regardingNamespace === '' ? namespace !== '' && namespace !== 'default' : namespace !== regardingNamespace) {
      errs.push(fieldErrors.invalid('involvedObject.namespace', regardingNamespace, 'does not match event.namespace'));
    }
  } else {
    if (regardingNamespace === '' && namespace !== 'default' && namespace !== 'kube-system') {
      errs.push(fieldErrors.invalid('involvedObject.namespace', regardingNamespace, 'does not match event.namespace'));
    }
    const controller = stringAt(event, 'reportingController') ?? '';
    if (controller === '') errs.push(fieldErrors.required('reportingController'));
    else errs.push(...validateQualifiedName('reportingController', controller));
    errs.push(...requiredShort(event, 'reportingInstance'), ...requiredShort(event, 'action'), ...requiredShort(event, 'reason'));
    if ((stringAt(event, 'note') ?? '').length > NOTE_LIMIT) {
      errs.push(fieldErrors.invalid('message', '', `can have at most ${NOTE_LIMIT} characters`));
    }
  }
  errs.push(...validateName('namespace', namespace, 'dns-subdomain'));
  if (!hasEventTime) errs.push(fieldErrors.required('eventTime'));
  const type = stringAt(event, 'type') ?? '';
  if (type !== 'Normal' && type !== 'Warning') errs.push(fieldErrors.invalid('type', '', `has invalid value: ${type}`));
  for (const field of ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp', 'deprecatedCount', 'deprecatedSource']) {
    if (event[field] !== undefined && event[field] !== null) errs.push(fieldErrors.invalid(field, '', 'needs to be unset'));
  }
  return errs;
}

function lastSeen(event: JsonObject, now: number): string {
  const series = objectAt(event, 'series');
  const at = stringAt(series, 'lastObservedTime') ?? stringAt(event, 'eventTime') ?? stringAt(event, 'deprecatedLastTimestamp');
  return ageOf(at, now);
}

function regarding(event: JsonObject): string {
  const ref = objectAt(event, 'regarding') ?? {};
  return `${(stringAt(ref, 'kind') ?? '').toLowerCase()}/${stringAt(ref, 'name') ?? ''}`;
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
  statusSubresource: false,
  mergeKeys: withMetadataMergeKeys({}),
  columns: [
    { name: 'Last Seen', type: 'string', description: 'Time when this Event was last observed', cell: lastSeen },
    { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning)', cell: (e) => stringAt(e, 'type') ?? '' },
    { name: 'Reason', type: 'string', description: 'Why the action was taken', cell: (e) => stringAt(e, 'reason') ?? '' },
    { name: 'Object', type: 'string', description: 'The object this Event is about', cell: regarding },
    { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation', cell: (e) => stringAt(e, 'note') ?? '' },
    { name: 'Name', type: 'string', format: 'name', priority: 1, description: 'Name of the event', cell: (e) => stringAt(objectAt(e, 'metadata'), 'name') ?? '' },
  ],
  decode(event) {
    checkMicroTime(events, event.eventTime);
    checkMicroTime(events, objectAt(event, 'series')?.lastObservedTime);
  },
  validate: (event) => validateEvent(event),
};

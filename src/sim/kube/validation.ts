import { isObject, objectAt, stringAt, type Json, type JsonObject } from './json.js';
import type { NameFormat, ResourceDef } from './resource.js';
import { errors, fieldErrors, type FieldError } from './status.js';

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = `${DNS_LABEL}(\\.${DNS_LABEL})*`;
const DNS_1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME_PART = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';

const NAME_RULES: Readonly<Record<NameFormat, { re: RegExp; max: number; text: string }>> = {
  'dns-subdomain': {
    re: new RegExp(`^${DNS_SUBDOMAIN}$`),
    max: 253,
    text: `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '${DNS_SUBDOMAIN}')`,
  },
  'dns-label': {
    re: new RegExp(`^${DNS_LABEL}$`),
    max: 63,
    text: `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '${DNS_LABEL}')`,
  },
  'dns-1035-label': {
    re: new RegExp(`^${DNS_1035_LABEL}$`),
    max: 63,
    text: `a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '${DNS_1035_LABEL}')`,
  },
};

export function validateName(field: string, name: string, format: NameFormat): FieldError[] {
  const rule = NAME_RULES[format];
  if (name.length > rule.max) return [fieldErrors.invalid(field, name, `must be no more than ${rule.max} characters`)];
  return rule.re.test(name) ? [] : [fieldErrors.invalid(field, name, rule.text)];
}

/** A label or annotation key: optional DNS-subdomain prefix and a name part of at most 63 characters. */
export function validateQualifiedName(field: string, key: string): FieldError[] {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix === '' || !NAME_RULES['dns-subdomain'].re.test(prefix))) {
    return [fieldErrors.invalid(field, key, `prefix part ${NAME_RULES['dns-subdomain'].text}`)];
  }
  if (name === '') return [fieldErrors.invalid(field, key, 'name part must be non-empty')];
  if (name.length > 63) return [fieldErrors.invalid(field, key, 'name part must be no more than 63 characters')];
  if (!new RegExp(`^${QUALIFIED_NAME_PART}$`).test(name)) {
    return [
      fieldErrors.invalid(
        field,
        key,
        `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '${QUALIFIED_NAME_PART}')`,
      ),
    ];
  }
  return [];
}

export function validateLabelValue(field: string, value: Json | undefined): FieldError[] {
  if (typeof value !== 'string') return [fieldErrors.invalid(field, value ?? null, 'must be a string')];
  if (value.length > 63) return [fieldErrors.invalid(field, value, 'must be no more than 63 characters')];
  if (value !== '' && !new RegExp(`^${QUALIFIED_NAME_PART}$`).test(value)) {
    return [
      fieldErrors.invalid(
        field,
        value,
        `a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(${QUALIFIED_NAME_PART})?')`,
      ),
    ];
  }
  return [];
}

function validateStringMap(field: string, map: Json | undefined, checkValue: boolean): FieldError[] {
  if (map === undefined || map === null) return [];
  if (!isObject(map)) return [fieldErrors.invalid(field, map, 'must be a map of strings')];
  const errs: FieldError[] = [];
  for (const [key, value] of Object.entries(map)) {
    errs.push(...validateQualifiedName(field, key));
    if (checkValue) errs.push(...validateLabelValue(field, value));
    else if (typeof value !== 'string') errs.push(fieldErrors.invalid(`${field}[${key}]`, value, 'must be a string'));
  }
  return errs;
}

/** ValidateObjectMeta: name, labels, annotations and finalizers. */
export function validateObjectMeta(def: ResourceDef, obj: JsonObject): FieldError[] {
  const metadata = objectAt(obj, 'metadata') ?? {};
  const name = stringAt(metadata, 'name') ?? '';
  const errs: FieldError[] = [];
  if (name === '') errs.push(fieldErrors.required('metadata.name', 'name or generateName is required'));
  else errs.push(...validateName('metadata.name', name, def.nameFormat));
  errs.push(...validateStringMap('metadata.labels', metadata.labels, true));
  errs.push(...validateStringMap('metadata.annotations', metadata.annotations, false));
  const finalizers = metadata.finalizers;
  if (Array.isArray(finalizers)) {
    finalizers.forEach((f, i) => {
      if (typeof f !== 'string') errs.push(fieldErrors.invalid(`metadata.finalizers[${i}]`, f, 'must be a string'));
      else errs.push(...validateQualifiedName(`metadata.finalizers[${i}]`, f));
    });
  }
  return errs;
}

const RFC3339_MICRO = '2006-01-02T15:04:05.000000Z07:00';
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/**
 * metav1.MicroTime only decodes with exactly six fractional digits; the API server fails the
 * whole request with 400 otherwise (a JavaScript Date has three).
 */
export function checkMicroTime(def: ResourceDef, value: Json | undefined): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'string' && MICRO_TIME.test(value) && !Number.isNaN(Date.parse(value))) return;
  const shown = typeof value === 'string' ? value : JSON.stringify(value);
  throw errors.badRequest(
    `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: parsing time "${shown}" as "${RFC3339_MICRO}": ${microTimeParseError(shown)}`,
  );
}

/**
 * The tail of Go's time.ParseError, which names the rest of the input at the layout element
 * that failed: `cannot parse ".123Z" as ".000000"` for a JavaScript Date's three digits
 * (what kube-apiserver v1.33 answers), `cannot parse "Z" as ".000000"` for none.
 */
function microTimeParseError(value: string): string {
  const seconds = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.exec(value);
  if (seconds === null) return `cannot parse "${value}" as "${RFC3339_MICRO}"`;
  const rest = value.slice(seconds[0].length);
  if (!/^\.\d{6}/.test(rest)) return `cannot parse "${rest}" as ".000000"`;
  return `cannot parse "${rest.slice(7)}" as "Z07:00"`;
}

/** `new Date()` as a metav1.MicroTime string. */
export function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** `new Date()` as a metav1.Time string (whole seconds). */
export function isoSeconds(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function jsonKind(value: Json): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return 'number';
  return typeof value === 'object' ? 'object' : typeof value;
}

/**
 * The 400 a request body gets when a field has the wrong JSON type, as encoding/json words it:
 * `json: cannot unmarshal string into Go struct field EndpointConditions.endpoints.conditions.ready of type bool`.
 * `struct` is the Go type holding the field, `path` the field's JSON path without indexes.
 */
export function checkJsonType(def: ResourceDef, value: Json | undefined, type: 'bool' | 'string' | 'int32', struct: string, path: string, goType: string = type): void {
  if (value === undefined || value === null) return;
  const ok =
    type === 'bool'
      ? typeof value === 'boolean'
      : type === 'string'
        ? typeof value === 'string'
        : typeof value === 'number' && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647;
  if (ok) return;
  throw errors.badRequest(
    `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: json: cannot unmarshal ${type === 'int32' && typeof value === 'number' ? `number ${String(value)}` : jsonKind(value)} into Go struct field ${struct}.${path} of type ${goType}`,
  );
}

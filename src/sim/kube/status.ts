import type { JsonObject } from './json.js';

/** Group + plural resource, as the apiserver names things in error messages ("leases.coordination.k8s.io"). */
export interface GroupResource {
  group: string;
  plural: string;
  kind: string;
}

// Type aliases rather than interfaces, so that they are assignable to JsonObject.
export type StatusCause = {
  reason: string;
  message: string;
  field: string;
};

export type StatusDetails = {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
};

const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The generic messages client-go and the apiserver use when nothing more specific is known. */
const MESSAGES: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  403: 'forbidden',
  404: 'the server could not find the requested resource',
  405: 'the server does not allow this method on the requested resource',
  409: 'the server reported a conflict',
  410: 'the resource requested is no longer available',
  429: 'Too many requests, please try again later.',
  500: 'Internal error occurred: an error on the server has prevented the request from succeeding',
  503: 'the server is currently unable to handle the request',
  504: 'the server was unable to return a response in the time allotted, but may still be processing the request',
};

export function reasonFor(code: number): string {
  return REASONS[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest');
}

export function messageFor(code: number): string {
  return MESSAGES[code] ?? `the server responded with the status code ${code}`;
}

export function statusObject(code: number, reason: string, message: string, details?: StatusDetails): JsonObject {
  const status: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details) status.details = details;
  status.code = code;
  return status;
}

/** An error the API answers with a metav1 Status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    /** Extra list metadata, e.g. the inconsistent continue token of an expired continue. */
    readonly metadata?: JsonObject,
  ) {
    super(message);
  }

  toStatus(): JsonObject {
    const status = statusObject(this.code, this.reason, this.message, this.details);
    if (this.metadata) status.metadata = this.metadata;
    return status;
  }
}

function qualified(gr: GroupResource): string {
  return gr.group ? `${gr.plural}.${gr.group}` : gr.plural;
}

function details(gr: GroupResource, name: string): StatusDetails {
  return gr.group ? { name, group: gr.group, kind: gr.plural } : { name, kind: gr.plural };
}

export const errors = {
  notFound: (gr: GroupResource, name: string) =>
    new ApiError(404, 'NotFound', `${qualified(gr)} "${name}" not found`, details(gr, name)),
  alreadyExists: (gr: GroupResource, name: string) =>
    new ApiError(409, 'AlreadyExists', `${qualified(gr)} "${name}" already exists`, details(gr, name)),
  conflict: (gr: GroupResource, name: string, why: string) =>
    new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(gr)} "${name}": ${why}`, details(gr, name)),
  modified: (gr: GroupResource, name: string) =>
    errors.conflict(gr, name, 'the object has been modified; please apply your changes to the latest version and try again'),
  forbidden: (gr: GroupResource, name: string, why: string) =>
    new ApiError(403, 'Forbidden', `${qualified(gr)} "${name}" is forbidden: ${why}`, details(gr, name)),
  badRequest: (message: string) => new ApiError(400, 'BadRequest', message),
  methodNotAllowed: () => new ApiError(405, 'MethodNotAllowed', MESSAGES[405] ?? '', {}),
  pathNotFound: () => new ApiError(404, 'NotFound', MESSAGES[404] ?? '', {}),
  expired: (message: string, metadata?: JsonObject) => new ApiError(410, 'Expired', message, undefined, metadata),
  unsupportedMediaType: (accepted: readonly string[]) =>
    new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    ),
  notAcceptable: () =>
    new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json'),
  tooLargeResourceVersion: (requested: number, current: number) =>
    new ApiError(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version', field: '' }],
      retryAfterSeconds: 1,
    }),
};

// ---- field validation errors (k8s.io/apimachinery/pkg/util/validation/field) ----

export type FieldErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueDuplicate'
  | 'FieldValueTooMany';

const TYPE_TEXT: Readonly<Record<FieldErrorType, string>> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTooMany: 'Too many',
};

export interface FieldError {
  type: FieldErrorType;
  field: string;
  detail?: string;
  badValue?: unknown;
  /** The bad value exactly as Go's %#v prints it, when JSON would differ (a uint64 0 is "0x0"). */
  rawValue?: string;
}

export const fieldErrors = {
  required: (field: string, detail?: string): FieldError => ({ type: 'FieldValueRequired', field, detail }),
  invalid: (field: string, badValue: unknown, detail: string): FieldError => ({
    type: 'FieldValueInvalid',
    field,
    badValue,
    detail,
  }),
  notSupported: (field: string, badValue: unknown, supported: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    badValue,
    detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, detail }),
  duplicate: (field: string, badValue: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, badValue }),
  /** field.TooMany: the actual count as the bad value. */
  tooMany: (field: string, actual: number, max: number): FieldError => ({
    type: 'FieldValueTooMany',
    field,
    badValue: actual,
    detail: `must have at most ${max} items`,
  }),
};

/** field.Error.ErrorBody(): the message without the field path. */
function errorBody(e: FieldError): string {
  const withValue = e.type !== 'FieldValueRequired' && e.type !== 'FieldValueForbidden';
  let body = TYPE_TEXT[e.type];
  if (withValue && e.rawValue !== undefined) {
    body += `: ${e.rawValue}`;
  } else if (withValue && e.badValue !== undefined) {
    body += `: ${typeof e.badValue === 'string' ? JSON.stringify(e.badValue) : String(e.badValue)}`;
  }
  return e.detail ? `${body}: ${e.detail}` : body;
}

export function formatFieldError(e: FieldError): string {
  return `${e.field}: ${errorBody(e)}`;
}

/** 422 Invalid: `Kind.group "name" is invalid: <one error>` or `[<e1>, <e2>]`. */
export function invalid(gr: GroupResource, name: string, errs: readonly FieldError[]): ApiError {
  const kind = gr.group ? `${gr.kind}.${gr.group}` : gr.kind;
  const text = errs.map(formatFieldError);
  const aggregate = text.length === 1 ? (text[0] ?? '') : `[${text.join(', ')}]`;
  const d: StatusDetails = { name };
  if (gr.group) d.group = gr.group;
  d.kind = gr.kind;
  d.causes = errs.map((e) => ({ reason: e.type, message: errorBody(e), field: e.field }));
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${aggregate}`, d);
}

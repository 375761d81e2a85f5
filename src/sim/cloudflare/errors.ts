export interface CfMessage {
  code: number;
  message: string;
  error_chain?: CfMessage[];
}

/** An error answered in the Cloudflare envelope: `{success:false, errors, messages:[], result:null}`. */
export class CfError extends Error {
  constructor(
    readonly status: number,
    readonly errors: CfMessage[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors[0]?.message ?? `HTTP ${status}`);
  }
}

// Codes and messages marked "observed" were seen in real API answers (GitHub issues and
// Cloudflare docs); the others are the simulator's choice where no public answer was found.

/** observed: 400 9106 when no credentials are sent at all */
export const missingCredentials = (): CfError =>
  new CfError(400, [{ code: 9106, message: 'Missing X-Auth-Key, X-Auth-Email or Authorization headers' }]);

/** observed: 400 6003/6111 when the Authorization header is not `Bearer <token>` */
export const malformedAuthorization = (): CfError =>
  new CfError(400, [
    {
      code: 6003,
      message: 'Invalid request headers',
      error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
    },
  ]);

/** observed: 401 1000 for a well-formed token that is not valid */
export const invalidToken = (): CfError => new CfError(401, [{ code: 1000, message: 'Invalid API Token' }]);

/** observed: 400 7003 for an unknown or malformed zone or record identifier in the path */
export const noRouteForIdentifier = (path: string): CfError =>
  new CfError(400, [{ code: 7003, message: `Could not route to ${path}, perhaps your object identifier is invalid?` }]);

/** observed: 400 7000 for a path the API does not know */
export const noRoute = (): CfError => new CfError(400, [{ code: 7000, message: 'No route for that URI' }]);

/** observed (message shape): 405 7001 for a known path with the wrong method */
export const methodNotAllowed = (method: string): CfError =>
  new CfError(405, [{ code: 7001, message: `Method ${method} not available for that URI.` }]);

/** observed (code and message from the project notes): 429 971 with Retry-After in seconds */
export const rateLimited = (retryAfterSeconds: number): CfError =>
  new CfError(429, [{ code: 971, message: 'Please wait and consider throttling your request speed' }], {
    'Retry-After': String(retryAfterSeconds),
  });

/** observed: 404 81044 */
export const recordNotFound = (): CfError => new CfError(404, [{ code: 81044, message: 'Record does not exist.' }]);

/** observed: 400 81058 for a record with the same name, type and content as another */
export const identicalRecord = (): CfError =>
  new CfError(400, [{ code: 81058, message: 'An identical record already exists.' }]);

/** from memory of real answers, not confirmed in public sources: 400 81045 */
export const recordQuotaExceeded = (): CfError =>
  new CfError(400, [{ code: 81045, message: 'Record quota exceeded.' }]);

/** simulator's choice */
export const malformedJson = (): CfError =>
  new CfError(400, [{ code: 6007, message: 'Malformed JSON in request body' }]);

/** simulator's choice: the real limit is documented (200 Free, 3,500 paid) but not its error */
export const batchTooLarge = (count: number, limit: number): CfError =>
  new CfError(400, [
    { code: 81062, message: `Batch contains ${count} operations, more than the limit of ${limit} per request.` },
  ]);

/** simulator's choice for a batch body whose lists are not arrays of objects */
export const invalidBatch = (message: string): CfError => new CfError(400, [{ code: 81063, message }]);

/**
 * observed: 400 1004 "DNS Validation Error" wrapping the specific problem in `error_chain`
 * (seen for 9021 TTL and 9300 tags; 9005 has also been seen unwrapped at top level).
 */
export const dnsValidation = (code: number, message: string): CfError =>
  new CfError(400, [{ code: 1004, message: 'DNS Validation Error', error_chain: [{ code, message }] }]);

/**
 * observed: 403 10000 "Authentication error" when the token lacks the permission an operation needs
 * (e.g. DNS records of a zone the token may not read, a write with DNS:Read only)
 */
export const authenticationError = (): CfError => new CfError(403, [{ code: 10000, message: 'Authentication error' }]);

/**
 * observed message (octodns/octodns-cloudflare#60, tokens without access to a zone); the code 9109 is
 * from memory of real answers: 403 for a zone that is not among the token's resources
 */
export const unauthorizedResource = (): CfError =>
  new CfError(403, [{ code: 9109, message: 'Unauthorized to access requested resource' }]);

/** observed (terraform-provider-cloudflare#1247, a CNAME where an A record exists): 400 81053 */
export const hostAlreadyExists = (): CfError =>
  new CfError(400, [{ code: 81053, message: 'An A, AAAA, or CNAME record with that host already exists.' }]);

/** observed (favonia/cloudflare-ddns#990, 2024-11, an A record where a CNAME exists): 400 81054 */
export const cnameAlreadyExists = (): CfError =>
  new CfError(400, [
    {
      code: 81054,
      message:
        'A CNAME record with that host already exists. For more details, refer to <https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/>.',
    },
  ]);

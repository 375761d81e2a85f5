/**
 * A stand-in of a Cloudflare API token's shape (40 letters, digits, `_` and `-`) named `what`,
 * for the simulators, the demo and the tests: built, so that nothing committed looks like a real
 * token to a secret scanner or a reader.
 */
export const fakeToken = (what = ''): string => `SimToken_${what}`.padEnd(40, '0');

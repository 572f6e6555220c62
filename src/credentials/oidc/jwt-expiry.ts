// When an OIDC ID token stops being usable, read as client-go's oidc.go `idTokenExpired` reads it:
// the JWT payload's `exp`, without verifying the signature (the API server does that), used
// while it is more than 10 s away. A token without `exp` counts as expired (Go's zero time).

/** client-go's `expiryDelta`: a token this close to its expiry is refreshed first. */
export const EXPIRY_DELTA_MS = 10_000;

const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** What Go's `json.Number` accepts, as a JSON number or a string holding one. */
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * The `exp` claim of a JWT in milliseconds since the epoch, 0 when there is none.
 * @throws Error with client-go's wording (`ID Token is not a valid JWT`, `parsing claims: …`),
 * never quoting the token.
 */
export function idTokenExpiry(idToken: string): number {
  const parts = idToken.split('.');
  if (parts.length !== 3) throw new Error('ID Token is not a valid JWT');
  const payload = parts[1] ?? '';
  // Go's RawURLEncoding is strict: no padding, no other alphabet, no dangling 6 bits.
  if (!BASE64URL.test(payload) || payload.length % 4 === 1) throw new Error('ID Token is not a valid JWT: illegal base64 data in the payload');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch (err) {
    throw new Error(`parsing claims: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (claims === null) return 0;
  if (typeof claims !== 'object' || Array.isArray(claims)) throw new Error('parsing claims: the payload is not a JSON object');
  if (!('exp' in claims)) return 0;
  return expSeconds(claims.exp) * 1000;
}

/** jsonTime.UnmarshalJSON: an integer, or a float truncated to whole seconds. */
function expSeconds(exp: unknown): number {
  if (typeof exp === 'number') return Math.trunc(exp);
  if (typeof exp === 'string' && JSON_NUMBER.test(exp)) return Math.trunc(Number(exp));
  throw new Error('parsing claims: exp is not a number');
}

/** Whether a token expiring at `expiresAtMs` may still be sent at `nowMs`. */
export function isFresh(expiresAtMs: number, nowMs: number): boolean {
  return nowMs + EXPIRY_DELTA_MS < expiresAtMs;
}

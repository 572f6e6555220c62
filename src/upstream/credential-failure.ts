// A credential source that failed (a plugin that exited, timed out, or printed nonsense; an OIDC
// issuer that refused) answers the waiting request as a gateway would: 502, or 503 for a timeout.

import { CredentialError } from '../credentials/credentials.js';
import { ProxyError } from '../errors.js';

export function credentialFailure(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  if (err instanceof CredentialError) {
    const reason = err.statusCode === 503 ? 'ServiceUnavailable' : 'BadGateway';
    return new ProxyError(err.statusCode, reason, `getting credentials: ${err.message}`, { cause: err });
  }
  return new ProxyError(502, 'BadGateway', `getting credentials: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

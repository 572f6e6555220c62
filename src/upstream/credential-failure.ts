// A credential source that failed (a plugin that exited, timed out, or printed nonsense; an OIDC
// issuer that refused) answers the waiting request as a gateway would: 502, or 503 for a timeout.

import { CredentialError } from '../credentials/credentials.js';
import { messageOf, ProxyError } from '../errors.js';

export function credentialFailure(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = err instanceof CredentialError && err.statusCode === 503 ? 'KAP_CREDENTIAL_PLUGIN_TIMEOUT' : 'KAP_CREDENTIALS_FAILED';
  return new ProxyError(code, `getting credentials: ${messageOf(err)}`, { cause: err });
}

// Chooses what the proxy sends as Authorization for a user entry, in client-go's precedence:
// tokenFile (its value beats token) › token › basic auth. Only ever for https servers.

import { TOKEN_FILE_TTL_MS } from '../config/defaults.js';
import type { ResolvedUser } from '../kubeconfig/types.js';
import { NO_CREDENTIALS, basicAuth, bearerToken, type Credentials } from './credentials.js';
import { tokenFile } from './token-file.js';

export function selectCredentials(user: ResolvedUser, onRotateError: (message: string) => void): Credentials {
  if (user.tokenFile !== undefined) return tokenFile(user.tokenFile, TOKEN_FILE_TTL_MS, onRotateError);
  if (user.token !== undefined && user.token !== '') return bearerToken(user.token);
  if (user.username !== undefined && user.username !== '') return basicAuth(user.username, user.password ?? '');
  return NO_CREDENTIALS;
}

/** Whether the user entry carries anything that would identify us to a server. */
export function hasIdentity(user: ResolvedUser): boolean {
  return (
    user.tokenFile !== undefined ||
    (user.token ?? '') !== '' ||
    (user.username ?? '') !== '' ||
    user.clientCertificate !== undefined
  );
}

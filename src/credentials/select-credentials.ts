// Chooses what the proxy presents for a user entry, in client-go's precedence: tokenFile (its
// value beats token) › token › basic auth; with none of them (and no certificate), the exec
// plugin; with none of the three, the oidc auth-provider (a certificate does not stop it).
// Only ever for https servers.

import type { ResolvedCluster, ResolvedUser } from '../kubeconfig/types.js';
import { NO_CREDENTIALS, basicAuth, bearerToken, type Credentials } from './credentials.js';
import { execCredentials } from './exec/exec-credentials.js';
import { oidcCredentials } from './oidc/oidc-credentials.js';
import { TOKEN_FILE_TTL_MS, tokenFile } from './token-file.js';
import { chooseProxy, type ProxyEnvironment } from '../dial/choose-proxy.js';

/** What credential sources need from the running process. */
export interface CredentialRuntime {
  /** Problems found after start: a token file that can't be re-read, a failed background refresh. */
  readonly onWarning: (message: string) => void;
  readonly execPluginTimeoutMs: number;
  readonly stdinIsTerminal: boolean;
  /** Where plugins' stderr goes. */
  readonly stderr: NodeJS.WritableStream;
  /** HTTPS_PROXY / NO_PROXY for requests a credential source makes itself (the OIDC issuer). */
  readonly proxyEnvironment?: ProxyEnvironment;
}

export function selectCredentials(user: ResolvedUser, cluster: ResolvedCluster, runtime: CredentialRuntime): Credentials {
  if (user.tokenFile !== undefined) return tokenFile(user.tokenFile, TOKEN_FILE_TTL_MS, runtime.onWarning);
  if (user.token !== undefined && user.token !== '') return bearerToken(user.token);
  if (user.username !== undefined && user.username !== '') return basicAuth(user.username, user.password ?? '');
  // client-go puts the auth-provider's wrapper beneath the bearer and basic ones, which set
  // Authorization first, so the provider is then never asked (rest/transport.go TransportConfig).
  if (user.authProvider?.name === 'oidc') {
    const env = runtime.proxyEnvironment;
    return oidcCredentials(user.authProvider, { onWarning: runtime.onWarning, ...(env === undefined ? {} : { proxyFor: (url: URL) => chooseProxy(url, undefined, env) }) });
  }
  if (user.exec !== undefined) {
    return execCredentials(user.exec, cluster, {
      timeoutMs: runtime.execPluginTimeoutMs,
      stdinIsTerminal: runtime.stdinIsTerminal,
      stderr: runtime.stderr,
      onWarning: runtime.onWarning,
    });
  }
  return NO_CREDENTIALS;
}

/** Whether the user entry carries anything that would identify us to a server. */
export function hasIdentity(user: ResolvedUser): boolean {
  return (
    user.tokenFile !== undefined ||
    (user.token ?? '') !== '' ||
    (user.username ?? '') !== '' ||
    user.clientCertificate !== undefined ||
    user.exec !== undefined ||
    user.authProvider !== undefined
  );
}

// The `oidc` auth-provider as a credential source (client-go plugin/pkg/client/auth/oidc/oidc.go):
// the stored ID token while it is fresh, else one refresh at the issuer shared by every waiting
// request, the new tokens written back to the kubeconfig file. Beyond client-go, a 401 from the
// API server forces one refresh, so a revoked ID token is replaced without waiting for its expiry.

import type { AuthProviderConfig } from '../../kubeconfig/types.js';
import { ConfigError } from '../../errors.js';
import { CredentialError, type AuthMaterial, type Credentials } from '../credentials.js';
import { idTokenExpiry, isFresh } from './jwt-expiry.js';
import { OIDC_KEYS, oidcSettings, type OidcSettings } from './oidc-settings.js';
import { refreshIdToken, type RefreshedTokens } from './token-refresh.js';
import { writeBackTokens } from './write-back.js';

/** Bound of one refresh (discovery and token request); client-go has none. */
export const OIDC_ISSUER_TIMEOUT_MS = 30_000;

export interface OidcOptions {
  /** Receives one-line problems that do not stop the proxy, such as a failed write-back. */
  readonly onWarning: (message: string) => void;
  readonly timeoutMs?: number;
  /** The clock, in ms since the epoch; tests move it. */
  readonly now?: () => number;
  /** The forward proxy for the issuer's URLs, if any (HTTPS_PROXY / NO_PROXY, as client-go). */
  readonly proxyFor?: (url: URL) => URL | undefined;
}

interface CurrentToken {
  readonly material: AuthMaterial;
  readonly expiresAtMs: number;
}

const NO_REFRESH_TOKEN = 'No valid id-token, and cannot refresh without refresh-token';

/**
 * Reads and checks the entry now (a bad one is a ConfigError, as is a stored token that can
 * never be used: expired or absent with no refresh token); the issuer is only asked when needed.
 */
export function oidcCredentials(provider: AuthProviderConfig, options: OidcOptions): Credentials {
  const settings = { ...oidcSettings(provider), ...(options.proxyFor === undefined ? {} : { proxyFor: options.proxyFor }) };
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? OIDC_ISSUER_TIMEOUT_MS;
  const where = `auth-provider oidc of user "${settings.userName}"`;
  let refreshToken = settings.refreshToken;
  let token: CurrentToken | undefined = settings.idToken && bearer(settings.idToken.value, settings.idToken.expiresAtMs);
  if (refreshToken === undefined && !(token !== undefined && isFresh(token.expiresAtMs, now()))) {
    throw new ConfigError(`${where}: ${NO_REFRESH_TOKEN}`);
  }
  let refreshing: Promise<AuthMaterial> | undefined;
  /** Credentials a 401 already forced a refresh for: one each. */
  const forced = new WeakSet<AuthMaterial>();

  function refresh(): Promise<AuthMaterial> {
    refreshing ??= runRefresh().finally(() => (refreshing = undefined));
    return refreshing;
  }

  async function runRefresh(): Promise<AuthMaterial> {
    if (refreshToken === undefined) throw new CredentialError(`${NO_REFRESH_TOKEN} (${where})`);
    const tokens = await fetchTokens(settings, refreshToken, timeoutMs);
    token = bearer(tokens.idToken, tokens.expiresAtMs);
    if (tokens.refreshToken !== undefined) refreshToken = tokens.refreshToken;
    await persist(settings, tokens, options.onWarning);
    return token.material;
  }

  return {
    description: `oidc (issuer ${settings.issuer})`,
    current() {
      if (refreshing !== undefined) return refreshing;
      if (token !== undefined && isFresh(token.expiresAtMs, now())) return token.material;
      return refresh();
    },
    unauthorized(used) {
      if (refreshing !== undefined) return refreshing;
      if (token !== undefined && token.material !== used) return Promise.resolve(token.material); // refreshed since
      if (refreshToken === undefined || forced.has(used)) return undefined;
      forced.add(used);
      return refresh();
    },
  };
}

function bearer(idToken: string, expiresAtMs: number): CurrentToken {
  return { material: Object.freeze({ authorization: `Bearer ${idToken}` }), expiresAtMs };
}

/** The refresh, its failures as CredentialError naming the issuer: 503 when it did not answer in time. */
async function fetchTokens(settings: OidcSettings, refreshToken: string, timeoutMs: number): Promise<RefreshedTokens & { expiresAtMs: number }> {
  const signal = AbortSignal.timeout(timeoutMs);
  const issuer = `issuer ${settings.issuer}`;
  let tokens: RefreshedTokens;
  try {
    tokens = await refreshIdToken(settings, refreshToken, signal);
  } catch (err) {
    if (signal.aborted) throw new CredentialError(`oidc: no answer within ${timeoutMs / 1000} s (${issuer})`, 503, { cause: err });
    throw new CredentialError(`${err instanceof Error ? err.message : String(err)} (${issuer})`, 502, { cause: err });
  }
  try {
    return { ...tokens, expiresAtMs: idTokenExpiry(tokens.idToken) };
  } catch (err) {
    throw new CredentialError(`oidc: the refreshed id_token: ${err instanceof Error ? err.message : String(err)} (${issuer})`, 502, { cause: err });
  }
}

/** client-go fails the request when it cannot persist; we warn and keep the tokens in memory. */
async function persist(settings: OidcSettings, tokens: RefreshedTokens, onWarning: (message: string) => void): Promise<void> {
  if (settings.file === undefined) return;
  const values = {
    [OIDC_KEYS.idToken]: tokens.idToken,
    ...(tokens.refreshToken === undefined ? {} : { [OIDC_KEYS.refreshToken]: tokens.refreshToken }),
  };
  try {
    await writeBackTokens(settings.file, settings.userName, values);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    onWarning(`could not persist new tokens of user "${settings.userName}": ${reason}; using them from memory until the proxy stops`);
  }
}

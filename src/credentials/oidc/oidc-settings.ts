// Reads an `auth-provider: oidc` entry once at start, as client-go's `newOIDCAuthProvider` does:
// issuer and client id are required, and the issuer's CA (file or base64 data) is loaded now, so
// a bad one stops the proxy instead of failing every request.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../errors.js';
import { describeFsError } from '../../kubeconfig/fs-errors.js';
import type { AuthProviderConfig } from '../../kubeconfig/types.js';
import { idTokenExpiry } from './jwt-expiry.js';

/** The `config` keys of the oidc auth-provider (plugin/pkg/client/auth/oidc/oidc.go). */
export const OIDC_KEYS = {
  issuer: 'idp-issuer-url',
  clientId: 'client-id',
  clientSecret: 'client-secret',
  certificateAuthority: 'idp-certificate-authority',
  certificateAuthorityData: 'idp-certificate-authority-data',
  idToken: 'id-token',
  refreshToken: 'refresh-token',
} as const;

/** What talking to the issuer needs. */
export interface IssuerClient {
  /** `idp-issuer-url` as written (client-go trims one trailing `/` before the discovery path). */
  readonly issuer: string;
  readonly clientId: string;
  /** Empty for a public client. */
  readonly clientSecret: string;
  /** PEM roots that replace the defaults for TLS to the issuer; undefined: Node's default roots. */
  readonly ca?: Buffer;
  /** The forward proxy for a URL of the issuer's, if any (client-go uses the environment's). */
  readonly proxyFor?: (url: URL) => URL | undefined;
}

export interface OidcSettings extends IssuerClient {
  /** The stored ID token and its `exp` in ms (0: none, refresh first). */
  readonly idToken?: { readonly value: string; readonly expiresAtMs: number };
  readonly refreshToken?: string;
  /** Where refreshed tokens are written back, if the entry came from a file. */
  readonly file?: string;
  readonly userName: string;
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Checks and loads the entry.
 * @throws ConfigError naming the user and the field, never a value.
 */
export function oidcSettings(provider: AuthProviderConfig): OidcSettings {
  const { config, userName } = provider;
  const problem = (message: string, cause?: unknown) =>
    new ConfigError(`auth-provider oidc of user "${userName}": ${message}`, cause === undefined ? undefined : { cause });
  const issuer = config[OIDC_KEYS.issuer] ?? '';
  if (issuer === '') throw problem(`Must provide ${OIDC_KEYS.issuer}`);
  if (!isHttpUrl(issuer)) throw problem(`${OIDC_KEYS.issuer} must be an http:// or https:// URL`);
  const clientId = config[OIDC_KEYS.clientId] ?? '';
  if (clientId === '') throw problem(`Must provide ${OIDC_KEYS.clientId}`);
  const ca = issuerRoots(config, problem);
  const idToken = storedIdToken(config[OIDC_KEYS.idToken], problem);
  const refreshToken = config[OIDC_KEYS.refreshToken] ?? '';
  return {
    issuer,
    clientId,
    clientSecret: config[OIDC_KEYS.clientSecret] ?? '',
    ...(ca === undefined ? {} : { ca }),
    ...(idToken === undefined ? {} : { idToken }),
    ...(refreshToken === '' ? {} : { refreshToken }),
    ...(provider.file === undefined ? {} : { file: provider.file }),
    userName,
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

type Problem = (message: string, cause?: unknown) => ConfigError;

// client-go's TLS config: `-data` wins over the file (dataFromSliceOrFile). The file is not one of
// the paths clientcmd resolves against the kubeconfig's directory, so a relative path is relative
// to the working directory, as with kubectl.
function issuerRoots(config: Readonly<Record<string, string>>, problem: Problem): Buffer | undefined {
  const data = config[OIDC_KEYS.certificateAuthorityData] ?? '';
  const file = config[OIDC_KEYS.certificateAuthority] ?? '';
  let pem: Buffer;
  let source: string;
  if (data !== '') {
    source = OIDC_KEYS.certificateAuthorityData;
    if (!STD_BASE64.test(data)) throw problem(`${source}: illegal base64 data`);
    pem = Buffer.from(data, 'base64');
  } else if (file !== '') {
    const path = resolve(file);
    source = `${OIDC_KEYS.certificateAuthority} ${path}`;
    try {
      pem = readFileSync(path);
    } catch (err) {
      throw problem(`${OIDC_KEYS.certificateAuthority}: ${describeFsError('open', path, err)}`, err);
    }
  } else {
    return undefined;
  }
  checkCertificates(pem, source, problem);
  return pem;
}

function checkCertificates(pem: Buffer, source: string, problem: Problem): void {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (blocks === null) throw problem(`${source}: unable to load root certificates: unable to parse bytes as PEM block`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw problem(`${source}: failed to parse certificate`, err);
    }
  }
}

// client-go finds an unparseable id-token on the first request and then fails every request
// without trying the refresh token; since the value never changes, we say so at start.
function storedIdToken(value: string | undefined, problem: Problem): OidcSettings['idToken'] {
  if (value === undefined || value === '') return undefined;
  try {
    return { value, expiresAtMs: idTokenExpiry(value) };
  } catch (err) {
    throw problem(`${OIDC_KEYS.idToken}: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

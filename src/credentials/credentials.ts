// What the proxy presents to the API server on each request: an `Authorization` value and, from an
// exec plugin, a client certificate. The kubeconfig's own certificate is part of the TLS material
// (tls-material.ts UpstreamTls); a plugin's replaces it.

/** A client certificate and its key, PEM. */
export interface TlsIdentity {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/**
 * One credential as used on requests. A source hands out the *same object* until the value
 * changes, so callers may compare by identity (a new `tlsIdentity` means new connections).
 */
export interface AuthMaterial {
  readonly authorization?: string;
  readonly tlsIdentity?: TlsIdentity;
}

/** Why credentials could not be had; the forwarder answers the request with this status. */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
  constructor(
    message: string,
    /** 502 when the source failed, 503 when it did not answer in time. */
    readonly statusCode: 502 | 503 = 502,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A source of credentials, asked on every forwarded request. */
export interface Credentials {
  /** e.g. `static token`, `token file /path`, `exec plugin aws`. Never the secret. */
  readonly description: string;
  /**
   * The credential to use now: synchronous when it is at hand (static values, a cached plugin
   * result), a promise while it is being fetched. Rejects with CredentialError.
   */
  current(): AuthMaterial | Promise<AuthMaterial>;
  /**
   * The API server answered 401 to a request sent with `used`. Sources that can fetch a new
   * credential do so (once per `used`, however many requests report it) and resolve with it;
   * the others return undefined, and the 401 goes to the client.
   */
  unauthorized?(used: AuthMaterial): Promise<AuthMaterial> | undefined;
}

export const NOTHING: AuthMaterial = Object.freeze({});

export const NO_CREDENTIALS: Credentials = { description: 'none', current: () => NOTHING };

/** A credential that never changes. */
export function staticCredentials(description: string, authorization: string): Credentials {
  const material: AuthMaterial = Object.freeze({ authorization });
  return { description, current: () => material };
}

export function bearerToken(token: string): Credentials {
  return staticCredentials('static token', `Bearer ${token}`);
}

export function basicAuth(username: string, password: string): Credentials {
  return staticCredentials(`basic auth (user ${username})`, `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
}

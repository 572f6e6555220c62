// What the proxy presents to the API server on each request: an `Authorization` value, if any.
// Client certificates are part of the TLS material (config/proxy-config.ts UpstreamTls).

/** A source of the Authorization header value, asked on every forwarded request. */
export interface Credentials {
  /** e.g. `static token`, `token file /path`, `basic auth`, `client certificate`, `none`. Never the secret. */
  readonly description: string;
  authorization(): string | undefined;
}

export const NO_CREDENTIALS: Credentials = { description: 'none', authorization: () => undefined };

export function bearerToken(token: string): Credentials {
  const value = `Bearer ${token}`;
  return { description: 'static token', authorization: () => value };
}

export function basicAuth(username: string, password: string): Credentials {
  const value = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return { description: `basic auth (user ${username})`, authorization: () => value };
}

// Trades a refresh token for a new ID token as client-go's oidc.go `idToken` does: the token
// endpoint from the issuer's discovery document (fetched each time, as client-go does), then
// golang.org/x/oauth2's refresh grant with the client id and secret as HTTP Basic credentials.
// Errors keep client-go's and oauth2's wording, on one line, and never quote a token.

import type { IssuerClient } from './oidc-settings.js';
import { issuerRequest, type IssuerResponse } from './issuer-http.js';

export interface RefreshedTokens {
  readonly idToken: string;
  /** Present when the issuer rotated the refresh token. */
  readonly refreshToken?: string;
}

const NO_ID_TOKEN =
  'token response did not contain an id_token, either the scope "openid" wasn\'t requested upon login, ' +
  "or the provider doesn't support id_tokens as part of the refresh response";

/** Discovery and the refresh grant, both within `signal`. @throws Error with client-go's wording. */
export async function refreshIdToken(client: IssuerClient, refreshToken: string, signal: AbortSignal): Promise<RefreshedTokens> {
  const tokenUrl = await tokenEndpoint(client, signal);
  let response: IssuerResponse;
  try {
    response = await issuerRequest(tokenUrl, refreshRequest(client, refreshToken), client, signal);
  } catch (err) {
    throw new Error(`failed to refresh token: ${describe(err)}`, { cause: err });
  }
  const fields = tokenResponse(response);
  const idToken = fields.id_token;
  if (typeof idToken !== 'string') throw new Error(NO_ID_TOKEN);
  const rotated = typeof fields.refresh_token === 'string' && fields.refresh_token !== '' && fields.refresh_token !== refreshToken;
  return { idToken, ...(rotated ? { refreshToken: fields.refresh_token as string } : {}) };
}

/** oidc.go `tokenEndpoint`: the `token_endpoint` of `<issuer>/.well-known/openid-configuration`. */
async function tokenEndpoint(client: IssuerClient, signal: AbortSignal): Promise<URL> {
  const wellKnown = new URL(`${client.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  let response: IssuerResponse;
  try {
    response = await issuerRequest(wellKnown, { method: 'GET' }, client, signal);
  } catch (err) {
    throw new Error(`oidc: failed to query metadata endpoint: ${describe(err)}`, { cause: err });
  }
  if (response.status !== 200) {
    // client-go quotes at most 80 bytes of the body, in case it is an HTML page.
    const body = response.body.length > 80 ? `${response.body.slice(0, 80)}...` : response.body;
    throw new Error(`oidc: failed to query metadata endpoint ${response.statusLine}: ${JSON.stringify(body)}`);
  }
  let metadata: unknown;
  try {
    metadata = JSON.parse(response.body);
  } catch (err) {
    throw new Error(`oidc: failed to decode provider discovery object: ${describe(err)}`, { cause: err });
  }
  const endpoint = (metadata as { token_endpoint?: unknown } | null)?.token_endpoint;
  if (typeof endpoint !== 'string' || endpoint === '') throw new Error("oidc: discovery object doesn't contain a token_endpoint");
  try {
    return new URL(endpoint);
  } catch {
    throw new Error(`oidc: discovery object has an invalid token_endpoint ${JSON.stringify(endpoint)}`);
  }
}

// oauth2 (AuthStyleInHeader) form-encodes id and secret before the Basic encoding (RFC 6749 §2.3.1).
function refreshRequest(client: IssuerClient, refreshToken: string) {
  const basic = Buffer.from(`${formEncode(client.clientId)}:${formEncode(client.clientSecret)}`).toString('base64');
  return {
    method: 'POST' as const,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  };
}

/** Go's url.QueryEscape. */
function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

type TokenFields = Readonly<Record<string, unknown>>;

/** oauth2's `doTokenRoundTrip`: the status, then the body as form or JSON by its content type. */
function tokenResponse(response: IssuerResponse): TokenFields {
  const fields = parseTokenBody(response);
  if (response.status < 200 || response.status > 299) throw new Error(`failed to refresh token: ${retrieveError(response, fields)}`);
  if (fields === undefined) throw new Error('failed to refresh token: oauth2: cannot parse json');
  if (typeof fields.access_token !== 'string' || fields.access_token === '') {
    throw new Error('failed to refresh token: oauth2: server response missing access_token');
  }
  return fields;
}

function parseTokenBody(response: IssuerResponse): TokenFields | undefined {
  const mediaType = response.contentType.split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/x-www-form-urlencoded' || mediaType === 'text/plain') {
    return Object.fromEntries(new URLSearchParams(response.body));
  }
  try {
    const parsed: unknown = JSON.parse(response.body);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as TokenFields) : undefined;
  } catch {
    return undefined;
  }
}

/** oauth2.RetrieveError.Error(), without the raw body (it could echo what we sent). */
function retrieveError(response: IssuerResponse, fields: TokenFields | undefined): string {
  const code = fields?.error;
  if (typeof code !== 'string' || code === '') return `oauth2: cannot fetch token: ${response.statusLine}`;
  const more = [fields?.error_description, fields?.error_uri].filter((part): part is string => typeof part === 'string' && part !== '');
  return ['oauth2:', ...[code, ...more].map((part) => JSON.stringify(part))].join(' ');
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n', 1)[0] ?? '';
}

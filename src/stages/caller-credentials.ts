// Where a request carries the caller's proof, and its removal once checked: the caller token in
// `Authorization: Bearer`, or in `Proxy-Authorization` as Bearer or as Basic's password (what Go
// and hpagent send for a `proxy-url` with userinfo), or the login cookie. What proved the caller is
// addressed to the proxy, so it is taken off the request (rawHeaders, which forwarding copies,
// and the parsed headers, which decide whether the client sent its own Authorization): the API
// server, the log and the audit never see it, and the kubeconfig credential is injected as for a
// request that had none.

import type { IncomingMessage } from 'node:http';
import type { CallerSecrets } from './caller-secrets.js';

/** How a request proved its caller. */
export type Proof = 'tunnel' | 'authorization' | 'proxy-authorization' | 'cookie';

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;
const BASIC = /^basic[ \t]+([A-Za-z0-9+/=_-]+)[ \t]*$/i;

/** The token of `Bearer <token>`. */
export function bearerToken(value: string): string | undefined {
  return BEARER.exec(value)?.[1];
}

/** The password of `Basic base64(user:password)`; the user name is anything. */
export function basicPassword(value: string): string | undefined {
  const encoded = BASIC.exec(value)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** The values of the cookies called `name` in one Cookie header value. */
export function cookieValues(header: string, name: string): string[] {
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals !== -1 && pair.slice(0, equals).trim() === name) values.push(pair.slice(equals + 1).trim());
  }
  return values;
}

/** A Cookie header value without the cookies called `name`; '' when nothing else is left. */
export function withoutCookie(header: string, name: string): string {
  return header
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '' && pair.slice(0, Math.max(0, pair.indexOf('='))).trim() !== name)
    .join('; ');
}

function provesWithProxyAuthorization(value: string, secrets: CallerSecrets): boolean {
  const token = bearerToken(value) ?? basicPassword(value);
  return token !== undefined && secrets.isToken(token);
}

/** Whether a CONNECT (or any request) shows the token in Proxy-Authorization. */
export function hasProxyAuthorizationProof(req: IncomingMessage, secrets: CallerSecrets): boolean {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'proxy-authorization' && provesWithProxyAuthorization(raw[i + 1]!, secrets)) return true;
  }
  return false;
}

/** How the request proves its caller, or undefined. Every header of each kind is looked at. */
export function proofOf(req: IncomingMessage, secrets: CallerSecrets, cookieName: string): Proof | undefined {
  if (secrets.isAdmittedTunnel(req.socket)) return 'tunnel';
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === 'authorization') {
      const token = bearerToken(value);
      if (token !== undefined && secrets.isToken(token)) return 'authorization';
    } else if (name === 'proxy-authorization') {
      if (provesWithProxyAuthorization(value, secrets)) return 'proxy-authorization';
    } else if (name === 'cookie') {
      if (cookieValues(value, cookieName).some((cookie) => secrets.isSession(cookie))) return 'cookie';
    }
  }
  return undefined;
}

/** Whether the request carries anything that looks like a try (for the refusal's message). */
export function presentsSomething(req: IncomingMessage, cookieName: string): boolean {
  const { authorization, cookie } = req.headers;
  return authorization !== undefined || req.headers['proxy-authorization'] !== undefined || (cookie !== undefined && cookieValues(cookie, cookieName).length > 0);
}

/**
 * Takes the proxy's own credentials off the request: Proxy-Authorization (always addressed to
 * the proxy), Authorization headers that carry the caller token, and the login cookie. Another
 * Authorization stays: the client acts as that identity, as kubectl proxy lets it.
 */
export function consumeCallerCredentials(req: IncomingMessage, secrets: CallerSecrets, cookieName: string): void {
  // Node builds `req.headers` from rawHeaders on first use: build it before rawHeaders changes.
  const headers = req.headers;
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name === 'proxy-authorization') raw.splice(i, 2);
    else if (name === 'authorization' && secrets.isToken(bearerToken(value) ?? '')) raw.splice(i, 2);
    else if (name === 'cookie') {
      const rest = withoutCookie(value, cookieName);
      if (rest === '') raw.splice(i, 2);
      else raw[i + 1] = rest;
    }
  }
  // The parsed view as Node makes it: the first Authorization, every Cookie joined with `; `.
  const authorizations: string[] = [];
  const cookies: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'authorization') authorizations.push(raw[i + 1]!);
    else if (name === 'cookie') cookies.push(raw[i + 1]!);
  }
  delete headers['proxy-authorization'];
  if (authorizations[0] === undefined) delete headers.authorization;
  else headers.authorization = authorizations[0];
  if (cookies.length === 0) delete headers.cookie;
  else headers.cookie = cookies.join('; ');
}

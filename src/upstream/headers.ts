// Header rules between client and API server, as kubectl's ReverseProxy + client-go wrappers apply them
// (net/http/httputil/reverseproxy.go hopHeaders; client-go transport/round_trippers.go).

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus the ones Go's ReverseProxy also drops. */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** What the proxy adds to each request it forwards. */
export interface InjectedHeaders {
  /** `host[:port]` of the cluster's server URL (kubectl's UseLocationHost). */
  readonly host: string;
  readonly userAgent: string;
  /** Our `Authorization` value, when the kubeconfig has one and the server is https. */
  readonly authorization?: string;
  /** Our Impersonate-* headers as `[name, value, …]`; empty when the kubeconfig asks for none. */
  readonly impersonation: readonly string[];
  /** When true the client's Authorization / Impersonate-* are dropped and ours always sent. */
  readonly overrideClientAuth: boolean;
  /** Sent as `Audit-ID` unless the client sent its own: the API server adopts it as the audit event's ID. */
  readonly auditId?: string;
}

/** Lower-cased names listed in `Connection` headers: they are hop-by-hop for this message. */
function connectionListed(connectionValues: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const value of connectionValues) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') names.add(name);
    }
  }
  return names;
}

/** `_` and `-` are interchangeable to some servers; compare credentials headers in one form. */
function isClientCredential(lowerName: string): boolean {
  const name = lowerName.replaceAll('_', '-');
  return name === 'authorization' || name.startsWith('impersonate-');
}

/**
 * Builds the flat `[name, value, …]` header list sent upstream from the client's raw headers:
 * drops hop-by-hop and Connection-listed headers (keeping `TE: trailers`), rewrites Host,
 * appends X-Forwarded-For, and adds User-Agent and Authorization only when the client sent none.
 */
export function buildUpstreamHeaders(
  rawHeaders: readonly string[],
  clientIp: string | undefined,
  inject: InjectedHeaders,
  keep: ReadonlySet<string> = NO_EXCEPTIONS,
): string[] {
  const connectionValues: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') connectionValues.push(rawHeaders[i + 1]!);
  }
  const listed = connectionValues.length > 0 ? connectionListed(connectionValues) : undefined;
  const out: string[] = [];
  let forwardedFor: string | undefined;
  let hasUserAgent = false;
  let hasAuthorization = false;
  let hasImpersonateUser = false;
  let hasAuditId = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    // Host is rewritten below; Expect is answered by our own server (Node sends 100 Continue);
    // HTTP/2's pseudo-headers (`:method`, `:authority`…) describe the request to us, not upstream.
    if (lower === 'host' || lower === 'expect' || lower.charCodeAt(0) === 58) continue;
    if (!keep.has(lower)) {
      if (HOP_BY_HOP.has(lower) && !(lower === 'te' && value.trim().toLowerCase() === 'trailers')) continue;
      if (listed?.has(lower)) continue;
    }
    if (inject.overrideClientAuth && isClientCredential(lower)) continue;
    if (lower === 'x-forwarded-for') {
      forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
      continue;
    }
    if (lower === 'user-agent') {
      // client-go's user-agent wrapper treats an empty value as absent.
      if (value === '') continue;
      hasUserAgent = true;
    }
    else if (lower === 'authorization') hasAuthorization = true;
    else if (lower === 'impersonate-user') hasImpersonateUser = true;
    else if (lower === 'audit-id') hasAuditId = true;
    out.push(name, value);
  }
  out.push('host', inject.host);
  if (clientIp !== undefined) {
    out.push('x-forwarded-for', forwardedFor === undefined ? clientIp : `${forwardedFor}, ${clientIp}`);
  } else if (forwardedFor !== undefined) {
    out.push('x-forwarded-for', forwardedFor);
  }
  if (!hasUserAgent) out.push('user-agent', inject.userAgent);
  // client-go's bearer/basic wrappers skip when the request already carries Authorization.
  if (inject.authorization !== undefined && !hasAuthorization) out.push('authorization', inject.authorization);
  // client-go's impersonation wrapper skips a request that already names an Impersonate-User.
  if (!hasImpersonateUser) out.push(...inject.impersonation);
  if (inject.auditId !== undefined && !hasAuditId) out.push('audit-id', inject.auditId);
  return out;
}

const NO_EXCEPTIONS: ReadonlySet<string> = new Set();

/** Whether the client's own Authorization goes upstream instead of ours (kubectl's default). */
export function sendsOwnAuthorization(req: IncomingMessage, upstream: { readonly overrideClientAuth: boolean }): boolean {
  return !upstream.overrideClientAuth && req.headers.authorization !== undefined;
}

/** Whether a request carries a body (by its framing headers). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The client's IP for X-Forwarded-For; IPv4 clients of a dual-stack listener lose their `::ffff:` form. */
export function clientAddress(remoteAddress: string | undefined): string | undefined {
  return remoteAddress?.startsWith('::ffff:') === true ? remoteAddress.slice(7) : remoteAddress;
}

/** Removes hop-by-hop and Connection-listed headers from an upstream response, in place. */
export function stripResponseHopHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const name of connectionListed([connection])) delete headers[name];
  }
  for (const name of HOP_BY_HOP) delete headers[name];
  return headers;
}

/** CORS headers of the API server's (or a proxied pod's) own: the proxy decides CORS, so they never pass. */
const UPSTREAM_CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
  'access-control-allow-private-network',
  'timing-allow-origin',
];

/**
 * Replaces an upstream response's CORS headers with ours (none for a request without an allowed
 * origin), in place; our `Vary` joins the server's.
 */
export function replaceCorsHeaders(headers: IncomingHttpHeaders, ours: Readonly<Record<string, string>> | undefined): void {
  for (const name of UPSTREAM_CORS_HEADERS) delete headers[name];
  if (ours === undefined) return;
  const { vary, ...rest } = ours;
  Object.assign(headers, rest);
  if (vary !== undefined) headers.vary = headers.vary === undefined || headers.vary === '' ? vary : `${headers.vary}, ${vary}`;
}

// The request head checked before any stage looks at it: what Node's parser (llhttp) accepts but
// one of the parties after it could read another way. The proxy forwards `rawHeaders` while the
// stages read Node's parsed `headers`, which keeps only the first of some repeated headers and
// only the first 1,000 by default; and the API server, or whatever stands in front of it, may spell or
// count a header differently again. Such a request is refused (400, or 414/431 for sizes) and
// never forwarded, rather than guessed at.

import type { IncomingMessage } from 'node:http';
import { Http2ServerRequest } from 'node:http2';
import { ProxyError } from '../errors.js';

/**
 * Request line and headers together, in bytes (Node's `maxHeaderSize`; its default is 16 KiB, Go's
 * and kube-apiserver's 1 MiB, Envoy's 60 KiB). Over it: 431, from the listener.
 */
export const MAX_HEAD_BYTES = 64 * 1024;
/** The request target, in bytes; longer: 414 (nginx's and Apache's request lines stop at 8 KiB). */
export const MAX_URL_BYTES = 16 * 1024;
/**
 * Header lines. More: 431. Node's default kept the first 1,000 (the stages read `headers`) and
 * dropped the rest unseen, but not quite the same ones from `rawHeaders` (which is forwarded).
 */
export const MAX_HEADER_FIELDS = 1000;

/** Headers that carry one identity: a second line would be read as the first by one party and as the last, or both, by another. */
const SINGLE_VALUED = ['host', 'authorization', 'proxy-authorization', 'impersonate-user', 'impersonate-uid'];

/** Identity headers, as servers that treat `_` like `-` would read an underscore spelling. */
const IDENTITY_HEADERS = new Set(['authorization', 'proxy-authorization', 'impersonate-user', 'impersonate-uid', 'impersonate-group']);
const EXTRA_PREFIX = 'impersonate-extra-';

/**
 * An underscore spelling of an identity header (`Impersonate_User`, `impersonate-extra_scopes`):
 * not the header to Node or the API server, but the header itself to servers that fold `_` into
 * `-` (CGI-style frameworks, some gateways; oauth2-proxy's CVE-2025-64484). An extra's key may
 * contain `_` (`Impersonate-Extra-my_key` is fine); its prefix may not.
 */
function isUnderscoreIdentity(lowerName: string): boolean {
  if (!lowerName.includes('_')) return false;
  const dashed = lowerName.replaceAll('_', '-');
  return IDENTITY_HEADERS.has(dashed) || (dashed.startsWith(EXTRA_PREFIX) && !lowerName.startsWith(EXTRA_PREFIX));
}

function badRequest(message: string): ProxyError {
  return new ProxyError('KAP_BAD_REQUEST', `bad request: ${message}`);
}

/** Counts of the headers that must appear at most once, and the first underscore spelling of an identity header. */
function scanHeaders(rawHeaders: readonly string[]): { counts: Map<string, number>; underscore?: string } {
  const counts = new Map<string, number>();
  let underscore: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (SINGLE_VALUED.includes(lower)) counts.set(lower, (counts.get(lower) ?? 0) + 1);
    else if (underscore === undefined && isUnderscoreIdentity(lower)) underscore = name;
  }
  return underscore === undefined ? { counts } : { counts, underscore };
}

/** HTTP/1.x framing the parser let through that the proxy will not pass on. */
function framingProblem(req: IncomingMessage, isUpgrade: boolean): ProxyError | undefined {
  const { httpVersionMajor: major, httpVersionMinor: minor } = req;
  // llhttp reads `HTTP/2.0` and `HTTP/0.9`-like lines on an HTTP/1 connection.
  if (major !== 1 || minor > 1) return badRequest(`unsupported HTTP version ${major}.${minor} on an HTTP/1 connection`);
  const coding = req.headers['transfer-encoding'];
  // RFC 9112 §6.1: chunked is the only coding the proxy and kube-apiserver (Go: 501 otherwise) know;
  // `gzip, chunked` passes llhttp, and stripping it would hand the API server a body it cannot read.
  if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') return badRequest(`Transfer-Encoding ${JSON.stringify(coding)} is not supported (only chunked)`);
  // RFC 9110 §9.3.1: content on GET has no meaning, and is the smuggler's favourite vehicle.
  // (Upgrades with a body get KAP_UPGRADE_WITH_BODY.)
  const method = req.method ?? '';
  const length = req.headers['content-length'];
  if (!isUpgrade && (method === 'GET' || method === 'HEAD') && (coding !== undefined || (length !== undefined && Number(length) !== 0))) {
    return badRequest(`a ${method} request cannot carry a body`);
  }
  return undefined;
}

/** Why the proxy refuses this request head, or undefined when the stages may look at it. */
export function requestHeadProblem(req: IncomingMessage, isUpgrade: boolean): ProxyError | undefined {
  const url = req.url ?? '';
  if (Buffer.byteLength(url) > MAX_URL_BYTES) return new ProxyError('KAP_URI_TOO_LONG', `the request target is longer than ${MAX_URL_BYTES} bytes`);
  if (req.rawHeaders.length / 2 > MAX_HEADER_FIELDS) return new ProxyError('KAP_HEADERS_TOO_LARGE', `the request has more than ${MAX_HEADER_FIELDS} header fields`);
  // HTTP/2 is framed by its own layer, and carries :authority rather than Host.
  const http2 = req instanceof Http2ServerRequest;
  if (!http2) {
    const framing = framingProblem(req, isUpgrade);
    if (framing !== undefined) return framing;
  }
  const { counts, underscore } = scanHeaders(req.rawHeaders);
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (Go's server answers 400 too); HTTP/1.0 may omit it.
  if (!http2 && req.httpVersionMinor === 1 && counts.get('host') === undefined) return badRequest('an HTTP/1.1 request must have a Host header');
  for (const [name, count] of counts) {
    if (count > 1) return badRequest(`more than one ${name} header`);
  }
  if (underscore !== undefined) return badRequest(`header ${JSON.stringify(underscore)}: write it with "-" (an underscore spelling of an identity header is refused)`);
  return undefined;
}

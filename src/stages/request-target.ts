// Turns the raw request target into the one canonical path that is both filtered and forwarded.
// kubectl filters Go's decoded URL.Path but forwards RawPath, so encodings such as `/%2e/api/…`
// slip past its exec rule. Here the path is decoded once, dot segments and `//` are resolved
// (as Go's ServeMux, with its 301 for unclean paths), and exactly that path is re-encoded upstream.

/** A request path the proxy can act on, or why it cannot. */
export type RequestTarget =
  | {
      readonly kind: 'path';
      readonly path: string;
      readonly query: string;
      /** An absolute-form target's `host[:port]`: the request's host, in place of the Host header (RFC 9112 §3.2.2). */
      readonly authority?: string;
    }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'invalid'; readonly message: string };

/** Go's path.Clean for an absolute path, keeping a trailing slash as net/http's cleanPath does. */
export function cleanPath(path: string): string {
  // Already clean (no empty, `.` or `..` segment): most requests, returned without a split.
  if (path.startsWith('/') && !path.includes('//') && !path.includes('/.')) return path;
  const out: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  let cleaned = '/' + out.join('/');
  const last = path.split('/').at(-1);
  const endsInDirectory = path.endsWith('/') || last === '.' || last === '..';
  if (endsInDirectory && cleaned !== '/') cleaned += '/';
  return cleaned;
}

// pchar (RFC 3986 §3.3) characters that encodeURIComponent escapes but a path may carry as-is.
const PCHAR_KEPT = /%(?:24|26|2B|2C|3B|3D|3A|40)/g;

/** Percent-encodes one decoded path segment for the wire. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(PCHAR_KEPT, (escape) => decodeURIComponent(escape));
}

/** Characters encodeSegment leaves as they are: a path of only these is its own encoding. */
const ENCODES_TO_ITSELF = /^[A-Za-z0-9\-._~!*'()$&+,;=:@/]*$/;

/** Encodes a decoded, clean path: every `/` is a separator, everything else is data. */
export function encodePath(decodedPath: string): string {
  if (ENCODES_TO_ITSELF.test(decodedPath)) return decodedPath;
  return decodedPath.split('/').map(encodeSegment).join('/');
}

// Control characters have no business in a Kubernetes path and are a classic smuggling aid.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** `http://` or `https://` and the authority of an absolute-form target. */
const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)/i;
/**
 * A plain `host[:port]`, compared as the Host header is (not normalised as WHATWG URLs are,
 * `127.1` to `127.0.0.1`). No user information: RFC 9110 §4.2.4 makes it an error, and
 * `http://localhost@evil.example/` would hide its real host behind it.
 */
const HOST_PORT = /^(?:\[[0-9a-f:.]+\]|[a-z0-9\-._~%!$&'()*+,;=]+)(?::\d*)?$/i;

/**
 * Splits an origin-form or absolute-form request target into a canonical path and raw query.
 * An absolute-form target's authority comes back too: it is the request's host, for the Host check.
 */
export function parseRequestTarget(target: string): RequestTarget {
  let pathAndQuery = target;
  let authority: string | undefined;
  // A fragment is never part of a request target (RFC 9112 §3.2); llhttp lets `#` through.
  if (target.includes('#')) return { kind: 'invalid', message: `fragment in request target ${JSON.stringify(target.slice(0, 100))}` };
  if (!target.startsWith('/')) {
    const absolute = ABSOLUTE_FORM.exec(target);
    const port = /:(\d+)$/.exec(absolute?.[1] ?? '')?.[1];
    if (absolute === null || !HOST_PORT.test(absolute[1]!) || Number(port ?? 0) > 65535) return { kind: 'invalid', message: `invalid request target ${JSON.stringify(target.slice(0, 100))}` };
    authority = absolute[1]!;
    // The path as sent, cleaned and redirected like an origin-form one.
    const rest = target.slice(absolute[0].length);
    pathAndQuery = rest.startsWith('/') ? rest : `/${rest}`;
  }
  const queryStart = pathAndQuery.indexOf('?');
  const rawPath = queryStart === -1 ? pathAndQuery : pathAndQuery.slice(0, queryStart);
  const query = queryStart === -1 ? '' : pathAndQuery.slice(queryStart);
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { kind: 'invalid', message: `invalid percent-encoding in path ${JSON.stringify(rawPath.slice(0, 100))}` };
  }
  if (CONTROL_CHARACTERS.test(decoded)) return { kind: 'invalid', message: 'control character in request path' };
  const path = cleanPath(decoded);
  if (path !== decoded) return { kind: 'redirect', location: encodePath(path) + query };
  return authority === undefined ? { kind: 'path', path, query } : { kind: 'path', path, query, authority };
}

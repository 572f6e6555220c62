// CORS for the origins of --cors-allowed-origins, kube-apiserver's flag with its meaning (Go
// regular expressions matched against the whole Origin value), and more than it does: preflights
// are answered here, never forwarded, after checking the method and headers asked for; answers
// say `Vary: Origin`; tools can read the headers they need (Warning, Audit-Id, Retry-After, …) and
// the Server-Timing phases. Origins that are not allowed get no CORS headers (the Origin guard,
// origin-guard.ts, refuses them before this stage).

import { ProxyError } from '../errors.js';
import { errorAnswer } from './answers.js';
import { firstMatch, type RuleList } from './rules.js';
import type { Answer, RequestState, Stage } from './stage.js';

/** What API clients send: every Kubernetes verb's method. */
const ALLOWED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** Request headers Kubernetes clients send, beyond the CORS safelist; lower-case. */
const ALLOWED_HEADERS = [
  'accept',
  'accept-language',
  'authorization',
  'audit-id',
  'content-type',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-unmodified-since',
  'impersonate-group',
  'impersonate-uid',
  'impersonate-user',
  'x-requested-with',
];
/** `Impersonate-Extra-<key>` has a key of the client's choosing. */
const ALLOWED_HEADER_PREFIXES = ['impersonate-extra-'];
/** Response headers tools read, beyond the safelist (cors-audit-security.md §2.2). */
const EXPOSED_HEADERS = 'Audit-Id, Content-Encoding, Date, Location, Retry-After, Server-Timing, Warning, X-Kubernetes-PF-FlowSchema-UID, X-Kubernetes-PF-PriorityLevel-UID';
/** Chromium caps a preflight's cache at 2 hours. */
const MAX_AGE_SECONDS = '7200';

function headerAllowed(name: string): boolean {
  return ALLOWED_HEADERS.includes(name) || ALLOWED_HEADER_PREFIXES.some((prefix) => name.startsWith(prefix));
}

function preflight(state: RequestState, origin: string): Answer {
  const method = String(state.req.headers['access-control-request-method']);
  const asked = String(state.req.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const refusedHeaders = asked.filter((name) => !headerAllowed(name));
  if (!ALLOWED_METHODS.includes(method) || refusedHeaders.length > 0) {
    const what = ALLOWED_METHODS.includes(method) ? `request headers ${refusedHeaders.join(', ')}` : `method ${method}`;
    return errorAnswer(new ProxyError('KAP_CORS_PREFLIGHT_REJECTED', `forbidden by kube-auth-proxy: CORS does not allow ${what} (allowed methods: ${ALLOWED_METHODS.join(', ')})`));
  }
  const privateNetwork = state.req.headers['access-control-request-private-network'] === 'true';
  return {
    statusCode: 204,
    headers: {
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': ALLOWED_METHODS.join(', '),
      ...(asked.length === 0 ? {} : { 'access-control-allow-headers': asked.join(', ') }),
      'access-control-max-age': MAX_AGE_SECONDS,
      ...(privateNetwork ? { 'access-control-allow-private-network': 'true' } : {}),
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    },
    body: '',
  };
}

export function createCors(allowed: RuleList): Stage {
  return {
    name: 'cors',
    run(state) {
      const origin = state.req.headers.origin;
      if (origin === undefined || origin === 'null' || firstMatch(allowed, origin) === undefined) return undefined;
      if (state.method === 'OPTIONS' && state.req.headers['access-control-request-method'] !== undefined) return preflight(state, origin);
      // Whatever answers next (the API server, a file, a refusal) carries these.
      state.responseHeaders = {
        ...state.responseHeaders,
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': EXPOSED_HEADERS,
        'timing-allow-origin': origin,
        vary: 'Origin',
      };
      return undefined;
    },
  };
}

/**
 * kube-apiserver's check since CVE-2022-1996 (server_run_options.go): an expression must contain
 * a start pin (`^` or `//`) and an end pin (`$` or `:`), else `example.com` also matches
 * `http://example.com.evil.org`. Stricter on one point: the `:` of a scheme's `://` is no end pin
 * (kube-apiserver lets `^https://example.com` through, which matches `https://example.com.evil.org`).
 * Empty entries are refused too.
 */
export function unpinnedCorsOrigins(value: string): string[] {
  if (value === '') return [];
  const pinsStart = (expression: string) => expression.includes('^') || expression.includes('//');
  const pinsEnd = (expression: string) => expression.includes('$') || expression.replaceAll('://', '').includes(':');
  return value.split(',').filter((expression) => !(pinsStart(expression) && pinsEnd(expression)));
}

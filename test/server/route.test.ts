// routeRequest, the one route that plain requests and upgrades share: the target is read, the
// stages run in order, and what passes is named by the path that goes upstream.
import type { IncomingMessage } from 'node:http';
import t from 'tap';
import { DEFAULT_ACCEPT_HOSTS, DEFAULT_REJECT_PATHS } from '../../src/config/defaults.js';
import { routeRequest } from '../../src/server/request-handler.js';
import { createApiPrefix } from '../../src/stages/api-prefix.js';
import { createHostFilter } from '../../src/stages/host-filter.js';
import { createRequestFilter } from '../../src/stages/request-filter.js';
import { compileRuleList } from '../../src/stages/rules.js';
import type { Stage } from '../../src/stages/stage.js';

function stagesFor(apiPrefix: string): Stage[] {
  return [
    createHostFilter(compileRuleList('--accept-hosts', DEFAULT_ACCEPT_HOSTS)),
    createApiPrefix(apiPrefix),
    createRequestFilter({
      rejectPaths: compileRuleList('--reject-paths', DEFAULT_REJECT_PATHS),
      rejectMethods: compileRuleList('--reject-methods', '^$'),
      acceptPaths: compileRuleList('--accept-paths', '^.*'),
    }),
  ];
}

/** The parts of a request the route reads: its request line and headers (raw and parsed). */
function request(method: string, url: string, host = 'localhost', extra: readonly [string, string][] = []): IncomingMessage {
  const lines: [string, string][] = [['Host', host], ...extra];
  const headers: Record<string, string> = {};
  for (const [name, value] of lines) headers[name.toLowerCase()] ??= value;
  return { method, url, httpVersionMajor: 1, httpVersionMinor: 1, headers, rawHeaders: lines.flat() } as unknown as IncomingMessage;
}

const code = (route: ReturnType<typeof routeRequest>) => ('statusCode' in route ? [route.statusCode, route.code] : undefined);

void t.test('what passes is named by the forwarded path', async (t) => {
  const watch = routeRequest(stagesFor('/'), request('GET', '/api/v1/namespaces/a/pods?watch=1'), false);
  t.match(watch, { path: '/api/v1/namespaces/a/pods', query: '?watch=1', info: { verb: 'watch', resource: 'pods', namespace: 'a' }, longRunning: true });
  const prefixed = routeRequest(stagesFor('/custom/'), request('GET', '/custom/api/v1/pods'), false);
  t.match(prefixed, { path: '/api/v1/pods', info: { verb: 'list', resource: 'pods' }, longRunning: false }, 'the prefix is gone from path and name');
  const spaced = routeRequest(stagesFor('/'), request('DELETE', '/api/v1/namespaces/a%20b/pods/p'), false);
  t.match(spaced, { path: '/api/v1/namespaces/a%20b/pods/p', info: { verb: 'delete', namespace: 'a b', name: 'p' } }, 'encoded on the wire, decoded in the name');
});

void t.test('what the proxy answers itself carries its code', async (t) => {
  const cases: [string, IncomingMessage, string, [number, string | undefined]][] = [
    ['a foreign Host', request('GET', '/version', 'evil.example'), '/', [403, 'KAP_HOST_REJECTED']],
    ['exec, by the default filter', request('POST', '/api/v1/namespaces/a/pods/p/exec'), '/', [403, 'KAP_FILTER_REJECTED']],
    ['a path outside the prefix', request('GET', '/elsewhere'), '/custom/', [404, 'KAP_OUTSIDE_API_PREFIX']],
    ['a broken escape', request('GET', '/api/%zz'), '/', [400, 'KAP_BAD_REQUEST_TARGET']],
    ['the bare prefix redirects', request('GET', '/custom'), '/custom/', [301, undefined]],
    ['a dot segment redirects', request('GET', '/api/./v1/pods'), '/', [301, undefined]],
    ['an absolute-form target naming another host, whatever the Host header', request('GET', 'http://evil.example/version'), '/', [403, 'KAP_HOST_REJECTED']],
    ['an absolute-form target with user information', request('GET', 'http://localhost@evil.example/version'), '/', [400, 'KAP_BAD_REQUEST_TARGET']],
    ['OPTIONS *, answered as Go answers it', request('OPTIONS', '*'), '/', [200, undefined]],
    ['a URL over 16 KiB', request('GET', `/version?${'x'.repeat(16 * 1024)}`), '/', [414, 'KAP_URI_TOO_LONG']],
    ['an underscore spelling of Impersonate-User', request('GET', '/version', 'localhost', [['Impersonate_User', 'admin']]), '/', [400, 'KAP_BAD_REQUEST']],
    ['two Impersonate-User lines', request('GET', '/version', 'localhost', [['Impersonate-User', 'a'], ['impersonate-user', 'b']]), '/', [400, 'KAP_BAD_REQUEST']],
    ['a body on GET', request('GET', '/version', 'localhost', [['Content-Length', '5']]), '/', [400, 'KAP_BAD_REQUEST']],
  ];
  for (const [name, req, prefix, expected] of cases) t.same(code(routeRequest(stagesFor(prefix), req, false)), expected, name);
});

void t.test('upgrades take the same route', async (t) => {
  t.same(code(routeRequest(stagesFor('/'), request('GET', '/api/v1/namespaces/a/pods/p/exec?command=sh'), true)), [403, 'KAP_FILTER_REJECTED']);
  t.same(code(routeRequest(stagesFor('/'), request('GET', '/api/v1/namespaces/a/pods/p/portforward', 'evil.example'), true)), [403, 'KAP_HOST_REJECTED']);
  t.match(routeRequest(stagesFor('/'), request('GET', '/api/v1/namespaces/a/pods/p/portforward?ports=80'), true), { info: { resource: 'pods', subresource: 'portforward' }, longRunning: true });
  t.match(
    routeRequest(stagesFor('/'), request('GET', 'http://localhost:8001/api/v1/namespaces/a/pods/p/portforward?ports=80', 'evil.example'), true),
    { path: '/api/v1/namespaces/a/pods/p/portforward' },
    'an absolute-form target is judged by its own host (RFC 9112 §3.2.2)',
  );
});

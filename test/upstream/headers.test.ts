// Header rules between the client and the API server (kubectl's ReverseProxy + client-go wrappers).
import t from 'tap';
import { buildUpstreamHeaders, stripResponseHopHeaders } from '../../src/upstream/headers.js';

const inject = { host: 'api.example:6443', userAgent: 'kube-auth-proxy/test', authorization: 'Bearer ours', overrideClientAuth: false, impersonation: [] };

/** Flat [name, value] list → lower-cased name → values. */
function asMap(flat: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    map.set(name, [...(map.get(name) ?? []), flat[i + 1]!]);
  }
  return map;
}

void t.test('hop-by-hop and Connection-listed headers are dropped, TE: trailers kept', async (t) => {
  const raw = ['Host', 'localhost:8001', 'Connection', 'close, X-Drop-Me', 'X-Drop-Me', '1', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Proxy-Authorization', 'Basic x', 'Upgrade', 'h2c', 'Accept', 'application/json', 'Expect', '100-continue'];
  const headers = asMap(buildUpstreamHeaders(raw, '127.0.0.1', inject));
  t.same([...headers.keys()].sort(), ['accept', 'authorization', 'host', 'te', 'user-agent', 'x-forwarded-for']);
  t.same(headers.get('host'), ['api.example:6443']);
  t.same(headers.get('te'), ['trailers']);
});

void t.test('TE other than trailers is dropped', async (t) => {
  t.notOk(asMap(buildUpstreamHeaders(['TE', 'gzip'], undefined, inject)).has('te'));
});

void t.test('X-Forwarded-For is appended to what the client sent', async (t) => {
  const headers = asMap(buildUpstreamHeaders(['X-Forwarded-For', '10.0.0.1', 'x-forwarded-for', '10.0.0.2'], '127.0.0.1', inject));
  t.same(headers.get('x-forwarded-for'), ['10.0.0.1, 10.0.0.2, 127.0.0.1']);
});

void t.test('no client address (unix socket): no X-Forwarded-For is invented', async (t) => {
  t.notOk(asMap(buildUpstreamHeaders([], undefined, inject)).has('x-forwarded-for'));
});

void t.test("the client's User-Agent is kept, ours is added when absent", async (t) => {
  t.same(asMap(buildUpstreamHeaders(['User-Agent', 'curl/8'], undefined, inject)).get('user-agent'), ['curl/8']);
  t.same(asMap(buildUpstreamHeaders([], undefined, inject)).get('user-agent'), ['kube-auth-proxy/test']);
});

void t.test("the client's Authorization wins, as in kubectl", async (t) => {
  const headers = asMap(buildUpstreamHeaders(['Authorization', 'Bearer theirs', 'Impersonate-User', 'bob'], undefined, inject));
  t.same(headers.get('authorization'), ['Bearer theirs']);
  t.same(headers.get('impersonate-user'), ['bob']);
});

void t.test('a client Impersonate-User alone does not stop ours being added (kubectl)', async (t) => {
  t.same(asMap(buildUpstreamHeaders(['Impersonate-User', 'bob'], undefined, inject)).get('authorization'), ['Bearer ours']);
});

void t.test('--override-client-auth strips every spelling of client credentials', async (t) => {
  const raw = ['Authorization', 'Bearer theirs', 'impersonate-user', 'bob', 'Impersonate_Group', 'admins', 'IMPERSONATE-EXTRA-X', 'y', 'Accept', '*/*'];
  const headers = asMap(buildUpstreamHeaders(raw, undefined, { ...inject, overrideClientAuth: true }));
  t.same([...headers.keys()].sort(), ['accept', 'authorization', 'host', 'user-agent']);
  t.same(headers.get('authorization'), ['Bearer ours']);
});

void t.test('upgrade requests keep Connection and Upgrade but drop what Connection lists', async (t) => {
  const raw = ['Connection', 'Upgrade, X-Secret', 'Upgrade', 'websocket', 'X-Secret', 's', 'Sec-WebSocket-Key', 'k'];
  const headers = asMap(buildUpstreamHeaders(raw, undefined, inject, new Set(['connection', 'upgrade'])));
  t.same(headers.get('connection'), ['Upgrade, X-Secret']);
  t.same(headers.get('upgrade'), ['websocket']);
  t.notOk(headers.has('x-secret'));
  t.ok(headers.has('sec-websocket-key'));
});

void t.test('response hop-by-hop headers are removed', async (t) => {
  const headers = stripResponseHopHeaders({ connection: 'keep-alive, x-internal', 'x-internal': '1', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'content-type': 'application/json' });
  t.same(headers, { 'content-type': 'application/json' });
});

void t.test('impersonation: ours unless the client names an Impersonate-User (client-go)', async (t) => {
  const ours = { ...inject, impersonation: ['impersonate-user', 'jane', 'impersonate-group', 'devs', 'impersonate-group', 'ops'] };
  const added = asMap(buildUpstreamHeaders([], undefined, ours));
  t.same(added.get('impersonate-user'), ['jane']);
  t.same(added.get('impersonate-group'), ['devs', 'ops']);
  const theirs = asMap(buildUpstreamHeaders(['Impersonate-User', 'bob'], undefined, ours));
  t.same(theirs.get('impersonate-user'), ['bob'], "the client's impersonation passes through");
  t.notOk(theirs.has('impersonate-group'), 'and none of ours is mixed into it');
  const strict = asMap(buildUpstreamHeaders(['Impersonate-User', 'bob', 'Impersonate-Group', 'system:masters'], undefined, { ...ours, overrideClientAuth: true }));
  t.same(strict.get('impersonate-user'), ['jane'], '--override-client-auth: always ours');
  t.same(strict.get('impersonate-group'), ['devs', 'ops']);
});

// The example API server: authentication like kube-apiserver, the pod API, and the /test/
// helpers, checked over real HTTPS on loopback with certificates made for this run.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import { request, type Dispatcher } from 'undici';
import { expectedBytesSha256, patternChunks, SEED_PODS, startApiServer, type Pod } from '../../examples/api-server.js';
import { createPki, issueCertificate } from '../../examples/pki.js';
import { tlsClients } from '../helpers/tls-clients.js';

const pki = createPki();
const clients = tlsClients(t, pki);
const api = await startApiServer({ pki, tokens: { 'token-1': 'token-user' }, basicAuth: { alice: 's3cret' } });
t.teardown(() => api.close());

const UNAUTHORIZED = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

async function call(path: string, dispatcher: Dispatcher, init: { method?: Dispatcher.HttpMethod; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const res = await request(`${api.url}${path}`, { dispatcher, signal: AbortSignal.timeout(10_000), ...init });
  const text = await res.body.text();
  const isJson = String(res.headers['content-type']).startsWith('application/json');
  return { status: res.statusCode, headers: res.headers, json: isJson ? JSON.parse(text) : text };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

void t.test('without credentials the answer is 401 with a Status body, as from kube-apiserver', async (t) => {
  const reply = await call('/api/v1/namespaces/default/pods', clients.plain);
  t.equal(reply.status, 401);
  t.equal(reply.headers['content-type'], 'application/json');
  t.same(reply.json, UNAUTHORIZED);
  t.match(reply.headers['audit-id'], /^[0-9a-f-]{36}$/, 'Audit-Id on every response');
});

void t.test('each credential kind is accepted and recorded', async (t) => {
  const cases: [string, Dispatcher, Record<string, string>, string, string][] = [
    ['client certificate', clients.withCert, {}, 'kube-admin', 'certificate'],
    ['bearer token', clients.plain, { authorization: 'Bearer token-1' }, 'token-user', 'token'],
    ['basic auth', clients.plain, { authorization: basic('alice', 's3cret') }, 'alice', 'basic'],
  ];
  for (const [name, dispatcher, headers, user, authKind] of cases) {
    const reply = await call('/test/echo', dispatcher, { headers });
    t.equal(reply.status, 200, name);
    t.match(reply.json, { method: 'GET', url: '/test/echo', user, authKind }, `${name}: echo`);
    t.match(api.requests.at(-1), { method: 'GET', url: '/test/echo', user, authKind }, `${name}: recorded`);
  }
  const seen = api.requests.find((r) => r.authKind === 'certificate');
  t.match(seen?.clientCertSubject, /CN=kube-admin/);
  t.match(seen?.clientCertSubject, /O=system:masters/);
});

void t.test('credentials that do not check out get 401', async (t) => {
  const foreign = createPki({ clientCommonName: 'intruder' });
  const cases: [string, Dispatcher, Record<string, string>][] = [
    ['unknown token', clients.plain, { authorization: 'Bearer nope' }],
    ['wrong password', clients.plain, { authorization: basic('alice', 'wrong') }],
    ['certificate from another CA', clients.custom(foreign.clientCert, foreign.clientKey), {}],
  ];
  for (const [name, dispatcher, headers] of cases) {
    t.same((await call('/test/echo', dispatcher, { headers })).json, UNAUTHORIZED, name);
  }
  t.match(api.requests.at(-1), { user: undefined, clientCertSubject: /CN=intruder/ }, 'the foreign certificate is recorded');
});

void t.test('a second identity issued by the same CA is its own user', async (t) => {
  const dev = issueCertificate(pki, { commonName: 'dev', organization: 'developers', usage: 'client' });
  t.match((await call('/test/echo', clients.custom(dev.cert, dev.key))).json, { user: 'dev', authKind: 'certificate' });
});

void t.test('anonymous requests pass only when allowed, and bad credentials still fail', async (t) => {
  const open = await startApiServer({ pki, allowAnonymous: true, tokens: { good: 'u' } });
  t.teardown(() => open.close());
  const anonymous = await request(`${open.url}/test/echo`, { dispatcher: clients.plain });
  t.match(await anonymous.body.json(), { user: 'system:anonymous' });
  const bad = await request(`${open.url}/test/echo`, { dispatcher: clients.plain, headers: { authorization: 'Bearer bad' } });
  t.equal(bad.statusCode, 401);
  await bad.body.dump();
});

void t.test('discovery and health', async (t) => {
  t.match((await call('/version', clients.withCert)).json, { major: '1', gitVersion: /^v1\./ });
  t.match((await call('/api', clients.withCert)).json, { kind: 'APIVersions', versions: ['v1'] });
  t.match((await call('/apis', clients.withCert)).json, { kind: 'APIGroupList', groups: [] });
  t.equal((await call('/healthz', clients.withCert)).json, 'ok');
  const namespaces = (await call('/api/v1/namespaces', clients.withCert)).json as { items: { metadata: { name: string } }[] };
  t.same(namespaces.items.map((ns) => ns.metadata.name), ['default', 'kube-system', 'demo']);
});

void t.test('pods: list, get, create, delete; unknown paths give a 404 Status', async (t) => {
  const list = (await call('/api/v1/namespaces/kube-system/pods', clients.withCert)).json as { kind: string; items: Pod[] };
  t.equal(list.kind, 'PodList');
  t.same(list.items.map((p) => p.metadata.name), SEED_PODS['kube-system']);
  t.match(list.items[0], { metadata: { namespace: 'kube-system', uid: /\S/, resourceVersion: /^\d+$/ }, spec: { containers: [{}] }, status: { phase: 'Running' } });
  const all = (await call('/api/v1/pods', clients.withCert)).json as { items: Pod[] };
  t.equal(all.items.length, Object.values(SEED_PODS).flat().length, 'all namespaces');
  t.match((await call('/api/v1/namespaces/default/pods/web-0', clients.withCert)).json, { kind: 'Pod', metadata: { name: 'web-0' } });

  const body = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'made-here' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  const created = await call('/api/v1/namespaces/demo/pods', clients.withCert, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  t.equal(created.status, 201);
  t.match(created.json, { metadata: { name: 'made-here', namespace: 'demo' }, spec: { containers: [{ image: 'busybox' }] } });
  t.equal((await call('/api/v1/namespaces/demo/pods', clients.withCert, { method: 'POST', body })).status, 409, 'name taken');
  t.equal((await call('/api/v1/namespaces/demo/pods', clients.withCert, { method: 'POST', body: '{' })).status, 400, 'bad JSON');
  t.equal((await call('/api/v1/namespaces/demo/pods/made-here', clients.withCert, { method: 'DELETE' })).status, 200);
  const gone = await call('/api/v1/namespaces/demo/pods/made-here', clients.withCert);
  t.match(gone, { status: 404, json: { kind: 'Status', reason: 'NotFound', message: 'pods "made-here" not found' } });
  t.match(await call('/apis/apps/v1/deployments', clients.withCert), { status: 404, json: { kind: 'Status', code: 404 } });
});

void t.test('/test/bytes streams the deterministic pattern, with and without a length', async (t) => {
  for (const [query, size] of [['size=5000000&chunk=1000', 5_000_000], ['size=3000001&chunked=1', 3_000_001], ['size=0', 0]] as const) {
    const res = await request(`${api.url}/test/bytes?${query}`, { dispatcher: clients.withCert });
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
    }
    t.equal(bytes, size, `${query}: size`);
    t.equal(hash.digest('hex'), expectedBytesSha256(size), `${query}: sha256`);
    t.equal(res.headers['content-length'], query.includes('chunked') ? undefined : String(size), `${query}: content-length`);
  }
});

void t.test('/test/upload hashes a streamed body; the record shows it too', async (t) => {
  const size = 4 * 1024 * 1024 + 7;
  const res = await request(`${api.url}/test/upload`, { dispatcher: clients.withCert, method: 'PUT', body: Readable.from(patternChunks(size, 10_000)) });
  t.same(await res.body.json(), { bytes: size, sha256: expectedBytesSha256(size) });
  t.match(api.requests.at(-1), { method: 'PUT', bodyBytes: size, bodySha256: expectedBytesSha256(size) });
});

void t.test('/test/status, /test/gzip and /test/list', async (t) => {
  t.match(await call('/test/status/503', clients.withCert), { status: 503, json: { kind: 'Status', code: 503, reason: 'ServiceUnavailable' } });
  const zipped = await request(`${api.url}/test/gzip`, { dispatcher: clients.withCert, headers: { 'accept-encoding': 'gzip' } });
  t.equal(zipped.headers['content-encoding'], 'gzip');
  const raw = Buffer.from(await zipped.body.arrayBuffer());
  t.same([raw[0], raw[1]], [0x1f, 0x8b], 'gzip magic');
  const plain = await call('/test/gzip', clients.withCert);
  t.equal(plain.headers['content-encoding'], undefined);
  t.match(plain.json, { kind: 'PodList' });
  const list = await request(`${api.url}/test/list?bytes=100000`, { dispatcher: clients.withCert });
  const text = await list.body.text();
  t.ok(text.length >= 100_000 && text.length < 101_000, `about 100 KB (${text.length})`);
  t.match(JSON.parse(text), { kind: 'PodList', items: [{ metadata: { name: 'bench-0' } }] });
});

void t.test('the record keeps the request target and headers exactly as sent', async (t) => {
  await call('/test/echo?a=%2F..%2F&b', clients.withCert, { headers: { 'x-Custom': 'One' } });
  const seen = api.requests.at(-1)!;
  t.equal(seen.url, '/test/echo?a=%2F..%2F&b');
  t.equal(seen.headers['x-custom'], 'One');
  t.ok(seen.rawHeaders.includes('x-Custom'), 'raw header names keep their case');
  t.equal(seen.alpn, 'http/1.1', 'ALPN as undici negotiated it');
});

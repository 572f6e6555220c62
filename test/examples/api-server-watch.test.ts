// Watch streams of the example API server, and close() with long-lived requests open: every
// wait is bounded and driven by what arrives on the stream, never by sleeping.
import t from 'tap';
import { request } from 'undici';
import { SEED_PODS, startApiServer, type ApiServer, type WatchEvent } from '../../examples/api-server.js';
import { createPki } from '../../examples/pki.js';
import { LineReader } from '../helpers/line-reader.js';
import { tlsClients } from '../helpers/tls-clients.js';
import { waitFor, withTimeout } from '../helpers/waiting.js';

const pki = createPki();
const clients = tlsClients(t, pki);

async function startApi(): Promise<ApiServer> {
  const api = await startApiServer({ pki });
  t.teardown(() => api.close());
  return api;
}

/** Opens a watch and returns its line reader once the response headers are in. */
async function watch(api: ApiServer, path: string): Promise<{ reader: LineReader; headers: Record<string, unknown> }> {
  const res = await request(`${api.url}${path}`, { dispatcher: clients.withCert });
  t.equal(res.statusCode, 200, `watch ${path} answered 200`);
  return { reader: new LineReader(res.body), headers: res.headers };
}

const names = (events: WatchEvent[]) => events.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`);

async function take(reader: LineReader, count: number): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  for (let i = 0; i < count; i++) events.push(await reader.nextJson<WatchEvent>());
  return events;
}

void t.test('?watch=1 sends ADDED for existing pods, then each change while the stream stays open', async (t) => {
  const api = await startApi();
  const { reader, headers } = await watch(api, '/api/v1/namespaces/default/pods?watch=1');
  t.equal(headers['content-type'], 'application/json');
  t.equal(headers['transfer-encoding'], 'chunked');
  t.same(names(await take(reader, SEED_PODS.default!.length)), SEED_PODS.default!.map((n) => `ADDED default/${n}`));

  api.createPod('default', 'late-1');
  t.same(names(await take(reader, 1)), ['ADDED default/late-1'], 'createPod() arrives');
  api.createPod('demo', 'elsewhere');
  api.deletePod('default', 'web-0');
  t.same(names(await take(reader, 1)), ['DELETED default/web-0'], 'other namespaces are not sent');
  const body = JSON.stringify({ metadata: { name: 'via-api' } });
  const created = await request(`${api.url}/api/v1/namespaces/default/pods`, { dispatcher: clients.withCert, method: 'POST', body });
  t.equal(created.statusCode, 201);
  await created.body.dump();
  t.same(names(await take(reader, 1)), ['ADDED default/via-api'], 'a POST through the API arrives');
  t.notOk(reader.ended, 'the stream is still open');
});

void t.test('watch across namespaces, also on the legacy /api/v1/watch/ path', async (t) => {
  const total = Object.values(SEED_PODS).flat().length;
  for (const path of ['/api/v1/pods?watch=true', '/api/v1/watch/pods', '/api/v1/watch/namespaces/demo/pods']) {
    const api = await startApi();
    const { reader } = await watch(api, path);
    const expected = path.includes('demo') ? SEED_PODS.demo!.length : total;
    t.equal((await take(reader, expected)).length, expected, `${path}: existing pods`);
    api.createPod('demo', 'new');
    t.match(await reader.nextJson(), { type: 'ADDED', object: { metadata: { namespace: 'demo' } } }, `${path}: new pod`);
  }
});

void t.test('a watch from a resourceVersion sends only the later changes', async (t) => {
  const api = await startApi();
  const list = await request(`${api.url}/api/v1/namespaces/default/pods`, { dispatcher: clients.withCert });
  const { metadata } = (await list.body.json()) as { metadata: { resourceVersion: string } };
  api.createPod('default', 'after-list');
  const { reader } = await watch(api, `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${metadata.resourceVersion}`);
  t.same(names(await take(reader, 1)), ['ADDED default/after-list']);
});

void t.test('timeoutSeconds ends the stream', async (t) => {
  const api = await startApi();
  const { reader } = await watch(api, '/api/v1/namespaces/demo/pods?watch=1&timeoutSeconds=1');
  await take(reader, SEED_PODS.demo!.length);
  t.equal(await reader.next(5000), undefined, 'ended by the server');
  t.equal(reader.error, undefined, 'cleanly');
});

void t.test('close() resolves with a watch and a hanging request open, and ends both', async (t) => {
  const api = await startApiServer({ pki });
  const { reader } = await watch(api, '/api/v1/watch/pods');
  await reader.nextJson();
  const hanging = request(`${api.url}/test/hang`, { dispatcher: clients.withCert });
  hanging.catch(() => undefined); // observed below; keeps the rejection from going unhandled meanwhile
  await waitFor(() => api.requests.some((r) => r.url === '/test/hang'), 5000, 'the server has the hanging request');
  t.ok(api.connections() >= 1, 'connections are counted');
  await withTimeout(api.close(), 5000, 'close()');
  t.equal(api.connections(), 0, 'no connection left');
  await t.rejects(withTimeout(hanging, 5000, 'hanging request'), 'the hanging request fails');
  while ((await reader.next(5000)) !== undefined); // lines sent before close() may still be queued
  t.ok(reader.ended, 'the watch stream ended');
  await withTimeout(api.close(), 1000, 'second close()');
});

void t.test('record: false keeps no requests', async (t) => {
  const api = await startApiServer({ pki, record: false });
  t.teardown(() => api.close());
  const res = await request(`${api.url}/version`, { dispatcher: clients.withCert });
  await res.body.dump();
  t.equal(res.statusCode, 200);
  t.same(api.requests, []);
});

// Long-running requests (watches, followed logs, proxy subresources) ride connections of their
// own: more open watches than any pool size leave short requests unqueued, every watch gets its
// events, streams ended by either side let go of what they held, and a request that cannot get a
// connection is answered 503 with Retry-After instead of waiting forever.
import t, { type Test } from 'tap';
import { request } from 'undici';
import { startTestCluster } from '../helpers/cluster.js';
import { fetchText, type StatusBody } from '../helpers/http.js';
import { metricReaches, metricsUrl, sampleValue, scrape } from '../helpers/prometheus.js';
import { isolatedEnv, startProxyProcess } from '../helpers/proxy-process.js';
import { waitFor, withTimeout } from '../helpers/waiting.js';
import { allSee, openWatch, openWatches, watchClients } from '../helpers/watches.js';

const WATCHES = 200;

/** A test cluster and a proxy with metrics in front of it, and a client for many watches. */
async function startWithMetrics(t: Test, ...flags: string[]) {
  const cluster = await startTestCluster(t);
  const proxy = await startProxyProcess(['--kubeconfig', cluster.certKubeconfig(), '-p', '0', '--metrics-address', '127.0.0.1:0', ...flags], { env: isolatedEnv(cluster.dir) });
  t.teardown(() => proxy.stop());
  const clients = watchClients();
  t.teardown(() => clients.destroy());
  return { cluster, proxy, metrics: await metricsUrl(proxy), clients };
}

void t.test(`${WATCHES} open watches, more than the pool has connections, do not hold back short requests`, async (t) => {
  const { cluster, proxy, metrics, clients } = await startWithMetrics(t);

  const url = `${proxy.url}/api/v1/namespaces/default/pods?watch=1`;
  const watches = await openWatches(clients, url, WATCHES, 60_000);
  t.equal(watches.length, WATCHES, 'every watch is open');

  // Short requests, many at once: none waits for a connection that a watch holds.
  const replies = await Promise.all(Array.from({ length: 64 }, () => fetchText(`${proxy.url}/version`, { timeoutMs: 10_000 })));
  t.same(new Set(replies.map((reply) => reply.status)), new Set([200]), '64 concurrent GET /version all answered 200');
  const samples = await scrape(metrics);
  t.equal(sampleValue(samples, 'kube_auth_proxy_open_streams'), WATCHES);
  t.equal(sampleValue(samples, 'kube_auth_proxy_upstream_connections', { pool: 'streams' }), WATCHES, 'one upstream connection per watch');
  t.ok(sampleValue(samples, 'kube_auth_proxy_upstream_connections', { pool: 'requests' })! <= 32, 'short requests stay within their pool');
  t.equal(sampleValue(samples, 'kube_auth_proxy_queued_requests', { pool: 'requests' }), 0, 'nothing waits');

  cluster.api.createPod('default', 'seen-by-all');
  await allSee(watches, '"seen-by-all"', 30_000);
  t.ok(watches.every((watch) => /"type":"ADDED","object":\{[^\n]*"seen-by-all"/.test(watch.text)), `all ${WATCHES} watches received the ADDED event`);

  // Half the clients leave: the proxy lets go of their upstream connections.
  for (const watch of watches.slice(0, WATCHES / 2)) watch.body.destroy();
  t.equal(await metricReaches(metrics, 'kube_auth_proxy_open_streams', {}, WATCHES / 2), WATCHES / 2, 'streams ended by the client are closed');
  t.equal(await metricReaches(metrics, 'kube_auth_proxy_upstream_connections', { pool: 'streams' }, WATCHES / 2), WATCHES / 2, 'and their upstream connections with them');
  for (const watch of watches.slice(WATCHES / 2)) watch.body.destroy();
  t.equal(await metricReaches(metrics, 'kube_auth_proxy_open_streams', {}, 0), 0);
});

void t.test('streams the API server ends free their connection for the next stream', async (t) => {
  const { proxy, metrics, clients } = await startWithMetrics(t);

  // timeoutSeconds=1: the API server itself ends each watch after a second.
  const url = `${proxy.url}/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=1`;
  const first = await Promise.all(Array.from({ length: 10 }, () => openWatch(clients, url)));
  await withTimeout(waitFor(() => first.every((watch) => watch.ended), 10_000, 'ends'), 12_000, 'the server ends every watch');
  t.equal(await metricReaches(metrics, 'kube_auth_proxy_open_streams', {}, 0), 0, 'no stream left open');
  const afterFirst = sampleValue(await scrape(metrics), 'kube_auth_proxy_upstream_connections', { pool: 'streams' });
  t.equal(afterFirst, 10, 'the ten connections stay, idle, for reuse');

  const second = await Promise.all(Array.from({ length: 10 }, () => openWatch(clients, url)));
  t.equal(sampleValue(await scrape(metrics), 'kube_auth_proxy_upstream_connections', { pool: 'streams' }), 10, 'the next ten watches reuse them');
  await withTimeout(waitFor(() => second.every((watch) => watch.ended), 10_000, 'ends'), 12_000, 'the second watches end too');
});

void t.test('a request that gets no upstream connection in time is answered 503 with Retry-After, and never sent', async (t) => {
  const { cluster, proxy, metrics } = await startWithMetrics(t, '--upstream-connections', '1', '--upstream-queue-timeout', '1s');

  // /test/hang is a short request that never answers: it holds the only connection.
  const holder = new AbortController();
  const hanging = request(`${proxy.url}/test/hang`, { signal: holder.signal }).catch(() => undefined);
  await withTimeout(waitFor(() => cluster.api.requests.some((seen) => seen.url === '/test/hang'), 10_000, 'hang'), 11_000, 'the hang reaches the API server');

  const waiting = fetchText(`${proxy.url}/version?queued=1`, { timeoutMs: 10_000 });
  t.equal(await metricReaches(metrics, 'kube_auth_proxy_queued_requests', { pool: 'requests' }, 1), 1, 'the queue shows in the metrics');
  const refused = await waiting;
  t.equal(refused.status, 503);
  t.equal(refused.headers['retry-after'], '1');
  const status = JSON.parse(refused.body) as StatusBody & { details?: { retryAfterSeconds?: number } };
  t.equal(status.kind, 'Status');
  t.equal(status.reason, 'ServiceUnavailable');
  t.equal(status.details?.retryAfterSeconds, 1);
  t.match(status.message, /no connection to the API server became free within 1s/);
  await proxy.waitForStderr(/Error while proxying request/);
  t.match(proxy.stderr(), /^(?=.*"status":503)(?=.*no connection to the API server became free within 1s).*Error while proxying request/m, 'the refusal is logged with its reason');

  // A watch is not held back by the full pool.
  const watch = await request(`${proxy.url}/api/v1/namespaces/default/pods?watch=1`);
  t.equal(watch.statusCode, 200, 'a watch opens while the short-request pool is full');
  watch.body.destroy();

  holder.abort();
  await hanging;
  const after = await fetchText(`${proxy.url}/version`);
  t.equal(after.status, 200, 'once the connection is free, requests are answered again');
  t.notOk(cluster.api.requests.some((seen) => seen.url === '/version?queued=1'), 'the refused request never reached the API server');
  t.equal(sampleValue(await scrape(metrics), 'kube_auth_proxy_queued_requests', { pool: 'requests' }), 0);
});

void t.test('a long-running request with a body gets an HTTP/1.1 connection of its own', async (t) => {
  const { cluster, proxy, metrics } = await startWithMetrics(t);
  const body = Buffer.alloc(100_000, 'p');
  const reply = await fetchText(`${proxy.url}/api/v1/namespaces/default/services/web/proxy/upload`, { method: 'POST', body });
  t.ok(reply.status >= 200, `answered (${reply.status})`);
  const seen = cluster.api.requests.find((request) => request.url === '/api/v1/namespaces/default/services/web/proxy/upload');
  t.equal(seen?.bodyBytes, body.length, 'the whole body reached the API server');
  const samples = await scrape(metrics);
  t.equal(sampleValue(samples, 'kube_auth_proxy_upstream_connections', { pool: 'streams-h1' }), 1, 'on the HTTP/1.1 stream pool');
  t.equal(sampleValue(samples, 'kube_auth_proxy_upstream_connections', { pool: 'streams' }), 0);
  t.equal(sampleValue(samples, 'kube_auth_proxy_upstream_connections', { pool: 'requests' }), 0);
});
